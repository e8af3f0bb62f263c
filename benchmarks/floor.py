"""Skeletons: the least a pure-Python simulator of the same work can do, measured in the
same run as tcpsim, so that the table can say how close to the limit of Python it is.

Neither skeleton is TCP.  They move the same segments as the real benchmarks -- one
slotted object per segment, through a FIFO, dispatched by a dictionary or a branch --
and keep only the sequence arithmetic that decides what to send next.  No acceptability
tests, no timers, no retransmission, no windows beyond the sender's, no socket calls, no
trace.  What tcpsim does beyond them is what the RFC, the socket API and the record of a
run cost.

    python benchmarks/floor.py        # both skeletons, five rounds each
"""

from __future__ import annotations

import statistics
import time
from collections import deque

SYN, FIN, ACK, PSH = 2, 1, 16, 8
MASK = 0xFFFFFFFF


class Seg:
    __slots__ = ("src_port", "dst_port", "seq", "ack", "flags", "window", "payload")

    def __init__(self, src_port: int, dst_port: int, seq: int, ack: int, flags: int,
                 window: int, payload: bytes) -> None:
        self.src_port = src_port
        self.dst_port = dst_port
        self.seq = seq
        self.ack = ack
        self.flags = flags
        self.window = window
        self.payload = payload


# -- a lifecycle: connect, accept, 100 bytes each way, both close ------------------------

class Endpoint:
    """Just enough state to answer the lifecycle's segments in order."""

    __slots__ = ("wire", "port", "peer", "established", "snd_nxt", "rcv_nxt", "buf", "fin")

    def __init__(self, wire: deque, port: int, peer: tuple[int, int], iss: int) -> None:
        self.wire = wire
        self.port = port
        self.peer = peer              # the key the peer is found by
        self.established = False
        self.snd_nxt = iss
        self.rcv_nxt = 0
        self.buf = bytearray()
        self.fin = False

    def send(self, flags: int, payload: bytes = b"") -> None:
        seq = self.snd_nxt
        self.snd_nxt = (seq + len(payload) + (flags & FIN) + ((flags & SYN) >> 1)) & MASK
        self.wire.append((self.peer, Seg(self.port, self.peer[0], seq, self.rcv_nxt, flags,
                                         65535, payload)))

    def arrive(self, seg: Seg) -> None:
        flags = seg.flags
        if flags & SYN:
            self.rcv_nxt = (seg.seq + 1) & MASK
            if flags & ACK:
                self.established = True
                self.send(ACK)
            else:
                self.send(SYN | ACK)
            return
        if seg.seq != self.rcv_nxt:
            return
        if flags & ACK:
            self.established = True
        if seg.payload:
            self.buf += seg.payload
            self.rcv_nxt = (self.rcv_nxt + len(seg.payload)) & MASK
            self.send(ACK)
        if flags & FIN:
            self.fin = True
            self.rcv_nxt = (self.rcv_nxt + 1) & MASK
            self.send(ACK)


def _run_until(wire: deque, ends: dict, ready) -> int:
    """Deliver segments until ``ready()`` or none is left; return how many."""
    n = 0
    while wire and not ready():
        key, seg = wire.popleft()
        end = ends.get(key)
        if end is not None:
            end.arrive(seg)
        n += 1
    return n


def lifecycle(wire: deque, ends: dict, port: int) -> int:
    """One skeleton lifecycle; returns the number of segments it moved."""
    cli = Endpoint(wire, port, (80, port), 1000)
    srv = Endpoint(wire, 80, (port, 80), 5000)
    ends[port, 80] = cli
    ends[80, port] = srv
    cli.send(SYN)
    n = _run_until(wire, ends, lambda: cli.established)              # connect()
    n += _run_until(wire, ends, lambda: srv.established)             # accept()
    cli.send(PSH | ACK, b"q" * 100)
    n += _run_until(wire, ends, lambda: srv.buf)                      # recv()
    srv.buf.clear()
    srv.send(PSH | ACK, b"r" * 100)
    n += _run_until(wire, ends, lambda: cli.buf)                      # recv()
    cli.send(FIN | ACK)
    n += _run_until(wire, ends, lambda: srv.fin)                      # close(), recv()
    srv.send(FIN | ACK)
    n += _run_until(wire, ends, lambda: False)                        # close(), TIME-WAIT
    del ends[port, 80], ends[80, port]
    return n


def lifecycle_rate(n: int) -> float:
    """Skeleton lifecycles per wall second."""
    wire: deque = deque()
    ends: dict = {}
    t = time.perf_counter()
    for i in range(n):
        lifecycle(wire, ends, 32768 + i % 20000)
    return n / (time.perf_counter() - t)


# -- bulk: a one-way transfer at MSS 1460, an ACK per segment -----------------------------

def bulk_rate(nbytes: int) -> float:
    """Skeleton segments (data and ACKs) per wall second for an ``nbytes`` transfer."""
    t = time.perf_counter()
    segments, _ = bulk_transfer(nbytes)
    return segments / (time.perf_counter() - t)


def bulk_transfer(nbytes: int, mss: int = 1460) -> tuple[int, int]:
    """Move ``nbytes``; return (segments sent both ways, octets delivered in order)."""
    data = bytes(nbytes)
    wire: deque = deque()
    una = nxt = rcv_nxt = 0
    wnd = 65535
    buf = bytearray()
    segments = delivered = 0
    while rcv_nxt < nbytes:
        while nxt - una < wnd and nxt < nbytes:                      # the sender fills the window
            n = min(mss, nbytes - nxt, wnd - (nxt - una))
            wire.append(Seg(1000, 80, nxt, 0, ACK, 65535, data[nxt:nxt + n]))
            nxt += n
            segments += 1
        while wire:
            seg = wire.popleft()
            if seg.payload:                                          # the receiver
                if seg.seq == rcv_nxt:
                    buf += seg.payload
                    rcv_nxt = (rcv_nxt + len(seg.payload)) & MASK
                    wire.append(Seg(80, 1000, 0, rcv_nxt, ACK, 65535 - len(buf), b""))
                    segments += 1
                    if len(buf) > 32768:                             # the application reads
                        delivered += len(buf)
                        buf.clear()
            else:                                                    # the sender takes the ACK
                una = seg.ack
                wnd = seg.window
    return segments, delivered + len(buf)


if __name__ == "__main__":
    life = [lifecycle_rate(20_000) for _ in range(5)]
    bulk = [bulk_rate(10_000_000) for _ in range(5)]
    print(f"skeleton lifecycles/s: {statistics.median(life):,.0f}")
    print(f"skeleton bulk segments/s: {statistics.median(bulk):,.0f}")
