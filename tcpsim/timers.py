"""Retransmission-timeout arithmetic (RFC 6298), in integer ticks.

Time inside tcpsim is an integer number of microseconds ("ticks"), so timers
compare exactly; seconds appear only at the edges (``Network.now``, Config).
"""

from __future__ import annotations

TICKS_PER_SECOND = 1_000_000
FALLBACK_RTO = 3 * TICKS_PER_SECOND      # RFC 6298 5.7


def to_ticks(seconds: float) -> int:
    """Virtual seconds to integer ticks (rounded to the nearest microsecond)."""
    return int(round(seconds * TICKS_PER_SECOND))


def check_until(until: object) -> float | None:
    """``run(until=...)``'s argument: virtual seconds, or None (or infinity) for no limit."""
    if until is None:
        return None
    if not isinstance(until, (int, float)):
        raise TypeError(f"until must be virtual seconds (a number) or None, not {until!r}")
    if until != until:
        raise ValueError("until must be virtual seconds, not NaN")
    if until == float("inf"):
        return None
    return -1.0 if until == float("-inf") else until   # -inf: a time past, as any negative


def to_seconds(ticks: int) -> float:
    """Integer ticks to virtual seconds."""
    return ticks / TICKS_PER_SECOND


class RtoEstimator:
    """SRTT, RTTVAR and RTO of RFC 6298 section 2, with exponential backoff (5.5).

    ``sample(r)`` feeds one round-trip measurement (Karn's rule -- never time a
    retransmitted segment -- is the caller's job); ``backoff()`` doubles the RTO
    up to the maximum; ``rto`` is the value to arm the timer with.
    """

    __slots__ = ("srtt", "rttvar", "base", "rto", "rto_min", "rto_max")

    def __init__(self, rto_initial: int, rto_min: int, rto_max: int) -> None:
        self.srtt: int | None = None
        self.rttvar = 0
        self.rto_min = rto_min
        self.rto_max = rto_max
        self.base = min(max(rto_initial, 1), rto_max)   # RFC 6298 2.1
        self.rto = self.base

    def sample(self, r: int) -> None:
        """Take one RTT measurement ``r`` (ticks) into SRTT/RTTVAR; reset the backoff."""
        srtt = self.srtt
        if srtt is None:                                             # RFC 6298 2.2
            srtt = r
            rttvar = r // 2
        else:                                                        # RFC 6298 2.3
            rttvar = (3 * self.rttvar + (srtt - r if srtt > r else r - srtt)) // 4
            srtt = (7 * srtt + r) // 8
        self.srtt = srtt
        self.rttvar = rttvar
        # RFC 6298 2.4, 2.5 (comparisons, not max()/min() calls: this runs once per RTT)
        rto = srtt + (4 * rttvar if rttvar > 0 else 1)
        if rto < self.rto_min:
            rto = self.rto_min
        if rto > self.rto_max:
            rto = self.rto_max
        self.base = self.rto = rto

    def after_handshake(self) -> None:
        """RFC 6298 5.7: a handshake that gave no RTT sample (its SYN timed out, so Karn's
        rule left it untimed) starts data with an RTO of 3 s, where the RTO in use was
        lower.  Linux does the same (tcp_init_metrics, TCP_TIMEOUT_FALLBACK)."""
        if self.srtt is None and self.base < FALLBACK_RTO:
            self.base = self.rto = min(FALLBACK_RTO, self.rto_max)

    def backoff(self) -> None:
        """Double the RTO after a timeout (RFC 6298 5.5), capped at the maximum."""
        self.rto = min(self.rto * 2, self.rto_max)
