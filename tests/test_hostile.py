"""Hostile input: RFC 5961's off-path and on-path attacker, and malformed API use.

Forged segments, random and near the target's window, are injected at either
endpoint in every state.  They must never raise out of the library, never
corrupt delivered data, and reset a connection only when the RST carries
exactly RCV.NXT.  A blind attacker's success rate is measured and must match
what RFC 5961 allows.  Malformed socket calls in every state raise Python's
own errors and leave the simulation running.
"""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.stateful import rule

from tcpsim import Config, Flags, Network, Segment, State
from tcpsim.connection import Connection
from tcpsim.invariants import InvariantViolation, check_delivery, check_transitions
from tcpsim.programs import EXPECTED_ERRORS, Command, EventStorm, Pick, Runner, inject_command
from tcpsim.seqnum import MASK, MOD, seq_diff
from tcpsim.strategies import hostile_segments
from tcpmodel import HOSTS, TcpModel, examples, new_network

S = State
RST, ACK, SYN = Flags.RST, Flags.ACK, Flags.SYN
GETS_TEXT = (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2)


# -- the RFC's judgement of a segment, written apart from the engine's ---------------------------

def snapshot(conn: Connection) -> dict:
    """What the RFC's tests read, taken before the segment arrives."""
    return dict(state=conn.state, rcv_nxt=conn.rcv_nxt, snd_una=conn.snd_una,
                snd_max=conn.snd_max, max_snd_wnd=conn.max_snd_wnd,
                rcv_wnd=min(conn.rcv_wnd, 65535))


def seq_acceptable(seg: Segment, tcb: dict) -> bool:
    """RFC 9293 3.10.7.4, first: the four cases of the acceptability test."""
    start = seq_diff(seg.seq, tcb["rcv_nxt"])
    end = start + seg.seg_len - 1
    wnd = tcb["rcv_wnd"]
    if seg.seg_len == 0:
        return start == 0 if wnd == 0 else 0 <= start < wnd
    return wnd > 0 and (0 <= start < wnd or 0 <= end < wnd)


def ack_acceptable(seg: Segment, tcb: dict) -> bool:
    """RFC 5961 5.2: SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT (the highest sent)."""
    return bool(seg.flags & ACK) and -tcb["max_snd_wnd"] <= seq_diff(seg.ack, tcb["snd_una"]) \
        and seq_diff(seg.ack, tcb["snd_max"]) <= 0


def may_end_connection(seg: Segment, tcb: dict) -> bool:
    """May this segment take the connection to CLOSED (or back to LISTEN)?"""
    if tcb["state"] is S.SYN_SENT:          # RFC 9293 3.10.7.3: a RST that acknowledges our SYN
        return bool(seg.flags & RST and seg.flags & ACK) and 0 < seq_diff(seg.ack, tcb["snd_una"]) \
            and seq_diff(seg.ack, tcb["snd_max"]) <= 0
    if seg.flags & RST:                     # RFC 5961 3.2: exactly RCV.NXT, nothing else
        return seg.seq == tcb["rcv_nxt"]
    if tcb["state"] is S.SYN_RECEIVED and seg.flags & SYN:
        # RFC 9293 3.10.7.4 fourth: a SYN in the window sends a passive one back to LISTEN
        return seq_acceptable(seg, tcb)
    # An acceptable segment may end it legitimately: the ACK of our FIN in LAST-ACK,
    # or data reaching a closed socket (answered with RST).  A blind guess cannot.
    return seq_acceptable(seg, tcb) and ack_acceptable(seg, tcb)


def deliver_forged(runner: Runner, src: str, dst: str, seg: Segment,
                   conn: Connection | None) -> tuple[dict | None, int]:
    """Inject ``seg`` and deliver it at once; check that only an RFC-allowed
    segment ended ``conn``.  Returns the TCB snapshot taken before (if any)
    and the forged packet's id."""
    net = runner.net
    before = snapshot(conn) if conn is not None else None
    mark = len(net.trace.records)
    packet = runner.execute(inject_command(src, dst, seg))
    runner.execute(Command("deliver", (packet.id,)))
    if conn is None or before["state"] in (S.CLOSED, S.LISTEN):
        return before, packet.id
    for record in net.trace.records[mark:]:
        if record.kind == "state" and record.conn_id == conn.id \
                and record.new in (S.CLOSED, S.LISTEN) \
                and not may_end_connection(seg, before):
            raise InvariantViolation(
                f"forged {seg} ended a {before['state']} connection (RCV.NXT={before['rcv_nxt']}, "
                f"SND.UNA={before['snd_una']}): only an exact-RCV.NXT RST may")
    return before, packet.id


