"""Ladder diagrams of a trace: hosts as columns, time running down, an arrow per segment.

``text_ladder`` draws one for a terminal (``net.trace.ladder()`` calls it);
``ladder_diagram`` gives the same steps as a Mermaid ``sequenceDiagram`` or
as Graphviz DOT source (which ``dot -Tsvg`` renders).  All three read the same
list of ``Step`` values, built by ``ladder_steps``: one per segment sent, state
change, timer and socket call, in the order they happened.
"""

from __future__ import annotations

import textwrap
from typing import Any

from ..timers import TICKS_PER_SECOND
from . import as_trace
from .naming import Conversations, check_naming, segment_label

FORMATS = ("mermaid", "dot")


class Step:
    """One row of a ladder: an arrow (``kind == "segment"``) or a note beside ``host``."""

    __slots__ = ("time", "kind", "host", "dst", "text", "fate", "phase", "key")

    def __init__(self, time: int, kind: str, host: str, text: str, dst: str = "",
                 fate: str = "", phase: str = "", key: tuple = ()) -> None:
        self.time = time
        self.kind = kind      # "segment", "state", "call" or "timer"
        self.host = host      # the sender, for a segment
        self.dst = dst
        self.text = text
        self.fate = fate      # a segment's: "delivered", "dropped", "in flight"
        self.phase = phase    # a call's: "call", "blocked", "return", "raise"
        self.key = key        # a call's (host, fd, name): pairs "blocked" with its return

    def __repr__(self) -> str:
        return f"<Step {self.time} {self.kind} {self.host} {self.text!r}>"


class Ladder:
    """The steps of a trace, its hosts in column order, and its conversations."""

    def __init__(self, trace: Any, naming: str = "symbolic") -> None:
        check_naming(naming)
        packets = trace.packets
        self.conversations = convs = Conversations(packets)
        self.hosts = _host_order(trace.records)
        self.addresses = _addresses(trace.records)
        tagged = len(convs.all) > 1
        names = convs.namer(naming)
        late = _reordered(packets)
        steps: list[Step] = []
        for r in trace.records:
            kind = r.kind
            if kind == "segment":
                text = segment_label(r, *names(r), r.id in convs.new_window)
                if r.duplicate_of is not None:
                    text += " (duplicate)"
                if r.fate == "dropped":
                    text += f" ({r.reason or 'dropped'})"
                elif r.fate == "in flight":
                    text += " (in flight)"
                elif r.id in late:
                    text += " (reordered)"
                conv = convs.of_packet[r.id]
                if tagged:
                    text = f"({conv.number}) {text}"
                steps.append(Step(r.sent_at_ticks, kind, r.src, text, r.dst, r.fate))
                continue
            if kind == "state":
                text = f"{r.old} -> {r.new}"
            elif kind == "timer":
                text = f"{r.name} timer fires"
            elif kind == "call":
                text = call_text(r.name, r.phase, r.detail)
            else:
                continue
            conv = convs.for_record(r)
            if tagged and conv is not None:
                text = f"({conv.number}) {text}"
            step = Step(r.time, kind, r.host, text)
            if kind == "call":
                step.phase = r.phase
                step.key = (r.host, r.fd, r.name.rstrip("()"))
            steps.append(step)
        self.steps = steps
        if tagged:
            self.legend = [str(c) for c in convs.all]
        else:
            self.legend = []


def call_text(name: str, phase: str, detail: str) -> str:
    """``connect(server:80)``, ``connect() blocks (waiting for SYN,ACK)``, ``recv() returns 5 bytes``."""
    base = name[:-2] if name.endswith("()") else name
    if phase == "call":
        return f"{base}({detail})"
    if phase == "blocked":
        return f"{base}() blocks ({detail})" if detail else f"{base}() blocks"
    verb = "returns" if phase == "return" else "raises"
    return f"{base}() {verb} {detail}" if detail else f"{base}() {verb}"


def _host_order(records: list[Any]) -> list[str]:
    """Columns: hosts that open connections first (by their first SYN), then the rest."""
    openers: list[str] = []
    others: list[str] = []
    for r in records:
        if r.kind == "segment":
            if r.flags & 18 == 2 and r.src not in openers:   # SYN without ACK
                openers.append(r.src)
            names = (r.src, r.dst)
        else:
            names = (r.host,)
        for name in names:
            if name not in others:
                others.append(name)
    return openers + [h for h in others if h not in openers]


