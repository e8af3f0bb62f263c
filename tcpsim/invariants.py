"""Invariants every TCP run keeps, as checks a test can call on any run.

Each ``check_*`` raises ``InvariantViolation`` (an ``AssertionError``) saying
what broke and where.  They read public values only -- a ``Trace``, its
``Packet`` and ``StateChange`` records, ``ConnectionInfo`` snapshots and the
octets a program sent and received -- so they judge tcpsim's runs and a
user's alike::

    check_transitions(net.trace)                 # every change is a table edge
    check_agreement(client_info, server_info)    # once the network is quiet

This module does not import hypothesis.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from .config import Config
from .fsm import is_edge
from .segment import Flags
from .seqnum import MASK, seq_diff, seq_gt, seq_le
from .states import State
from .tcb import ConnectionInfo
from .timers import TICKS_PER_SECOND
from .trace import Packet, StateChange, Trace

MAX_WINDOW = 65535              # the 16-bit window field (no window scaling)
_FIRST_STATES = (State.CLOSED, State.LISTEN)
_BUSY_TIMERS = ("retransmission", "persist")


class InvariantViolation(AssertionError):
    """A run broke one of TCP's invariants."""


def _fail(message: str) -> None:
    raise InvariantViolation(message)


# -- exactly-once, in-order delivery ----------------------------------------------------

def check_delivery(sent: bytes, received: bytes, *, complete: bool = False,
                   what: str = "stream") -> None:
    """What one side's ``recv`` returned is a prefix of what the other side sent,
    and -- when ``complete`` -- all of it."""
    sent, received = bytes(sent), bytes(received)
    if sent[:len(received)] != received:
        at = next((i for i, (s, r) in enumerate(zip(sent, received)) if s != r),
                  min(len(sent), len(received)))
        _fail(f"{what}: received octet {at} differs from what was sent "
              f"(sent {sent[at:at + 16]!r}..., received {received[at:at + 16]!r}...; "
              f"{len(sent)} sent, {len(received)} received)")
    if complete and len(received) != len(sent):
        _fail(f"{what}: {len(sent)} octets sent but only {len(received)} received "
              f"on a healthy network (missing {sent[len(received):len(received) + 16]!r}...)")


# -- the transition table ----------------------------------------------------------------

def check_history(history: Sequence[State], what: str = "connection") -> None:
    """A state history begins at CLOSED or LISTEN and moves along table edges."""
    if not history:
        _fail(f"{what}: empty history")
    if history[0] not in _FIRST_STATES:
        _fail(f"{what}: history begins at {history[0]}, not CLOSED or LISTEN")
    for old, new in zip(history, history[1:]):
        if not is_edge(old, new):
            _fail(f"{what}: {old} -> {new} is not an edge of the transition table "
                  f"(history {' -> '.join(map(str, history))})")


def check_transitions(trace: Trace | Iterable[Any],
                      last: dict[tuple[str, int], Any] | None = None) -> None:
    """Every state change in a trace is a table edge, each connection's changes
    chain (one's ``new`` is the next's ``old``) and begin at CLOSED or LISTEN;
    and a connection that reached CLOSED sends nothing more (its TCB is deleted),
    but the RST of the very transition that closed it.

    ``last`` (host, connection id -> state) carries the check across calls, so
    a run can be checked piece by piece as its trace grows."""
    if last is None:
        last = {}
    for record in trace:
        if isinstance(record, Packet):
            if record.conn_id and record.duplicate_of is None:
                _check_not_closed(record, last)
            continue
        if not isinstance(record, StateChange):
            continue
        if record.new is State.CLOSED:
            last[record.host, record.conn_id, "closed at"] = record.time
        key = (record.host, record.conn_id)
        before = last.get(key)
        if before is None and record.old not in _FIRST_STATES:
            _fail(f"{record}: the connection's first change leaves {record.old}, "
                  f"not CLOSED or LISTEN")
        if before is not None and record.old is not before:
            _fail(f"{record}: the connection was in {before}, not {record.old}")
        if not is_edge(record.old, record.new):
            _fail(f"{record}: {record.old} -> {record.new} is not an edge of the transition table")
        last[key] = record.new


