"""Ladder diagrams of a trace (tcpsim.export.ladder): text, Mermaid and DOT, three namings.

The golden ladders below were written by hand from RFC 9293's figures -- Figure 6
(the three-way handshake) and Figure 12 (the normal close sequence) -- with the
socket calls a Python program makes around them, laid out by the ladder's rules:
the first host's notes start two columns right of its line, the last host's end
two columns left of its line, an arrow's label starts next to its sender, and a
blank row separates moments of virtual time.
"""

from __future__ import annotations

import html
import io
import re
import shutil
import subprocess

import pytest

import tcpsim
from tcpsim import Config, Network, State, scenarios
from tcpsim.export.ladder import _mermaid_text, ladder_diagram, text_ladder
from tcpsim.export.naming import isn_letter
from tcpsim.repl import Repl

from support import established

# fmt: off
HANDSHAKE = """\
       client                                                             server
       10.0.0.1                                                         10.0.0.2
0.000  |                                                             listen(5) |
       |                                                      CLOSED -> LISTEN |
       | connect(server:80)                                                    |
       | CLOSED -> SYN-SENT                                                    |
       |-- SYN seq=J mss=1460 ------------------------------------------------>|
       | connect() blocks (waiting for SYN,ACK)                                |
       |                                                                       |
0.010  |                                                LISTEN -> SYN-RECEIVED |
       |<------------------------------------ SYN,ACK seq=K ack=J+1 mss=1460 --|
       |                                                                       |
0.020  | SYN-SENT -> ESTABLISHED                                               |
       |-- ACK seq=J+1 ack=K+1 ----------------------------------------------->|
       | connect() returns                                                     |
       |                                                              accept() |
       |                            accept() blocks (waiting for a connection) |
       |                                                                       |
0.030  |                                           SYN-RECEIVED -> ESTABLISHED |
       |                                  accept() returns 10.0.0.1:32768 fd 4 |
"""

FOUR_WAY_CLOSE = """\
         client                                                           server
         10.0.0.1                                                       10.0.0.2
  0.000  |                                                           listen(5) |
         |                                                    CLOSED -> LISTEN |
         | connect(server:80)                                                  |
         | CLOSED -> SYN-SENT                                                  |
         |-- SYN seq=J mss=1460 ---------------------------------------------->|
         | connect() blocks (waiting for SYN,ACK)                              |
         |                                                                     |
  0.010  |                                              LISTEN -> SYN-RECEIVED |
         |<---------------------------------- SYN,ACK seq=K ack=J+1 mss=1460 --|
         |                                                                     |
  0.020  | SYN-SENT -> ESTABLISHED                                             |
         |-- ACK seq=J+1 ack=K+1 --------------------------------------------->|
         | connect() returns                                                   |
         |                                                            accept() |
         |                          accept() blocks (waiting for a connection) |
         |                                                                     |
  0.030  |                                         SYN-RECEIVED -> ESTABLISHED |
         |                                accept() returns 10.0.0.1:32768 fd 4 |
         | close()                                                             |
         | ESTABLISHED -> FIN-WAIT-1                                           |
         |-- FIN,ACK seq=J+1 ack=K+1 ----------------------------------------->|
         |                                    recv() blocks (waiting for data) |
         |                                                                     |
  0.040  |                                           ESTABLISHED -> CLOSE-WAIT |
         |<--------------------------------------------- ACK seq=K+1 ack=J+2 --|
         |                                  recv() returns b'' (end of stream) |
         |                                                             close() |
         |                                              CLOSE-WAIT -> LAST-ACK |
         |<----------------------------------------- FIN,ACK seq=K+1 ack=J+2 --|
         |                                                                     |
  0.050  | FIN-WAIT-1 -> FIN-WAIT-2                                            |
         | FIN-WAIT-2 -> TIME-WAIT                                             |
         |-- ACK seq=J+2 ack=K+2 --------------------------------------------->|
         |                                                                     |
  0.060  |                                                  LAST-ACK -> CLOSED |
         |                                                                     |
240.050  | TIME-WAIT timer fires                                               |
         | TIME-WAIT -> CLOSED                                                 |
"""
# fmt: on


def rfc_isns() -> Config:
    """ISNs as in RFC 9293 Figure 6: 100 for the opener (TCP Peer A), 300 for the listener's side."""
    isns = iter([100, 300])
    return Config(isn=lambda: next(isns))


def handshake(config: Config | None = None):
    """(net, client socket, server socket) after connect() and accept(); the listener stays open."""
    return established(seed=0, config=config)


