"""TCP's invariants, one test each, over the REPL-verb state machine (tcpmodel.py).

Each invariant has, beside its property, at least one deliberately broken
variant -- a hand-built bad trace or value, and a mutated engine run through
the same state machine -- proving the check can fail.
"""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings, strategies as st
from hypothesis.stateful import initialize, run_state_machine_as_test

import tcpsim.connection
from tcpsim import Config, Flags, Network, Segment, State
from tcpsim.connection import Connection
from tcpsim.fsm import TRANSITIONS, Input, Transition
from tcpsim.invariants import (InvariantViolation, check_acks, check_agreement, check_delivery,
                               check_history, check_isn_shift, check_liveness, check_same_trace,
                               check_tcb, check_transitions, liveness_bound)
from tcpsim.programs import Command, Runner
from tcpsim.seqnum import MASK, MOD
from tcpsim.strategies import configs, programs
from tcpsim.tcb import ConnectionInfo
from tcpsim.trace import Packet, StateChange, Trace
from tcpmodel import TcpModel, ended_abnormally, examples

STEPS = 30
MODEL_SETTINGS = settings(max_examples=examples("model"), stateful_step_count=STEPS)
# A mutated engine must be caught within this many runs (no shrinking: only "caught?").
MUTANT_SETTINGS = settings(max_examples=300, stateful_step_count=STEPS, derandomize=True,
                           database=None, deadline=None, phases=[Phase.generate],
                           report_multiple_bugs=False, suppress_health_check=list(HealthCheck))
S = State


def assert_caught(model: type[TcpModel]) -> str:
    """Run ``model`` until it fails; return the failure message."""
    with pytest.raises(InvariantViolation) as caught:
        run_state_machine_as_test(model, settings=MUTANT_SETTINGS)
    message = str(caught.value)
    assert "The run as a `tcpsim run` script:" in message
    return message


# -- the models, one per invariant --------------------------------------------------------------

class DeliveryModel(TcpModel):
    per_rule = ("delivery",)
    at_end = ("delivery",)


class TransitionModel(TcpModel):
    per_rule = ("transitions",)
    at_end = ("transitions",)

    def end_transitions(self) -> None:
        self.close_all()                  # the closing edges too
        self.check_transitions()


class TcbModel(TcpModel):
    per_rule = ("tcb",)


class AgreementModel(TcpModel):
    per_rule = ("agreement",)
    at_end = ("agreement",)


class LivenessModel(TcpModel):
    at_end = ("liveness",)


class DeterminismModel(TcpModel):
    at_end = ("determinism",)


class IsnModel(TcpModel):
    at_end = ("isn_shift",)
    isn_shift = None                      # drawn by choose_shift

    def adjust(self, config: Config) -> Config:
        return config.replace(isn=0)

    @initialize(k=st.one_of(st.integers(1, 4096), st.integers(1, 1 << 20)))
    def choose_shift(self, k: int) -> None:
        self.isn_shift = MOD - k          # replay with ISN 2**32 - k


TestDelivery = DeliveryModel.TestCase
TestTransitions = TransitionModel.TestCase
TestTcbSanity = TcbModel.TestCase
TestAgreement = AgreementModel.TestCase
TestLiveness = LivenessModel.TestCase
TestDeterminism = DeterminismModel.TestCase
TestIsnInvariance = IsnModel.TestCase
for _case in (TestDelivery, TestTransitions, TestTcbSanity, TestAgreement, TestLiveness,
              TestDeterminism, TestIsnInvariance):
    _case.settings = MODEL_SETTINGS
del _case


# -- exactly-once, in-order delivery: broken variants ---------------------------------------------

def test_delivery_check_catches_a_changed_octet():
    with pytest.raises(InvariantViolation, match="octet 1 differs"):
        check_delivery(b"hello", b"hxl")


def test_delivery_check_catches_a_duplicate():
    with pytest.raises(InvariantViolation):
        check_delivery(b"abcdef", b"abcabc")


def test_delivery_check_catches_missing_data_once_complete():
    check_delivery(b"hello", b"hel")
    with pytest.raises(InvariantViolation, match="5 octets sent but only 3 received"):
        check_delivery(b"hello", b"hel", complete=True)


