"""The trace: what is recorded and how each record reads."""

from support import established, pair
from tcpsim import Flags, Network, Packet, Segment, State


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


def test_abort_is_traced_before_the_rst_and_the_state_change_it_causes():
    net, cli, conn = established()
    start = len(net.trace.records)
    cli.abort()
    kinds = [(r.kind, getattr(r, "name", "")) for r in net.trace.records[start:]]
    assert kinds[0] == ("call", "abort()")
    assert ("call", "close()") not in kinds          # one call, as the program made it
    assert [k for k, _ in kinds[1:]] == ["segment", "state"] or \
        [k for k, _ in kinds[1:]] == ["state", "segment"]
    assert net.trace.segments()[-1].flags & 4       # the RST


def test_every_recv_that_returns_is_traced_with_its_count():
    net, cli, conn = established()
    cli.sendall(b"x")
    assert conn.recv(0) == b""
    assert conn.recv(10) == b"x"
    conn.shutdown(0)                                 # SHUT_RD
    assert conn.recv(10) == b""
    returns = [(r.name, r.detail) for r in net.trace.calls() if r.phase == "return"]
    assert returns[-3:] == [("recv()", "0 bytes"), ("recv()", "1 byte"),
                            ("recv()", "b'' (shut for reading)")]
    assert ("sendall()", "1 byte") in [(r.name, r.detail) for r in net.trace.calls()]


def test_packet_repr_names_its_id_once():
    net = Network(seed=0)
    net.add_host("c"), net.add_host("s")
    sock = net.hosts["c"].socket()
    sock.setblocking(False)
    sock.connect_ex(("s", 80))
    (packet,) = net.in_flight
    assert repr(packet).startswith("<Packet #1 c:") and repr(packet).count("#1") == 1


def test_packets_are_found_among_the_records_as_the_trace_grows():
    net, cli, conn = established()
    packets = net.trace.packets
    assert len(packets) == 3                          # the handshake
    cli.send(b"abc")
    net.run()
    assert net.trace.packets is packets and len(packets) == 5      # the data and its ACK
    assert packets == [r for r in net.trace.records if r.kind == "segment"]
    assert [p.id for p in packets] == [1, 2, 3, 4, 5]


def test_a_packet_carries_its_segments_header_and_gives_the_segment_as_a_value():
    net, cli, conn = established()
    cli.send(b"abc")
    (pkt,) = net.in_flight
    seg = pkt.segment
    assert type(seg) is Segment and seg == pkt.segment       # a value: equal each time
    assert (seg.seq, seg.ack, seg.flags, seg.window, seg.payload) == (
        pkt.seq, pkt.ack, pkt.flags, pkt.window, b"abc")
    assert str(seg) == pkt.format() and seg.seg_len == pkt.seg_len == 3
    copy = net.duplicate(pkt.id)
    assert copy.segment == seg and copy != pkt               # packets compare by identity
    # the packet's flags are an int, the engine's; its segment's are Flags
    assert type(pkt.flags) is int and isinstance(seg.flags, Flags) and Flags.PSH in seg.flags
    hand_made = Packet(1, "a", "b", "10.0.0.1", "10.0.0.2", seg, 0, 10)
    assert type(hand_made.flags) is int and hand_made.segment == seg


def test_a_state_change_records_its_cause_as_a_segment_not_the_packet():
    net, client, server = pair()
    client.socket().connect_ex(("server", 9))
    net.run()
    refused = net.trace.state_changes()[-1]
    rst = net.trace.segments()[-1]
    assert type(refused.cause) is Segment and refused.cause == rst.segment