# -- the state machine, with an attacker -------------------------------------------------------------

forged = hostile_segments(max_payload=16).filter(lambda s: s.flags and s.mss is None)


class HostileModel(TcpModel):
    per_rule = ("transitions", "tcb", "clean_delivery")

    def __init__(self) -> None:
        super().__init__()
        self.tainted: set = set()      # receiving sockets that rightly took forged text
        self.guessed = False           # some forged segment carried acceptable numbers
        self.stormed = False

    def do(self, command: Command) -> object:
        if self.stormed and command.verb in ("run", "step"):
            return None
        try:
            return super().do(command)
        except InvariantViolation as exc:
            # A correct guess can desynchronize the two ends, and then, unless the
            # config throttles out-of-window ACKs, they ACK each other forever (see
            # test_bug_ack_storm_after_forged_octet).  A blind guess never may.
            if self.guessed and self.config.oow_ack_interval is None \
                    and isinstance(exc.__cause__, EventStorm):
                self.stormed = True
                return None
            raise

    @rule(host=st.sampled_from(HOSTS), data=st.data())
    def inject(self, host: str, data: st.DataObject) -> None:
        """A forged segment from ``host``'s peer, delivered to ``host`` at once."""
        target, peer = host, HOSTS[1 - HOSTS.index(host)]
        sock = self.data_socket(target)
        conn = sock.connection if sock is not None else None
        near = conn.info() if conn is not None and conn.state.synchronized else None
        seg = data.draw(hostile_segments(near=near, max_payload=16).filter(
            lambda s: s.flags and s.mss is None) if near else forged, label="forged")
        try:
            before, pid = deliver_forged(self.runner, peer, target, seg, conn)
        except InvariantViolation as exc:
            self.fail(str(exc), exc)
        except Exception as exc:
            self.fail(f"a forged {seg} raised {exc!r} out of the library", exc)
        self.injected.add(pid)
        if before is not None and before["state"].synchronized \
                and (may_end_connection(seg, before)
                     or seq_acceptable(seg, before) and ack_acceptable(seg, before)):
            self.guessed = True
            if seg.payload and before["state"] in GETS_TEXT:
                self.tainted.add(sock)        # a correct guess: its text is rightly accepted

    def check_clean_delivery(self) -> None:
        r = self.runner
        for a, b in r.pairs():
            for s, d in ((a, b), (b, a)):
                if d not in self.tainted:
                    self.checked(check_delivery, r.sent[s], r.received[d],
                                 what=f"{s.host.name} -> {d.host.name} under attack")


TestHostileModel = HostileModel.TestCase
TestHostileModel.settings = settings(max_examples=examples("model"), stateful_step_count=30)


def test_reset_check_catches_an_engine_taking_in_window_rsts(monkeypatch):
    monkeypatch.setattr(Connection, "segment_arrives", rst_rewriting(Connection.segment_arrives))
    runner, target, conn = in_state(S.ESTABLISHED)
    seg = Segment(src_port=conn.remote[1], dst_port=80, seq=(conn.rcv_nxt + 100) & MASK, flags=RST)
    with pytest.raises(InvariantViolation, match="only an exact-RCV.NXT RST may"):
        deliver_forged(runner, "client", target, seg, conn)
    runner.close()


def test_bug_ack_storm_after_forged_octet():
    # An on-path attacker's one octet leaves the client's RCV.NXT past the server's
    # SND.NXT; each side then answers the other's ACK with an ACK.  Linux throttles
    # those answers (tcp_invalid_ratelimit: one per 500 ms), which ends the exchange;
    # so must the Linux preset.  Ten seconds at that rate is a few dozen events at most.
    runner = Runner(new_network(0, Config.linux())).run_all(list(map(Command.parse, OPEN)))
    client = next(s.connection for s in runner.sockets["client"] if s.connection is not None)
    forged = Segment(src_port=80, dst_port=client.local[1], seq=client.rcv_nxt,
                     ack=client.snd_nxt, flags=ACK, window=65535, payload=b"x")
    runner.net.inject("server", "client", forged)
    events = runner.net.run(until=runner.net.now + 10.0, max_events=10_000)
    runner.close()
    assert events < 60, f"{events} events in 10 s after one forged octet: an ACK storm"


# -- every state, forged segments near its window ------------------------------------------------------