def arrows(ladder: str) -> list[str]:
    """The arrow rows of a text ladder, without the margin."""
    return [line.strip() for line in ladder.splitlines() if "->|" in line or "|<-" in line]


# -- golden ladders -------------------------------------------------------------------


def test_handshake_symbolic_golden():
    net, _, _ = handshake(rfc_isns())
    assert text_ladder(net.trace) == HANDSHAKE
    assert net.trace.ladder() == HANDSHAKE          # the Trace hook draws the same


def test_four_way_close_symbolic_golden():
    net, cli, conn = handshake(rfc_isns())
    cli.close()
    assert conn.recv(1024) == b""
    conn.close()
    net.run()
    assert text_ladder(net.trace) == FOUR_WAY_CLOSE
    assert cli.state is State.CLOSED and conn.state is State.CLOSED


def test_handshake_relative_naming_is_wiresharks():
    net, _, _ = handshake(rfc_isns())
    assert arrows(text_ladder(net.trace, naming="relative")) == [
        "|-- SYN seq=0 mss=1460 ------------------------------------------------>|",
        "|<-------------------------------------- SYN,ACK seq=0 ack=1 mss=1460 --|",
        "|-- ACK seq=1 ack=1 --------------------------------------------------->|",
    ]


def test_handshake_absolute_naming_shows_the_wire_numbers():
    net, _, _ = handshake(rfc_isns())           # RFC 9293 Figure 6's numbers: 100 and 300
    assert arrows(text_ladder(net.trace, naming="absolute")) == [
        "|-- SYN seq=100 mss=1460 ---------------------------------------------->|",
        "|<---------------------------------- SYN,ACK seq=300 ack=101 mss=1460 --|",
        "|-- ACK seq=101 ack=301 ----------------------------------------------->|",
    ]


def test_namings_do_not_depend_on_the_isns():
    a, _, _ = handshake(rfc_isns())
    b, _, _ = handshake()                       # ISNs drawn from the seeded RNG
    for naming in ("symbolic", "relative"):
        assert text_ladder(a.trace, naming) == text_ladder(b.trace, naming)


# -- naming rules ---------------------------------------------------------------------


def test_data_is_named_by_the_senders_isn_and_acks_by_the_receivers():
    net, cli, conn = handshake()
    cli.sendall(b"hello")
    assert conn.recv(1024) == b"hello"
    text = text_ladder(net.trace)
    assert "PSH,ACK seq=J+1 len=5 ack=K+1" in text
    # the receiver acknowledges J+6: five octets after J+1; its window shrank by five
    assert "ACK seq=K+1 ack=J+6 win=65530" in text


def test_refused_connection_rst_is_named_against_the_syn_it_answers():
    net = Network(seed=0)
    client, _ = net.add_host("client"), net.add_host("server")
    with pytest.raises(ConnectionRefusedError):
        client.socket().connect(("server", 80))
    text = text_ladder(net.trace)
    # RFC 9293 3.10.7.1: for a SYN, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    assert "RST,ACK seq=0 ack=J+1" in text
    # Wireshark bases a side that sent no SYN one below its first sequence number
    assert "RST,ACK seq=1 ack=1" in text_ladder(net.trace, "relative")
    assert "SYN-SENT -> CLOSED" in text and "connect() raises ECONNREFUSED" in text


def test_wraparound_isns_name_like_any_other():
    net, cli, conn = handshake(Config(isn=2**32 - 3))
    cli.sendall(b"hello")
    conn.recv(1024)
    text = text_ladder(net.trace)
    assert "PSH,ACK seq=J+1 len=5 ack=K+1" in text and "ack=J+6" in text
    # on the wire: J+1 = 2**32-2, J+6 wrapped round to 3
    absolute = text_ladder(net.trace, "absolute")
    assert f"seq={2**32 - 2} len=5" in absolute and "ack=3 " in absolute


def test_several_connections_get_their_own_letters_and_numbers():
    net = Network(seed=0)
    client, server = net.add_host("client"), net.add_host("server")
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen(5)
    for _ in range(2):
        cli = client.socket()
        cli.connect(("server", 80))
        srv.accept()
    text = text_ladder(net.trace)
    assert "(1) client:32768 - server:80" in text and "(2) client:32769 - server:80" in text
    assert "(1) SYN seq=J " in text and "(1) SYN,ACK seq=K ack=J+1" in text
    assert "(2) SYN seq=L " in text and "(2) SYN,ACK seq=M ack=L+1" in text
    assert "(2) CLOSED -> SYN-SENT" in text


