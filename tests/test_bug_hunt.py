"""Engine bugs found by hunting with the long hypothesis profile (each fails before its fix)."""

from __future__ import annotations

from tcpsim import Config, Network
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
