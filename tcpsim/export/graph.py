"""The TCP state diagram, drawn from the transition table itself.

Every entry of ``fsm.TRANSITIONS`` becomes a line ``event / action`` on the
edge from its state to its next state (``rcv SYN / snd SYN,ACK``); entries that
join the same two states share one edge, one line each, so the picture stays
readable and a trace's state changes (old, new) name exactly one edge.

The layout follows RFC 9293 Figure 5: CLOSED at the top, LISTEN below it,
SYN-RECEIVED left and SYN-SENT right, ESTABLISHED in the middle, the active
close (FIN-WAIT-1, FIN-WAIT-2) down the left, the passive close (CLOSE-WAIT,
LAST-ACK) down the right, CLOSING and TIME-WAIT between them, and -- as in the
figure -- a second CLOSED at the bottom right for connections that finished.
Resets, aborts and give-ups, which the figure leaves to a note ("RST and ABORT
reach CLOSED from every state"), go to a small dashed CLOSED box beside their
state, so no line crosses the picture for them.

Given a trace, the edges it took are drawn bold and red, each ``event / action``
line taken followed by how often (``rcv RST / delete TCB (2x)``), and the
states its connections ended in get a double border.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..fsm import TRANSITIONS, Input, edges
from ..states import State
from . import as_trace

S = State

# Where each state sits, as in the RFC's figure: (row, column), columns 0 left,
# 1 centre, 2 right.  END is the second CLOSED, bottom right.
END = "CLOSED (end)"
GRID: dict[str, tuple[int, int]] = {
    str(S.CLOSED): (0, 1),
    str(S.LISTEN): (1, 1),
    str(S.SYN_RECEIVED): (2, 0), str(S.SYN_SENT): (2, 2),
    str(S.ESTABLISHED): (3, 1),
    str(S.FIN_WAIT_1): (4, 0), str(S.CLOSE_WAIT): (4, 2),
    str(S.FIN_WAIT_2): (5, 0), str(S.CLOSING): (5, 1), str(S.LAST_ACK): (5, 2),
    str(S.TIME_WAIT): (6, 1), END: (6, 2),
}
ROWS = 7

# Where some edges leave and enter their boxes (compass points), so the lines
# between LISTEN and the two SYN states do not cross each other's labels.
PORTS: dict[tuple[str, str], tuple[str, str]] = {
    (str(S.SYN_SENT), str(S.SYN_RECEIVED)): ("sw", "se"),
    (str(S.CLOSED), str(S.SYN_SENT)): ("e", "n"),
    (str(S.SYN_SENT), str(S.CLOSED)): ("ne", "e"),
}

# A state's own CLOSED box sits right of it, or in this free slot of the grid.
STUB_SLOTS: dict[str, tuple[int, int]] = {str(S.SYN_RECEIVED): (3, 0)}

# Inputs that end a connection abnormally.  A state whose only ways to CLOSED
# are these gets its own small CLOSED box beside it (the RFC's figure leaves
# them to a note: "RST and ABORT reach CLOSED from every state"), so the
# picture has no lines from every state to one corner.
_ERROR_EVENTS = (Input.RCV_RST, Input.RCV_RST_ACTIVE, Input.ABORT, Input.GIVE_UP)

# Other ways into CLOSED go to the top box from the opening states, as the
# RFC draws LISTEN's and SYN-SENT's CLOSE, and to the bottom one otherwise.
_TO_TOP = frozenset({S.LISTEN, S.SYN_SENT, S.SYN_RECEIVED})


def _error_only() -> frozenset[State]:
    """States from which only resets, aborts and give-ups lead to CLOSED."""
    into: dict[State, list[Input]] = {}
    for state, event, t in edges():
        if t.next is S.CLOSED:
            into.setdefault(state, []).append(event)
    return frozenset(s for s, events in into.items() if all(e in _ERROR_EVENTS for e in events))


_STUBBED = _error_only()


def node_id(state: State, came_from: State | None = None) -> str:
    """The graph node of ``state``; which CLOSED box depends on the state it came from."""
    if state is not S.CLOSED or came_from is None:
        return str(state)
    if came_from in _STUBBED:
        return f"CLOSED from {came_from}"
    return str(state) if came_from in _TO_TOP else END


def edge_labels() -> dict[tuple[str, str], list[str]]:
    """Each drawn edge (tail, head) and its ``event / action`` lines, from the table."""
    out: dict[tuple[str, str], list[str]] = {}
    for state, event, t in edges():
        key = (node_id(state), node_id(t.next, state))
        out.setdefault(key, []).append(line_of(state, event))
    return out


def line_of(state: State, event: Input) -> str:
    """The ``event / action`` line of one table entry."""
    return f"{event} / {TRANSITIONS[state, event].label_action}"


def taken_edges(traces: Any) -> tuple[Counter, Counter, set[str]]:
    """What a trace (or several) took: how often each drawn edge, how often each of its
    lines (when the records name the table entry they took), and the nodes its
    connections ended in."""
    if hasattr(traces, "records"):
        traces = [traces]
    taken: Counter = Counter()
    lines: Counter = Counter()
    final: dict[tuple[int, str, int], str] = {}
    for n, trace in enumerate(traces):
        for r in trace.records:
            if r.kind != "state":
                continue
            key = (node_id(r.old), node_id(r.new, r.old))
            taken[key] += 1
            event = getattr(r, "input", None)
            if event is not None and (r.old, event) in TRANSITIONS:
                lines[key + (line_of(r.old, event),)] += 1
            final[n, r.host, r.conn_id] = key[1]
    return taken, lines, set(final.values())


_NODE = {"shape": "box", "style": "rounded,filled", "fillcolor": "#eef3fb", "color": "#4a6fa5"}
_STUB = {"shape": "box", "style": "rounded,filled,dashed", "fillcolor": "#f4f4f4",
         "color": "#999999", "fontcolor": "#666666", "fontsize": "10", "width": "0.8",
         "height": "0.3", "label": "CLOSED"}
_FINAL = {"peripheries": "2", "fillcolor": "#fde9c8", "color": "#b9770e"}
_TAKEN = {"color": "#c0392b", "fontcolor": "#c0392b", "penwidth": "2.5"}
_NOT_TAKEN = {"color": "#bbbbbb", "fontcolor": "#999999"}


def state_graph(trace: Any = None) -> Any:
    """The RFC 9293 state diagram as a ``graphviz.Digraph``, built from ``fsm.TRANSITIONS``.

    With a ``trace`` (``net.trace``, or a list of traces: a coverage picture of
    a whole test suite), the transitions taken are highlighted and counted, and
    the states connections ended in are marked.  The DOT text
    (``.source``) is deterministic: rows top to bottom, edges sorted.
    """
    import graphviz

    labels = edge_labels()
    if trace is None:
        taken, taken_lines, final = Counter(), Counter(), set()
    else:
        if isinstance(trace, (list, tuple)):                 # a suite's traces
            trace = [as_trace(t, "state_graph") for t in trace]
        else:
            trace = as_trace(trace, "state_graph")
        taken, taken_lines, final = taken_edges(trace)
    for key in sorted(taken):
        if key not in labels:
            raise ValueError(f"the trace moved {key[0]} -> {key[1]}, which is not in the table")
    title = "TCP connection states (RFC 9293 Figure 5), drawn from tcpsim.fsm.TRANSITIONS"
    if trace is not None:
        title += "\\nred: transitions this run took, (Nx) times; double border: where connections were when the trace ended"
    g = graphviz.Digraph("tcp_states")
    g.attr("graph", rankdir="TB", nodesep="0.6", ranksep="0.6", newrank="true",
           fontname="Helvetica", fontsize="16", label=title, labelloc="t")
    g.attr("node", fontname="Helvetica", fontsize="13", width="1.6", height="0.5", **_NODE)
    g.attr("edge", fontname="Helvetica", fontsize="10", color="#555555", arrowsize="0.8")
    stubs = {tail: head for tail, head in labels if head.startswith("CLOSED from ")}
    slots: dict[tuple[int, int], str] = {pos: name for name, pos in GRID.items()}
    for tail, pos in STUB_SLOTS.items():
        if tail in stubs:
            slots[pos] = stubs.pop(tail)
    for row in range(ROWS):
        order: list[str] = []
        with g.subgraph() as same:
            same.attr(rank="same")
            for col in range(3):
                name = slots.get((row, col))
                if name is None:
                    name = f"pad {row},{col}"
                    same.node(name, label="", style="invis", width="1.6")
                elif name.startswith("CLOSED from "):
                    same.node(name, **{**_STUB, **(_FINAL if name in final else {})})
                else:
                    same.node(name, label="CLOSED" if name == END else name,
                              **(_FINAL if name in final else {}))
                stub = stubs.get(name)
                if stub is not None:
                    same.node(stub, **{**_STUB, **(_FINAL if stub in final else {})})
                    order += [stub, name] if col == 0 else [name, stub]
                else:
                    order.append(name)
        for a, b in zip(order, order[1:]):
            g.edge(a, b, style="invis")
    for col in range(3):       # columns straight down
        column = [slots.get((row, col)) or f"pad {row},{col}" for row in range(ROWS)]
        for a, b in zip(column, column[1:]):
            g.edge(a, b, style="invis", weight="10")
    for tail, head in sorted(labels):
        lines = sorted(labels[tail, head], key=_line_order)
        attrs = {"label": "\\n".join(lines)}
        if head.startswith("CLOSED from "):
            attrs.update(style="dashed", fontsize="9", color="#888888", fontcolor="#666666")
        count = taken.get((tail, head), 0)
        if count:
            per_line = [taken_lines.get((tail, head, line), 0) for line in lines]
            if sum(per_line) == count:           # each record named its table entry
                text = "\\n".join(f"{line} ({n}x)" if n else line for line, n in zip(lines, per_line))
            else:
                text = attrs["label"] + f"\\n(taken {count}x)"
            attrs.update(_TAKEN, label=text)
        elif trace is not None:
            attrs.update(_NOT_TAKEN)
        if head == str(S.CLOSED):
            attrs["constraint"] = "false"     # the long way back to the top does not shape it
        ports = PORTS.get((tail, head))
        if ports is not None:
            attrs.update(tailport=ports[0], headport=ports[1])
        g.edge(tail, head, **attrs)
    return g


_ERROR_TEXT = tuple(str(e) for e in _ERROR_EVENTS)


def _line_order(line: str) -> tuple[bool, str]:
    # The RFC's own events first, then resets, aborts and give-ups, each group sorted.
    return (line.startswith(_ERROR_TEXT), line)
