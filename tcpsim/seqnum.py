"""32-bit sequence-number arithmetic (RFC 9293 3.4, RFC 1982 comparisons).

Sequence numbers live in a circle of 2**32 values.  ``a`` is *before* ``b``
when going forward from ``a`` to ``b`` is shorter than half the circle, so a
connection whose ISN is 2**32 - 1 compares exactly like one whose ISN is 0.
"""

MOD = 1 << 32
MASK = MOD - 1
HALF = 1 << 31


def seq_add(a: int, n: int) -> int:
    """``a + n`` on the circle."""
    return (a + n) & MASK


def seq_diff(a: int, b: int) -> int:
    """The signed distance from ``b`` forward to ``a`` (``a - b``), in (-2**31, 2**31]."""
    d = (a - b) & MASK
    return d - MOD if d > HALF else d


def seq_lt(a: int, b: int) -> bool:
    """``a < b`` on the circle."""
    return 0 < ((b - a) & MASK) < HALF


def seq_le(a: int, b: int) -> bool:
    """``a <= b`` on the circle."""
    return ((b - a) & MASK) < HALF


def seq_gt(a: int, b: int) -> bool:
    """``a > b`` on the circle."""
    return 0 < ((a - b) & MASK) < HALF


def seq_ge(a: int, b: int) -> bool:
    """``a >= b`` on the circle."""
    return ((a - b) & MASK) < HALF


def seq_in(x: int, lo: int, hi: int) -> bool:
    """``lo <= x < hi`` on the circle (an empty range when ``lo == hi``)."""
    return ((x - lo) & MASK) < ((hi - lo) & MASK)
