"""Hypothesis strategies for tcpsim: segments, configs, fault plans, socket-call programs.

    from hypothesis import given, strategies as st
    from tcpsim import Config, Segment
    from tcpsim.strategies import hostile_segments, fault_plans, programs

    @given(st.from_type(Segment), st.from_type(Config))   # registered by the entry point
    def test_...(segment, config): ...

``segments()`` are well-formed segments such as a TCP sends; ``hostile_segments``
are what an attacker sends: any flags, odd MSS values, and -- given the target's
``ConnectionInfo`` -- sequence and acknowledgment numbers near its window, as
RFC 5961's blind attacker guesses them.  ``fault_plans()`` draw per-link loss,
duplication, reordering, corruption and delay, applied with
``apply_fault_plan(net, plan)``.  ``programs()`` draw socket-call programs in
the REPL's language (see ``tcpsim.programs``), for two or more hosts.

This is the only tcpsim module that imports hypothesis.  The package's
``hypothesis`` entry point (``tcpsim._hypothesis_setup_hook``) makes
``st.from_type(Segment)`` and ``st.from_type(Config)`` use these strategies.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from .config import Config
from .network import Network
from .programs import Command, Pick, link_command
from .segment import Flags, Segment
from .seqnum import MASK, MOD
from .tcb import ConnectionInfo

__all__ = [
    "sequence_numbers", "isns", "ports", "flags", "payloads", "words", "segments",
    "hostile_segments", "configs", "MAX_LINK_DELAY", "RTO_BOUNDS", "LinkFaults", "FaultPlan",
    "link_faults", "fault_plans", "apply_fault_plan", "programs",
]

SYN, FIN, RST, PSH, ACK = Flags.SYN, Flags.FIN, Flags.RST, Flags.PSH, Flags.ACK
# The flag combinations a well-behaved TCP puts on the wire.
ORDINARY_FLAGS = (SYN, SYN | ACK, ACK, PSH | ACK, FIN | ACK, FIN | PSH | ACK, RST, RST | ACK)
EDGE_SEQUENCE_NUMBERS = (0, 1, (1 << 31) - 1, 1 << 31, MOD - 2, MOD - 1)


# -- numbers ------------------------------------------------------------------------------

def sequence_numbers(near: int | None = None, spread: int = 1 << 16) -> SearchStrategy[int]:
    """32-bit sequence numbers: anywhere, the wrap-around edges, or within
    ``spread`` of ``near`` (wrapping modulo 2**32)."""
    anywhere = st.integers(0, MASK) | st.sampled_from(EDGE_SEQUENCE_NUMBERS)
    if near is None:
        return anywhere
    close = st.integers(-spread, spread).map(lambda d: (near + d) & MASK)
    return st.one_of(st.just(near & MASK), close, close, anywhere)


def isns() -> SearchStrategy[int]:
    """Initial sequence numbers, favouring 0 and ones just below 2**32 (wrap early)."""
    return st.one_of(st.just(0), st.integers(1, 1 << 17).map(lambda k: MOD - k),
                     st.integers(0, MASK))


def ports(ephemeral: bool = False) -> SearchStrategy[int]:
    """TCP ports: well-known ones, Linux's ephemeral range, or any 16-bit value."""
    if ephemeral:
        return st.integers(32768, 60999)
    return st.one_of(st.sampled_from((0, 1, 80, 443, 65535)), st.integers(0, 0xFFFF))


def flags(hostile: bool = False) -> SearchStrategy[Flags]:
    """Control bits: the combinations a TCP sends, or (``hostile``) any of the 64."""
    if hostile:
        return st.integers(0, 63).map(Flags)
    return st.sampled_from(ORDINARY_FLAGS)


def payloads(max_size: int = 64, hostile: bool = False) -> SearchStrategy[bytes]:
    """Segment text: printable octets, or (``hostile``) any octets."""
    if hostile:
        return st.binary(max_size=max_size)
    return st.binary(max_size=max_size).map(lambda b: bytes(0x61 + x % 26 for x in b))


