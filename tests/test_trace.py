"""The trace: what is recorded and how each record reads."""

from support import established, pair
from tcpsim import Network, State


def test_segments_in_send_order_with_fates():
    net, cli, conn = established()
    cli.send(b"x")
    (pkt,) = net.in_flight
    net.drop(pkt.id)
    segs = net.trace.segments()
    assert [p.id for p in segs] == sorted(p.id for p in segs)
    assert [p.fate for p in segs] == ["delivered"] * 3 + ["dropped"]
    assert segs[-1].reason == "dropped by hand"
    assert "[dropped: dropped by hand]" in str(segs[-1])


def test_every_record_prints_as_one_line():
    net, cli, conn = established()
    cli.close()
    conn.close()
    net.run()
    lines = net.trace.lines()
    assert len(lines) == len(net.trace)
    assert all("\n" not in line and line for line in lines)
    kinds = {r.kind for r in net.trace}
    assert kinds == {"segment", "state", "call", "timer"}


def test_state_changes_name_host_and_cause():
    net, client, server = pair()
    client.socket().connect_ex(("server", 9))
    (opened, refused) = net.trace.state_changes()
    assert (opened.host, opened.old, opened.new, opened.cause) == (
        "client", State.CLOSED, State.SYN_SENT, "connect()")
    assert refused.new is State.CLOSED and refused.cause_text.startswith("rcv RST,ACK")


def test_calls_record_blocking_and_returning():
    net, cli, conn = established()
    phases = [(r.host, r.name, r.phase) for r in net.trace.calls()]
    assert ("client", "connect()", "blocked") in phases
    assert ("client", "connect()", "return") in phases
    assert phases.index(("server", "accept()", "return")) > phases.index(("client", "connect()", "return"))


def test_packet_repr_names_its_id_once():
    net = Network(seed=0)
    net.add_host("c"), net.add_host("s")
    sock = net.hosts["c"].socket()
    sock.setblocking(False)
    sock.connect_ex(("s", 80))
    (packet,) = net.in_flight
    assert repr(packet).startswith("<Packet #1 c:") and repr(packet).count("#1") == 1
