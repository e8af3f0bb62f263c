"""tcpsim.strategies and tcpsim.programs: what the strategies draw is valid, the
entry point registers them with hypothesis, and a program's script replays in
the REPL to the same run."""

from __future__ import annotations

import io
import subprocess
import sys
from importlib.metadata import entry_points

from hypothesis import Phase, find, given, settings, strategies as st

from tcpsim import Config, Flags, Network, Segment, State
from tcpsim.invariants import check_transitions
from tcpsim.programs import (Command, Pick, Runner, config_changes, inject_command, link_command,
                             render_script)
from tcpsim.seqnum import MOD
from tcpsim.strategies import (MAX_LINK_DELAY, ORDINARY_FLAGS, FaultPlan, LinkFaults,
                               apply_fault_plan, configs, fault_plans, hostile_segments, isns, programs, segments)
from tcpsim.tcb import ConnectionInfo
from tcpmodel import examples

HOSTS = ("client", "server")
FIRST = settings(database=None, phases=[Phase.generate], max_examples=5000)   # find: no shrinking


def network(*hosts: str, seed: int = 0, config: Config | None = None) -> Network:
    net = Network(seed=seed, config=config)
    for name in hosts or HOSTS:
        net.add_host(name)
    return net


# -- segments --------------------------------------------------------------------------------

@given(segments())
def test_segments_are_well_formed(seg):
    assert seg.flags in ORDINARY_FLAGS
    assert seg.mss is None or seg.flags & Flags.SYN
    assert not (seg.payload and seg.flags & (Flags.SYN | Flags.RST))
    network().inject("client", "server", seg)        # every field within its width on the wire


@given(segments(src_port=1234, dst_port=80))
def test_segments_take_fixed_ports(seg):
    assert (seg.src_port, seg.dst_port) == (1234, 80)


TARGET = ConnectionInfo(local=("10.0.0.2", 80), remote=("10.0.0.1", 40000), state=State.ESTABLISHED,
                        iss=7, irs=MOD - 3, snd_una=8, snd_nxt=20, snd_wnd=1000,
                        rcv_nxt=MOD - 2, rcv_wnd=500)


@given(hostile_segments(near=TARGET))
def test_hostile_segments_aim_at_the_target_as_its_peer(seg):
    assert (seg.src_port, seg.dst_port) == (40000, 80)
    network().inject("client", "server", seg)


def test_hostile_segments_reach_exactly_rcv_nxt_and_across_the_wrap():
    near = hostile_segments(near=TARGET)
    assert find(near, lambda s: s.seq == TARGET.rcv_nxt, settings=FIRST).seq == MOD - 2
    assert find(near, lambda s: 0 < s.seq < 1000, settings=FIRST).seq < 1000
    assert find(near, lambda s: s.flags == Flags.RST | Flags.SYN, settings=FIRST)


@given(hostile_segments())
def test_blind_hostile_segments_fit_the_wire(seg):
    network().inject("client", "server", seg)


def test_isns_include_ones_just_below_2_32():
    assert MOD - (1 << 17) <= find(isns(), lambda n: n > MOD - (1 << 17), settings=FIRST) < MOD
    assert find(isns(), lambda n: n == 0, settings=FIRST) == 0


# -- configs ------------------------------------------------------------------------------------

@given(configs())
def test_configs_are_valid_and_carry_the_edges(config):
    assert isinstance(config, Config)
    assert config.mss >= 1 and config.recv_buffer >= 1 and config.send_buffer >= 1
    assert config.isn is None or 0 <= config.isn < MOD


@given(configs(isn=0, mss=st.integers(1, 9)))
def test_configs_take_fixed_values_and_strategies(config):
    assert config.isn == 0 and 1 <= config.mss <= 9


def test_configs_reach_tiny_buffers_and_linux_timing():
    assert find(configs(), lambda c: c.recv_buffer == 1, settings=FIRST).recv_buffer == 1
    linux = find(configs(), lambda c: c.rto_min == Config.linux().rto_min, settings=FIRST)
    assert linux.rto_max == Config.linux().rto_max


