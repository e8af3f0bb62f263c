"""A ladder as Graphviz DOT: a grid of rows, one lifeline per host, flat arrows.

Every step is one rank (``rank=same``): a time cell, a point on each host's
lifeline, and either a note beside its host or an arrow between two hosts.
Heavy, invisible edges keep the columns straight down and in order left to
right, so ``dot -Tsvg`` draws what the text ladder shows.
"""

from __future__ import annotations

from typing import Any, Callable


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_ladder(ladder: Any, time_format: Callable[[list[Any]], Callable[[int], str]]) -> str:
    """DOT source for ``ladder`` (a ``tcpsim.export.ladder.Ladder``)."""
    hosts = ladder.hosts
    n = len(hosts)
    if not ladder.steps:
        return 'digraph ladder {\n  nothing [shape=plaintext, label="nothing happened"];\n}\n'
    col = {h: i for i, h in enumerate(hosts)}
    fmt = time_format(ladder.steps) if ladder.steps else str
    out = [
        "digraph ladder {",
        '  graph [rankdir=TB, nodesep=0.08, ranksep=0.06, splines=line, newrank=true,'
        ' fontname="Helvetica", outputorder=edgesfirst];',
        '  node [fontname="Helvetica", fontsize=10, shape=point, width=0.02, height=0.02,'
        ' color="#888888"];',
        '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.7];',
    ]
    # the header row: a time heading and one box per host
    header = ['  t_0 [shape=plaintext, label="time"];']
    for i, h in enumerate(hosts):
        addr = ladder.addresses.get(h, "")
        label = f"{h}\\n{addr}" if addr and addr != h else h
        header.append(f'  h{i}_0 [shape=box, style="rounded,filled", fillcolor="#eef3fb",'
                      f' color="#4a6fa5", width=1.2, height=0.4, label="{_esc(label)}"];')
    out += header
    longest = max((len(s.text) for s in ladder.steps), default=10)
    note_width = max(2.5, 0.075 * longest)    # inches: a note fills the gap beside its host
    rows: list[list[str]] = [["t_0"] + [f"h{i}_0" for i in range(n)]]
    edges: list[str] = []
    shown = None
    for r, step in enumerate(ladder.steps, start=1):
        stamp = fmt(step.time) if step.time != shown else ""
        shown = step.time
        out.append(f'  t_{r} [shape=plaintext, fontsize=9, fontcolor="#666666",'
                   f' width=0.6, label="{stamp}"];')
        order = [f"t_{r}"]
        for i in range(n):
            out.append(f"  h{i}_{r};")
        me = col[step.host]
        if step.kind == "segment" and step.dst != step.host:
            them = col[step.dst]
            style = _arrow_style(step)
            if step.fate == "dropped":
                out.append(f'  x_{r} [shape=plaintext, fontcolor="#c0392b", fontsize=12,'
                           f' width=0.1, label="X"];')
                edges.append(f"  h{me}_{r} -> x_{r} [label={_q(step.text)}, arrowhead=none{style}];")
                for i in range(n):
                    if i == them and them > me:
                        order.append(f"x_{r}")       # the X just short of the receiver
                    order.append(f"h{i}_{r}")
                    if i == them and them < me:
                        order.append(f"x_{r}")
            else:
                edges.append(f"  h{me}_{r} -> h{them}_{r} [label={_q(step.text)}{style}];")
                order += [f"h{i}_{r}" for i in range(n)]
        else:
            color = {"state": "#1f5f9e", "timer": "#8e44ad"}.get(step.kind, "#333333")
            text = step.text if step.kind != "segment" else f"to itself: {step.text}"
            right_of = not (me == n - 1 and n > 1)
            just = "\\l" if right_of else "\\r"    # DOT's left/right-justified line ends
            out.append(f'  n_{r} [shape=plaintext, fontcolor="{color}", fixedsize=true,'
                       f' width={note_width:.2f}, height=0.22, label={_q(text)[:-1]}{just}"];')
            for i in range(n):
                if i == me and i == n - 1 and n > 1:
                    order.append(f"n_{r}")
                order.append(f"h{i}_{r}")
                if i == me and not (i == n - 1 and n > 1):
                    order.append(f"n_{r}")
        rows.append(order)
    for order in rows:
        out.append("  { rank=same; " + "; ".join(order) + "; }")
        for a, b in zip(order, order[1:]):
            out.append(f"  {a} -> {b} [style=invis, weight=1];")
    for i in range(n):
        chain = [f"h{i}_{r}" for r in range(len(rows))]
        for a, b in zip(chain, chain[1:]):
            out.append(f'  {a} -> {b} [arrowhead=none, color="#aaaaaa", weight=1000];')
    times = [f"t_{r}" for r in range(len(rows))]
    for a, b in zip(times, times[1:]):
        out.append(f"  {a} -> {b} [style=invis, weight=1000];")
    out += edges
    out.append("}")
    return "\n".join(out) + "\n"


def _esc(text: str) -> str:
    return text.replace('"', '\\"')


def _arrow_style(step: Any) -> str:
    if step.fate == "dropped":
        return ', color="#c0392b", fontcolor="#c0392b", style=dashed'
    if step.fate == "in flight":
        return ", style=dotted"
    return ""
