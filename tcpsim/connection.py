"""The sans-IO connection engine: RFC 9293 section 3.10, event by event.

A ``Connection`` is one TCB plus the procedures that act on it.  It never reads
a clock, sleeps or touches a network: every entry point takes ``now`` (integer
ticks), and everything it wants done goes through its ``sink`` -- segments to
emit, a timer to be called back at, a state change to record, blocked callers
to wake.  The order of this file is the RFC's: user calls (3.10.1-3.10.6) and
SEGMENT ARRIVES (3.10.7); the output routine and the timeouts (3.10.8) are in
sending.py.  Which state comes next is never decided here: it is looked up in
``fsm.TRANSITIONS``.
"""

from __future__ import annotations

import errno
from typing import Any, Callable

from .config import Config
from .fsm import (ABORT, ACTIVE_OPEN, CLOSE, PASSIVE_OPEN, RCV_ACK_OF_FIN, RCV_ACK_OF_SYN, RCV_FIN,
                  RCV_RST, RCV_RST_ACTIVE, RCV_SYN, RCV_SYN_ACK, SEND, TRANSITIONS, Input)
from .segment import Segment, make_segment
from .sending import ACK, FIN, MAX_WINDOW, RST, SYN, Sender, Sink, _ticks_for
from .seqnum import HALF, MASK, seq_diff
from .states import (CLOSE_WAIT, CLOSED, CLOSING, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, LAST_ACK,
                     LISTEN, SYN_RECEIVED, SYN_SENT, TIME_WAIT, State)
from .tcb import Address, ConnectionInfo
from .timers import TICKS_PER_SECOND, RtoEstimator

_PREDICT_MASK = SYN | FIN | RST | ACK | 32     # URG too: any of these but ACK leaves the fast path
_CAN_SEND = frozenset({ESTABLISHED, CLOSE_WAIT})
_CAN_QUEUE = frozenset({SYN_SENT, SYN_RECEIVED, ESTABLISHED, CLOSE_WAIT})   # 3.10.2
_GETS_TEXT = frozenset({ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2})
_OUTPUT_STATES = frozenset({ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1, CLOSING, LAST_ACK})


# -- answers for segments that find no connection ------------------------------

def closed_reply(seg: Segment) -> Segment | None:
    """The RST for a segment that arrives for no TCB (RFC 9293 3.10.7.1)."""
    if seg.flags & RST:
        return None
    if seg.flags & ACK:
        return make_segment(seg.dst_port, seg.src_port, seg.ack, 0, RST, 0)
    return make_segment(seg.dst_port, seg.src_port, 0, (seg.seq + seg.seg_len) & MASK, RST | ACK, 0)


def listen_reply(seg: Segment) -> Segment | None:
    """A listener's answer to anything but a SYN (RFC 9293 3.10.7.2, first and second)."""
    if seg.flags & RST:
        return None                                    # first: an incoming RST is ignored
    if seg.flags & ACK:
        return make_segment(seg.dst_port, seg.src_port, seg.ack, 0, RST, 0)   # second
    return None                                        # fourth: other text or control: drop