def words(min_size: int = 1, max_size: int = 64) -> SearchStrategy[str]:
    """Data a program sends: one word of letters and digits (a REPL argument)."""
    return st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=min_size, max_size=max_size)


# -- segments -----------------------------------------------------------------------------

def segments(*, src_port: int | None = None, dst_port: int | None = None,
             max_payload: int = 64) -> SearchStrategy[Segment]:
    """Well-formed segments: ordinary flag combinations, an MSS option only on SYNs,
    every field within its width (what ``Network.inject`` accepts)."""
    return st.builds(
        _segment,
        src_port=ports() if src_port is None else st.just(src_port),
        dst_port=ports() if dst_port is None else st.just(dst_port),
        seq=sequence_numbers(), ack=sequence_numbers(), flags=flags(),
        window=st.integers(0, 0xFFFF), payload=payloads(max_payload),
        mss=st.none() | st.sampled_from((536, 1460, 9000)) | st.integers(1, 0xFFFF),
    )


def _segment(src_port: int, dst_port: int, seq: int, ack: int, flags: Flags, window: int,
             payload: bytes, mss: int | None) -> Segment:
    if not flags & SYN:
        mss = None
    if flags & (SYN | RST):
        payload = b""
    if not flags & ACK:
        ack = 0
    return Segment(src_port=src_port, dst_port=dst_port, seq=seq, ack=ack, flags=flags,
                   window=0 if flags & RST else window, payload=payload, mss=mss)


def hostile_segments(near: ConnectionInfo | None = None, *, spread: int = 1 << 17,
                     max_payload: int = 64) -> SearchStrategy[Segment]:
    """What an attacker injects: any flags, any payload, odd MSS values, and --
    given the target's TCB (``near``) -- the target's ports as its peer would
    send them, with SEQ near RCV.NXT and its window edges and ACK near SND.UNA
    and SND.NXT.  Every field still fits its width on the wire."""
    if near is None:
        src, dst = ports(), ports()
        seq, ack = sequence_numbers(), sequence_numbers()
    else:
        src, dst = st.just(near.remote[1]), st.just(near.local[1])
        window_edge = (near.rcv_nxt + near.rcv_wnd) & MASK
        seq = st.one_of(sequence_numbers(near.rcv_nxt, spread),
                        sequence_numbers(window_edge, 4), st.just((near.rcv_nxt - 1) & MASK))
        ack = st.one_of(sequence_numbers(near.snd_una, spread), sequence_numbers(near.snd_nxt, 4))
    return st.builds(
        lambda **f: Segment(**f), src_port=src, dst_port=dst, seq=seq, ack=ack,
        flags=flags(hostile=True), window=st.sampled_from((0, 1, 0xFFFF)) | st.integers(0, 0xFFFF),
        payload=payloads(max_payload, hostile=True),
        mss=st.none() | st.sampled_from((0, 1, 0xFFFF)) | st.integers(0, 0xFFFF),
    )


# -- configs ---------------------------------------------------------------------------------

# Links drawn here delay a segment at most this long each way (``link_faults``).
MAX_LINK_DELAY = 0.2
# RTO bounds (initial, min, max) besides the timing preset's.  Every max is at least
# five round trips of the slowest link drawn (2 * MAX_LINK_DELAY each): with an RTO
# max below one round trip a TCP retransmits before any ACK can come back, and the
# liveness bound (2*MSL + a few RTO max) is no longer one a healthy TCP can meet.
RTO_BOUNDS = ((1.0, 0.01, 2.0), (0.1, 0.1, 3.0), (3.0, 1.0, 4.0), (1.0, 0.5, 120.0))
_RTO_FIELDS = ("rto_initial", "rto_min", "rto_max")