def _check_not_closed(pkt: Packet, last: dict) -> None:
    if last.get((pkt.src, pkt.conn_id)) is not State.CLOSED:
        return
    if pkt.flags & Flags.RST and last.get((pkt.src, pkt.conn_id, "closed at")) == pkt.sent_at_ticks:
        return                          # ABORT's RST, sent as the connection closes
    _fail(f"{pkt}: sent by a connection of {pkt.src} that had reached CLOSED "
          f"(its TCB is deleted: nothing more may go out)")


# -- TCB sanity ------------------------------------------------------------------------------

def highest_sent(packets: Iterable[Packet], local: tuple[str, int],
                 remote: tuple[str, int]) -> int | None:
    """The highest SEQ + SEG.LEN among the segments sent from ``local`` to ``remote``."""
    best = None
    for p in packets:
        seg = p
        if (p.src_addr, seg.src_port) == local and (p.dst_addr, seg.dst_port) == remote:
            end = (seg.seq + seg.seg_len) & MASK
            if best is None or seq_gt(end, best):
                best = end
    return best


def check_tcb(info: ConnectionInfo, config: Config, sent_end: int | None = None) -> None:
    """RFC 9293 3.3.1's variables are sane: SND.UNA <= SND.NXT (mod 2**32), nothing
    acknowledged beyond what was sent (``sent_end``: the highest SEQ + SEG.LEN
    this end put on the wire), windows never negative, buffers within limits."""
    where = f"{info.local[0]}:{info.local[1]} {info.state}"
    if info.snd_wnd < 0 or info.rcv_wnd < 0:
        _fail(f"{where}: negative window (SND.WND={info.snd_wnd}, RCV.WND={info.rcv_wnd})")
    if info.snd_wnd > MAX_WINDOW:
        _fail(f"{where}: SND.WND={info.snd_wnd} exceeds what the window field can carry")
    if not 0 <= info.recv_queue <= config.recv_buffer:
        _fail(f"{where}: {info.recv_queue} octets queued in a {config.recv_buffer}-octet receive buffer")
    if not 0 <= info.send_queue <= config.send_buffer:
        _fail(f"{where}: {info.send_queue} octets queued in a {config.send_buffer}-octet send buffer")
    if info.rcv_wnd + info.recv_queue != config.recv_buffer:
        _fail(f"{where}: RCV.WND={info.rcv_wnd} plus {info.recv_queue} unread octets is not "
              f"the {config.recv_buffer}-octet receive buffer")
    for name in ("iss", "irs", "snd_una", "snd_nxt", "rcv_nxt"):
        if not 0 <= getattr(info, name) <= MASK:
            _fail(f"{where}: {name}={getattr(info, name)} is not a 32-bit sequence number")
    if info.state in _FIRST_STATES:
        return                                    # no sequence space yet
    if not seq_le(info.snd_una, info.snd_nxt):
        _fail(f"{where}: SND.UNA={info.snd_una} is beyond SND.NXT={info.snd_nxt}")
    if sent_end is not None:
        sent = seq_diff(sent_end, info.iss)
        for name in ("snd_una", "snd_nxt"):
            if seq_diff(getattr(info, name), info.iss) > sent:
                _fail(f"{where}: {name.upper().replace('_', '.')}={getattr(info, name)} "
                      f"is beyond the highest sequence number ever sent ({sent_end})")


class SentLedger:
    """Per direction (src address, src port, dst address, dst port): the highest
    SEQ + SEG.LEN the end's own TCP sent (``highest``), and the ends of forged
    segments that reached beyond it (``forged``)."""

    def __init__(self) -> None:
        self.highest: dict[tuple[str, int, str, int], int] = {}
        self.forged: dict[tuple[str, int, str, int], list[int]] = {}
        self.forged_ids: set[int] = set()     # forged packets and their copies, and copies of those

    def covers(self, ends: tuple[str, int, str, int], ack: int) -> bool:
        """Was everything below ``ack`` sent this way (by the TCP, or forged)?"""
        high = self.highest.get(ends)
        if high is None or not seq_gt(ack, high):
            return True
        return any(seq_le(ack, end) for end in self.forged.get(ends, ()))


