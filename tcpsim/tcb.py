"""The transmission control block: RFC 9293's variables and the buffer arithmetic on them.

``TCB`` holds SND.*, RCV.*, ISS, IRS and the send/receive buffers of one
connection; ``Connection`` (connection.py) subclasses it with the engine.  The
methods here do sequence and buffer bookkeeping only -- no state decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

from .seqnum import HALF, MASK, seq_diff
from .states import CLOSED, State

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """A snapshot of one TCB, like a row of ``ss -tan`` with the RFC's variables."""

    local: Address
    remote: Address
    state: State
    iss: int
    irs: int
    snd_una: int
    snd_nxt: int
    snd_wnd: int
    rcv_nxt: int
    rcv_wnd: int
    send_queue: int = 0      # octets written by the user and not yet acknowledged
    recv_queue: int = 0      # octets received in order and not yet read
    timers: tuple[tuple[str, float], ...] = ()   # armed timers: (name, deadline in seconds)

    def __str__(self) -> str:
        local = f"{self.local[0]}:{self.local[1]}"
        remote = f"{self.remote[0]}:{self.remote[1]}" if self.remote[1] else "*:*"
        return (f"{local:<16} {remote:<16} {str(self.state):<12} "
                f"snd_una={self.snd_una} snd_nxt={self.snd_nxt} snd_wnd={self.snd_wnd} "
                f"rcv_nxt={self.rcv_nxt} rcv_wnd={self.rcv_wnd}")


class TCB:
    """RFC 9293 3.3.1's variables, plus the buffers behind them.

    Send side: ``snd_buf`` holds every octet the user wrote that is not yet
    acknowledged; its first octet has sequence number ``buf_seq``.  ``snd_max``
    is the highest sequence number ever sent (SND.NXT is pulled back to SND.UNA
    after a timeout, so ACKs are judged against ``snd_max``).

    Receive side: ``rcv_buf`` holds in-order octets the user has not read;
    ``ooo`` holds out-of-order pieces ``[seq, payload, fin]`` waiting for the gap.
    """

    __slots__ = (
        "local", "remote", "state", "iss", "irs",
        "snd_una", "snd_nxt", "snd_max", "snd_wnd", "snd_wl1", "snd_wl2", "max_snd_wnd",
        "snd_buf", "buf_seq", "send_cap", "fin_queued", "fin_seq",
        "rcv_nxt", "rcv_buf", "recv_cap", "ooo", "fin_received", "rcv_adv",
        "peer_mss", "send_mss",
    )

    def __init__(self, local: Address, remote: Address, send_cap: int, recv_cap: int) -> None:
        self.local = local
        self.remote = remote
        self.state = CLOSED
        self.iss = 0
        self.irs = 0
        self.snd_una = 0
        self.snd_nxt = 0
        self.snd_max = 0
        self.snd_wnd = 0
        self.snd_wl1 = 0
        self.snd_wl2 = 0
        self.max_snd_wnd = 0
        self.snd_buf = bytearray()
        self.buf_seq = 0
        self.send_cap = send_cap
        self.fin_queued = False
        self.fin_seq: int | None = None
        self.rcv_nxt = 0
        self.rcv_buf = bytearray()
        self.recv_cap = recv_cap
        self.ooo: list[list] = []
        self.fin_received = False
        self.rcv_adv = 0
        self.peer_mss = 536        # RFC 9293 3.7.1: assume 536 until told otherwise
        self.send_mss = 536

    # -- send side ---------------------------------------------------------

    def set_iss(self, iss: int) -> None:
        """Start the send sequence space at ISS; the SYN takes ISS, data starts at ISS+1."""
        self.iss = iss
        self.snd_una = iss
        self.snd_nxt = iss
        self.snd_max = iss
        self.buf_seq = (iss + 1) & MASK

    @property
    def send_space(self) -> int:
        """Octets the user may still write before the send buffer is full."""
        return self.send_cap - len(self.snd_buf)

    def unsent(self) -> int:
        """Octets written by the user and never sent (or pulled back after a timeout)."""
        sent = seq_diff(self.snd_nxt, self.buf_seq)
        if sent < 0:
            sent = 0
        return len(self.snd_buf) - sent

    def take_acked(self, ack: int) -> int:
        """Drop the octets ``ack`` acknowledges from the send buffer; return how many."""
        n = (ack - self.buf_seq) & MASK                 # seq_diff(ack, buf_seq), inline
        if n == 0 or n > HALF:
            return 0
        buf = self.snd_buf
        if n > len(buf):
            n = len(buf)
        del buf[:n]
        self.buf_seq = (self.buf_seq + n) & MASK
        return n

    # -- receive side ------------------------------------------------------

    @property
    def rcv_wnd(self) -> int:
        """RCV.WND: the free space in the receive buffer."""
        return self.recv_cap - len(self.rcv_buf)

    def store_out_of_order(self, seq: int, payload: bytes, fin: bool) -> None:
        """Keep a piece that arrived ahead of RCV.NXT until the gap before it fills."""
        for piece in self.ooo:
            if piece[0] == seq and len(piece[1]) >= len(payload):
                piece[2] = piece[2] or fin
                return
        self.ooo.append([seq, payload, fin])

    def reassemble(self) -> bool:
        """Move every stored piece that now touches RCV.NXT into the buffer.

        Returns True when a FIN is now next in sequence (RCV.NXT does not count it yet).
        """
        fin = False
        progress = True
        while progress and self.ooo and not fin:
            progress = False
            for piece in self.ooo:
                seq, payload, piece_fin = piece
                skip = seq_diff(self.rcv_nxt, seq)
                if skip < 0:
                    continue
                self.ooo.remove(piece)
                progress = True
                if skip < len(payload):
                    self.rcv_buf += payload[skip:]
                    self.rcv_nxt = (self.rcv_nxt + len(payload) - skip) & MASK
                if piece_fin and skip <= len(payload):
                    fin = True
                break
        if fin:
            self.ooo.clear()
        return fin

    def read(self, bufsize: int) -> bytes:
        """Take up to ``bufsize`` octets from the front of the receive buffer."""
        buf = self.rcv_buf
        if bufsize >= len(buf):                         # all of it: one copy, not two
            data = bytes(buf)
            buf.clear()
            return data
        data = bytes(buf[:bufsize])
        del buf[:bufsize]
        return data