def test_delivery_model_catches_an_engine_that_delivers_twice(monkeypatch):
    real = Connection.receive

    def receive_twice(self, bufsize, now):
        data = real(self, bufsize, now)
        return data + data[:1] if len(data) > 1 else data
    monkeypatch.setattr(Connection, "receive", receive_twice)
    assert "differs" in assert_caught(DeliveryModel)


# -- the transition table: broken variants -------------------------------------------------------

def change(old: State, new: State, conn_id: int = 1, time: int = 0) -> StateChange:
    return StateChange(time, "client", conn_id, ("10.0.0.1", 1), ("10.0.0.2", 80), old, new, "test")


def test_transition_check_catches_an_edge_not_in_the_table():
    check_transitions([change(S.CLOSED, S.SYN_SENT), change(S.SYN_SENT, S.ESTABLISHED)])
    with pytest.raises(InvariantViolation, match="not an edge"):
        check_transitions([change(S.CLOSED, S.SYN_SENT), change(S.SYN_SENT, S.FIN_WAIT_2)])


def test_transition_check_catches_a_history_that_does_not_chain():
    with pytest.raises(InvariantViolation, match="was in SYN-SENT, not ESTABLISHED"):
        check_transitions([change(S.CLOSED, S.SYN_SENT), change(S.ESTABLISHED, S.CLOSE_WAIT)])


def test_transition_check_catches_a_history_not_starting_at_closed_or_listen():
    with pytest.raises(InvariantViolation, match="first change leaves ESTABLISHED"):
        check_transitions([change(S.ESTABLISHED, S.CLOSE_WAIT)])
    with pytest.raises(InvariantViolation, match="begins at SYN-SENT"):
        check_history([S.SYN_SENT, S.ESTABLISHED])
    with pytest.raises(InvariantViolation, match="not an edge"):
        check_history([S.LISTEN, S.ESTABLISHED])


def test_transition_check_catches_a_closed_connection_that_still_sends(monkeypatch):
    # The engine as it was: deleting the TCB kept a pending delayed ACK, which went out
    # 40 ms after the peer's RST had closed the connection.
    def leaky_delete(self, now):
        self.t_rtx = self.t_persist = self.t_delack = self.t_timewait = None

    monkeypatch.setattr(Connection, "_delete_tcb", leaky_delete)
    net = Network(seed=0, config=Config(delayed_ack=True))
    net.add_host("client"), net.add_host("server")
    runner = Runner(net).run_all([Command.parse(line) for line in (
        "listen server 80", "connect client server:80", "accept server", "run until 1.0",
        "send server ab", "run until 1.015", "abort server", "run until 2.0")])
    runner.close()
    with pytest.raises(InvariantViolation, match="that had reached CLOSED"):
        check_transitions(net.trace)


def test_transition_check_allows_the_rst_that_closes(monkeypatch):
    # ABORT records ESTABLISHED -> CLOSED, then sends its RST at the same instant.
    net = Network(seed=0)
    net.add_host("client"), net.add_host("server")
    Runner(net).run_all([Command.parse(line) for line in (
        "listen server 80", "connect client server:80", "accept server", "run until 1.0",
        "abort client", "run until 2.0")]).close()
    assert any(p.segment.flags & Flags.RST for p in net.trace.packets)
    check_transitions(net.trace)


def test_transition_model_catches_an_engine_taking_an_edge_outside_the_table(monkeypatch):
    # The engine reads the table; a bad entry makes it take ESTABLISHED -> LAST-ACK on a FIN.
    monkeypatch.setitem(TRANSITIONS, (S.ESTABLISHED, Input.RCV_FIN), Transition(S.LAST_ACK, Flags.ACK))
    assert "ESTABLISHED -> LAST-ACK is not an edge" in assert_caught(TransitionModel)


# -- TCB sanity: broken variants -------------------------------------------------------------------

def info(**changes) -> ConnectionInfo:
    fields = dict(local=("10.0.0.1", 40000), remote=("10.0.0.2", 80), state=S.ESTABLISHED,
                  iss=1000, irs=5000, snd_una=1001, snd_nxt=1001, snd_wnd=65535,
                  rcv_nxt=5001, rcv_wnd=65535)
    fields.update(changes)
    return ConnectionInfo(**fields)


def test_tcb_check_accepts_a_sane_tcb_across_the_wrap():
    check_tcb(info(iss=MASK, snd_una=MASK, snd_nxt=99), Config(), sent_end=99)


