"""diagrams/ (tcpsim.export.diagrams): generated, fresh, and written even without Graphviz."""

from __future__ import annotations

import html
import pathlib
import shutil

from tcpsim import State
from tcpsim.export import diagrams
from tcpsim.export.diagrams import SCENARIOS, diagram_texts, stale_diagrams, write_diagrams

REPO_DIAGRAMS = pathlib.Path(__file__).resolve().parent.parent / "diagrams"
NAMES = ["handshake", "four-way-close", "simultaneous-open", "simultaneous-close", "refused",
         "lossy-transfer"]
TEXT_FILES = {"state-graph.dot"} | {f"{n}.{ext}" for n in NAMES for ext in ("mmd", "dot", "txt")}


def test_committed_diagrams_are_fresh():
    stale = stale_diagrams(REPO_DIAGRAMS)
    assert stale == [], (f"diagrams/ is stale ({', '.join(stale)}); regenerate it with "
                         "`tcpsim diagram --out diagrams` (or tcpsim.export.diagrams.write_diagrams)")
    for name in TEXT_FILES:                                   # and every SVG is committed too
        if name.endswith(".dot"):
            assert (REPO_DIAGRAMS / name).with_suffix(".svg").exists(), name


def test_write_diagrams_writes_every_text_form_and_svg(tmp_path):
    assert shutil.which("dot"), "Graphviz's dot is not installed: apt-get install graphviz"
    paths = write_diagrams(tmp_path / "out")
    names = {p.name for p in paths}
    assert names == TEXT_FILES | {n.replace(".dot", ".svg") for n in TEXT_FILES if n.endswith(".dot")}
    assert paths == sorted(paths)
    texts = diagram_texts()
    for name in TEXT_FILES:
        assert (tmp_path / "out" / name).read_text() == texts[name]
    graph_svg = html.unescape((tmp_path / "out" / "state-graph.svg").read_text())
    assert all(f">{state}</text>" in graph_svg for state in State)
    ladder_svg = html.unescape((tmp_path / "out" / "handshake.svg").read_text())
    assert ">SYN,ACK seq=K ack=J+1 mss=1460</text>" in ladder_svg and ">client</text>" in ladder_svg


def test_without_dot_one_line_says_how_to_install_and_dot_text_is_still_written(
        tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))                    # no dot anywhere
    assert diagrams.render_svg("digraph { a }") is None
    paths = write_diagrams(tmp_path / "out")
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.splitlines()
    assert "dot" in line and "install Graphviz" in line and "apt-get install graphviz" in line
    assert {p.name for p in paths} == TEXT_FILES               # no SVG, every DOT text
    assert not list((tmp_path / "out").glob("*.svg"))


def test_stale_diagrams_names_changed_and_missing_files(tmp_path):
    for name, text in diagram_texts().items():
        (tmp_path / name).write_text(text)
    assert stale_diagrams(tmp_path) == []
    (tmp_path / "handshake.mmd").write_text("sequenceDiagram\n")
    (tmp_path / "state-graph.dot").unlink()
    assert sorted(stale_diagrams(tmp_path)) == ["handshake.mmd", "state-graph.dot"]


def _changes(trace, host):
    return [(str(r.old), str(r.new)) for r in trace.records if r.kind == "state" and r.host == host]


def _flags(trace):
    return [str(p.segment.format()).split()[0] for p in trace.packets]


def test_scenarios_show_what_they_are_named_for():
    assert list(SCENARIOS) == NAMES
    trace = SCENARIOS["handshake"]()
    assert _flags(trace) == ["SYN", "SYN,ACK", "ACK"]

    trace = SCENARIOS["four-way-close"]()
    assert ("FIN-WAIT-1", "FIN-WAIT-2") in _changes(trace, "client")
    assert ("TIME-WAIT", "CLOSED") in _changes(trace, "client")
    assert ("CLOSE-WAIT", "LAST-ACK") in _changes(trace, "server")

    trace = SCENARIOS["simultaneous-open"]()                  # RFC 9293 Figure 7
    for peer in ("peer-a", "peer-b"):
        assert _changes(trace, peer) == [("CLOSED", "SYN-SENT"), ("SYN-SENT", "SYN-RECEIVED"),
                                         ("SYN-RECEIVED", "ESTABLISHED")]

    trace = SCENARIOS["simultaneous-close"]()                 # RFC 9293 Figure 13
    for peer in ("peer-a", "peer-b"):
        assert _changes(trace, peer)[-3:] == [("FIN-WAIT-1", "CLOSING"), ("CLOSING", "TIME-WAIT"),
                                              ("TIME-WAIT", "CLOSED")]

    trace = SCENARIOS["refused"]()
    assert _flags(trace) == ["SYN", "RST,ACK"]

    trace = SCENARIOS["lossy-transfer"]()
    assert any(p.fate == "dropped" for p in trace.packets)
    assert any(r.kind == "timer" and r.name == "retransmission" for r in trace.records)
