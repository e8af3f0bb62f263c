"""The world: virtual time, the event queue, in-flight packets and faults."""

import pytest

import tcpsim
from support import established, pair
from tcpsim import Flags, Network, Segment, State


def test_addresses_are_assigned_in_order():
    net = Network()
    a, b = net.add_host("a"), net.add_host("b", "10.0.0.9")
    c = net.add_host("c")
    assert (a.address, b.address, c.address) == ("10.0.0.1", "10.0.0.9", "10.0.0.2")
    assert net.hosts == {"a": a, "b": b, "c": c}
    with pytest.raises(ValueError):
        net.add_host("a")
    with pytest.raises(ValueError):
        net.add_host("d", "10.0.0.9")
    with pytest.raises(ValueError):
        net.add_host("e", "not-an-address")


@pytest.mark.parametrize("address", ["0.0.0.0", "255.255.255.255", "127.0.0.2", "224.0.0.1",
                                     "010.0.0.1", "10.0.0.256"])
def test_a_host_needs_an_address_one_host_can_have(address):
    with pytest.raises(ValueError, match="unicast|dotted"):
        Network().add_host("h", address)


@pytest.mark.parametrize("name", ["10.0.0.5", "42"])       # getaddrinfo reads "42" as 0.0.0.42
def test_a_host_name_cannot_pass_for_an_address(name):
    with pytest.raises(ValueError, match="looks like an address"):
        Network().add_host(name)


def test_assigned_addresses_carry_into_the_next_octet():
    net = Network()
    hosts = [net.add_host(f"h{i}") for i in range(256)]
    assert [h.address for h in hosts[253:]] == ["10.0.0.254", "10.0.0.255", "10.0.1.0"]


def test_step_processes_one_event_in_time_order():
    net, client, server = pair()
    s = server.socket()
    s.listen()
    cli = client.socket()
    client.spawn(cli.connect, ("server", s.getsockname()[1]))
    assert net.now == 0
    event = net.step()
    assert event.kind == "arrival" and net.now == pytest.approx(0.01)
    assert "server <- client" in str(event) and "SYN" in str(event)
    assert net.step().packet.segment.flags == Flags.SYN | Flags.ACK
    assert net.now == pytest.approx(0.02)


def test_step_returns_none_when_nothing_is_scheduled():
    assert Network().step() is None
    assert Network().run() == 0


def test_run_until_stops_before_later_events():
    net, cli, conn = established()
    cli.sendall(b"x")
    n = net.run(until=net.now + 0.005)
    assert n == 0 and len(net.in_flight) == 1
    assert net.run(until=net.now + 0.01) == 1


def test_the_seed_must_be_an_int_so_the_run_repeats():
    for seed in (None, 1.5, "7"):                # None would seed from the OS
        with pytest.raises(TypeError, match="seed must be an int"):
            Network(seed=seed)
    assert Network(seed=2**70).rng.random() == Network(seed=2**70).rng.random()


def test_run_until_takes_virtual_seconds_and_says_so_otherwise():
    net, cli, conn = established()
    cli.sendall(b"x")
    with pytest.raises(TypeError, match="virtual seconds"):
        net.run(until="soon")
    with pytest.raises(ValueError, match="NaN"):
        net.run(until=float("nan"))
    with pytest.raises(TypeError, match="max_events"):
        net.run(max_events="3")
    assert len(net.in_flight) == 1               # nothing ran on a bad call
    assert net.run(until=float("-inf")) == 0     # a time already past: nothing to run
    assert len(net.in_flight) == 1
    assert net.run(until=float("inf")) >= 1      # infinity: no limit, as None
    assert net.in_flight == [] and net.now < 1e6


def test_in_flight_drop_duplicate_deliver():
    net, cli, conn = established()
    cli.send(b"a")
    cli.send(b"b")
    first, second = net.in_flight
    assert first.arrives_at <= second.arrives_at and first.fate == "in flight"
    assert first.src == "client" and first.dst == "server"
    net.drop(first.id)
    assert first.fate == "dropped"
    dup = net.duplicate(second.id)
    assert dup.segment == second.segment and dup.id != second.id
    net.deliver(second.id)
    assert second.fate == "delivered"
    assert conn.connection.ooo                      # b arrived ahead of a
    with pytest.raises(KeyError, match="no packet"):
        net.drop(999)