def check_acks(packets: Iterable[Packet], ignore: Collection[int] = (),
               ledger: SentLedger | None = None) -> SentLedger:
    """Nothing is acknowledged that was never sent: every segment's SEG.ACK is at
    most the highest SEQ + SEG.LEN sent the other way so far.  ``ignore`` names
    forged packets (an attacker's): their ACK fields are not judged, nor their
    copies' (however many times copied), and their text counts as sent only
    for ACKs of it.  Pass the returned ledger back in
    to go on checking a growing trace."""
    if ledger is None:
        ledger = SentLedger()
    for p in packets:
        seg = p
        ends = (p.src_addr, seg.src_port, p.dst_addr, seg.dst_port)
        forged = p.id in ignore or p.duplicate_of in ignore or p.duplicate_of in ledger.forged_ids
        if forged:
            ledger.forged_ids.add(p.id)
        if seg.flags & Flags.ACK and not forged:
            back = (ends[2], ends[3], ends[0], ends[1])
            if not ledger.covers(back, seg.ack):
                _fail(f"packet {p}: acknowledges {seg.ack}, beyond the highest sequence "
                      f"number the other side has sent ({ledger.highest[back]})")
        end = (seg.seq + seg.seg_len) & MASK
        if forged:
            ledger.forged.setdefault(ends, []).append(end)
        elif ends not in ledger.highest or seq_gt(end, ledger.highest[ends]):
            ledger.highest[ends] = end
    return ledger


# -- agreement once quiet ---------------------------------------------------------------------

def settled(a: ConnectionInfo, b: ConnectionInfo) -> bool:
    """Neither end is waiting to retransmit or probe: nothing it sent is unanswered."""
    return not any(name in _BUSY_TIMERS for info in (a, b) for name, _ in info.timers)


def check_agreement(a: ConnectionInfo, b: ConnectionInfo) -> None:
    """Two ends of a quiet connection agree: ISS/IRS match across the pair and
    each side's SND.NXT is the other's RCV.NXT."""
    pair = f"{a.local[0]}:{a.local[1]} ({a.state}) / {b.local[0]}:{b.local[1]} ({b.state})"
    if a.iss != b.irs or a.irs != b.iss:
        _fail(f"{pair}: ISS/IRS disagree (ISS {a.iss} vs IRS {b.irs}; IRS {a.irs} vs ISS {b.iss})")
    for x, y in ((a, b), (b, a)):
        if x.snd_nxt != y.rcv_nxt:
            _fail(f"{pair}: once quiet, SND.NXT={x.snd_nxt} on {x.local[0]}:{x.local[1]} "
                  f"but RCV.NXT={y.rcv_nxt} on its peer")


# -- liveness -------------------------------------------------------------------------------------

def liveness_bound(config: Config, rtos: int = 4) -> float:
    """2*MSL plus ``rtos`` maximal retransmission timeouts, in seconds."""
    return 2 * config.msl + rtos * config.rto_max


