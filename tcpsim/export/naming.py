"""Which connection each segment belongs to, and how its numbers are named.

A *conversation* is one TCP connection seen from the wire: two endpoints
(address, port), each with the engine connection that speaks for it (a
``Packet.conn_id``) and the ISN its first SYN carried.  Segments sent for no
connection (a RST from a closed port, a hand-injected segment; ``conn_id`` 0)
join the latest conversation with their 4-tuple, so a refused connection's
``RST,ACK`` is named against the SYN it answers.

Namings turn a segment's sequence and acknowledgment numbers into text:

- ``symbolic``: the ISNs are letters, as in textbooks: the first connection's
  opener J, its peer K, the next connection L and M, and so on
  (``SYN,ACK seq=K ack=J+1``).  A side that never sent a SYN has no letter and
  its numbers stay absolute (``RST,ACK seq=0 ack=J+1``).
- ``relative``: Wireshark's relative numbers.  A side's base is its SYN's
  sequence number; without a SYN, one less than the first sequence number it
  sends, or one less than the first acknowledgment number the peer sends it,
  whichever comes first.
- ``absolute``: the numbers on the wire.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ..segment import flag_names
from ..seqnum import MASK, seq_diff

NAMINGS = ("symbolic", "relative", "absolute")
LETTERS = "JKLMNOPQRSTUVWXYZABCDEFGHI"
SYN, RST, ACK = 2, 4, 16


def isn_letter(index: int) -> str:
    """The name of the ``index``-th ISN: J, K, L, ... Z, A, ... I, then J2, K2, ..."""
    rounds, i = divmod(index, len(LETTERS))
    return LETTERS[i] + (str(rounds + 1) if rounds else "")


class Side:
    """One endpoint of a conversation."""

    __slots__ = ("host", "addr", "port", "conn_id", "isn", "letter", "base", "window")

    def __init__(self, host: str, addr: str, port: int, letter: str) -> None:
        self.host = host
        self.addr = addr
        self.port = port
        self.conn_id: int | None = None
        self.isn: int | None = None
        self.letter = letter
        self.base: int | None = None       # Wireshark's relative base
        self.window: int | None = None     # the window it last advertised

    def name(self, n: int) -> str:
        """``n`` named from this side's ISN: ``J``, ``J+1``, ``J-2``; absolute without an ISN."""
        if self.isn is None:
            return str(n)
        d = seq_diff(n, self.isn)
        if d == 0:
            return self.letter
        return f"{self.letter}+{d}" if d > 0 else f"{self.letter}{d}"

    def relative(self, n: int) -> str:
        return str(n if self.base is None else (n - self.base) & MASK)


class Conversation:
    """One connection on the wire; ``number`` counts from 1 in order of first segment."""

    __slots__ = ("number", "sides", "opener")

    def __init__(self, number: int, opener: Side, peer: Side) -> None:
        self.number = number
        self.opener = opener
        self.sides = {(opener.addr, opener.port): opener, (peer.addr, peer.port): peer}

    def side(self, addr: str, port: int) -> Side:
        return self.sides[addr, port]

    @property
    def peer(self) -> Side:
        return next(s for s in self.sides.values() if s is not self.opener)

    def __str__(self) -> str:
        a, b = self.opener, self.peer
        return f"({self.number}) {a.host}:{a.port} - {b.host}:{b.port}"