def test_configs_reach_short_timers_and_few_retries():
    quick = find(configs(), lambda c: c.retries == 0 and c.syn_retries == 0 and c.rto_max <= 2.0,
                 settings=FIRST)
    assert quick.rto_min <= quick.rto_max
    assert find(configs(), lambda c: c.challenge_ack_limit == 0, settings=FIRST).challenge_ack_limit == 0
    assert find(configs(), lambda c: c.ack_delay == 0.499, settings=FIRST).ack_delay == 0.499


@given(configs())
def test_configs_rto_max_outlasts_round_trips(config):
    assert config.rto_max >= 5 * 2 * MAX_LINK_DELAY


@given(configs(rto_max=5.0))
def test_configs_keep_the_preset_rto_when_one_rto_field_is_fixed(config):
    preset = Config.linux() if config.rto_min == Config.linux().rto_min else Config()
    assert (config.rto_initial, config.rto_min, config.rto_max) == \
        (preset.rto_initial, preset.rto_min, 5.0)


# -- the hypothesis entry point ----------------------------------------------------------------------

def test_the_entry_point_names_the_setup_hook():
    names = {ep.name: ep.value for ep in entry_points(group="hypothesis")}
    assert names.get("tcpsim") == "tcpsim:_hypothesis_setup_hook"


