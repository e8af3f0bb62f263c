"""The transition table: RFC 9293 Figure 5's edges, and only those the engine can take."""

import pytest

from tcpsim import State
from tcpsim.fsm import TRANSITIONS, Input, Transition, edges, is_edge
from tcpsim.segment import Flags

S, I = State, Input

# RFC 9293 Figure 5, edge by edge: (from, event, to, what is sent).
FIGURE_5 = [
    (S.CLOSED, I.ACTIVE_OPEN, S.SYN_SENT, Flags.SYN),
    (S.CLOSED, I.PASSIVE_OPEN, S.LISTEN, Flags(0)),
    (S.LISTEN, I.CLOSE, S.CLOSED, Flags(0)),
    (S.LISTEN, I.RCV_SYN, S.SYN_RECEIVED, Flags.SYN | Flags.ACK),
    (S.LISTEN, I.SEND, S.SYN_SENT, Flags.SYN),
    (S.SYN_SENT, I.CLOSE, S.CLOSED, Flags(0)),
    (S.SYN_SENT, I.RCV_SYN, S.SYN_RECEIVED, Flags.SYN | Flags.ACK),
    (S.SYN_SENT, I.RCV_SYN_ACK, S.ESTABLISHED, Flags.ACK),
    (S.SYN_RECEIVED, I.RCV_RST, S.LISTEN, Flags(0)),          # note 1: after a passive OPEN
    (S.SYN_RECEIVED, I.RCV_ACK_OF_SYN, S.ESTABLISHED, Flags(0)),
    (S.SYN_RECEIVED, I.CLOSE, S.FIN_WAIT_1, Flags.FIN),
    (S.ESTABLISHED, I.CLOSE, S.FIN_WAIT_1, Flags.FIN),
    (S.ESTABLISHED, I.RCV_FIN, S.CLOSE_WAIT, Flags.ACK),
    (S.FIN_WAIT_1, I.RCV_ACK_OF_FIN, S.FIN_WAIT_2, Flags(0)),
    (S.FIN_WAIT_1, I.RCV_FIN, S.CLOSING, Flags.ACK),
    (S.FIN_WAIT_2, I.RCV_FIN, S.TIME_WAIT, Flags.ACK),
    (S.CLOSE_WAIT, I.CLOSE, S.LAST_ACK, Flags.FIN),
    (S.CLOSING, I.RCV_ACK_OF_FIN, S.TIME_WAIT, Flags(0)),
    (S.LAST_ACK, I.RCV_ACK_OF_FIN, S.CLOSED, Flags(0)),
    (S.TIME_WAIT, I.TIMEOUT_2MSL, S.CLOSED, Flags(0)),
]


@pytest.mark.parametrize("old, event, new, send", FIGURE_5,
                         ids=[f"{o}-{e}" for o, e, _, _ in FIGURE_5])
def test_every_edge_of_figure_5_is_in_the_table(old, event, new, send):
    t = TRANSITIONS[old, event]
    assert t.next is new
    assert t.send == send
    assert t.rfc.startswith("RFC 9293")


def test_rst_closes_every_synchronized_state_but_time_wait():
    for state in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK):
        assert TRANSITIONS[state, I.RCV_RST].next is S.CLOSED
    assert (S.TIME_WAIT, I.RCV_RST) not in TRANSITIONS       # RFC 1337
    assert TRANSITIONS[S.SYN_SENT, I.RCV_RST].next is S.CLOSED


def test_abort_sends_rst_only_where_rfc_9293_3_10_5_says():
    with_rst = {S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT}
    for state in State:
        t = TRANSITIONS.get((state, I.ABORT))
        if state is S.CLOSED:
            assert t is None
            continue
        assert t is not None and t.next is S.CLOSED
        assert bool(t.send & Flags.RST) == (state in with_rst), state


def test_nothing_leaves_closed_but_open():
    assert {e for (s, e) in TRANSITIONS if s is S.CLOSED} == {I.ACTIVE_OPEN, I.PASSIVE_OPEN}


def test_every_action_is_an_engine_method():
    from tcpsim.connection import Connection

    for t in TRANSITIONS.values():
        if t.action:
            assert callable(getattr(Connection, "_" + t.action)), t.action


def test_edges_are_stable_and_complete():
    listed = edges()
    assert len(listed) == len(TRANSITIONS)
    assert listed == edges()
    assert all(isinstance(t, Transition) for _, _, t in listed)
    assert is_edge(S.SYN_SENT, S.ESTABLISHED) and not is_edge(S.LISTEN, S.ESTABLISHED)


def test_labels_read_like_the_rfc_figure():
    assert TRANSITIONS[S.LISTEN, I.RCV_SYN].label_action == "snd SYN,ACK"
    assert TRANSITIONS[S.ESTABLISHED, I.CLOSE].label_action == "snd FIN"
    assert TRANSITIONS[S.TIME_WAIT, I.TIMEOUT_2MSL].label_action == "delete TCB"
    assert str(I.RCV_SYN) == "rcv SYN" and str(I.TIMEOUT_2MSL) == "Timeout=2MSL"
