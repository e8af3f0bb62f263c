"""RFC 1982-style comparisons on the 32-bit sequence circle (RFC 9293 3.4)."""

import pytest

from tcpsim.seqnum import MOD, seq_add, seq_diff, seq_ge, seq_gt, seq_in, seq_le, seq_lt

NEAR_TOP = MOD - 3


@pytest.mark.parametrize("base", [0, 12345, NEAR_TOP, MOD - 1])
def test_comparisons_are_the_same_wherever_the_numbers_sit(base):
    a, b = base, seq_add(base, 10)
    assert seq_lt(a, b) and seq_le(a, b) and not seq_gt(a, b) and not seq_ge(a, b)
    assert seq_gt(b, a) and seq_ge(b, a)
    assert seq_le(a, a) and seq_ge(a, a) and not seq_lt(a, a) and not seq_gt(a, a)
    assert seq_diff(b, a) == 10 and seq_diff(a, b) == -10


def test_wrap_past_zero():
    assert seq_add(MOD - 1, 1) == 0
    assert seq_add(NEAR_TOP, 5) == 2
    assert seq_lt(MOD - 1, 0)            # 2**32-1 comes just before 0
    assert seq_diff(2, NEAR_TOP) == 5


def test_half_the_circle_away_is_ahead_not_behind():
    # RFC 1982: numbers within 2**31 forward are "greater".
    assert seq_lt(0, 2**31 - 1)
    assert seq_gt(0, 2**31 + 1)


@pytest.mark.parametrize("base", [0, NEAR_TOP])
def test_in_window(base):
    lo, hi = base, seq_add(base, 100)
    assert seq_in(lo, lo, hi)
    assert seq_in(seq_add(lo, 99), lo, hi)
    assert not seq_in(hi, lo, hi)
    assert not seq_in(seq_add(lo, -1), lo, hi)
    assert not seq_in(lo, lo, lo)        # an empty window holds nothing