# Scripts in the REPL's language leaving the named host's connection in each state.
OPEN = ["listen server 80", "connect client server:80", "accept server", "run until 1.0"]
SCENARIOS = {
    S.LISTEN: ("server", ["listen server 80", "connect client server:80", "accept server",
                          "run until 1.0"]),
    S.SYN_SENT: ("client", ["listen server 80", "connect client server:80", "drop @0"]),
    S.SYN_RECEIVED: ("server", ["listen server 80", "accept server", "connect client server:80",
                                "deliver @0", "drop @0"]),
    S.ESTABLISHED: ("server", OPEN + ["send client hello", "recv server", "run until 1.5"]),
    S.FIN_WAIT_1: ("client", OPEN + ["close client", "drop @0"]),
    S.FIN_WAIT_2: ("client", OPEN + ["close client", "run until 2.0"]),
    S.CLOSE_WAIT: ("server", OPEN + ["close client", "run until 2.0"]),
    S.CLOSING: ("client", OPEN + ["close client", "close server", "deliver @0", "deliver @0",
                                   "drop @0", "drop @0"]),
    S.LAST_ACK: ("server", OPEN + ["close client", "run until 2.0", "close server", "drop @0"]),
    S.TIME_WAIT: ("client", OPEN + ["close client", "run until 2.0", "close server", "run until 3.0"]),
}


# Configs the forged segments meet: the SPEC's defaults, Linux's, and the options that change
# how an endpoint answers (delayed ACKs and Nagle; throttled challenge and out-of-window ACKs).
PRESETS = {
    "default": Config(),
    "linux": Config.linux(),
    "delayed-ack-nagle": Config(delayed_ack=True, nagle=True),
    "throttled": Config(challenge_ack_limit=2, oow_ack_interval=0.5, reset_with_ack=True),
}


def in_state(state: State, seed: int = 7, config: Config | None = None) -> tuple[Runner, str, Connection]:
    host, lines = SCENARIOS[state]
    runner = Runner(new_network(seed, config or Config())).run_all(
        [Command(c.verb, (Pick(c.args[0][1:]),)) if c.args and str(c.args[0]).startswith("@")
         else c for c in map(Command.parse, lines)])
    conns = [s.connection for s in runner.sockets[host] if s.connection is not None]
    conns += [c for c in runner.net.hosts[host]._conns.values()]
    conn = next(c for c in conns if c.state is state)
    return runner, host, conn


@pytest.mark.parametrize("preset", list(PRESETS))
@pytest.mark.parametrize("state", list(SCENARIOS), ids=str)
def test_scenarios_reach_their_state(state, preset):
    runner, _, conn = in_state(state, config=PRESETS[preset])
    assert conn.state is state
    runner.close()


@settings(max_examples=examples("scenario"))
@given(state=st.sampled_from(list(SCENARIOS)), preset=st.sampled_from(list(PRESETS)), data=st.data())
def test_forged_segments_in_every_state(state, preset, data):
    runner, target, conn = in_state(state, config=PRESETS[preset])
    peer = HOSTS[1 - HOSTS.index(target)]
    try:
        for _ in range(data.draw(st.integers(1, 6), label="segments")):
            if state is S.LISTEN:        # at the listener's port, from anywhere
                aim = hostile_segments(max_payload=8).map(lambda s: s.replace(dst_port=80))
            else:
                aim = hostile_segments(near=conn.info(), max_payload=8)
            seg = data.draw(aim.filter(lambda s: s.flags and s.mss is None), label="forged")
            deliver_forged(runner, peer, target, seg, conn)
        runner.execute(Command("run", (runner.net.now + 300.0,)))
        assert runner.unexpected() == []
        check_transitions(runner.net.trace)
        if state is S.LISTEN:
            assert conn.state is S.LISTEN, "a forged segment closed a listener"
    finally:
        runner.close()


# -- the blind attacker's success rate ------------------------------------------------------------------

def rst_rewriting(arrives, any_seq: bool = False):
    """A mutated engine: RSTs in the window (or, ``any_seq``, anywhere) count as exact,
    as before RFC 5961 (RFC 793's rule)."""
    def segment_arrives(self, seg, now):
        if seg.flags & RST and self.state.synchronized:
            off = (seg.seq - self.rcv_nxt) & MASK
            if any_seq or off < max(self.rcv_wnd, 1):
                seg = seg.replace(seq=self.rcv_nxt)
        return arrives(self, seg, now)
    return segment_arrives


