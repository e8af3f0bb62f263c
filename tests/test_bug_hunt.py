"""Engine bugs found by hunting with the long hypothesis profile (each fails before its fix)."""

from __future__ import annotations

from tcpsim import Config, Network
from tcpsim.invariants import check_transitions
from tcpsim.programs import Command, Runner


def script(net: Network, *lines: str) -> Runner:
    return Runner(net).run_all([Command.parse(line) for line in lines])


def test_bug_header_prediction_takes_a_stale_window():
    # RFC 9293 3.10.7.4, fifth step: the send window is updated only from a segment
    # no older than the last update (SND.WL1 < SEG.SEQ, or SND.WL1 = SEG.SEQ and
    # SND.WL2 =< SEG.ACK).  The server sends "hi" with a zero window, then (its
    # buffer read) a window update of 7, two octets later in sequence.
    # The update overtakes the data.  The data, arriving second, is next in order
    # for the client and takes header prediction, which must not let its older
    # zero window overwrite the newer 7: the full path keeps 7, and so must it.
    net = Network(seed=0, config=Config(recv_buffer=7))
    net.add_host("client"), net.add_host("server")
    runner = script(net, "listen server 80", "connect client server:80", "accept server",
                    "run until 1.0", "send client xxxxxxx", "run until 2.0", "send server hi")
    data = net.in_flight[-1]
    runner.run_all([Command.parse("recv server")])           # the window opens: an update
    update = net.in_flight[-1]
    assert data.segment.window == 0 and update.segment.window == 7
    assert update.segment.seq == (data.segment.seq + 2) & 0xFFFFFFFF
    client = next(s.connection for s in runner.sockets["client"] if s.connection is not None)
    net.deliver(update.id)                                    # the newer segment first
    assert client.info().snd_wnd == 7
    net.run(until=2.5)                                        # then the older one, in order
    runner.close()
    assert client.info().snd_wnd == 7, "an older segment's zero window replaced a newer 7"


def test_bug_syn_ack_never_resent_after_close_in_syn_received():
    # Simultaneous open: a's SYN is lost, b's reaches a (SYN-RECEIVED), a's SYN,ACK
    # is lost, and a closes (SYN-RECEIVED -> FIN-WAIT-1, RFC 9293 3.10.4).  The SYN
    # is still unacknowledged, so the retransmission timer must send it again
    # (RFC 9293 3.8.1, RFC 6298 5.4: the earliest unacknowledged segment); b,
    # in SYN-SENT, can do nothing with the FIN or the challenge ACKs its
    # retransmitted SYNs get.  On an otherwise healthy network b must establish
    # (and see a's FIN), and a's FIN must be acknowledged -- not b timing out and
    # a stuck in FIN-WAIT-1 until it gives up.
    net = Network(seed=1)
    a, b = net.add_host("a"), net.add_host("b")
    sa, sb = a.socket(), b.socket()
    sa.bind(("", 1000)), sb.bind(("", 2000))
    sa.setblocking(False), sb.setblocking(False)
    sa.connect_ex(("b", 2000)), sb.connect_ex(("a", 1000))
    syn_a = net.in_flight[0]
    assert syn_a.src == "a"
    net.drop(syn_a.id)
    net.run(until=0.0105)                               # b's SYN arrives: a answers SYN,ACK
    assert str(sa.state) == "SYN-RECEIVED"
    net.drop(net.in_flight[-1].id)                      # the SYN,ACK is lost
    sa.close()
    net.run(until=60.0)
    assert "ESTABLISHED" in map(str, sb.history), \
        f"b never established (history {' -> '.join(map(str, sb.history))}, error {sb.connection.error})"
    assert "FIN-WAIT-2" in map(str, sa.history) or "TIME-WAIT" in map(str, sa.history), \
        f"a's FIN never acknowledged: {' -> '.join(map(str, sa.history))}"
    net.close()


def test_bug_delayed_ack_sent_after_reset():
    # A delayed ACK is pending when the peer's RST arrives: the connection goes
    # CLOSED and its TCB is deleted (RFC 9293 3.10.7.4, second step).  Nothing may
    # be sent for it afterwards -- not an ACK from a deleted TCB, which the peer
    # (also CLOSED) can only answer with another RST.
    net = Network(seed=0, config=Config(delayed_ack=True))
    net.add_host("client"), net.add_host("server")
    runner = script(net, "listen server 80", "connect client server:80", "accept server",
                    "run until 1.0", "send server ab", "run until 1.015", "abort server",
                    "run until 2.0")
    runner.close()
    assert any(str(r.new) == "CLOSED" for r in net.trace.state_changes() if r.host == "client")
    check_transitions(net.trace)           # nothing sent once CLOSED


def test_bug_delayed_ack_sent_after_orphan_reset():
    # The same through RFC 1122 4.2.2.13: text reaching a closed socket is answered
    # with RST and the connection is gone; the ACK that was pending must not follow.
    net = Network(seed=0, config=Config(recv_buffer=7, delayed_ack=True))
    net.add_host("client"), net.add_host("server")
    runner = script(net, "listen server 80", "connect client server:80", "accept server",
                    "run until 1.0", "send client xxxxxxxxxxxxxxxxxxxx", "run until 2.0",
                    "send server ab", "run until 2.015", "recv client", "close client",
                    "send server cd", "run until 3.0")
    runner.close()
    assert any(str(r.new) == "CLOSED" for r in net.trace.state_changes() if r.host == "client")
    check_transitions(net.trace)           # nothing sent once CLOSED