def configs(**fixed: object) -> SearchStrategy[Config]:
    """Valid Configs: MSS from 1 up, buffers from one octet up, ISNs near 0 and
    2**32, delayed ACKs (after 1 ms to 0.5 s) and Nagle on or off, throttled
    out-of-window ACKs or not, RFC or Linux timing with its RTO bounds or others
    (``RTO_BOUNDS``), few or many retries before giving up, limited challenge
    ACKs or not, Linux's accept-queue slack or not, RST or RST,ACK on close with
    unread data.  Keywords fix fields to a value or a strategy:
    ``configs(isn=0, mss=st.integers(1, 99))``; fixing any RTO field keeps the
    others at the timing preset's."""
    small = st.sampled_from((1, 2, 100, 536, 1000, 4096, 65535)) | st.integers(1, 1 << 17)
    fields = dict(
        mss=st.sampled_from((1, 100, 536, 1460)) | st.integers(1, 9000),
        recv_buffer=small, send_buffer=small,
        msl=st.sampled_from((0.5, 5.0, 30.0, 120.0)),
        isn=st.none() | isns(),
        delayed_ack=st.booleans(), nagle=st.booleans(),
        rst_on_close_with_unread=st.booleans(),
        oow_ack_interval=st.none() | st.sampled_from((0.5, 2.0)),
        timing=st.sampled_from(("rfc", "linux")),
        rto=st.none() | st.sampled_from(RTO_BOUNDS),
        retries=st.sampled_from((15, 0, 1, 2, 5)),
        syn_retries=st.sampled_from((6, 0, 1, 2)),
        challenge_ack_limit=st.sampled_from((None, 0, 1, 100)),
        ack_delay=st.sampled_from((0.04, 0.001, 0.2, 0.499)),   # RFC 1122 4.2.3.2: under 0.5 s
        backlog_slack=st.integers(0, 2),
        reset_with_ack=st.booleans(),
    )
    if any(name in fixed for name in _RTO_FIELDS):
        fields["rto"] = st.none()
    for name, value in fixed.items():
        fields[name] = value if isinstance(value, SearchStrategy) else st.just(value)
    return st.builds(_config, **fields)


def _config(timing: str = "rfc", rto: tuple[float, float, float] | None = None,
            **changes: object) -> Config:
    if rto is not None:
        changes = {**dict(zip(_RTO_FIELDS, rto)), **changes}
    if timing == "linux":
        return Config.linux(**changes)
    return Config(**changes)


# -- fault plans -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LinkFaults:
    """Faults for both directions between hosts ``a`` and ``b`` (``Network.set_link``)."""

    a: str
    b: str
    delay: float | None = None
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    corrupt: float = 0.0

    @property
    def healthy(self) -> bool:
        return not (self.loss or self.duplicate or self.reorder or self.corrupt)

    def command(self) -> Command:
        """The REPL's ``link A B key=value ...`` line for these settings."""
        return link_command(self.a, self.b, delay=self.delay, loss=self.loss,
                            duplicate=self.duplicate, reorder=self.reorder, corrupt=self.corrupt)

    def apply(self, net: Network) -> None:
        net.set_link(self.a, self.b, delay=self.delay, loss=self.loss, duplicate=self.duplicate,
                     reorder=self.reorder, corrupt=self.corrupt)


@dataclass(frozen=True)
class FaultPlan:
    """Per-link faults for a whole network."""

    links: tuple[LinkFaults, ...] = ()

    @property
    def healthy(self) -> bool:
        return all(link.healthy for link in self.links)

    def commands(self) -> list[Command]:
        return [link.command() for link in self.links]

    def apply(self, net: Network) -> None:
        for link in self.links:
            link.apply(net)

    def healed(self) -> "FaultPlan":
        """The same links, delays kept, faults cleared."""
        return FaultPlan(tuple(LinkFaults(k.a, k.b, k.delay) for k in self.links))


def apply_fault_plan(net: Network, plan: FaultPlan) -> Network:
    """Set every link of ``plan`` on ``net``; returns ``net``."""
    plan.apply(net)
    return net


