"""The eleven connection states of RFC 9293 (section 3.3.2)."""

from enum import Enum


class State(Enum):
    """A connection state; ``str()`` gives the RFC's spelling (``SYN-SENT``)."""

    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RECEIVED = "SYN-RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN-WAIT-1"
    FIN_WAIT_2 = "FIN-WAIT-2"
    CLOSE_WAIT = "CLOSE-WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST-ACK"
    TIME_WAIT = "TIME-WAIT"

    def __str__(self) -> str:
        return self.value

    # Members are singletons: hash by identity, in C (Enum's own __hash__ is Python code
    # and shows up in profiles of the segment-arrival path).
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"State.{self.name}"

    @property
    def synchronized(self) -> bool:
        """True once both sides' ISNs are known (RFC 9293 3.5)."""
        return self not in _UNSYNCHRONIZED

    @classmethod
    def parse(cls, text: str) -> "State":
        """``State.parse("syn-sent")`` and ``State.parse("SYN_SENT")`` both give SYN_SENT."""
        key = text.strip().upper().replace("-", "_")
        if key == "SYN_RCVD":
            key = "SYN_RECEIVED"
        try:
            return cls[key]
        except KeyError:
            names = ", ".join(str(s) for s in cls)
            raise ValueError(f"unknown state {text!r}; one of {names}") from None


_UNSYNCHRONIZED = frozenset({State.CLOSED, State.LISTEN, State.SYN_SENT})

# The members as module names, for the engine's hot paths: looking a member up on the
# class (State.CLOSED) costs ~100 ns on CPython 3.11 (EnumType.__getattr__ defeats the
# attribute cache); a module global costs ~7 ns.
CLOSED = State.CLOSED
LISTEN = State.LISTEN
SYN_SENT = State.SYN_SENT
SYN_RECEIVED = State.SYN_RECEIVED
ESTABLISHED = State.ESTABLISHED
FIN_WAIT_1 = State.FIN_WAIT_1
FIN_WAIT_2 = State.FIN_WAIT_2
CLOSE_WAIT = State.CLOSE_WAIT
CLOSING = State.CLOSING
LAST_ACK = State.LAST_ACK
TIME_WAIT = State.TIME_WAIT