def test_inject_delivers_after_the_link_delay():
    net, client, server = pair()
    pkt = net.inject("client", "server", Segment(src_port=1, dst_port=2, seq=5, ack=0,
                                                 flags=Flags.SYN, window=100))
    assert pkt.arrives_at == pytest.approx(0.01)
    net.run()
    rst = net.trace.segments()[-1]
    assert (rst.src, rst.segment.flags, rst.segment.ack) == ("server", Flags.RST | Flags.ACK, 6)


@pytest.mark.parametrize("bad", [dict(src_port=70000), dict(seq=-1), dict(flags=256),
                                 dict(window=10**6), dict(payload="text")])
def test_inject_refuses_malformed_segments(bad):
    net, client, server = pair()
    fields = dict(src_port=1, dst_port=2, seq=5, ack=0, flags=Flags.ACK, window=100)
    fields.update(bad)
    with pytest.raises(ValueError):
        net.inject("client", "server", Segment(**fields))


def test_inject_takes_a_segment_and_says_where_a_packets_segment_is():
    net, client, server = pair()
    pkt = net.inject("client", "server", Segment(src_port=1, dst_port=2, seq=5, flags=Flags.SYN))
    with pytest.raises(TypeError, match=r"not Packet \(a packet's segment is packet.segment\)"):
        net.inject("client", "server", pkt)
    again = net.inject("client", "server", pkt.segment)
    assert again.segment == pkt.segment and again.id == pkt.id + 1


def test_set_link_delay_and_validation():
    net, cli, conn = established()
    net.set_link("client", "server", delay=0.5)
    start = net.now
    cli.sendall(b"x")
    assert conn.recv(1) == b"x" and net.now - start == pytest.approx(0.5)
    with pytest.raises(ValueError):
        net.set_link("client", "server", loss=1.5)
    with pytest.raises(KeyError):
        net.set_link("client", "mars")


def test_corrupted_segments_are_discarded_and_counted():
    net, cli, conn = established()
    net.set_link("client", "server", corrupt=1.0)
    cli.send(b"x")
    net.run(until=net.now + 0.5)
    assert net.stats["bad_checksum"] == 1
    assert conn.connection.rcv_buf == b""
    net.set_link("client", "server")
    assert conn.recv(1) == b"x"                     # the retransmission arrives


def test_state_change_records_cause_and_time():
    net, cli, conn = established()
    (change,) = [r for r in net.trace.state_changes() if r.new is State.ESTABLISHED and r.host == "client"]
    assert change.old is State.SYN_SENT and change.time == 20_000
    assert change.cause.flags == Flags.SYN | Flags.ACK
    assert "SYN-SENT -> ESTABLISHED" in str(change)


def test_trace_off_records_nothing():
    net = Network(trace=False)
    net.add_host("client")
    server = net.add_host("server")
    s = server.socket()
    s.listen()
    c = net.hosts["client"].socket()
    c.connect(("server", s.getsockname()[1]))
    assert len(net.trace) == 0 and net.trace.segments() == []


def test_every_traced_state_change_is_an_edge_of_the_table():
    from tcpsim.fsm import is_edge

    runs = []
    for seed in range(6):
        net, cli, conn = established(seed=seed)
        net.set_link("client", "server", loss=0.1, duplicate=0.1, reorder=0.1)
        cli.sendall(b"z" * 5000)
        if seed % 2:
            cli.close()
            conn.close()
        else:
            conn.abort()
        net.run()
        runs.append(net)
    net, client, server = pair()
    client.socket().connect_ex(("server", 1))      # refused
    runs.append(net)
    seen = set()
    for net in runs:
        for r in net.trace.state_changes():
            assert is_edge(r.old, r.new), str(r)
            seen.add((r.old, r.new))
    assert len(seen) >= 10


def test_next_time_skips_cancelled_timers():
    net, cli, conn = established()
    net.run(until=1.0)
    # the SYN,ACK's retransmission timer was cancelled by the final ACK: nothing is due
    assert net.next_time() is None and net.next_event_kind() is None
    assert net.step() is None


def test_next_event_kind_names_what_step_will_do():
    net, cli, conn = established()
    call = net.hosts["client"].spawn(cli.recv, 10)
    conn.send(b"y")
    assert net.next_event_kind() == "arrival"
    event = net.step()                          # "y" arrives: the blocked recv() can return
    assert event.kind == "arrival" and call.blocked
    assert net.next_event_kind() == "wakeup"
    assert net.step().kind == "wakeup"
    assert call.done and call.result == b"y"
