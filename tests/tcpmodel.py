"""A hypothesis model of TCP: a RuleBasedStateMachine over a Network whose
rules are the REPL's verbs (listen, connect, accept, send, recv, shutdown,
close, abort, step, run, drop, dup, deliver, link).

Every rule is carried out by ``tcpsim.programs.Runner`` and so logged as a
REPL command; a failure shows the run as a ``tcpsim run`` script.  Blocking
calls run as simulated processes, so no rule ever hangs.

Subclasses choose their invariant: ``per_rule`` names ``check_*`` methods run
after every rule, ``at_end`` names ``end_*`` methods run in teardown, after
the network is healed, every reader has drained its socket and (for the
checks that need it) both sides have closed.
"""

from __future__ import annotations

import os

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tcpsim import Config, Network, Segment, State
from tcpsim.invariants import (InvariantViolation, check_acks, check_agreement, check_delivery,
                               check_history, check_isn_shift, check_liveness, check_same_trace,
                               check_tcb, check_transitions, liveness_bound, settled, SentLedger)
from tcpsim.programs import Command, Pick, Refusal, Runner, link_command
from tcpsim.seqnum import MOD
from tcpsim.sockets import Socket
from tcpsim.strategies import configs, link_faults, words
from tcpsim.timers import to_ticks

HOSTS = ("client", "server")
PORT = 80
MAX_CONNECTIONS = 3
DRAIN_ROUNDS = 400
THEN = st.sampled_from((None, 0.01, 0.1, 1.0, 5.0))
EVENT_LIMIT = 20_000        # events one `run until T` may take before it counts as a storm
RST = 4

# Machine configs: all of Config's range, but buffers rarely so small that
# draining a run takes thousands of round trips.
MODEL_CONFIGS = configs(recv_buffer=st.sampled_from((7, 100, 536, 4096, 65535)),
                        send_buffer=st.sampled_from((7, 100, 536, 4096, 65535)))


# Most runs start from an opened connection (the rules can still do anything).
OPENINGS = (
    ("listen server 80", "connect client server:80", "accept server"),
    ("listen server 80", "connect client server:80"),
    ("listen server 80",),
    (),
)


def new_network(seed: int, config: Config) -> Network:
    net = Network(seed=seed, config=config)
    for host in HOSTS:
        net.add_host(host)
    return net


def ended_abnormally(net: Network, conn_id: int, before: float | None = None) -> bool:
    """Did this connection end by RST, ABORT or giving up (not by the close handshake)
    -- at all, or (``before``) earlier than that many seconds?"""
    for change in net.trace.state_changes():
        if change.conn_id != conn_id or change.new not in (State.CLOSED, State.LISTEN):
            continue
        if before is not None and change.time >= to_ticks(before):
            continue
        cause = change.cause
        by_segment = isinstance(cause, Segment)
        if change.old is State.TIME_WAIT:
            continue
        if change.old is State.LAST_ACK and by_segment and not cause.flags & RST:
            continue
        if change.old in (State.LISTEN, State.SYN_SENT, State.CLOSED) and cause == "close()":
            continue
        return True
    return False