def test_tcb_check_catches_snd_una_beyond_snd_nxt():
    with pytest.raises(InvariantViolation, match="SND.UNA=1500 is beyond SND.NXT=1001"):
        check_tcb(info(snd_una=1500), Config())


def test_tcb_check_catches_acknowledged_data_never_sent():
    with pytest.raises(InvariantViolation, match="beyond the highest sequence number ever sent"):
        check_tcb(info(snd_una=1100, snd_nxt=1100), Config(), sent_end=1050)


def test_tcb_check_catches_negative_windows_and_overfull_buffers():
    with pytest.raises(InvariantViolation, match="negative window"):
        check_tcb(info(snd_wnd=-1), Config())
    with pytest.raises(InvariantViolation, match="receive buffer"):
        check_tcb(info(rcv_wnd=0, recv_queue=70000), Config())
    with pytest.raises(InvariantViolation, match="send buffer"):
        check_tcb(info(send_queue=70000), Config())


def packet(pid: int, src: str, dst: str, seg: Segment) -> Packet:
    addr = {"client": "10.0.0.1", "server": "10.0.0.2"}
    return Packet(pid, src, dst, addr[src], addr[dst], seg, 0, 10)


def test_ack_check_catches_an_ack_of_data_never_sent():
    syn = Segment(src_port=40000, dst_port=80, seq=100, flags=Flags.SYN)
    good = Segment(src_port=80, dst_port=40000, seq=7, ack=101, flags=Flags.SYN | Flags.ACK)
    bad = Segment(src_port=80, dst_port=40000, seq=8, ack=102, flags=Flags.ACK)
    check_acks([packet(1, "client", "server", syn), packet(2, "server", "client", good)])
    with pytest.raises(InvariantViolation, match="acknowledges 102"):
        check_acks([packet(1, "client", "server", syn), packet(2, "server", "client", bad)])
    check_acks([packet(1, "client", "server", syn), packet(2, "server", "client", bad)], ignore={2})
    copy, copy_of_copy = packet(3, "server", "client", bad), packet(4, "server", "client", bad)
    copy.duplicate_of, copy_of_copy.duplicate_of = 2, 3
    check_acks([packet(1, "client", "server", syn), packet(2, "server", "client", bad), copy,
                copy_of_copy], ignore={2})          # a forger's packet, copied and copied again


def test_tcb_model_catches_an_engine_acknowledging_too_much(monkeypatch):
    def ack_one_more(self, now):
        self._emit(Flags.ACK, self.snd_nxt, (self.rcv_nxt + 1) & MASK, b"")
    monkeypatch.setattr(Connection, "_send_ack", ack_one_more)
    assert "beyond the highest sequence number" in assert_caught(TcbModel)


# -- agreement: broken variants ----------------------------------------------------------------------

def test_agreement_check_catches_mismatched_sequence_spaces():
    a = info()
    b = info(local=a.remote, remote=a.local, iss=5000, irs=1000, snd_una=5001, snd_nxt=5001,
             rcv_nxt=1001)
    check_agreement(a, b)
    with pytest.raises(InvariantViolation, match="ISS/IRS disagree"):
        check_agreement(a, info(local=a.remote, remote=a.local, iss=5000, irs=999,
                                snd_nxt=5001, rcv_nxt=1001))
    with pytest.raises(InvariantViolation, match="SND.NXT=1001 .* but RCV.NXT=1000"):
        check_agreement(a, info(local=a.remote, remote=a.local, iss=5000, irs=1000,
                                snd_una=5001, snd_nxt=5001, rcv_nxt=1000))


def test_agreement_model_catches_an_engine_that_misremembers_irs(monkeypatch):
    real = Connection._listen_arrives

    def off_by_one(self, seg, now):
        real(self, seg, now)
        self.irs = (self.irs + 1) & MASK
    monkeypatch.setattr(Connection, "_listen_arrives", off_by_one)
    assert "ISS/IRS disagree" in assert_caught(AgreementModel)


# -- liveness: broken variants --------------------------------------------------------------------------

def test_liveness_check_catches_a_connection_that_never_closes():
    ends = [("client", ("10.0.0.1", 1), ("10.0.0.2", 80))]
    trace = [change(S.ESTABLISHED, S.FIN_WAIT_1), change(S.FIN_WAIT_1, S.FIN_WAIT_2)]
    with pytest.raises(InvariantViolation, match="still FIN-WAIT-2"):
        check_liveness(trace, ends, 0.0, Config())


