"""The state graph (tcpsim.export.graph): RFC 9293 Figure 5 drawn from fsm.TRANSITIONS."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from collections import Counter

import graphviz
import pytest

import tcpsim
from tcpsim import State
from tcpsim.export.graph import state_graph
from tcpsim.fsm import edges

from support import established

_EDGE = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|[^\s"]+) -> ("(?:[^"\\]|\\.)*"|[^\s"]+)(?: \[(.*)\])?$')
_NODE = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|[^\s"\[]+) \[(.*)\]$')
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s"]+)')


def _unquote(text: str) -> str:
    return text[1:-1].replace('\\"', '"') if text.startswith('"') else text


def _attrs(text: str | None) -> dict[str, str]:
    return {k: _unquote(v) for k, v in _ATTR.findall(text or "")}


def parse(source: str):
    """(nodes: id -> attrs, edges: [(tail, head, attrs)], ranks: [[node id, ...]]) of DOT text."""
    nodes: dict[str, dict[str, str]] = {}
    found: list[tuple[str, str, dict[str, str]]] = []
    ranks: list[list[str]] = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == "rank=same":
            ranks.append([])
        m = _EDGE.match(line)
        if m:
            attrs = _attrs(m.group(3))
            if attrs.get("style") != "invis":
                found.append((_unquote(m.group(1)), _unquote(m.group(2)), attrs))
            continue
        m = _NODE.match(line)
        if m and m.group(1) not in ("graph", "node", "edge"):
            node = _unquote(m.group(1))
            nodes[node] = _attrs(m.group(2))
            if ranks:
                ranks[-1].append(node)
    return nodes, found, ranks


def drawn(source: str):
    """Each visible edge as (tail label, head label, its label lines, attrs)."""
    nodes, found, _ = parse(source)
    return [(nodes[t]["label"], nodes[h]["label"], a.get("label", "").split("\\n"), a)
            for t, h, a in found]


def taken(source: str) -> Counter:
    """(tail label, head label) -> count, for the highlighted edges: the sum of their lines'
    ``(Nx)``, or their ``(taken Nx)`` line."""
    out: Counter = Counter()
    for tail, head, lines, attrs in drawn(source):
        if "penwidth" in attrs:
            counts = [int(n) for line in lines for n in re.findall(r"\((?:taken )?(\d+)x\)$", line)]
            assert counts, lines
            out[tail, head] += sum(counts)
    return out


# -- the table, drawn --------------------------------------------------------------------


def test_every_table_edge_is_drawn_with_its_label_and_nothing_else():
    g = state_graph()
    assert isinstance(g, graphviz.Digraph)
    want = Counter((str(s), str(t.next), f"{event} / {t.label_action}") for s, event, t in edges())
    got = Counter((tail, head, line) for tail, head, lines, _ in drawn(g.source) for line in lines)
    assert got == want


def test_edges_read_like_the_rfc_figure():
    lines = {(tail, head): lines for tail, head, lines, _ in drawn(state_graph().source)}
    # RFC 9293 Figure 5's own labels
    assert "active OPEN / snd SYN" in lines["CLOSED", "SYN-SENT"]
    assert "rcv SYN / snd SYN,ACK" in lines["LISTEN", "SYN-RECEIVED"]
    assert "rcv SYN / snd SYN,ACK" in lines["SYN-SENT", "SYN-RECEIVED"]
    assert "rcv SYN,ACK / snd ACK" in lines["SYN-SENT", "ESTABLISHED"]
    assert "CLOSE / snd FIN" in lines["ESTABLISHED", "FIN-WAIT-1"]
    assert "rcv FIN / snd ACK" in lines["FIN-WAIT-2", "TIME-WAIT"]
    assert "Timeout=2MSL / delete TCB" in lines["TIME-WAIT", "CLOSED"]


def test_every_state_is_a_node_and_the_layout_follows_figure_5():
    nodes, _, ranks = parse(state_graph().source)
    labels = {a.get("label") for a in nodes.values()}
    assert {str(s) for s in State} <= labels
    rows = [[nodes[n]["label"] for n in rank
             if nodes[n].get("style") not in ("invis", "rounded,filled,dashed")] for rank in ranks]
    assert rows == [
        ["CLOSED"],
        ["LISTEN"],
        ["SYN-RECEIVED", "SYN-SENT"],                   # passive open left, active open right
        ["ESTABLISHED"],
        ["FIN-WAIT-1", "CLOSE-WAIT"],                   # active close left, passive close right
        ["FIN-WAIT-2", "CLOSING", "LAST-ACK"],
        ["TIME-WAIT", "CLOSED"],                        # the figure's second CLOSED
    ]


def test_dot_text_is_deterministic_and_sorted():
    a, b = state_graph().source, state_graph().source
    assert a == b
    _, found, _ = parse(a)
    pairs = [(t, h) for t, h, _ in found]
    assert pairs == sorted(pairs)


# -- a trace on the graph ---------------------------------------------------------------------


def _four_way_close():
    net, cli, conn = established()
    cli.close()
    conn.recv(10)
    conn.close()
    net.run()
    return net.trace


def test_a_trace_highlights_exactly_the_transitions_it_took():
    source = state_graph(_four_way_close()).source
    # the client (active close), the listening socket, and the server's connection (passive close)
    assert taken(source) == Counter({
        ("CLOSED", "SYN-SENT"): 1, ("SYN-SENT", "ESTABLISHED"): 1,
        ("ESTABLISHED", "FIN-WAIT-1"): 1, ("FIN-WAIT-1", "FIN-WAIT-2"): 1,
        ("FIN-WAIT-2", "TIME-WAIT"): 1, ("TIME-WAIT", "CLOSED"): 1,
        ("CLOSED", "LISTEN"): 1,
        ("LISTEN", "SYN-RECEIVED"): 1, ("SYN-RECEIVED", "ESTABLISHED"): 1,
        ("ESTABLISHED", "CLOSE-WAIT"): 1, ("CLOSE-WAIT", "LAST-ACK"): 1,
        ("LAST-ACK", "CLOSED"): 1,
    })


def test_final_states_are_marked():
    source = state_graph(_four_way_close()).source
    nodes, found, _ = parse(source)
    marked = {n for n, a in nodes.items() if a.get("peripheries") == "2"}
    ends = {h for t, h, _ in found if nodes[t]["label"] in ("TIME-WAIT", "LAST-ACK")
            and nodes[h]["label"] == "CLOSED"}
    assert len(ends) == 1                              # the bottom CLOSED, where both ended
    assert marked == ends | {"LISTEN"}                 # and the listener, still listening
    assert "peripheries" not in state_graph().source   # no trace, nothing marked


def test_resets_and_aborts_are_counted_on_their_edge():
    net, cli, _ = established()
    cli.abort()                                        # client: ABORT; server: rcv RST
    net.run()
    source = state_graph(net.trace).source
    assert taken(source)["ESTABLISHED", "CLOSED"] == 2
    (lines,) = [lines for t, h, lines, a in drawn(source)
                if (t, h) == ("ESTABLISHED", "CLOSED") and "penwidth" in a]
    # each line says how often its own table entry was taken
    assert lines == ["ABORT / snd RST (1x)", "rcv RST / delete TCB (1x)", "retransmissions exhausted / x"]


def test_several_traces_add_up():
    one, two = _four_way_close(), _four_way_close()
    counts = taken(state_graph([one, two]).source)
    assert counts["CLOSED", "SYN-SENT"] == 2 and counts["LAST-ACK", "CLOSED"] == 2


class _Record:
    kind, host, conn_id, input = "state", "x", 1, None

    def __init__(self, old, new):
        self.old, self.new = old, new


class _Trace:
    def __init__(self, *records):
        self.records = list(records)


def test_records_without_their_input_count_the_whole_edge():
    source = state_graph(_Trace(_Record(State.ESTABLISHED, State.CLOSED))).source
    (lines,) = [lines for t, h, lines, a in drawn(source) if "penwidth" in a]
    assert lines[-1] == "(taken 1x)" and "ABORT / snd RST" in lines


def test_a_move_outside_the_table_is_refused():
    with pytest.raises(ValueError, match="not in the table"):
        state_graph(_Trace(_Record(State.ESTABLISHED, State.LISTEN)))


def test_tcpsim_exports_it():
    assert tcpsim.state_graph is state_graph


# -- rendered ----------------------------------------------------------------------------------


def test_svg_shows_every_state():
    dot = shutil.which("dot")
    assert dot, "Graphviz's dot is not installed: apt-get install graphviz"
    for g in (state_graph(), state_graph(_four_way_close())):
        svg = subprocess.run([dot, "-Tsvg"], input=g.source, capture_output=True, text=True, check=True)
        text = html.unescape(svg.stdout)
        for state in State:
            assert f">{state}</text>" in text, state
        assert svg.stderr == ""