def test_isn_letters_run_j_to_z_then_a_to_i_then_numbered():
    assert [isn_letter(i) for i in (0, 1, 16, 17, 25, 26, 27)] == ["J", "K", "Z", "A", "I", "J2", "K2"]


# -- drawing ------------------------------------------------------------------------------


def test_lost_segment_ends_in_an_x_short_of_the_receiver():
    net, cli, conn = handshake()
    cli.sendall(b"hello")
    (packet,) = net.in_flight
    net.drop(packet.id)
    assert conn.recv(1024) == b"hello"            # the retransmission gets through
    lines = text_ladder(net.trace).splitlines()
    (lost,) = [line for line in lines if "(dropped by hand)" in line]
    assert lost.endswith("-X  |") and lost.count("|") == 2
    assert "retransmission timer fires" in "\n".join(lines)
    assert sum("seq=J+1 len=5" in line for line in lines) == 2


def test_in_flight_duplicate_and_reordered_segments_are_marked():
    net, cli, conn = handshake()
    cli.sendall(b"one")
    first = net.in_flight[0]
    cli.sendall(b"two")
    second = net.in_flight[1]
    net.duplicate(first.id)
    net.deliver(second.id)                        # "two" overtakes "one"
    assert "seq=J+1 len=3 ack=K+1 (in flight)" in text_ladder(net.trace)
    net.run(until=net.now + 0.1)
    text = text_ladder(net.trace)
    assert "seq=J+1 len=3 ack=K+1 (reordered)" in text
    assert "seq=J+1 len=3 ack=K+1 (duplicate)" in text
    assert "seq=J+4 len=3 ack=K+1 -" in text     # "two" arrived in its turn: no mark
    assert "(in flight)" not in text


def test_two_host_ladders_fit_in_80_columns_and_width_is_respected():
    from tcpsim.export.diagrams import lossy_transfer

    trace = lossy_transfer()
    assert max(len(line) for line in text_ladder(trace).splitlines()) <= 80
    wide = text_ladder(trace, width=100).splitlines()
    assert len(wide[0]) == 100 and wide[0].endswith("server")


def test_three_hosts_each_get_a_column():
    net = Network(seed=0)
    a, b, s = net.add_host("alice"), net.add_host("bob"), net.add_host("server")
    srv = s.socket()
    srv.bind(("", 80))
    srv.listen(5)
    for host in (a, b):
        sock = host.socket()
        sock.connect(("server", 80))
        conn, _ = srv.accept()
        sock.sendall(host.name.encode())
        conn.recv(100)
    lines = text_ladder(net.trace).splitlines()
    header = lines[0]
    assert header.split() == ["alice", "bob", "server"]       # openers first, in order
    cols = [header.index("alice"), header.index("bob") + 1, len(header) - 1]
    body = lines[4:]                                            # after names, addresses, legend
    for line in body:
        if "-->" in line or "<--" in line:                      # an arrow starts and ends at lines
            ends = [i for i, ch in enumerate(line) if ch in "|<>"]
            assert ends[0] in cols and ends[-1] in cols, line
    assert sum("SYN seq=" in line for line in body) == 2
    assert all(len(line) <= 80 for line in lines)


def test_times_show_microseconds_only_when_needed():
    net = Network(seed=0, delay=0.0005)
    client, server = net.add_host("client"), net.add_host("server")
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen(1)
    client.socket().connect(("server", 80))
    stamps = re.findall(r"^\s*(\d+\.\d+)  \|", text_ladder(net.trace), re.M)
    assert stamps[:2] == ["0.000000", "0.000500"]


def test_empty_trace_and_bad_arguments():
    net = Network()
    assert text_ladder(net.trace) == "(nothing happened)\n"
    assert ladder_diagram(net.trace).startswith("sequenceDiagram\n")
    assert "nothing happened" in ladder_diagram(net.trace, format="dot")
    net, _, _ = handshake()
    with pytest.raises(ValueError, match="naming"):
        text_ladder(net.trace, naming="hex")
    with pytest.raises(ValueError, match="format"):
        ladder_diagram(net.trace, format="svg")


# -- Mermaid and Graphviz -----------------------------------------------------------------