def test_liveness_check_catches_a_close_after_the_deadline():
    ends = [("client", ("10.0.0.1", 1), ("10.0.0.2", 80))]
    config = Config(msl=1.0, rto_max=2.0)          # deadline: 2*1 + 4*2 = 10 s after closing
    on_time = [change(S.TIME_WAIT, S.CLOSED, time=9_999_999)]
    late = [change(S.TIME_WAIT, S.CLOSED, time=10_000_001)]
    check_liveness(on_time, ends, 0.0, config)
    with pytest.raises(InvariantViolation, match="after the deadline"):
        check_liveness(late, ends, 0.0, config)


def test_liveness_model_catches_an_engine_stuck_in_time_wait(monkeypatch):
    monkeypatch.setattr(Connection, "_start_time_wait", lambda self, now: None)
    assert "still TIME-WAIT" in assert_caught(LivenessModel)


def run_liveness_model(config: Config, lines: list[str]) -> None:
    """Drive the liveness model through ``lines`` (REPL commands), then its teardown."""
    model = LivenessModel()
    model.start(seed=0, config=config, opening=())
    try:
        for line in lines:
            model.do(Command.parse(line))
    finally:
        model.teardown()


# The server half-closes; the client's ACK lets it reach FIN-WAIT-2; the client's
# data is lost and, with no retries, the client gives up (no RST is sent).
PEER_GIVES_UP = ["listen server 80", "connect client server:80", "accept server",
                 "run until 0.1", "shutdown server wr", "run until 0.2", "send client x",
                 "drop 6", "run until 30.0"]


def test_liveness_model_excuses_fin_wait_2_whose_peer_gave_up():
    # RFC 9293 has no FIN-WAIT-2 timer: the server waits for a FIN that cannot come.
    run_liveness_model(Config(retries=0, msl=0.5), PEER_GIVES_UP)


def test_liveness_model_still_judges_fin_wait_2_when_the_peer_lives(monkeypatch):
    monkeypatch.setattr(Connection, "_start_time_wait", lambda self, now: None)
    with pytest.raises(InvariantViolation, match="still TIME-WAIT"):
        run_liveness_model(Config(msl=0.5), PEER_GIVES_UP)


# -- determinism: broken variants ----------------------------------------------------------------------

def test_same_trace_check_catches_a_different_record():
    def run(seed: int) -> Trace:
        net = Network(seed=seed)
        net.add_host("client"), net.add_host("server")
        Runner(net).run_all(programs_fixed())
        return net.trace
    check_same_trace(run(1), run(1))
    with pytest.raises(InvariantViolation, match="traces differ"):
        check_same_trace(run(1), run(2))


def programs_fixed():
    return [Command.parse(line) for line in (
        "listen server 80", "connect client server:80", "accept server", "send client hi",
        "recv server", "run until 1.0")]


def test_determinism_model_catches_ambient_state(monkeypatch):
    counter = itertools.count(12345)       # state that outlives a network: replays differ
    monkeypatch.setattr(Network, "_isn", lambda self: next(counter) & MASK)
    assert "traces differ" in assert_caught(DeterminismModel)


# -- ISN invariance: broken variants ---------------------------------------------------------------------

def test_isn_shift_check_catches_a_difference_beyond_the_shift():
    def run(isn: int, word: str = "hi") -> Trace:
        net = Network(seed=3, config=Config(isn=isn))
        net.add_host("client"), net.add_host("server")
        Runner(net).run_all(programs_fixed()[:-2] + [programs_fixed()[-1]])
        return net.trace
    check_isn_shift(run(0), run(MOD - 5), MOD - 5)
    with pytest.raises(InvariantViolation, match="beyond the shift"):
        check_isn_shift(run(0), run(MOD - 5), MOD - 4)