def _probability(most: float) -> SearchStrategy[float]:
    return st.just(0.0) | st.sampled_from((0.01, 0.1, 0.25, most)).filter(lambda p: p <= most) \
        | st.floats(0.0, most)


def link_faults(a: str, b: str, *, max_loss: float = 0.3, max_other: float = 0.3,
                delay: bool = True) -> SearchStrategy[LinkFaults]:
    """Faults for the link between ``a`` and ``b``: each probability up to its maximum,
    and a delay from 0 to ``MAX_LINK_DELAY`` (or the network's default)."""
    return st.builds(
        LinkFaults, st.just(a), st.just(b),
        delay=st.none() | st.sampled_from((0.0, 0.001, 0.05, MAX_LINK_DELAY)) if delay else st.none(),
        loss=_probability(max_loss), duplicate=_probability(max_other),
        reorder=_probability(max_other), corrupt=_probability(max_other),
    )


def fault_plans(hosts: tuple[str, ...] = ("client", "server"), **limits: object) -> SearchStrategy[FaultPlan]:
    """A FaultPlan for some of the links among ``hosts`` (keywords as ``link_faults``)."""
    pairs = [(a, b) for i, a in enumerate(hosts) for b in hosts[i + 1:]]
    if not pairs:
        return st.just(FaultPlan())
    return st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs)).flatmap(
        lambda chosen: st.tuples(*(link_faults(a, b, **limits) for a, b in chosen))
    ).map(FaultPlan)


# -- socket-call programs ---------------------------------------------------------------------------

def programs(hosts: tuple[str, ...] = ("client", "server"), *, port: int = 80,
             max_commands: int = 30, faults: bool = True) -> SearchStrategy[list[Command]]:
    """Socket-call programs in the REPL's language for two or more hosts.

    ``hosts[-1]`` listens on ``port``; every other host connects to it; then a
    random interleaving of sends, receives, shutdowns, closes, aborts, steps,
    runs and (with ``faults``) packet drops, duplicates, early deliveries and
    link changes.  Run one with ``tcpsim.programs.Runner(net).run_all(program)``.
    """
    if len(hosts) < 2:
        raise ValueError("a program needs at least two hosts")
    server, clients = hosts[-1], hosts[:-1]
    opening = [Command("listen", (server, port))]
    opening += [Command("connect", (c, f"{server}:{port}")) for c in clients]
    host = st.sampled_from(hosts)
    body = [
        st.builds(lambda h, w: Command("send", (h, w)), host, words()),
        st.builds(lambda h, n: Command("recv", (h, n)), host, st.sampled_from((1, 7, 4096))),
        st.builds(lambda h: Command("accept", (h,)), st.just(server)),
        st.builds(lambda n: Command("step", (n,)), st.integers(1, 8)),
        st.builds(lambda h, how: Command("shutdown", (h, how)), host, st.sampled_from(("rd", "wr", "rdwr"))),
        st.builds(lambda h: Command("close", (h,)), host),
        st.builds(lambda h: Command("abort", (h,)), host),
        st.sampled_from((0.01, 0.1, 1.0, 10.0)).map(lambda dt: Command("run", (dt,))),
    ]
    if faults:
        pick = st.integers(0, 15).map(Pick)
        body += [
            st.builds(lambda v, p: Command(v, (p,)), st.sampled_from(("drop", "dup", "deliver")), pick),
            st.builds(lambda f: f.command(), link_faults(clients[0], server)),
        ]
    return st.lists(st.one_of(body), max_size=max_commands).map(
        lambda cmds: opening + _absolute_runs(cmds))


def _absolute_runs(commands: list[Command]) -> list[Command]:
    """``run`` commands were drawn with durations; make them ``run until T``."""
    out, t = [], 0.0
    for c in commands:
        if c.verb == "run":
            t = round(t + c.args[0], 6)
            c = Command("run", (t,))
        out.append(c)
    return out
