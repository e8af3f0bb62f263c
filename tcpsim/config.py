"""Config: every tunable of a simulated TCP, with RFC defaults and a Linux preset."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Union

IsnSource = Union[None, int, Callable[[], int]]


@dataclass(frozen=True)
class Config:
    """The knobs of every connection on a Network.  Times are virtual seconds."""

    mss: int = 1460
    recv_buffer: int = 65535
    send_buffer: int = 65535
    msl: float = 120.0                  # TIME-WAIT lasts 2*msl (RFC 9293 3.4.2)
    rto_initial: float = 1.0            # RFC 6298 2.1
    rto_min: float = 1.0                # RFC 6298 2.4
    rto_max: float = 60.0               # RFC 6298 2.5
    syn_retries: int = 6
    retries: int = 15
    delayed_ack: bool = False
    nagle: bool = False
    rst_on_close_with_unread: bool = True
    isn: IsnSource = None               # None: seeded RNG; int: every ISS; callable: per connection
    # Beyond the SPEC's list: where RFC 1122 and Linux leave numbers to the stack.
    ack_delay: float = 0.04             # delayed-ACK timer (Linux's minimum; RFC 1122 allows 0.5)
    backlog_slack: int = 0              # accept queue holds backlog + this (Linux: 1)
    reset_with_ack: bool = False        # close() with unread data sends RST,ACK (Linux) or RST
    challenge_ack_limit: int | None = None  # challenge ACKs per second; None: no limit
    oow_ack_interval: float | None = None   # at most one ACK per this many seconds in reply to
                                            # out-of-window ACKs, RSTs and SYNs (Linux: 0.5)

    def __post_init__(self) -> None:
        if not isinstance(self.mss, int) or not 1 <= self.mss <= 65495:
            raise ValueError(f"mss must be an int in 1..65495, not {self.mss!r}")
        for name in ("recv_buffer", "send_buffer"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, not {value!r}")
        if self.oow_ack_interval is not None and (
                not isinstance(self.oow_ack_interval, (int, float)) or self.oow_ack_interval < 0):
            raise ValueError(f"oow_ack_interval must be None or seconds >= 0, not {self.oow_ack_interval!r}")
        for name in ("msl", "rto_initial", "rto_min", "rto_max", "ack_delay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ValueError(f"{name} must be a finite, non-negative number of seconds, "
                                 f"not {value!r}")
        if self.ack_delay >= 0.5:
            raise ValueError(f"ack_delay must be under 0.5 s (RFC 1122 4.2.3.2), not {self.ack_delay!r}")
        if self.rto_min <= 0 or self.rto_min > self.rto_max:
            raise ValueError("need 0 < rto_min <= rto_max")
        if self.rto_initial <= 0:
            raise ValueError("rto_initial must be more than 0 seconds (RFC 6298 2.1: 1 s)")
        for name in ("syn_retries", "retries", "backlog_slack"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, not {value!r}")
        if self.challenge_ack_limit is not None and (
                not isinstance(self.challenge_ack_limit, int) or self.challenge_ack_limit < 0):
            raise ValueError(f"challenge_ack_limit must be None or a non-negative int, "
                             f"not {self.challenge_ack_limit!r}")
        for name in ("delayed_ack", "nagle", "rst_on_close_with_unread", "reset_with_ack"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, not {getattr(self, name)!r}")
        isn = self.isn
        if isn is not None and not callable(isn):
            if not isinstance(isn, int) or not 0 <= isn < 1 << 32:
                raise ValueError(f"isn must be None, a callable or an int in 0..2**32-1, not {isn!r}")

    @classmethod
    def linux(cls, **changes: object) -> "Config":
        """Close to Linux's defaults: TIME-WAIT 60 s, RTO 0.2..120 s, delayed ACKs,
        an accept queue of backlog + 1, RST,ACK on close with unread data, and ACKs to
        out-of-window segments throttled to one per 0.5 s (tcp_invalid_ratelimit)."""
        base = cls(msl=30.0, rto_min=0.2, rto_max=120.0, delayed_ack=True,
                   backlog_slack=1, reset_with_ack=True, oow_ack_interval=0.5)
        return replace(base, **changes) if changes else base

    def replace(self, **changes: object) -> "Config":
        """A copy with some fields changed."""
        return replace(self, **changes)