def test_isn_shift_check_ends_where_a_reset_from_closed_arrives():
    """A RST answering a segment without ACK has SEQ=0 (RFC 9293 3.10.7.1); the shift
    does not move it.  Here a duplicated SYN reaches the server after its listener
    closed, and the RST it draws reaches the client after the other copy of the SYN
    has opened a connection.  With ISN 0 the client's RCV.NXT is 1: the RST is outside
    the window and dropped.  With ISN 2**32-1 its RCV.NXT is 0: the RST is exactly
    RCV.NXT and resets the connection (RFC 5961 3.2).  Both runs are right, so the
    check compares them up to that RST's arrival, and no further."""
    script = ["listen server 80", "connect client server:80", "accept server", "close server",
              "dup 1", "step 1", "listen server 80", "link client server delay=0",
              "accept server", "recv client", "run until 10", "close client", "close server",
              "run until 20"]

    def run(isn: int) -> Trace:
        config = Config(mss=1, recv_buffer=7, send_buffer=7, msl=0.5, isn=isn)
        net = Network(seed=0, config=config)
        net.add_host("client"), net.add_host("server")
        Runner(net).run_all([Command.parse(line) for line in script])
        return net.trace

    def client_reset(trace: Trace) -> bool:
        return any(c.host == "client" and c.old is State.ESTABLISHED and c.new is State.CLOSED
                   and c.cause.flags & Flags.RST for c in trace.state_changes())

    plain, shifted = run(0), run(MOD - 1)
    stray = [p for p in plain.packets if p.flags & Flags.RST]
    assert stray and stray[0].seq == 0 and stray[0].fate == "delivered"
    assert not client_reset(plain) and client_reset(shifted)
    check_isn_shift(plain, shifted, MOD - 1)
    with pytest.raises(InvariantViolation, match="beyond the shift"):
        check_isn_shift(plain, shifted, MOD - 2)     # before the RST, it still compares


def test_isn_model_catches_an_engine_without_modular_comparisons(monkeypatch):
    monkeypatch.setattr(tcpsim.connection, "seq_diff", lambda a, b: a - b)
    assert "ISN shift" in assert_caught(IsnModel)


# -- programs for more hosts -------------------------------------------------------------------------------

@settings(max_examples=examples("scenario"))
@given(seed=st.integers(0, 2**32 - 1), config=configs(),
       program=programs(("alice", "bob", "carol"), max_commands=25))
def test_determinism_of_three_host_programs(seed, config, program):
    traces = []
    for _ in range(2):
        net = Network(seed=seed, config=config)
        for name in ("alice", "bob", "carol"):
            net.add_host(name)
        runner = Runner(net).run_all(program)
        assert runner.unexpected() == []
        check_transitions(net.trace)
        traces.append(net.trace)
        runner.close()
    check_same_trace(*traces)


@settings(max_examples=examples("scenario"))
@given(seed=st.integers(0, 2**32 - 1),
       config=configs(recv_buffer=st.sampled_from((7, 100, 4096, 65535)),
                      send_buffer=st.sampled_from((7, 100, 4096, 65535))),
       program=programs(max_commands=30))
def test_header_prediction_changes_nothing(seed, config, program):
    # The ESTABLISHED fast path of segment_arrives is an optimisation only: with it
    # off (no segment matches a zero mask), every run leaves the same trace.
    traces = []
    for mask in (tcpsim.connection._PREDICT_MASK, 0):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(tcpsim.connection, "_PREDICT_MASK", mask)
            net = Network(seed=seed, config=config)
            net.add_host("client"), net.add_host("server")
            Runner(net).run_all(program).close()
            traces.append(net.trace)
    check_same_trace(*traces)


# Faults on single packets, and the user calls a crossing open leaves room for.
WIRE_ACTIONS = st.one_of(
    st.tuples(st.sampled_from(("drop", "duplicate", "deliver")), st.integers(0, 15)),
    st.tuples(st.just("run"), st.sampled_from((0.001, 0.01, 0.1, 1.0, 5.0))),
    st.tuples(st.sampled_from(("close", "send")), st.sampled_from(("a", "b"))),
    st.tuples(st.just("loss"), st.sampled_from((0.0, 0.3))),
)


@settings(max_examples=examples("scenario"))
@given(seed=st.integers(0, 2**32 - 1),
       config=configs(msl=st.sampled_from((0.5, 5.0)), retries=15, syn_retries=6),
       actions=st.lists(WIRE_ACTIONS, max_size=25))
# found by the long profile: b closes with unread data, its RST is lost, and a waits in
# FIN-WAIT-2 for a FIN that cannot come
@example(seed=0, config=Config(mss=1, recv_buffer=2, send_buffer=1, msl=0.5),
         actions=[("run", 0.1), ("send", "a"), ("close", "a"), ("run", 0.1), ("close", "b"),
                  ("drop", 0)])