class Connection(Sender):
    """One TCP connection: a TCB driven by user calls, segments and timeouts."""

    __slots__ = (
        "config", "sink", "ticks", "rto", "history", "id", "passive", "error",
        "orphan", "rcv_shut", "waiters", "owner", "nagle",
        "t_rtx", "t_persist", "t_delack", "t_timewait", "wake_at",
        "rtx_count", "timed_end", "timed_at", "probing", "persist_interval",
        "ack_pending", "delack_count", "rst_with_ack", "challenge_window", "challenge_count",
        "last_oow_ack",
        "stats",
    )

    def __init__(self, config: Config, sink: Sink, local: Address, remote: Address,
                 conn_id: int = 0) -> None:
        super().__init__(local, remote, config.send_buffer, config.recv_buffer)
        self.config = config
        self.sink = sink
        ticks = self.ticks = _ticks_for(config)
        self.rto = RtoEstimator(ticks.rto_initial, ticks.rto_min, ticks.rto_max)
        self.history: list[State] = [CLOSED]
        self.id = conn_id
        self.passive = False           # made by a listener from a SYN
        self.error: int | None = None  # errno to report to the user once
        self.orphan = False            # the user closed the socket; nobody reads
        self.rcv_shut = False          # the user shut it for reading (shutdown SHUT_RD)
        self.waiters: list[Callable[[], None]] | None = None
        self.owner: Any = None         # the host's bookkeeping (listener of a child, ...)
        self.nagle = config.nagle      # RFC 896; a socket's TCP_NODELAY turns it off
        self.t_rtx: int | None = None
        self.t_persist: int | None = None
        self.t_delack: int | None = None
        self.t_timewait: int | None = None
        self.wake_at: int | None = None
        self.rtx_count = 0
        self.timed_end: int | None = None
        self.timed_at = 0
        self.probing = False
        self.persist_interval = 0
        self.ack_pending = False
        self.delack_count = 0
        self.rst_with_ack = False
        self.challenge_window = -1
        self.challenge_count = 0
        self.last_oow_ack = -1
        self.stats = None

    def __repr__(self) -> str:
        return f"<Connection {self.local} -> {self.remote} {self.state}>"

    # -- the one chokepoint for state changes (STYLE 5) ----------------------

    def _fire(self, event: Input, now: int, cause: Any) -> None:
        """Take the table's transition for ``event`` in the current state."""
        old = self.state
        t = TRANSITIONS[old, event]
        new = self.state = t.next
        self.history.append(new)
        self.sink.state_changed(self, old, new, cause, event)
        send = t.bits
        if send:
            if send & SYN:
                self._send_syn(now)
            elif send & FIN:
                self.fin_queued = True
                self._output(now)
            elif send & RST:
                self._send_rst(now)
            else:
                self._send_ack(now)
        if t.method:
            getattr(self, t.method)(now)
        if self.waiters:
            self._wake()

    # -- actions named by the table ------------------------------------------

    def _established(self, now: int) -> None:
        self.rtx_count = 0
        rto = self.rto
        if rto.srtt is None:                       # no RTT sample: RFC 6298 5.7
            rto.after_handshake()
        if self.fin_queued:                        # a CLOSE queued in SYN-RECEIVED (3.10.4)
            self._fire(CLOSE, now, "close()")

    def _delete_tcb(self, now: int) -> None:
        self.t_rtx = self.t_persist = self.t_delack = self.t_timewait = None
        self.ack_pending = False       # a deleted TCB sends nothing, not even a delayed ACK
        self.delack_count = 0
        self.ooo.clear()

    def _reset(self, now: int) -> None:
        # 3.10.7.4 second: "any outstanding RECEIVEs and SEND should receive
        # 'reset' responses"; Linux reports EPIPE when the peer had already closed.
        self.error = errno.EPIPE if self.history[-2] is CLOSE_WAIT else errno.ECONNRESET
        self.snd_buf.clear()
        self._delete_tcb(now)

    def _refused(self, now: int) -> None:
        self.error = errno.ECONNREFUSED
        self._delete_tcb(now)

    def _timed_out(self, now: int) -> None:
        self.error = errno.ETIMEDOUT
        self.snd_buf.clear()
        self._delete_tcb(now)

    def _back_to_listen(self, now: int) -> None:
        self._delete_tcb(now)

    # FIN-WAIT-2 has no timer: RFC 9293 has none (Linux ends an orphan there after
    # tcp_fin_timeout, 60 s).  A peer that is gone leaves it there for ever.

    def _start_time_wait(self, now: int) -> None:
        self.t_rtx = self.t_persist = None
        self.t_timewait = now + self.ticks.two_msl
        self._arm(self.t_timewait)

    # -- 3.10.1 OPEN ---------------------------------------------------------

    def open_active(self, iss: int, now: int) -> None:
        """Active OPEN: choose ISS and send the SYN (CLOSED -> SYN-SENT)."""
        self._check_closed()
        self.set_iss(iss)
        self._fire(ACTIVE_OPEN, now, "connect()")

    def open_passive(self, now: int) -> None:
        """Passive OPEN (CLOSED -> LISTEN)."""
        self._check_closed()
        self._fire(PASSIVE_OPEN, now, "listen()")

    def _check_closed(self) -> None:
        if self.state is not CLOSED:                # 3.10.1, every other state
            raise OSError(errno.EISCONN, "connection already exists (RFC 9293 3.10.1)")

    # -- 3.10.2 SEND -----------------------------------------------------------

    def send(self, data: bytes | memoryview, now: int) -> int:
        """Queue as much of ``data`` as the send buffer holds; return how much.

        In LISTEN with the foreign socket specified, the connection turns active first:
        an ISS, a SYN, SYN-SENT; the data waits for ESTABLISHED (RFC 9293 3.10.2).  A
        socket has no such call; the engine's users (and Figure 5) do."""
        state = self.state
        if state not in _CAN_QUEUE or self.fin_queued:
            if state is CLOSED:
                raise OSError(errno.ENOTCONN, "connection does not exist (RFC 9293 3.10.2)")
            if state is not LISTEN:
                raise OSError(errno.EPIPE, "connection closing (RFC 9293 3.10.2)")
            if not self.remote[1]:
                raise OSError(errno.EDESTADDRREQ, "foreign socket unspecified (RFC 9293 3.10.2)")
            self.passive = False
            self.set_iss(self.sink.isn(self))
            self._fire(SEND, now, "send()")
        n = self.send_cap - len(self.snd_buf)
        if n <= 0:
            return 0
        if n > len(data):
            n = len(data)
        self.snd_buf += data if n == len(data) else data[:n]
        if self.state in _CAN_SEND:
            self._output(now)
        return n

    # -- 3.10.3 RECEIVE --------------------------------------------------------

    def receive(self, bufsize: int, now: int) -> bytes:
        """Take up to ``bufsize`` received octets; open the window if that is worth telling."""
        data = self.read(bufsize)
        if data and self.state in _GETS_TEXT:
            # RFC 1122 4.2.3.3: update the window once it grows by min(MSS, buffer/2).
            wnd = self.recv_cap - len(self.rcv_buf)
            edge = (self.rcv_nxt + (wnd if wnd < MAX_WINDOW else MAX_WINDOW)) & MASK
            grown = seq_diff(edge, self.rcv_adv)
            if grown >= self.config.mss or grown >= self.recv_cap // 2:     # >= min(MSS, buffer/2)
                self._send_ack(now)
        return data

    # -- 3.10.4 CLOSE and 3.10.5 ABORT ----------------------------------------

    def close(self, now: int) -> None:
        """CLOSE: no more sending (a FIN follows the queued data); a no-op once closing.
        In SYN-RECEIVED with data queued, the CLOSE waits for ESTABLISHED (3.10.4)."""
        if self.state is SYN_RECEIVED and self.snd_buf:
            self.fin_queued = True                 # taken up by _established
        elif (self.state, CLOSE) in TRANSITIONS:
            self._fire(CLOSE, now, "close()")

    def abort(self, now: int, with_ack: bool = False, cause: Any = "abort()",
              keep_received: bool = False) -> None:
        """ABORT: send RST where there is a peer to tell, flush everything (but what was
        received, if asked), go CLOSED."""
        if (self.state, ABORT) not in TRANSITIONS:
            return
        self.rst_with_ack = with_ack
        self.snd_buf.clear()
        if not keep_received:
            self.rcv_buf.clear()
        self._fire(ABORT, now, cause)

    # -- 3.10.7 SEGMENT ARRIVES ------------------------------------------------

    def segment_arrives(self, seg: Segment, now: int) -> None:
        """Process one arriving segment, as RFC 9293 3.10.7 orders it.

        First, header prediction (Van Jacobson; RFC 1323 appendix): the common case of
        ESTABLISHED -- the next segment in order, an ACK with nothing unusual, fitting
        the window -- done here in one pass.  Anything else takes the full path; the
        result is the same either way."""
        state = self.state
        if state is ESTABLISHED and seg.seq == self.rcv_nxt and seg.flags & _PREDICT_MASK == ACK \
                and not self.probing and not self.ooo:
            ack = seg.ack
            una = self.snd_una
            advance = (ack - una) & MASK
            payload = seg.payload
            # The fifth step's window test, SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and
            # SND.WL2 =< SEG.ACK), must hold too: a newer segment further on in sequence
            # (a pure ACK, a window update) may have overtaken this one and updated the
            # window already; then the full path keeps the newer window.
            if advance <= ((self.snd_max - una) & MASK) \
                    and ((seg.seq - self.snd_wl1) & MASK) <= HALF \
                    and ((ack - self.snd_wl2) & MASK) <= HALF and (not payload or (
                    len(payload) <= self.recv_cap - len(self.rcv_buf) and not self.orphan)):
                if advance:
                    self._ack_advance(ack, now)
                # fifth step's window update (its test held above)
                window = seg.window
                self.snd_wnd = window
                self.snd_wl1 = seg.seq
                self.snd_wl2 = ack
                if window > self.max_snd_wnd:
                    self.max_snd_wnd = window
                if payload:                             # seventh step, in order
                    self.rcv_buf += payload
                    self.rcv_nxt = (self.rcv_nxt + len(payload)) & MASK
                    self.ack_pending = True
                    self.delack_count += 1
                    if self.waiters:
                        self._wake()
                if self.snd_buf or self.fin_queued:
                    self._output(now)
                if self.ack_pending:
                    if self.config.delayed_ack:
                        self._ack_or_delay(now)
                    else:
                        self._send_ack(now)
                return
        if state is SYN_SENT:
            self._syn_sent_arrives(seg, now)
        elif state is LISTEN:
            self._listen_arrives(seg, now)
        elif state is not CLOSED:
            self._synchronized_arrives(seg, now)
        if self.ack_pending:
            self._ack_or_delay(now)

    def _listen_arrives(self, seg: Segment, now: int) -> None:
        """3.10.7.2, third: a SYN makes this (just created) TCB SYN-RECEIVED.

        Text on the SYN is not kept (RFC 9293 lets it be queued until ESTABLISHED):
        RCV.NXT stays at IRS+1, so the peer sends it again after the handshake, as
        it does to Linux without Fast Open.  The same holds for a SYN in SYN-SENT."""
        flags = seg.flags
        if flags & (RST | ACK) or not flags & SYN:
            return
        self.passive = True
        self.irs = seg.seq
        self.rcv_nxt = (seg.seq + 1) & MASK
        self.rcv_adv = self.rcv_nxt
        self._learn_mss(seg)
        self.snd_wnd = self.max_snd_wnd = seg.window
        self.snd_wl1 = seg.seq
        self._fire(RCV_SYN, now, seg)

    def _syn_sent_arrives(self, seg: Segment, now: int) -> None:
        """3.10.7.3: the SYN-SENT state."""
        flags = seg.flags
        ack_ok = False
        if flags & ACK:                                            # first: check the ACK bit
            ack = seg.ack
            # SEG.ACK =< ISS or SEG.ACK > SND.NXT (seq_diff spelled out: in (0, HALF] is "after")
            if not 0 < ((ack - self.iss) & MASK) <= HALF or 0 < ((ack - self.snd_max) & MASK) <= HALF:
                if not flags & RST:
                    self._emit(RST, ack, 0, b"")
                return
            ack_ok = True
        if flags & RST:                                            # second: check the RST bit
            if ack_ok:
                self._fire(RCV_RST, now, seg)
            return
        if not flags & SYN:                                        # fifth: neither SYN nor RST
            return
        self.irs = seg.seq                                         # fourth: check the SYN bit
        self.rcv_nxt = (seg.seq + 1) & MASK
        self.rcv_adv = self.rcv_nxt
        self._learn_mss(seg)
        self.snd_wnd = self.max_snd_wnd = seg.window
        self.snd_wl1 = seg.seq
        self.snd_wl2 = seg.ack
        if ack_ok:
            self._ack_advance(seg.ack, now)
            self._fire(RCV_SYN_ACK, now, seg)
            if seg.payload or flags & FIN:                         # continue at the sixth step
                # trimmed to the window first, as the first check trims a synchronized
                # state's segments (a FIN just past the text that fills it goes too)
                payload, fin = seg.payload, flags & FIN
                room = min(self.recv_cap - len(self.rcv_buf), MAX_WINDOW)
                if len(payload) >= room:
                    payload, fin = payload[:room], 0
                self._text_and_fin(seg, (seg.seq + 1) & MASK, payload, fin, now)
            self._output(now)
        else:
            self._fire(RCV_SYN, now, seg)                    # simultaneous open

    def _synchronized_arrives(self, seg: Segment, now: int) -> None:
        """3.10.7.4: SYN-RECEIVED and every synchronized state."""
        state = self.state
        flags = seg.flags
        seq = seg.seq
        payload = seg.payload
        rcv_nxt = self.rcv_nxt

        if state is SYN_RECEIVED and flags & SYN and not flags & RST and seq == self.irs:
            if not flags & ACK:
                self._send_syn(now)          # a retransmitted SYN: the SYN,ACK again (SPEC)
                return
            # Simultaneous open: the peer's SYN,ACK acknowledges our SYN (RFC 9293
            # Figure 8, line 6; Linux does the same).  Its SYN is old: strip it.
            flags &= ~SYN
            seq = rcv_nxt
        if state is TIME_WAIT and flags & FIN and not flags & (RST | SYN) \
                and ((seq + len(payload) + 1) & MASK) == rcv_nxt:
            self._send_ack(now)              # the peer's FIN again: ACK it, restart 2MSL
            self._start_time_wait(now)
            return

        # first: check the sequence number (the four cases of 3.10.7.4)
        wnd = self.recv_cap - len(self.rcv_buf)
        if wnd > MAX_WINDOW:
            wnd = MAX_WINDOW
        plen = len(payload)
        seg_len = plen + (flags & FIN) + ((flags >> 1) & 1)
        off = (seq - rcv_nxt) & MASK                   # where the segment starts in the window
        if seg_len == 0:
            # RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND -- but an ACK may also sit exactly on the
            # right edge, as BSD and Linux accept: a peer that filled our window sends its ACKs
            # with SEQ = SND.NXT = RCV.NXT+RCV.WND, and dropping them (answering each with an
            # ACK it finds old) can leave both sides trading ACKs forever.  A RST stays strict
            # (RFC 5961 3.2: outside the window, silently dropped).
            ok = off == 0 if wnd == 0 else off < wnd or (off == wnd and not flags & RST)
        elif wnd == 0:
            ok = False
        else:
            ok = off < wnd or ((seq + seg_len - 1 - rcv_nxt) & MASK) < wnd
        if not ok:
            if flags & RST:
                return
            if wnd == 0 and off == 0 and flags & ACK and not flags & SYN:
                # "special allowance ... to accept valid ACKs": keep the ACK, drop the text
                payload = b""
                flags &= ~FIN
                self.ack_pending = True
            elif seg_len == 0 or flags & SYN:
                self._challenge_ack(now)               # may be an ACK loop: throttled
                return
            else:
                self._send_ack(now)                    # data is never part of an ACK loop
                return
        elif off >= 1 << 31:                           # starts before RCV.NXT: trim the front
            skip = (rcv_nxt - seq) & MASK
            if flags & SYN:
                # an old SYN stays a SYN: RFC 5961 4.2 answers it "irrespective of the
                # sequence number" with a challenge ACK, and its text is dropped (Linux too)
                skip -= 1
            payload = payload[skip:]
            seq = rcv_nxt
        room = (rcv_nxt + wnd - seq) & MASK
        if len(payload) > room:                        # beyond the window: trim the tail
            payload = payload[:room]
            flags &= ~FIN
        elif flags & FIN and len(payload) == room:
            # The text fills the window, so the FIN after it lies outside: trimmed too
            # ("trimming off any portions that lie outside the window (including SYN and
            # FIN)").  Taken, it would put RCV.NXT past the window our peer knows of, and
            # the peer's ACKs -- their SEQ stops at that window's end (_send_ack) -- would
            # all look old here, each answered by an ACK that looks old there: a livelock.
            flags &= ~FIN

        # second: check the RST bit (RFC 5961 3.2: only an exact RCV.NXT resets)
        if flags & RST:
            if seg.seq != rcv_nxt:
                self._challenge_ack(now)
            elif state is TIME_WAIT:
                pass                                   # RFC 1337: ignore RST in TIME-WAIT
            elif state is SYN_RECEIVED and not self.passive:
                self._fire(RCV_RST_ACTIVE, now, seg)
            else:
                self._fire(RCV_RST, now, seg)
            return

        # fourth: check the SYN bit -- in SYN-RECEIVED after a passive OPEN, back to LISTEN;
        # in the synchronized states (RFC 5961 4.2) a challenge ACK, no reset
        if flags & SYN:
            if state is SYN_RECEIVED and self.passive:
                self._fire(RCV_SYN, now, seg)
            else:
                self._challenge_ack(now)
            return

        # fifth: check the ACK field
        if not flags & ACK:
            return
        ack = seg.ack
        if state is SYN_RECEIVED:
            if seq_diff(ack, self.snd_una) > 0 and seq_diff(ack, self.snd_max) <= 0:
                self.snd_wnd = seg.window
                self.snd_wl1 = seq
                self.snd_wl2 = ack
                self._ack_advance(ack, now)
                self._fire(RCV_ACK_OF_SYN, now, seg)
                state = self.state
            else:
                self._emit(RST, ack, 0, b"")
                return
        else:
            # seq_diff spelled out below (every ACK outside header prediction comes here):
            # (a - b) & MASK in (0, HALF] means a is after b; <= HALF, not before.
            if 0 < ((ack - self.snd_max) & MASK) <= HALF:
                self._challenge_ack(now)               # acknowledges something never sent
                return
            d = seq_diff(ack, self.snd_una)
            if d < -self.max_snd_wnd:                  # RFC 5961 5.2: too old to be real
                self._challenge_ack(now)
                return
            if d > 0:
                self._ack_advance(ack, now)
            if d >= 0:
                wl1 = (seq - self.snd_wl1) & MASK
                if 0 < wl1 <= HALF or (wl1 == 0 and ((ack - self.snd_wl2) & MASK) <= HALF):
                    self._window_update(seg.window, seq, ack)
            fin_seq = self.fin_seq
            if fin_seq is not None and 0 < ((ack - fin_seq) & MASK) <= HALF:
                if state is FIN_WAIT_1:
                    self._fire(RCV_ACK_OF_FIN, now, seg)
                    state = self.state
                elif state is CLOSING:
                    self._fire(RCV_ACK_OF_FIN, now, seg)
                    return
                elif state is LAST_ACK:
                    self._fire(RCV_ACK_OF_FIN, now, seg)
                    return
        if payload or flags & FIN:
            self._text_and_fin(seg, seq, payload, flags & FIN, now)
        if self.state in _OUTPUT_STATES:
            self._output(now)

    def _text_and_fin(self, seg: Segment, seq: int, payload: bytes, fin: int, now: int) -> None:
        """3.10.7.4, seventh (segment text) and eighth (FIN) steps."""
        state = self.state
        if payload and state in _GETS_TEXT and (
                self.orphan or self.rcv_shut and state is not ESTABLISHED):
            if self.config.rst_on_close_with_unread:
                # RFC 1122 4.2.2.13: data after CLOSE is lost, so say so with a RST -- and
                # after our FIN to a socket shut for reading too, as Linux does (its
                # tcp_rcv_state_process in FIN-WAIT-1/2): that socket hears ECONNRESET, and
                # what it had received stays readable.
                if not self.orphan:
                    self.error = errno.ECONNRESET
                self.abort(now, with_ack=True, cause=seg, keep_received=not self.orphan)
                return
            # Nobody can read it: acknowledge in-order data and discard it, so the
            # window stays open and the peer's FIN can follow.
            if seq != self.rcv_nxt:
                self._send_ack(now)
                return
            self.rcv_nxt = seq = (seq + len(payload)) & MASK
            self.ack_pending = True
            self.delack_count = 2
            payload = b""
        if payload:
            if state in _GETS_TEXT:
                if seq != self.rcv_nxt:                # ahead of RCV.NXT: keep it for later
                    self.store_out_of_order(seq, payload, bool(fin))
                    self._send_ack(now)                # a duplicate ACK tells the sender
                    return
                self.rcv_buf += payload
                self.rcv_nxt = (self.rcv_nxt + len(payload)) & MASK
                if self.ooo:
                    if self.reassemble():
                        fin = FIN                      # the stored FIN is next now
                        seq = (self.rcv_nxt - len(payload)) & MASK
                    self.ack_pending = True
                    self.delack_count = 2              # a filled gap is acknowledged at once
                else:
                    self.ack_pending = True
                    self.delack_count += 1
                self._wake()
            seq = (seq + len(payload)) & MASK
        if not fin:
            return
        if seq != self.rcv_nxt:                        # a FIN beyond a gap
            if state in _GETS_TEXT:
                self.store_out_of_order(seq, b"", True)
                self._send_ack(now)
            return
        # eighth: check the FIN bit
        self.rcv_nxt = (self.rcv_nxt + 1) & MASK
        self.fin_received = True
        if (state, RCV_FIN) in TRANSITIONS:
            self._fire(RCV_FIN, now, seg)
        else:                                          # CLOSE-WAIT, CLOSING, LAST-ACK: stay
            self._send_ack(now)
            if state is TIME_WAIT:                     # TIME-WAIT: stay, restart the 2MSL timeout
                self._start_time_wait(now)

    # -- for the layers above ------------------------------------------------------

    def _wake(self) -> None:
        waiters = self.waiters
        if waiters:
            self.waiters = None
            for wake in waiters:
                wake()

    def add_waiter(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` once, the next time anything a blocked caller waits on changes."""
        if self.waiters is None:
            self.waiters = [wake]
        else:
            self.waiters.append(wake)

    def info(self) -> ConnectionInfo:
        """A snapshot of the TCB (``ss -tan`` with the RFC's variables)."""
        timers = tuple((name, t / TICKS_PER_SECOND) for name, t in (
            ("retransmission", self.t_rtx), ("persist", self.t_persist),
            ("delayed ACK", self.t_delack), ("TIME-WAIT", self.t_timewait)) if t is not None)
        return ConnectionInfo(self.local, self.remote, self.state, self.iss, self.irs,
                              self.snd_una, self.snd_nxt, self.snd_wnd, self.rcv_nxt,
                              self.rcv_wnd, len(self.snd_buf), len(self.rcv_buf), timers)