def check_liveness(trace: Trace | Iterable[Any], ends: Iterable[tuple[str, tuple[str, int], tuple[str, int]]],
                   closed_at: float, config: Config, rtos: int = 4) -> None:
    """Every connection in ``ends`` (host, local, remote) -- both of whose sockets
    were closed at ``closed_at`` on a healthy network -- is CLOSED within
    2*MSL plus ``rtos`` maximal RTOs."""
    deadline = closed_at + liveness_bound(config, rtos)
    last: dict[tuple[str, tuple[str, int], tuple[str, int]], StateChange] = {}
    for record in trace:
        if isinstance(record, StateChange):
            last[(record.host, record.local, record.remote)] = record
    for end in ends:
        change = last.get(end)
        name = f"{end[0]} {end[1][0]}:{end[1][1]} -> {end[2][0]}:{end[2][1]}"
        if change is None or change.new is not State.CLOSED:
            state = change.new if change is not None else "its first state"
            _fail(f"{name}: still {state} after both sides closed at {closed_at:.6f} "
                  f"(deadline {deadline:.6f}: 2*MSL + {rtos} x RTO max)")
        when = change.time / TICKS_PER_SECOND
        if when > deadline:
            _fail(f"{name}: reached CLOSED at {when:.6f}, after the deadline {deadline:.6f} "
                  f"(closed at {closed_at:.6f}; 2*MSL + {rtos} x RTO max)")


# -- determinism and ISN invariance ------------------------------------------------------------------

def check_same_trace(a: Trace, b: Trace) -> None:
    """Two runs of the same program with the same seed left identical traces."""
    la, lb = a.lines(), b.lines()
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            _fail(f"traces differ at record {i}:\n  first:  {x}\n  second: {y}")
    if len(la) != len(lb):
        i = min(len(la), len(lb))
        extra = (la if len(la) > len(lb) else lb)[i]
        _fail(f"traces differ in length ({len(la)} vs {len(lb)} records); first extra: {extra}")


def _same_mod(x: int, y: int, shift: int) -> bool:
    return x == y or (x + shift) & MASK == y


def check_isn_shift(a: Trace, b: Trace, shift: int) -> None:
    """Trace ``b`` is trace ``a`` with every sequence number moved by ``shift``
    (mod 2**32): same segments, times, fates, state changes and calls.

    One number does not move with the shift: a RST sent from CLOSED in answer to a
    segment without ACK carries SEQ=0 (RFC 9293 3.10.7.1), a number from nobody's
    sequence space.  Where such a RST arrives the runs may rightly part: in one it
    falls outside the receiver's window and is dropped, in the other (whose numbers
    pass through 0) it may sit at RCV.NXT and reset the connection (RFC 5961 3.2).
    So the comparison ends where the first of them arrives."""
    ra, rb = list(a), list(b)
    cut = None                       # when the first RST with the unmoved SEQ=0 arrives
    moved = shift & MASK != 0
    for i, (x, y) in enumerate(zip(ra, rb)):
        if cut is not None and x.time >= cut and y.time >= cut:
            return
        if x.kind != y.kind:
            _fail(f"ISN shift {shift}: record {i} is {x} vs {y}")
        if x.kind == "segment":
            same = (x.src, x.dst, x.sent_at_ticks, x.arrives_at_ticks, x.fate, x.src_port,
                    x.dst_port, int(x.flags), x.window, x.payload, x.mss) == \
                   (y.src, y.dst, y.sent_at_ticks, y.arrives_at_ticks, y.fate, y.src_port,
                    y.dst_port, int(y.flags), y.window, y.payload, y.mss)
            if not same or not _same_mod(x.seq, y.seq, shift) \
                    or not _same_mod(x.ack, y.ack, shift):
                _fail(f"ISN shift {shift}: packet {i} differs beyond the shift:\n  {x}\n  {y}")
            if cut is None and moved and x.flags & Flags.RST and x.seq == y.seq == 0 \
                    and x.fate == "delivered":
                cut = x.arrives_at_ticks
        elif x.kind == "state":
            if (x.time, x.host, x.conn_id, x.old, x.new) != (y.time, y.host, y.conn_id, y.old, y.new):
                _fail(f"ISN shift {shift}: state change {i} differs:\n  {x}\n  {y}")
        elif str(x) != str(y):
            _fail(f"ISN shift {shift}: record {i} differs:\n  {x}\n  {y}")
    if len(ra) != len(rb):
        extra = (ra if len(ra) > len(rb) else rb)[min(len(ra), len(rb))]
        if cut is None or extra.time < cut:
            _fail(f"ISN shift {shift}: {len(ra)} records vs {len(rb)}; first extra: {extra}")