def test_simultaneous_open_under_faults(seed, config, actions):
    # RFC 9293 Figure 8: both ends connect to each other and the SYNs cross.  Whatever
    # the wire does to single packets, and whenever either end closes: every change is
    # a table edge, nothing is sent once CLOSED, and both ends reach CLOSED in time.
    net = Network(seed=seed, config=config)
    socks = {}
    for name, port in (("a", 1000), ("b", 2000)):
        sock = socks[name] = net.add_host(name).socket()
        sock.bind(("", port))
        sock.setblocking(False)
    for name, peer in (("a", ("b", 2000)), ("b", ("a", 1000))):
        socks[name].connect_ex(peer)
    try:
        for verb, arg in actions:
            if verb == "run":
                net.run(until=net.now + arg, max_events=20_000)
            elif verb == "loss":
                net.set_link("a", "b", loss=arg)
            elif verb == "close":
                socks[arg].close()
            elif verb == "send":
                if not socks[arg].closed:
                    with contextlib.suppress(OSError):
                        socks[arg].send(b"hello")
            elif net.in_flight:
                packet = net.in_flight[arg % len(net.in_flight)]
                getattr(net, verb)(packet.id)
        net.set_link("a", "b")
        net.run(until=net.now + 2 * config.rto_max + 1, max_events=20_000)
        for sock in socks.values():
            sock.close()
        closed_at = net.now
        # as the model does: an end in FIN-WAIT-2 whose peer is already gone (a RST lost
        # on the wire, or the peer gave up) waits for ever -- RFC 9293 has no timer there
        ends = [(name, s.connection.local, s.connection.remote) for name, s in socks.items()
                if not (s.state is State.FIN_WAIT_2 and ended_abnormally(
                    net, socks["b" if name == "a" else "a"].connection.id, before=closed_at))]
        net.run(until=closed_at + liveness_bound(config) + 1, max_events=200_000)
        check_transitions(net.trace)
        check_liveness(net.trace, ends, closed_at, config)
    finally:
        net.close()


# -- engine bugs the properties found (each passes once fixed) ------------------------------------------

def test_bug_zero_window_ack_pingpong():
    # Both windows closed with data waiting on both sides: each side probes with one
    # octet.  Probes back off exponentially (RFC 9293 3.8.6.1, RFC 6298 5.5), so in
    # 240 s each side sends at most ~10 probes, each answered by one ACK.
    runner = Runner(Network(seed=0, config=Config(recv_buffer=7, send_buffer=7)))
    runner.net.add_host("client"), runner.net.add_host("server")
    runner = Runner(runner.net).run_all([Command.parse(line) for line in (
        "listen server 80", "connect client server:80", "accept server", "run until 1.0",
        "send client xxxxxxxxxxxxxx", "send server yyyyyyyyyyyyyy")])
    events = runner.net.run(until=240.0, max_events=100_000)
    runner.close()
    assert events < 100, f"{events} events in 240 s between two zero windows: an ACK storm"


def test_bug_orphan_with_closed_window_never_closes():
    # The server closes with unread data and, by configuration, no RST; its full
    # buffer will never be read.  The client's FIN waits behind data that window
    # never takes.  Both sockets are closed on a healthy network: both connections
    # must still reach CLOSED within 2*MSL plus a bounded number of RTOs.
    config = Config(recv_buffer=7, rst_on_close_with_unread=False)
    net = Network(seed=0, config=config)
    net.add_host("client"), net.add_host("server")
    runner = Runner(net).run_all([Command.parse(line) for line in (
        "listen server 80", "connect client server:80", "accept server", "run until 1.0",
        "send client xxxxxxxxxxxxxxxxxxxx", "run until 2.0", "close server", "run until 3.0",
        "close client", f"run until {3.0 + liveness_bound(config) + 1}")])
    ends = [(s.host.name, s.connection.local, s.connection.remote) for s in runner.data_sockets]
    runner.close()
    check_liveness(net.trace, ends, 3.0, config)