def test_the_strategies_module_imports_first_in_a_fresh_interpreter():
    # importing it imports hypothesis, which runs the entry point: that must not need
    # the half-imported module
    code = ("from tcpsim.strategies import segments\n"
            "from hypothesis import strategies as st\n"
            "from tcpsim import Segment\n"
            "print(type(st.from_type(Segment).example()).__name__, "
            "type(segments().example()).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["Segment", "Segment"], out.stderr


def test_from_type_uses_the_registered_strategies_in_a_fresh_interpreter():
    # Without the hook, from_type(Segment) would build any ints, flags included.
    code = (
        "from hypothesis import given, settings, strategies as st\n"
        "from tcpsim import Config, Segment, Network\n"
        "ORDINARY = {2, 18, 16, 24, 17, 25, 4, 20}\n"
        "net = Network(); net.add_host('a'); net.add_host('b')\n"
        "@settings(max_examples=50, database=None)\n"
        "@given(st.from_type(Segment), st.from_type(Config))\n"
        "def check(seg, config):\n"
        "    assert int(seg.flags) in ORDINARY, seg\n"
        "    net.inject('a', 'b', seg)\n"
        "    assert isinstance(config, Config)\n"
        "check()\n"
        "import sys; print('tcpsim.strategies' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"            # loaded by hypothesis itself, not by the code


# -- fault plans ----------------------------------------------------------------------------------------

@given(fault_plans(("a", "b", "c")))
def test_fault_plans_set_every_link_they_name(plan):
    net = apply_fault_plan(network("a", "b", "c"), plan)
    for link in plan.links:
        for x, y in ((link.a, link.b), (link.b, link.a)):
            got = net.link(x, y)
            assert (got.loss, got.duplicate, got.reorder, got.corrupt) == \
                   (link.loss, link.duplicate, link.reorder, link.corrupt)
            if link.delay is not None:
                assert got.delay == round(link.delay * 1_000_000)
    assert plan.healed().healthy


@given(fault_plans())
def test_a_fault_plans_commands_set_the_same_links_through_the_runner(plan):
    direct = apply_fault_plan(network(), plan)
    runner = Runner(network()).run_all(plan.commands())
    for link in plan.links:
        assert repr(direct.link(link.a, link.b)) == repr(runner.net.link(link.a, link.b))


def test_a_healthy_link_command_spells_out_every_zero():
    assert str(link_command("client", "server")) == \
        "link client server loss=0.0 duplicate=0.0 reorder=0.0 corrupt=0.0"
    assert LinkFaults("a", "b").healthy and not LinkFaults("a", "b", loss=0.5).healthy
    assert FaultPlan().healthy


# -- programs and scripts ----------------------------------------------------------------------------------

@settings(max_examples=examples("scenario"))
@given(program=programs(("alice", "bob", "carol")), seed=st.integers(0, 1000))
def test_programs_for_three_hosts_run_and_log_replayable_commands(program, seed):
    assert [c.verb for c in program[:3]] == ["listen", "connect", "connect"]
    runner = Runner(network("alice", "bob", "carol", seed=seed)).run_all(program)
    try:
        assert runner.unexpected() == []
        check_transitions(runner.net.trace)
        for command in runner.log:
            assert not any(isinstance(a, Pick) for a in command.args)
            assert Command.parse(str(command)) == command
    finally:
        runner.close()


def test_script_header_carries_seed_and_config():
    config = Config.linux(recv_buffer=7, isn=MOD - 1)
    text = render_script([Command.parse("listen server 80"), Command.parse("recv server")],
                         seed=9, config=config, refused={1})
    assert text.splitlines() == [
        "# tcpsim run --seed 9 SCRIPT",
        f"# every ISS is {MOD - 1}: Config(isn={MOD - 1}) (the REPL cannot set ISNs)",
        "config recv_buffer=7 msl=30.0 rto_min=0.2 rto_max=120.0 delayed_ack=on backlog_slack=1 "
        "reset_with_ack=on oow_ack_interval=0.5",
        "listen server 80",
        "expect fail recv server",
    ]
    assert config_changes(Config()) == {}


def wire_and_states(net: Network) -> tuple[list, list]:
    packets = [(p.src, p.dst, p.segment, p.sent_at_ticks, p.fate) for p in net.trace.packets]
    states = [(r.time, r.host, r.old, r.new) for r in net.trace.state_changes()]
    return packets, states


@settings(max_examples=examples("scenario"))
@given(program=programs(HOSTS, max_commands=20), seed=st.integers(0, 1000),
       config=configs(isn=None))
def test_a_runs_script_replays_in_the_repl_to_the_same_wire_and_states(program, seed, config):
    from tcpsim.repl import Repl

    runner = Runner(network(seed=seed, config=config)).run_all(program)
    script = runner.script(seed, config)
    repl = Repl(seed=seed, stdout=io.StringIO())
    try:
        failure = repl.run_lines(script.splitlines(), echo=False)
        assert failure is None, f"{failure}\n{script}"
        assert wire_and_states(repl.net) == wire_and_states(runner.net), script
    finally:
        repl.close()
        runner.close()


def test_forged_segments_replay_in_the_repl_octet_for_octet():
    runner = Runner(network(seed=3)).run_all([Command.parse(line) for line in (
        "listen server 80", "connect client server:80", "accept server", "run until 1.0")])
    client = next(s.connection for s in runner.sockets["client"] if s.connection is not None)
    rst = Segment(src_port=80, dst_port=client.local[1], seq=(client.rcv_nxt + 5) % MOD,
                  flags=Flags.RST)
    text = Segment(src_port=80, dst_port=client.local[1], seq=client.rcv_nxt, ack=client.snd_nxt,
                   flags=Flags.PSH | Flags.ACK, window=100, payload=b'\x00"a b\\#')
    packet = runner.execute(inject_command("server", "client", rst))
    runner.execute(Command("deliver", (packet.id,)))
    runner.execute(inject_command("server", "client", text))
    runner.execute(Command.parse("run until 2.0"))
    script = runner.script(3)
    assert [Command.parse(line) for line in script.splitlines()[1:]] == runner.log
    from tcpsim.repl import Repl
    repl = Repl(seed=3, stdout=io.StringIO())
    try:
        assert repl.run_lines(script.splitlines(), echo=False) is None
        assert wire_and_states(repl.net) == wire_and_states(runner.net)
        assert any(p.segment.payload == b'\x00"a b\\#' for p in repl.net.trace.packets)
    finally:
        repl.close()
        runner.close()