def _addresses(records: list[Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in records:
        if r.kind == "segment":
            out.setdefault(r.src, r.src_addr)
            out.setdefault(r.dst, r.dst_addr)
        elif r.kind in ("state", "timer"):
            out.setdefault(r.host, r.local[0])
    return out


def _reordered(packets: list[Any]) -> set[int]:
    """Ids of delivered packets that arrived after a packet sent later on the same path."""
    late: set[int] = set()
    earliest: dict[tuple[str, str], int] = {}
    for p in reversed(packets):
        if p.fate != "delivered":
            continue
        path = (p.src, p.dst)
        first_later = earliest.get(path)
        if first_later is not None and first_later < p.arrives_at_ticks:
            late.add(p.id)
        if first_later is None or p.arrives_at_ticks < first_later:
            earliest[path] = p.arrives_at_ticks
    return late


def time_format(steps: list[Step]):
    """Seconds with 3 decimals, or 6 when some step falls between milliseconds."""
    per_ms = TICKS_PER_SECOND // 1000
    decimals = 6 if any(s.time % per_ms for s in steps) else 3
    return lambda ticks: f"{ticks / TICKS_PER_SECOND:.{decimals}f}"


# -- text ------------------------------------------------------------------------------------


def text_ladder(trace: Any, naming: str = "symbolic", width: int = 80) -> str:
    """The run as a text ladder: a column per host, time in the left margin.

    A note beside a host's line is a state change, a socket call (``blocks``,
    ``returns``) or a timer; an arrow is a segment, from its sender's line to
    its receiver's, and ends in ``X`` when the segment was lost.  With several
    connections each line starts with the connection's number, ``(2)``.
    """
    ladder = Ladder(trace, naming)
    if not ladder.steps:
        return "(nothing happened)\n"
    fmt = time_format(ladder.steps)
    margin = max(len(fmt(s.time)) for s in ladder.steps)
    canvas = max(width - margin - 2, 12)
    hosts = ladder.hosts
    cols = _columns(len(hosts), canvas)
    x = dict(zip(hosts, cols))
    last = hosts[-1]
    lines = [" " * (margin + 2) + row.rstrip() for row in _header(ladder, cols, canvas)]
    lines += [f"{'':{margin}}  {row.rstrip()}" for row in ladder.legend]
    shown: int | None = None
    for step in ladder.steps:
        rows = _draw(step, x, cols, canvas, last)
        if step.time != shown:
            if shown is not None:
                lines.append(" " * (margin + 2) + "".join(_blank(cols, canvas)).rstrip())
            stamp = fmt(step.time).rjust(margin)
            shown = step.time
        else:
            stamp = " " * margin
        for row in rows:
            lines.append(f"{stamp}  {row.rstrip()}")
            stamp = " " * margin
    return "\n".join(lines) + "\n"


def _columns(n: int, canvas: int) -> list[int]:
    if n == 1:
        return [0]
    return [round(i * (canvas - 1) / (n - 1)) for i in range(n)]


def _blank(cols: list[int], canvas: int) -> list[str]:
    row = [" "] * canvas
    for c in cols:
        row[c] = "|"
    return row


def _put(row: list[str], start: int, text: str) -> None:
    if start < 0:
        start = 0
    end = start + len(text)
    if end > len(row):
        row.extend(" " * (end - len(row)))
    row[start:end] = text


def _header(ladder: Ladder, cols: list[int], canvas: int) -> list[str]:
    rows = []
    addresses = [ladder.addresses.get(h, "") for h in ladder.hosts]
    for labels in (ladder.hosts, [a if a != h else "" for a, h in zip(addresses, ladder.hosts)]):
        row = [" "] * canvas
        for i, (label, c) in enumerate(zip(labels, cols)):
            if i == 0:
                start = c
            elif i == len(cols) - 1:
                start = c + 1 - len(label)
            else:
                start = c - len(label) // 2
            _put(row, start, label)
        rows.append("".join(row))
    return rows


def _draw(step: Step, x: dict[str, int], cols: list[int], canvas: int, last: str) -> list[str]:
    """The text rows of one step."""
    src = x[step.host]
    if step.kind != "segment" or step.dst == step.host:
        text = step.text if step.kind != "segment" else f"to itself: {step.text}"
        return _note(text, src, cols, canvas, step.host == last and len(cols) > 1)
    row = _blank(cols, canvas)
    dst = x[step.dst]
    right = dst > src
    dropped = step.fate == "dropped"
    if right:
        lo, hi = src + 1, (dst - 3 if dropped else dst - 1)
    else:
        lo, hi = (dst + 3 if dropped else dst + 1), src - 1
    if hi < lo:
        lo, hi = (src + 1, dst - 1) if right else (dst + 1, src - 1)
    row[lo:hi + 1] = "-" * (hi - lo + 1)
    if dropped:
        row[hi if right else lo] = "X"
    elif right:
        row[hi] = ">"
    else:
        row[lo] = "<"
    label = f" {step.text} "
    if len(label) + 4 <= hi - lo + 1:
        _put(row, lo + 2 if right else hi - 1 - len(label), label)
        return ["".join(row)]
    rows = []                                        # too long for the arrow: on rows above it
    for part in textwrap.wrap(step.text, canvas, break_long_words=False):
        above = _blank(cols, canvas)
        start = lo + 1 if right else hi - len(part)
        _put(above, max(0, min(start, canvas - len(part))), part)
        rows.append("".join(above))
    return rows + ["".join(row)]


def _note(text: str, col: int, cols: list[int], canvas: int, left: bool) -> list[str]:
    """A note beside the line at ``col`` (left of it for the last host), on rows of its own:
    it may cross other hosts' lines, and wraps only at the edge of the canvas."""
    room = col - 1 if left else canvas - col - 2
    rows = []
    for part in textwrap.wrap(text, max(room, 12), break_long_words=False) or [""]:
        row = _blank(cols, canvas)
        _put(row, col - 1 - len(part) if left else col + 2, part)
        rows.append("".join(row))
    return rows


# -- Mermaid and Graphviz ------------------------------------------------------------------------


def ladder_diagram(trace: Any, format: str = "mermaid", naming: str = "symbolic") -> str:
    """The ladder as source text: a Mermaid ``sequenceDiagram`` or a Graphviz DOT graph.

    Mermaid renders on GitHub (blocked calls are activations, state changes are
    notes); the DOT text renders with ``dot -Tsvg``.
    """
    trace = as_trace(trace, "ladder_diagram")
    if format == "mermaid":
        return mermaid_ladder(Ladder(trace, naming))
    if format == "dot":
        from .ladder_dot import dot_ladder

        return dot_ladder(Ladder(trace, naming), time_format)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")


# '#' starts an entity and ';' ends a statement in Mermaid: write both as entities.
_MERMAID_ESCAPES = str.maketrans({"#": "#35;", ";": "#59;"})


def _mermaid_text(text: str) -> str:
    return text.translate(_MERMAID_ESCAPES)


def mermaid_ladder(ladder: Ladder) -> str:
    ids = {h: f"h{i}" for i, h in enumerate(ladder.hosts)}
    out = ["sequenceDiagram"]
    if not ladder.hosts:
        return "sequenceDiagram\n    participant h0 as nothing happened\n"
    last = ladder.hosts[-1]
    for h in ladder.hosts:
        addr = ladder.addresses.get(h, "")
        alias = f"{h} {addr}" if addr and addr != h else h
        out.append(f"    participant {ids[h]} as {_mermaid_text(alias)}")
    for line in ladder.legend:
        out.append(f"    Note over {ids[ladder.hosts[0]]},{ids[last]}: {_mermaid_text(line)}")
    blocked: dict[tuple, int] = {}
    for step in ladder.steps:
        me = ids[step.host]
        text = _mermaid_text(step.text)
        if step.kind == "segment":
            arrow = {"dropped": "-x", "in flight": "-)"}.get(step.fate, "->>")
            out.append(f"    {me}{arrow}{ids[step.dst]}: {text}")
            continue
        if step.phase == "blocked":
            blocked[step.key] = blocked.get(step.key, 0) + 1
            out.append(f"    activate {me}")
        elif step.phase in ("return", "raise") and blocked.get(step.key):
            blocked[step.key] -= 1
            out.append(f"    deactivate {me}")
        if step.phase != "blocked":
            side = "left of" if step.host == last and len(ids) > 1 else "right of"
            out.append(f"    Note {side} {me}: {text}")
    return "\n".join(out) + "\n"
