"""The record of a run: every segment sent (with its fate), every state change,
timer and socket call, each a small value with a one-line ``str()``.

Recording is cheap on purpose: records store values and format only when asked.
"""

from __future__ import annotations

from typing import Any, Iterator

from .segment import Segment, SegmentFields, make_segment
from .states import State
from .timers import TICKS_PER_SECOND


def fmt_time(ticks: int) -> str:
    """Virtual time for people: ``1.020000``."""
    return f"{ticks / TICKS_PER_SECOND:.6f}"


def fmt_addr(addr: tuple[str, int]) -> str:
    return f"{addr[0]}:{addr[1]}"


def plural(n: int, word: str) -> str:
    """``1 byte``, ``2 bytes``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class Path:
    """Who sends to whom: host names and addresses, shared by the packets of one route;
    ``host`` is the receiving Host (None when no host has the address)."""

    __slots__ = ("src", "dst", "src_addr", "dst_addr", "host")

    def __init__(self, src: str, dst: str, src_addr: str, dst_addr: str, host: Any = None) -> None:
        self.src = src
        self.dst = dst
        self.src_addr = src_addr
        self.dst_addr = dst_addr
        self.host = host


class Packet(SegmentFields):
    """One segment on the wire: its header fields, who sent it to whom, when, and what
    became of it.  (One object per segment: it travels, it is what the receiving
    engine reads, and it is the trace's record.)

    ``segment`` is the Segment it carries, as a value.  The packet's own header fields
    are what the engine reads, plain ints (``packet.flags & Flags.SYN``); the
    segment's ``flags`` are ``Flags`` (``Flags.SYN in packet.segment.flags``).
    ``fate`` is ``"in flight"``, ``"delivered"`` or ``"dropped"``; ``reason`` says why a
    dropped packet was dropped (``"lost"``, ``"bad checksum"``, ``"dropped by hand"``,
    ``"no route"``);
    ``corrupted`` is True for a packet the link damaged; ``duplicate_of`` names the
    packet this one copies.  Packets compare by identity, segments by value.
    """

    # (network.Node.emit builds these inline: a new field goes there too.  The last two
    # are rarely set, so a new packet leaves them empty: see their properties.)
    __slots__ = ("id", "path", "sent_at_ticks", "arrives_at_ticks", "fate", "corrupted",
                 "conn_id", "_reason", "_duplicate_of")

    kind = "segment"

    def __init__(self, pid: int, src: str, dst: str, src_addr: str, dst_addr: str,
                 segment: SegmentFields, sent_at: int, arrives_at: int, conn_id: int = 0) -> None:
        for name in SegmentFields.__slots__:
            setattr(self, name, getattr(segment, name))
        self.flags = int(self.flags)
        self.id = pid
        self.path = Path(src, dst, src_addr, dst_addr)
        self.sent_at_ticks = sent_at
        self.arrives_at_ticks = arrives_at
        self.fate = "in flight"
        self.corrupted = False
        self.conn_id = conn_id

    @property
    def src(self) -> str:
        """The sending host's name."""
        return self.path.src

    @property
    def dst(self) -> str:
        """The receiving host's name (its address when no host has it)."""
        return self.path.dst

    @property
    def src_addr(self) -> str:
        return self.path.src_addr

    @property
    def dst_addr(self) -> str:
        return self.path.dst_addr

    @property
    def reason(self) -> str:
        return getattr(self, "_reason", "")

    @reason.setter
    def reason(self, value: str) -> None:
        self._reason = value

    @property
    def duplicate_of(self) -> int | None:
        return getattr(self, "_duplicate_of", None)

    @duplicate_of.setter
    def duplicate_of(self, value: int | None) -> None:
        self._duplicate_of = value

    @property
    def segment(self) -> Segment:
        """The segment it carries (a Segment value, equal each time it is asked for)."""
        return make_segment(self.src_port, self.dst_port, self.seq, self.ack, self.flags,
                            self.window, self.payload, self.mss)

    @property
    def sent_at(self) -> float:
        """Virtual seconds when it left the sender."""
        return self.sent_at_ticks / TICKS_PER_SECOND

    @property
    def arrives_at(self) -> float:
        """Virtual seconds when it reaches (or would have reached) the receiver."""
        return self.arrives_at_ticks / TICKS_PER_SECOND

    @property
    def time(self) -> int:
        return self.sent_at_ticks

    def __repr__(self) -> str:
        return f"<Packet {self}>"

    def __str__(self) -> str:
        fate = self.fate if not self.reason else f"{self.fate}: {self.reason}"
        dup = f" (duplicate of #{self.duplicate_of})" if self.duplicate_of is not None else ""
        return (f"#{self.id} {self.src}:{self.src_port} -> {self.dst}:{self.dst_port} "
                f"{self.format()} [{fate}]{dup}")


class StateChange:
    """A connection moved from ``old`` to ``new`` because of ``cause`` (a Segment
    or a few words); ``input`` is the ``fsm.Input`` whose table entry it took."""

    __slots__ = ("time", "host", "conn_id", "local", "remote", "old", "new", "cause", "input")

    kind = "state"

    def __init__(self, time: int, host: str, conn_id: int, local: tuple[str, int],
                 remote: tuple[str, int], old: State, new: State, cause: Any,
                 input: Any = None) -> None:
        self.time = time
        self.host = host
        self.conn_id = conn_id
        self.local = local
        self.remote = remote
        self.old = old
        self.new = new
        self.cause = cause
        self.input = input

    @property
    def cause_text(self) -> str:
        cause = self.cause
        if isinstance(cause, Segment):
            return "rcv " + cause.format()
        return str(cause)

    def __repr__(self) -> str:
        return f"<StateChange {self}>"

    def __str__(self) -> str:
        return (f"{fmt_time(self.time)} {self.host} {fmt_addr(self.local)}: "
                f"{self.old} -> {self.new} ({self.cause_text})")


class TimerRecord:
    """A timer of a connection fired."""

    __slots__ = ("time", "host", "conn_id", "local", "remote", "name")

    kind = "timer"

    def __init__(self, time: int, host: str, conn_id: int, local: tuple[str, int],
                 remote: tuple[str, int], name: str) -> None:
        self.time = time
        self.host = host
        self.conn_id = conn_id
        self.local = local
        self.remote = remote
        self.name = name

    def __str__(self) -> str:
        return f"{fmt_time(self.time)} {self.host} {fmt_addr(self.local)}: {self.name} timer fired"


class CallRecord:
    """A socket call: ``phase`` is ``"call"``, ``"blocked"``, ``"return"`` or ``"raise"``."""

    __slots__ = ("time", "host", "fd", "name", "phase", "detail", "conn_id")

    kind = "call"

    def __init__(self, time: int, host: str, fd: int, name: str, phase: str,
                 detail: str = "", conn_id: int = 0) -> None:
        self.time = time
        self.host = host
        self.fd = fd
        self.name = name
        self.phase = phase
        self.detail = detail
        self.conn_id = conn_id

    def __str__(self) -> str:
        text = {"call": "", "blocked": " blocks", "return": " returns", "raise": " raises"}[self.phase]
        detail = f" {self.detail}" if self.detail else ""
        return f"{fmt_time(self.time)} {self.host} fd {self.fd}: {self.name}{text}{detail}"


class Trace:
    """Everything that happened on a network, in order."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.records: list[Any] = []
        self._packets: list[Packet] = []
        self._scanned = 0                 # records already searched for packets

    @property
    def packets(self) -> list[Packet]:
        """The packets among the records, in send order (the list grows as they do).

        Found when asked, not kept as each is sent: that costs an append per segment
        on the hot path, and most runs never ask."""
        records = self.records
        n = len(records)
        if self._scanned < n:
            # a slice, not islice: islice walks the list from its start every time
            self._packets.extend(r for r in records[self._scanned:n] if r.kind == "segment")
            self._scanned = n
        return self._packets

    def __iter__(self) -> Iterator[Any]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def segments(self) -> list[Packet]:
        """Every segment sent, in send order."""
        return list(self.packets)

    def state_changes(self) -> list[StateChange]:
        return [r for r in self.records if r.kind == "state"]

    def calls(self) -> list[CallRecord]:
        return [r for r in self.records if r.kind == "call"]

    def lines(self) -> list[str]:
        """Every record as one line, packets at their send time."""
        out = []
        for r in self.records:
            if r.kind == "segment":
                out.append(f"{fmt_time(r.sent_at_ticks)} {r}")
            else:
                out.append(str(r))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def ladder(self, naming: str = "symbolic", width: int = 80) -> str:
        """A text ladder diagram of the run: one column per host, an arrow per segment."""
        from .export.ladder import text_ladder

        return text_ladder(self, naming=naming, width=width)
