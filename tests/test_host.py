"""Hosts: demultiplexing by 4-tuple, answers for no connection, ports, connections()."""

import pytest

from support import established, pair
from tcpsim import Flags, Segment, State


def test_segment_for_no_connection_gets_rst_per_3_10_7_1():
    net, client, server = pair()
    # ACK on: <SEQ=SEG.ACK><CTL=RST>
    net.inject("client", "server", Segment(src_port=5, dst_port=9, seq=10, ack=777,
                                           flags=Flags.ACK, window=10, payload=b"abc"))
    # ACK off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    net.inject("client", "server", Segment(src_port=5, dst_port=9, seq=10, ack=0,
                                           flags=Flags.FIN, window=10, payload=b"abc"))
    # a RST is never answered
    net.inject("client", "server", Segment(src_port=5, dst_port=9, seq=10, ack=0,
                                           flags=Flags.RST, window=10))
    net.run()
    replies = [p.segment for p in net.trace.segments() if p.src == "server"]
    assert [(r.flags, r.seq, r.ack) for r in replies] == [
        (Flags.RST, 777, 0), (Flags.RST | Flags.ACK, 0, 14)]
    assert all((r.src_port, r.dst_port) == (9, 5) for r in replies)


def test_rst_to_a_listener_is_ignored():
    net, client, server = pair()
    s = server.socket()
    s.bind(("", 80))
    s.listen()
    net.inject("client", "server", Segment(src_port=5, dst_port=80, seq=1, ack=0,
                                           flags=Flags.RST, window=0))
    net.run()
    assert len(net.trace.segments()) == 1 and s.state is State.LISTEN


def test_two_connections_to_one_port_are_kept_apart_by_4_tuple():
    net, client, server = pair()
    s = server.socket()
    s.bind(("", 80))
    s.listen()
    a, b = client.socket(), client.socket()
    a.connect(("server", 80))
    b.connect(("server", 80))
    ca, _ = s.accept()
    cb, _ = s.accept()
    a.sendall(b"from a")
    b.sendall(b"from b")
    assert ca.recv(10) == b"from a" and cb.recv(10) == b"from b"
    assert a.getsockname()[1] != b.getsockname()[1]


def test_ephemeral_ports_count_up_from_linux_range_start():
    net, client, server = pair()
    s = server.socket()
    s.bind(("", 80))
    s.listen()
    ports = []
    for _ in range(3):
        c = client.socket()
        c.connect(("server", 80))
        ports.append(c.getsockname()[1])
    assert ports == [32768, 32769, 32770]
    b = client.socket()
    b.bind(("", 0))
    assert b.getsockname() == ("0.0.0.0", 32771)


def half_open():
    """A listener on server:80 and a client whose SYN has just made a SYN-RECEIVED child."""
    net, client, server = pair()
    s = server.socket()
    s.bind(("", 80))
    s.listen()
    c = client.socket()
    call = client.spawn(c.connect, ("server", 80))
    net.step()
    return net, server, s, c, call


def test_connections_lists_listeners_half_open_children_and_orphans():
    net, server, *_ = half_open()
    infos = server.connections()
    assert [i.state for i in infos] == [State.LISTEN, State.SYN_RECEIVED]
    child = infos[1]
    assert child.local == ("10.0.0.2", 80) and child.remote == ("10.0.0.1", 32768)
    assert child.rcv_nxt == (child.irs + 1) % 2**32 and child.snd_nxt == (child.iss + 1) % 2**32
    assert child.snd_una == child.iss
    assert "SYN-RECEIVED" in str(child)


def test_a_half_open_child_sent_back_to_listen_is_forgotten_and_the_client_gets_through():
    # a new SYN in a passive SYN-RECEIVED returns it to LISTEN (RFC 9293 3.10.7.4 fourth):
    # the host drops the child; the client's retransmitted SYN then makes a new one
    net, server, s, c, call = half_open()
    (child,) = [i for i in server.connections() if i.state is State.SYN_RECEIVED]
    net.drop(net.in_flight[0].id)                          # its SYN,ACK is lost
    net.inject("client", "server", Segment(src_port=child.remote[1], dst_port=80,
                                           seq=(child.irs + 7) % 2**32, flags=Flags.SYN))
    net.run(until=0.5)
    assert [i.state for i in server.connections()] == [State.LISTEN]
    net.run(until=5)
    assert call.done and c.state is State.ESTABLISHED
    conn, _ = s.accept()
    c.sendall(b"through")
    assert conn.recv(100) == b"through"


def test_connection_info_tracks_the_tcb():
    net, cli, conn = established()
    cli.sendall(b"12345")
    net.run(until=net.now + 1)
    (c,) = net.hosts["client"].connections()
    (listener, s) = net.hosts["server"].connections()
    assert c.snd_nxt == s.rcv_nxt and s.snd_nxt == c.rcv_nxt
    assert (c.iss, c.irs) == (s.irs, s.iss)
    assert c.snd_una == c.snd_nxt == (c.iss + 6) % 2**32
    assert s.rcv_wnd == 65535 - 5 and s.recv_queue == 5
    assert listener.state is State.LISTEN


def test_syn_to_a_full_backlog_is_dropped_silently():
    net, client, server = pair()
    s = server.socket()
    s.bind(("", 80))
    s.listen(1)
    c1, c2 = client.socket(), client.socket()
    c1.connect(("server", 80))
    client.spawn(c2.connect, ("server", 80))
    net.run(until=0.5)
    syns = [p for p in net.trace.segments() if p.segment.flags == Flags.SYN]
    answers = [p for p in net.trace.segments() if p.src == "server"]
    assert len(syns) == 2 and len(answers) == 1          # no SYN,ACK and no RST for the second
    assert server.stats["dropped_syn_backlog"] == 1


def test_closing_a_listener_resets_connections_not_yet_accepted():
    net, client, server = pair()
    s = server.socket()
    s.bind(("", 80))
    s.listen()
    c = client.socket()
    c.connect(("server", 80))
    net.run(until=1)
    s.close()
    net.run(until=2)
    with pytest.raises(ConnectionResetError):
        c.recv(10)