class TcpModel(RuleBasedStateMachine):
    per_rule: tuple[str, ...] = ()
    at_end: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.net: Network | None = None
        self.failed = False
        self.closed_all = False

    # -- set-up ------------------------------------------------------------------------

    def adjust(self, config: Config) -> Config:
        """Subclasses pin config fields here (the ISN model pins ``isn``)."""
        return config

    @initialize(seed=st.integers(0, 2**32 - 1), config=MODEL_CONFIGS,
                opening=st.sampled_from(OPENINGS))
    def start(self, seed: int, config: Config, opening: tuple[str, ...]) -> None:
        self.seed = seed
        self.config = self.adjust(config)
        self.net = new_network(seed, self.config)
        self.runner = Runner(self.net)
        self.runner.event_limit = EVENT_LIMIT
        self.faulty = False
        self.packets_seen = 0
        self.records_seen = 0
        self.ledger = SentLedger()
        self.last_states: dict = {}
        self.injected: set[int] = set()
        for line in opening:
            self.do(Command.parse(line))

    # -- the REPL's verbs --------------------------------------------------------------------

    def do(self, command: Command) -> object:
        try:
            return self.runner.execute(command)
        except Exception as exc:
            self.fail(f"`{command}` raised {exc!r} out of the library", exc)

    def pending(self, verb: str, host: str) -> bool:
        return any(c.verb == verb and c.args[0] == host for c, _, _ in self.runner.pending())

    def data_socket(self, host: str) -> Socket | None:
        """The socket ``send HOST`` would use (the REPL's pick), or None."""
        try:
            return self.runner.pick(host, "conn")
        except Refusal:
            return None

    def listening(self, host: str) -> bool:
        try:
            return self.runner.pick(host, "listener") is not None
        except Refusal:
            return False

    def can_connect(self) -> bool:
        if sum(1 for c in self.runner.log if c.verb == "connect") >= MAX_CONNECTIONS:
            return False
        return all(s is None or s.closed for s in map(self.data_socket, HOSTS))

    @precondition(lambda self: not self.listening("server"))
    @rule()
    def listen(self) -> None:
        self.do(Command("listen", ("server", PORT)))

    @precondition(lambda self: self.can_connect())
    @rule()
    def connect(self) -> None:
        self.do(Command("connect", ("client", f"server:{PORT}")))

    @precondition(lambda self: self.listening("server") and not self.pending("accept", "server"))
    @rule()
    def accept(self) -> None:
        self.do(Command("accept", ("server",)))

    # Swarm testing switches whole rules off in some runs; so that time still
    # passes in those, the data rules may end by running the network a while.
    @rule(host=st.sampled_from(HOSTS), word=words(max_size=48), then=THEN)
    def send(self, host: str, word: str, then: float | None = None) -> None:
        if not self.pending("send", host):
            self.do(Command("send", (host, word)))
        self.run(then)

    @rule(host=st.sampled_from(HOSTS), word=words(max_size=48), then=THEN)
    def exchange(self, host: str, word: str, then: float | None) -> None:
        """send on one side, then recv on the other: the commonest pair of lines."""
        self.send(host, word)
        self.recv(HOSTS[1 - HOSTS.index(host)], 4096, then)

    @rule(host=st.sampled_from(HOSTS), size=st.sampled_from((1, 5, 4096)), then=THEN)
    def recv(self, host: str, size: int, then: float | None = None) -> None:
        if not self.pending("recv", host):
            self.do(Command("recv", (host, size) if size != 4096 else (host,)))
        self.run(then)

    @rule(host=st.sampled_from(HOSTS),
          line=st.sampled_from(("close", "abort", "shutdown {} wr", "shutdown {} rd",
                                "shutdown {} rdwr")))
    def end(self, host: str, line: str) -> None:
        """close, abort or shutdown: one rule, so they are drawn no more often than a send."""
        self.do(Command.parse(line.format(host) if "{}" in line else f"{line} {host}"))

    @rule(count=st.integers(1, 10))
    def step(self, count: int) -> None:
        self.do(Command("step", (count,)))

    @rule(duration=st.sampled_from((0.01, 0.1, 1.0, 5.0, 60.0)))
    def run(self, duration: float | None) -> None:
        if duration is not None:
            self.do(Command("run", (round(self.net.now + duration, 6),)))

    @precondition(lambda self: bool(self.net.in_flight))
    @rule(verb=st.sampled_from(("drop", "dup", "deliver")), pick=st.integers(0, 31))
    def packet(self, verb: str, pick: int) -> None:
        self.do(Command(verb, (Pick(pick),)))

    @rule(faults=link_faults("client", "server", max_loss=0.5))
    def link(self, faults) -> None:
        self.faulty = not faults.healthy
        self.do(faults.command())

    # -- checking --------------------------------------------------------------------------

    def fail(self, message: str, cause: BaseException | None = None) -> None:
        self.failed = True
        script = self.runner.script(self.seed, self.config)
        raise InvariantViolation(f"{message}\n\nThe run as a `tcpsim run` script:\n{script}") from cause

    def checked(self, check, *args, **kwargs) -> None:
        try:
            check(*args, **kwargs)
        except InvariantViolation as exc:
            self.fail(str(exc), exc)

    @invariant()
    def after_every_rule(self) -> None:
        self.check_calls()
        for name in self.per_rule:
            getattr(self, "check_" + name)()

    def check_calls(self) -> None:
        """Socket calls raise Python's own errors, or nothing: never the library's bugs."""
        bad = self.runner.unexpected()
        if bad:
            command, exc = bad[0]
            self.fail(f"`{command}` raised {exc!r}: not one of Python's socket errors", exc)

    def check_delivery(self, complete: bool = False) -> None:
        r = self.runner
        for a, b in r.pairs():
            for s, d in ((a, b), (b, a)):
                whole = complete and self.must_complete(s, d)
                self.checked(check_delivery, r.sent[s], r.received[d], complete=whole,
                             what=f"{s.host.name} -> {d.host.name} (port {s.connection.local[1]})")

    def must_complete(self, sender: Socket, receiver: Socket) -> bool:
        """All sent octets must arrive: both ends alive or closed by the handshake,
        and the reader still reading (the socket ``recv HOST`` picks, so the
        drain reads it)."""
        if receiver.closed or receiver in self.runner.shut_rd:
            return False
        if self.data_socket(receiver.host.name) is not receiver:
            return False                      # an older connection: `recv HOST` cannot reach it
        return not any(ended_abnormally(self.net, s.connection.id) for s in (sender, receiver))

    def check_transitions(self) -> None:
        records = self.net.trace.records
        self.checked(check_transitions, records[self.records_seen:], self.last_states)
        self.records_seen = len(records)
        for socks in self.runner.sockets.values():
            for sock in socks:
                self.checked(check_history, sock.history, f"{sock.host.name} socket history")

    def check_tcb(self) -> None:
        packets = self.net.trace.packets
        self.checked(check_acks, packets[self.packets_seen:], self.injected, self.ledger)
        self.packets_seen = len(packets)
        for host in self.net.hosts.values():
            for info in host.connections():
                end = self.ledger.highest.get((*info.local, *info.remote))
                self.checked(check_tcb, info, self.config, end)

    def check_agreement(self) -> None:
        if self.net.in_flight:
            return
        for a, b in self.runner.pairs():
            ia, ib = a.connection.info(), b.connection.info()
            if State.CLOSED in (ia.state, ib.state) or not (ia.state.synchronized and ib.state.synchronized):
                continue
            if settled(ia, ib):
                self.checked(check_agreement, ia, ib)

    # -- the end of a run ----------------------------------------------------------------------

    def teardown(self) -> None:
        if self.net is None:
            return
        try:
            if not self.failed and self.at_end:
                self.heal_and_drain()
                self.check_calls()
                for name in self.at_end:
                    getattr(self, "end_" + name)()
                self.check_calls()
        finally:
            self.runner.close()

    def heal_and_drain(self) -> None:
        """Heal the link, then let every reader read until nothing moves."""
        if self.faulty:
            self.do(link_command("client", "server"))
            self.faulty = False
        step = self.config.rto_max * 2 + 1
        for _ in range(DRAIN_ROUNDS):
            before = self.progress()
            if self.listening("server") and self.data_socket("server") is None \
                    and not self.pending("accept", "server"):
                self.do(Command("accept", ("server",)))
            for host in HOSTS:
                sock = self.data_socket(host)
                if sock is not None and sock not in self.runner.eof \
                        and sock not in self.runner.shut_rd and not self.pending("recv", host):
                    self.do(Command("recv", (host,)))
            self.do(Command("run", (round(self.net.now + step, 6),)))
            if self.progress() == before:
                break

    def progress(self) -> tuple:
        r = self.runner
        return (sum(map(len, r.received.values())), sum(map(len, r.sent.values())),
                sum(call.done for _, call, _ in r.calls), len(r.data_sockets))

    def close_all(self) -> list[tuple[Socket, Socket]]:
        """Close both sides' open data sockets; return the pairs closed now."""
        if self.closed_all:
            return self.closing
        self.closed_all = True
        self.closing = [(a, b) for a, b in self.runner.pairs() if not a.closed and not b.closed]
        for host in HOSTS:
            while self.data_socket(host) is not None:
                self.do(Command("close", (host,)))
        self.closed_at = self.net.now
        horizon = liveness_bound(self.config) + 1
        self.do(Command("run", (round(self.net.now + horizon, 6),)))
        return self.closing

    def end_delivery(self) -> None:
        self.check_delivery(complete=True)

    def end_agreement(self) -> None:
        self.check_agreement()

    def end_liveness(self) -> None:
        ends = []
        for a, b in self.close_all():
            for sock, peer in ((a, b), (b, a)):
                if self.waits_for_a_dead_peer(sock, peer):
                    continue
                conn = sock.connection
                ends.append((sock.host.name, conn.local, conn.remote))
        self.checked(check_liveness, self.net.trace, ends, self.closed_at, self.config)

    def waits_for_a_dead_peer(self, sock: Socket, peer: Socket) -> bool:
        """Is ``sock`` in FIN-WAIT-2 for a FIN that cannot come: its peer's TCB was
        gone before the close (reset, aborted, or -- with few ``retries`` -- given
        up, which sends no RST: RFC 9293 3.8.3, RFC 1122 4.2.3.5)?  RFC 9293 has
        no FIN-WAIT-2 timer and an end in FIN-WAIT-2 sends nothing that could draw
        the RST, so it may wait for ever; any other state still must close."""
        return sock.connection.state is State.FIN_WAIT_2 \
            and ended_abnormally(self.net, peer.connection.id, before=self.closed_at)

    def replay(self, config: Config) -> Network:
        net = new_network(self.seed, config)
        runner = Runner(net).run_all(self.runner.log)
        self.replays.append(runner)
        return net

    def end_determinism(self) -> None:
        self.close_all()
        self.replays: list[Runner] = []
        try:
            self.checked(check_same_trace, self.net.trace, self.replay(self.config).trace)
        finally:
            for runner in self.replays:
                runner.close()

    def end_isn_shift(self) -> None:
        if self.isn_shift is None:            # the run ended before its shift was drawn
            return
        self.close_all()
        self.replays = []
        shifted = (self.config.isn + self.isn_shift) % MOD
        try:
            net = self.replay(self.config.replace(isn=shifted))
            self.checked(check_isn_shift, self.net.trace, net.trace, self.isn_shift)
        finally:
            for runner in self.replays:
                runner.close()


# Examples per test, by profile and by what one example costs: "model" (a state
# machine run, ~20 ms), "scenario" (a run built and attacked, ~40 ms).  Cheap
# tests take the profile's own max_examples.
BUDGETS = {
    "dev": {"model": 10, "scenario": 10},
    "ci": {"model": 200, "scenario": 100},
    "long": {"model": 10_000, "scenario": 10_000},
}


def examples(kind: str) -> int:
    """How many examples a costly test runs under the loaded profile."""
    profile = os.environ.get("HYPOTHESIS_PROFILE", "dev")
    return BUDGETS.get(profile, BUDGETS["dev"])[kind]