def test_mermaid_sequence_diagram():
    net, cli, conn = handshake()
    cli.sendall(b"hello")
    (packet,) = net.in_flight
    net.drop(packet.id)
    conn.recv(1024)
    text = tcpsim.ladder_diagram(net.trace)                   # Mermaid is the default
    lines = text.splitlines()
    assert lines[:3] == ["sequenceDiagram",
                         "    participant h0 as client 10.0.0.1",
                         "    participant h1 as server 10.0.0.2"]
    assert "    h0->>h1: SYN seq=J mss=1460" in lines
    assert "    h1->>h0: SYN,ACK seq=K ack=J+1 mss=1460" in lines
    assert "    h0-xh1: PSH,ACK seq=J+1 len=5 ack=K+1 (dropped by hand)" in lines
    assert "    Note right of h0: CLOSED -> SYN-SENT" in lines
    assert "    Note left of h1: LISTEN -> SYN-RECEIVED" in lines
    # blocked calls are activations, each closed by its return
    assert lines.count("    activate h0") == lines.count("    deactivate h0") == 1
    assert lines.count("    activate h1") == lines.count("    deactivate h1") == 2
    assert lines.index("    activate h0") < lines.index("    deactivate h0") \
        < lines.index("    Note right of h0: connect() returns")


def test_mermaid_text_escapes_its_special_characters():
    assert _mermaid_text("a;b#c") == "a#59;b#35;c"


def test_dot_ladder_renders_to_svg():
    dot = shutil.which("dot")
    assert dot, "Graphviz's dot is not installed: apt-get install graphviz"
    net, cli, conn = handshake()
    cli.close()
    conn.recv(10)
    conn.close()
    net.run()
    source = ladder_diagram(net.trace, format="dot")
    assert source.startswith("digraph ladder {")
    svg = subprocess.run([dot, "-Tsvg"], input=source, capture_output=True, text=True, check=True)
    shown = html.unescape(svg.stdout)
    for text in ("client", "server", "SYN seq=J mss=1460", "FIN,ACK seq=K+1 ack=J+2",
                 "TIME-WAIT -> CLOSED", "connect() returns"):
        assert text in shown, text
    assert svg.stderr == ""


def test_four_hosts_over_faulty_links_stay_within_80_columns():
    net = Network(seed=10, config=Config(mss=100))
    hosts = [net.add_host(f"h{i}") for i in range(4)]
    server = hosts[-1]
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen(8)
    for h in hosts[:-1]:
        net.set_link(h.name, server.name, loss=0.2, duplicate=0.2, reorder=0.2, corrupt=0.1)

    def serve():
        for _ in hosts[:-1]:
            conn, _ = srv.accept()
            conn.sendall(conn.recv(1000))
            conn.close()

    def talk(host):
        sock = host.socket()
        sock.connect(("h3", 80))
        sock.sendall(b"x" * 250)
        sock.recv(1000)
        sock.close()

    server.spawn(serve)
    calls = [h.spawn(talk, h) for h in hosts[:-1]]
    net.run()
    assert all(c.done and c.exception is None for c in calls)
    assert any(p.corrupted for p in net.trace.packets)
    for naming in ("symbolic", "relative", "absolute"):
        lines = text_ladder(net.trace, naming).splitlines()
        assert max(len(line) for line in lines) <= 80, naming
        assert lines[0].split() == ["h0", "h1", "h2", "h3"]
        assert sum(" SYN seq=" in line for line in lines) == sum(
            p.segment.flags == 2 for p in net.trace.packets)


def _repl_ladder(*lines: str) -> list[str]:
    repl = Repl(stdin=io.StringIO(), stdout=io.StringIO())
    try:
        assert repl.run_lines(list(lines), echo=False) is None, repl.stdout.getvalue()
        return repl.net.trace.ladder().splitlines()
    finally:
        repl.close()


def _row(rows: list[str], text: str) -> int:
    return next(i for i, row in enumerate(rows) if text in row)


@pytest.mark.parametrize("lines", [
    ("listen server 80", "accept server", "connect client server:80", "run", "abort client"),
    tuple(scenarios.load("reset").lines),
], ids=["abort client", "reset demo"])
def test_an_abort_is_drawn_before_the_rst_and_the_state_change_it_causes(lines):
    rows = _repl_ladder(*lines)
    call = _row(rows, "| abort()")
    assert call < _row(rows, "| ESTABLISHED -> CLOSED") < _row(rows, "|-- RST seq=")


def test_a_recv_at_end_of_stream_is_drawn_like_other_returning_calls():
    rows = _repl_ladder(*scenarios.load("half-close").lines)
    # the server reads the request, then b'' (the client's FIN), as the demo's text says
    assert _row(rows, "recv() returns 7 bytes") < _row(rows, "recv() returns b'' (end of stream) |")
