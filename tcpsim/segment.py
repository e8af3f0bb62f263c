"""Segments on the wire: the TCP header fields tcpsim models, and their flags."""

from __future__ import annotations

from enum import IntFlag
from typing import Callable

from .seqnum import MASK


class Flags(IntFlag):
    """TCP control bits, with their wire values (RFC 9293 3.1)."""

    FIN = 1
    SYN = 2
    RST = 4
    PSH = 8
    ACK = 16
    URG = 32

    def __str__(self) -> str:
        return flag_names(int(self))


# The order textbooks and tcpdump users read them in: "SYN,ACK", "FIN,ACK", "RST,ACK".
_NAME_ORDER = ((2, "SYN"), (1, "FIN"), (4, "RST"), (8, "PSH"), (32, "URG"), (16, "ACK"))
_NAMES: dict[int, str] = {}


def flag_names(flags: int) -> str:
    """``flag_names(18) == "SYN,ACK"``; ``"none"`` for no flags."""
    try:
        return _NAMES[flags]
    except KeyError:
        text = ",".join(name for bit, name in _NAME_ORDER if flags & bit) or "none"
        _NAMES[flags] = text
        return text


# A naming turns an absolute sequence number into text: "J+1", "1", "3735928560".
Naming = Callable[[int], str]


def _plain(n: int) -> str:
    return str(n)


class SegmentFields:
    """The header fields a segment carries, and what follows from them.

    Two kinds of object have them: a ``Segment`` (an immutable value) and a
    ``trace.Packet`` (one segment on the wire, which is also where it goes and what
    became of it).  The engine reads only these fields, so it takes either.
    """

    __slots__ = ("src_port", "dst_port", "seq", "ack", "flags", "window", "payload", "mss")

    @property
    def seg_len(self) -> int:
        """SEG.LEN: octets of payload, plus one each for SYN and FIN."""
        return len(self.payload) + (self.flags & 1) + ((self.flags >> 1) & 1)

    def replace(self, **changes: object) -> "Segment":
        """A Segment with these fields, some changed, like ``dataclasses.replace``."""
        fields = {name: getattr(self, name) for name in SegmentFields.__slots__}
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"Segment has no field {sorted(unknown)[0]!r}")
        fields.update(changes)
        return Segment(**fields)  # type: ignore[arg-type]

    def format(self, seq_name: Naming = _plain, ack_name: Naming = _plain) -> str:
        """One line: ``SYN,ACK seq=K ack=J+1 win=65535``, numbers named by the given namings."""
        flags = self.flags
        parts = [flag_names(flags), f"seq={seq_name(self.seq)}"]
        if flags & 16:
            parts.append(f"ack={ack_name(self.ack)}")
        parts.append(f"win={self.window}")
        if self.payload:
            parts.append(f"len={len(self.payload)}")
        if self.mss is not None:
            parts.append(f"mss={self.mss}")
        return " ".join(parts)


class Segment(SegmentFields):
    """One TCP segment: an immutable value, built with keywords.

    ``payload`` is bytes; ``mss`` is the MSS option's value (SYNs only) or None.
    ``seg_len`` is the RFC's SEG.LEN: the payload plus one for SYN and one for FIN.
    """

    __slots__ = ()

    def __new__(
        cls,
        *,
        src_port: int,
        dst_port: int,
        seq: int,
        ack: int = 0,
        flags: int = 0,
        window: int = 0,
        payload: bytes = b"",
        mss: int | None = None,
    ) -> "Segment":
        if isinstance(payload, (bytearray, memoryview)):
            payload = bytes(payload)            # a value: later changes to the buffer stay out
        return make_segment(src_port, dst_port, seq, ack, flags, window, payload, mss)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Segment is immutable; use seg.replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Segment is immutable; {name!r} cannot be deleted")

    def __reduce__(self) -> tuple:
        """copy, deepcopy and pickle: rebuilt from its fields."""
        return (make_segment, (self.src_port, self.dst_port, self.seq, self.ack, int(self.flags),
                               self.window, self.payload, self.mss))

    def _key(self) -> tuple:
        return (self.src_port, self.dst_port, self.seq, self.ack, int(self.flags),
                self.window, self.payload, self.mss)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        extra = f", payload={self.payload!r}" if self.payload else ""
        if self.mss is not None:
            extra += f", mss={self.mss}"
        return (f"Segment(src_port={self.src_port}, dst_port={self.dst_port}, seq={self.seq}, "
                f"ack={self.ack}, flags={Flags(self.flags & 63)!r}, window={self.window}{extra})")

    def __str__(self) -> str:
        return self.format()


_new_fields = SegmentFields.__new__
_AS_FLAGS = tuple(Flags(bits) for bits in range(64))


def make_segment(src_port: int, dst_port: int, seq: int, ack: int, flags: int, window: int,
                 payload: bytes = b"", mss: int | None = None) -> Segment:
    """Build a Segment positionally (no keyword parsing)."""
    self = _new_fields(SegmentFields)
    self.src_port = src_port
    self.dst_port = dst_port
    self.seq = seq
    self.ack = ack
    # Flags, as the value's public face; the engine's Packets keep plain ints (an IntFlag's
    # "&" costs fifty times an int's)
    self.flags = _AS_FLAGS[flags] if flags.__class__ is int and 0 <= flags <= 63 else flags
    self.window = window
    self.payload = payload
    self.mss = mss
    self.__class__ = Segment
    return self  # type: ignore[return-value]


def check_on_wire(seg: SegmentFields) -> None:
    """Raise ValueError unless every field fits its place in a TCP header (a hand-made
    segment, before it goes on the wire)."""
    for name in ("src_port", "dst_port"):
        value = getattr(seg, name)
        if not isinstance(value, int) or not 0 <= value <= 0xFFFF:
            raise ValueError(f"segment {name} must be an int in 0..65535, not {value!r}")
    for name in ("seq", "ack"):
        value = getattr(seg, name)
        if not isinstance(value, int) or not 0 <= value <= MASK:
            raise ValueError(f"segment {name} must be an int in 0..2**32-1, not {value!r}")
    if not isinstance(seg.flags, int) or not 0 <= seg.flags <= 0x3F:
        raise ValueError(f"segment flags must be Flags (0..63), not {seg.flags!r}")
    if not isinstance(seg.window, int) or not 0 <= seg.window <= 0xFFFF:
        raise ValueError(f"segment window must be an int in 0..65535, not {seg.window!r}")
    if not isinstance(seg.payload, (bytes, bytearray)):
        raise ValueError(f"segment payload must be bytes, not {type(seg.payload).__name__}")
    if seg.mss is not None and (not isinstance(seg.mss, int) or not 0 <= seg.mss <= 0xFFFF):
        raise ValueError(f"segment mss must be None or an int in 0..65535, not {seg.mss!r}")