def attack(tries: int, guess, seed: int = 5) -> tuple[int, int]:
    """Forge ``tries`` RSTs at an established server connection, each SEQ drawn by
    ``guess(rng, rcv_nxt)``; count the resets.  Returns (resets, receive window)."""
    rng = random.Random(seed)                 # the attacker's own dice, seeded
    runner = Runner(new_network(seed, Config())).run_all(list(map(Command.parse, OPEN)))
    server = runner.net.hosts["server"]
    resets = 0
    conn = next(iter(server._conns.values()))
    window = conn.rcv_wnd
    for _ in range(tries):
        if conn.state is not S.ESTABLISHED:
            resets += 1
            runner.run_all([Command.parse("connect client server:80"), Command.parse("accept server"),
                            Command("run", (runner.net.now + 1.0,))])
            conn = next(c for c in server._conns.values() if c.state is S.ESTABLISHED)
        seg = Segment(src_port=conn.remote[1], dst_port=80, seq=guess(rng, conn.rcv_nxt), flags=RST)
        packet = runner.net.inject("client", "server", seg)
        runner.net.deliver(packet.id)
        runner.net.run(until=runner.net.now + 0.05)      # the challenge ACK, if any, goes by
    resets += conn.state is not S.ESTABLISHED
    runner.close()
    return resets, window


def poisson_bound(mean: float, alpha: float = 1e-9) -> int:
    """The smallest k with P(Poisson(mean) > k) < alpha."""
    k, term, cdf = 0, math.exp(-mean), math.exp(-mean)
    while 1 - cdf >= alpha:
        k += 1
        term *= mean / k
        cdf += term
    return k


def blind(rng: random.Random, rcv_nxt: int) -> int:
    return rng.getrandbits(32)


SPREAD = 1 << 17


def near_window(rng: random.Random, rcv_nxt: int) -> int:
    return (rcv_nxt + rng.randint(-SPREAD, SPREAD)) & MASK


BLIND_TRIES = 100_000


def check_blind_rate(resets: int, tries: int, window: int) -> None:
    """Blind guesses over all 2**32 numbers: pre-5961 TCP falls to window/2**32 per
    try, RFC 5961 to 1/2**32; anything like 1 is a broken check."""
    bound = poisson_bound(tries * window / MOD)
    if resets > bound:
        raise InvariantViolation(f"{resets} of {tries} blind RSTs reset the connection "
                                 f"(at most {bound} expected with p = {window}/2**32)")


def check_near_window_rate(resets: int, tries: int) -> None:
    """Guesses within SPREAD of RCV.NXT: RFC 5961 lets exactly one of 2*SPREAD+1 numbers
    through; RFC 793's whole-window rule would let about window/(2*SPREAD+1) through."""
    bound = poisson_bound(tries / (2 * SPREAD + 1))
    if resets > bound:
        raise InvariantViolation(f"{resets} of {tries} near-window RSTs reset the connection "
                                 f"(at most {bound} expected: only SEQ = RCV.NXT may)")


def test_blind_attacker_success_rate_is_window_over_2_32_or_less(record_property):
    resets, window = attack(BLIND_TRIES, blind)
    record_property("blind_rst_success", f"{resets}/{BLIND_TRIES}")
    check_blind_rate(resets, BLIND_TRIES, window)


def test_near_window_attacker_succeeds_only_with_exact_rcv_nxt(record_property):
    resets, _ = attack(BLIND_TRIES, near_window)
    record_property("near_window_rst_success", f"{resets}/{BLIND_TRIES}")
    check_near_window_rate(resets, BLIND_TRIES)


def test_rate_checks_catch_an_engine_taking_any_rst(monkeypatch):
    monkeypatch.setattr(Connection, "segment_arrives",
                        rst_rewriting(Connection.segment_arrives, any_seq=True))
    resets, window = attack(50, blind)
    assert resets == 50
    with pytest.raises(InvariantViolation, match="blind RSTs reset"):
        check_blind_rate(resets, 50, window)


def test_rate_checks_catch_an_engine_taking_in_window_rsts(monkeypatch):
    monkeypatch.setattr(Connection, "segment_arrives", rst_rewriting(Connection.segment_arrives))
    resets, _ = attack(400, near_window)
    with pytest.raises(InvariantViolation, match="near-window RSTs reset"):
        check_near_window_rate(resets, 400)


# -- malformed API use in every state -------------------------------------------------------------------

NASTY = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.sampled_from((-1, 0, 65536, 2**31, 2**64)),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5), st.binary(max_size=5),
    st.tuples(st.text(max_size=3), st.integers(-5, 70000)), st.just(("server", 80)),
    st.lists(st.integers(), max_size=2), st.just(object()),
)
METHODS = {
    "bind": 1, "listen": 1, "accept": 0, "connect": 1, "connect_ex": 1, "send": 1, "sendall": 1,
    "recv": 1, "shutdown": 1, "close": 0, "abort": 0, "getsockname": 0, "getpeername": 0,
    "setblocking": 1, "settimeout": 1, "setsockopt": 3, "getsockopt": 2, "fileno": 0, "recv_into": 1,
}