class Conversations:
    """Every conversation of a trace, and which one each packet and connection is in."""

    def __init__(self, packets: Iterable[Any]) -> None:
        self.all: list[Conversation] = []
        self.of_packet: dict[int, Conversation] = {}
        self.of_conn: dict[int, Conversation] = {}
        self.relative_names: dict[int, tuple[str, str]] = {}
        self.new_window: set[int] = set()   # packets advertising a window their side had not
        self._latest: dict[tuple, Conversation] = {}
        for pkt in packets:
            self.add(pkt)

    def add(self, pkt: Any) -> None:
        """Take in the next packet of the trace (the REPL adds them as they are sent)."""
        seg = pkt
        a = (pkt.src_addr, seg.src_port)
        b = (pkt.dst_addr, seg.dst_port)
        key = (a, b) if a <= b else (b, a)
        conv = self.of_conn.get(pkt.conn_id) if pkt.conn_id else None
        if conv is None:
            conv = self._latest.get(key)
            if conv is None or not self._joins(conv, pkt, a):
                conv = self._new(pkt, a, b)
                self._latest[key] = conv
            if pkt.conn_id:
                conv.sides[a].conn_id = pkt.conn_id
                self.of_conn[pkt.conn_id] = conv
        self.of_packet[pkt.id] = conv
        me, peer = conv.sides[a], conv.sides[b]
        flags = seg.flags
        if flags & SYN and me.isn is None:
            me.isn = seg.seq
        if me.base is None:
            me.base = seg.seq if flags & SYN else (seg.seq - 1) & MASK
        if flags & ACK and peer.base is None:
            peer.base = (seg.ack - 1) & MASK
        self.relative_names[pkt.id] = (me.relative(seg.seq), peer.relative(seg.ack))
        if not flags & RST:
            if seg.window != me.window and (me.window is not None or seg.window == 0):
                self.new_window.add(pkt.id)
            me.window = seg.window

    @staticmethod
    def _joins(conv: Conversation, pkt: Any, a: tuple[str, int]) -> bool:
        """Does ``pkt`` (from endpoint ``a``) belong to ``conv``, the latest with its 4-tuple?"""
        me = conv.sides[a]
        if not pkt.conn_id:
            return True
        if me.conn_id is not None:
            return False                   # another connection reusing the 4-tuple
        seg = pkt
        return not (seg.flags & SYN and me.isn is not None and me.isn != seg.seq)

    def _new(self, pkt: Any, a: tuple[str, int], b: tuple[str, int]) -> Conversation:
        n = len(self.all)
        opener = Side(pkt.src, a[0], a[1], isn_letter(2 * n))
        peer = Side(pkt.dst, b[0], b[1], isn_letter(2 * n + 1))
        conv = Conversation(n + 1, opener, peer)
        self.all.append(conv)
        return conv

    def for_record(self, record: Any) -> Conversation | None:
        """The conversation of a state change, timer or call record (None for a listener)."""
        return self.of_conn.get(record.conn_id) if record.conn_id else None

    def namer(self, naming: str) -> Callable[[Any], tuple[str, str]]:
        """A function from a Packet to its (seq, ack) text under ``naming``."""
        if naming == "absolute":
            return lambda pkt: (str(pkt.seq), str(pkt.ack))
        if naming == "relative":
            names = self.relative_names
            return lambda pkt: names[pkt.id]
        if naming == "symbolic":
            def symbolic(pkt: Any) -> tuple[str, str]:
                seg = pkt
                conv = self.of_packet[pkt.id]
                return (conv.sides[pkt.src_addr, seg.src_port].name(seg.seq),
                        conv.sides[pkt.dst_addr, seg.dst_port].name(seg.ack))
            return symbolic
        raise ValueError(f"naming must be one of {', '.join(NAMINGS)}, not {naming!r}")


def check_naming(naming: str) -> None:
    if naming not in NAMINGS:
        raise ValueError(f"naming must be one of {', '.join(NAMINGS)}, not {naming!r}")


def segment_label(pkt: Any, seq: str, ack: str, show_window: bool = False) -> str:
    """The text on a ladder arrow: ``SYN,ACK seq=K ack=J+1 mss=1460``, ``PSH,ACK seq=J+1 len=5 ack=K+1``.

    The window is shown only when ``show_window`` (the sender advertises a
    window it had not before: a window update, or a zero window).
    """
    seg = pkt
    flags = seg.flags
    parts = [flag_names(flags), "seq=" + seq]
    if seg.payload:
        parts.append(f"len={len(seg.payload)}")
    if flags & ACK:
        parts.append("ack=" + ack)
    if show_window:
        parts.append(f"win={seg.window}")
    if seg.mss is not None:
        parts.append(f"mss={seg.mss}")
    return " ".join(parts)