def test_bug_fin_into_zero_window_at_zero_delay():
    # A FIN that meets a zero window waits for the window (retransmission timer,
    # persist probes), at zero link delay as at any other: a few dozen events in
    # 30 s, not an endless exchange at one virtual instant.
    config = Config(mss=1, recv_buffer=7, send_buffer=7, rst_on_close_with_unread=False)
    net = Network(seed=0, config=config, delay=0.0)
    net.add_host("client"), net.add_host("server")
    runner = Runner(net).run_all([Command.parse(line) for line in (
        "listen server 80", "connect client server:80", "accept server", "run until 0.01",
        "send client 00000000000000", "recv server", "send server 000000000", "recv client",
        "run until 0.02", "close client")])
    events = net.run(until=30.0, max_events=50_000)
    runner.close()
    assert events < 100, f"{events} events by t={net.now}: the FIN goes round without end"


def _storm_events(lines, config, until, **net_kw):
    net = Network(seed=0, config=config, **net_kw)
    net.add_host("client"), net.add_host("server")
    runner = Runner(net).run_all([Command.parse(line) for line in lines])
    events = net.run(until=until, max_events=50_000)
    runner.close()
    return events, net


def test_bug_ack_at_the_right_edge_of_a_full_window():
    # The client fills the server's window (7 octets, MSS 1) and acknowledges the
    # server's data with SEQ = SND.NXT = the server's RCV.NXT+RCV.WND.  A receiver
    # that drops ACKs on the window's right edge (the strict four cases) never learns
    # its data arrived, and at zero delay both sides trade ACKs at one instant forever.
    config = Config(mss=1, recv_buffer=7, send_buffer=7, msl=0.5, rst_on_close_with_unread=False)
    events, net = _storm_events([
        "listen server 80", "connect client server:80", "accept server", "send client 0",
        "run until 0.1", "link client server loss=0.5", "send client 00000000", "recv server",
        "send server 00", "recv client", "link client server delay=0.0 loss=0.0", "recv server"],
        config, 121.1)
    assert events < 200, f"{events} events by t={net.now}: an ACK exchange without end"
    assert net.now == 121.1


def test_bug_acks_from_beyond_a_closed_window():
    # Both windows close with one octet of each side outstanding beyond them.  An ACK
    # carrying SEQ = SND.NXT, past the peer's zero window, is unacceptable there and
    # answered by one the sender finds unacceptable in turn: ACKs every RTT, forever.
    config = Config(mss=1, recv_buffer=7, send_buffer=7, msl=0.5, rst_on_close_with_unread=False)
    events, net = _storm_events([
        "listen server 80", "connect client server:80", "accept server", "send client 0",
        "run until 0.1", "link client server loss=0.5 corrupt=0.01", "send client 000000000",
        "recv server", "send server 000000000", "recv client",
        "link client server loss=0.0 corrupt=0.0", "recv server"], config, 121.1)
    assert events < 200, f"{events} events by t={net.now}: an ACK exchange without end"


def test_bug_fin_just_past_a_full_window_in_a_simultaneous_close():
    # Found by test_simultaneous_open_under_faults (long profile).  Windows of one octet,
    # both ends close with an octet unsent: each sends it with its FIN just past the
    # peer's window.  A receiver that took that FIN put RCV.NXT past the window the
    # sender knew, so every ACK of the sender (SEQ stopped at the window's end) looked
    # old to it, and the ACKs that answered them looked old in turn: both ends stayed in
    # CLOSING, trading ACKs.  The FIN outside the window is trimmed now and sent again.
    config = Config(mss=1, recv_buffer=1, send_buffer=100, msl=0.5, rst_on_close_with_unread=False)
    net = Network(seed=0, config=config)
    socks = {}
    for name, port in (("a", 1000), ("b", 2000)):
        sock = socks[name] = net.add_host(name).socket()
        sock.bind(("", port))
        sock.setblocking(False)
    socks["a"].connect_ex(("b", 2000))
    socks["b"].connect_ex(("a", 1000))
    net.run(until=0.1)
    for sock in socks.values():
        sock.send(b"hello")
    net.run(until=net.now + 2 * config.rto_max + 1, max_events=20_000)
    ends = [(name, s.connection.local, s.connection.remote) for name, s in socks.items()]
    for sock in socks.values():
        sock.close()
    closed_at = net.now
    events = net.run(until=closed_at + liveness_bound(config) + 1, max_events=200_000)
    check_transitions(net.trace)
    check_liveness(net.trace, ends, closed_at, config)
    assert events < 1000
    net.close()