def check_pythons_error(name: str, args: tuple, call) -> None:
    """A call either returned, is still blocked, or raised one of Python's own errors."""
    if call.exception is not None and not isinstance(call.exception, EXPECTED_ERRORS):
        raise InvariantViolation(f"{name}{args!r} raised {call.exception!r}, "
                                 f"not one of Python's errors")


def test_error_check_catches_a_library_error_that_is_not_pythons(monkeypatch):
    from tcpsim.sockets import Socket
    runner, host, _ = in_state(S.ESTABLISHED)
    sock = runner.sockets[host][-1]
    good = sock.host.spawn(sock.shutdown, 99)
    check_pythons_error("shutdown", (99,), good)            # EINVAL, as Python says
    monkeypatch.setattr(Socket, "shutdown", lambda self, how: {}[how])
    with pytest.raises(InvariantViolation, match="KeyError"):
        check_pythons_error("shutdown", (99,), sock.host.spawn(sock.shutdown, 99))
    runner.close()


def test_models_catch_a_socket_call_raising_a_non_socket_error(monkeypatch):
    real = Connection.receive

    def receive(self, bufsize, now):
        if len(self.rcv_buf) > 3:
            raise KeyError("mutant")
        return real(self, bufsize, now)
    monkeypatch.setattr(Connection, "receive", receive)
    from test_properties import DeliveryModel, assert_caught
    assert "not one of Python's socket errors" in assert_caught(DeliveryModel)


@settings(max_examples=examples("scenario"))
@given(state=st.sampled_from(list(SCENARIOS)), data=st.data())
def test_malformed_calls_in_every_state_raise_pythons_errors(state, data):
    runner, host, conn = in_state(state)
    socks = [s for socks in runner.sockets.values() for s in socks]
    calls = []
    try:
        for _ in range(data.draw(st.integers(1, 5), label="calls")):
            sock = data.draw(st.sampled_from(socks), label="socket")
            name = data.draw(st.sampled_from(sorted(METHODS)), label="method")
            args = data.draw(st.tuples(*[NASTY] * METHODS[name]), label="args")
            calls.append((name, args, sock.host.spawn(getattr(sock, name), *args)))  # may block
        runner.net.run(until=runner.net.now + 600.0)
        for name, args, call in calls:
            check_pythons_error(name, args, call)
        check_transitions(runner.net.trace)
        # The simulation still works: a fresh connection on the same network carries data.
        t = runner.net.now
        fresh = Runner(runner.net).run_all([Command.parse(line) for line in (
            "listen client 8080", "accept client", "connect server client:8080",
            f"run until {t + 1.0}", "send server ok", "recv client", f"run until {t + 2.0}")])
        got = [bytes(fresh.received[s]) for s in fresh.sockets["client"] if s.connection is not None]
        assert got[-1:] == [b"ok"], fresh.script()
    finally:
        runner.close()


NET_METHODS = {"inject": 3, "set_link": 2, "drop": 1, "duplicate": 1, "deliver": 1, "run": 1,
               "step": 0, "add_host": 2, "host": 1, "link": 2}
# Network calls name hosts and packets: an unknown one is a LookupError, as a dict's is.
NETWORK_ERRORS = EXPECTED_ERRORS + (LookupError,)


@settings(max_examples=examples("scenario"))
@given(name=st.sampled_from(sorted(NET_METHODS)), data=st.data(),
       kwargs=st.dictionaries(st.sampled_from(("delay", "loss", "duplicate", "reorder", "corrupt",
                                               "until", "max_events")), NASTY, max_size=2))
def test_malformed_network_calls_raise_pythons_errors(name, data, kwargs):
    runner, _, _ = in_state(S.ESTABLISHED)
    args = list(data.draw(st.tuples(*[NASTY] * NET_METHODS[name]), label="args"))
    if name == "inject" and data.draw(st.booleans(), label="a segment of odd fields"):
        fields = data.draw(st.fixed_dictionaries({k: NASTY for k in (
            "src_port", "dst_port", "seq", "ack", "flags", "window", "payload")}), label="fields")
        args = ["client", "server", Segment(**fields)]
    accepted = {"set_link": {"delay", "loss", "duplicate", "reorder", "corrupt"},
                "run": {"until", "max_events"}}.get(name, set())
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    try:
        getattr(runner.net, name)(*args, **kwargs)
    except NETWORK_ERRORS:
        pass
    try:
        runner.net.run(until=runner.net.now + 60.0)      # still runs
        check_transitions(runner.net.trace)
    finally:
        runner.close()
