"""The benchmarks run, and the skeletons they compare against do the same work as tcpsim.

No speed is asserted here (speed is measured by ``benchmarks/run.py``, never in a test)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import deque
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import floor  # noqa: E402
import run  # noqa: E402

from tcpsim import Network  # noqa: E402


def test_the_skeleton_lifecycle_moves_the_same_segments_as_tcpsims():
    net = Network(seed=1)
    client, server = net.add_host("client"), net.add_host("server")
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen()
    run.lifecycles(1, client.socket, srv, ("server", 80), net.run)
    # SYN, SYN-ACK, ACK; request and its ACK; reply and its ACK; FIN, ACK; FIN, ACK
    assert len(net.trace.segments()) == 11
    assert floor.lifecycle(deque(), {}, 40000) == 11


def test_the_skeleton_bulk_transfer_delivers_every_octet_with_an_ack_per_segment():
    n = 1_000_000
    segments, delivered = floor.bulk_transfer(n)
    assert delivered == n
    data_segments = segments // 2         # each answered by one ACK
    assert segments % 2 == 0 and data_segments >= math.ceil(n / 1460)


def test_the_tcpsim_bulk_benchmark_moves_every_octet():
    segments_per_s, bytes_per_s = run.bulk(200_000)
    # both rates come from one elapsed time: their ratio is the bytes per segment
    bytes_per_segment = bytes_per_s / segments_per_s
    assert 200_000 / bytes_per_segment >= 2 * math.ceil(200_000 / 1460)


def test_quick_run_reports_every_figure_of_the_issue(tmp_path):
    out = tmp_path / "results.json"
    subprocess.run([sys.executable, str(BENCH / "run.py"), "--quick", "--json", str(out)],
                   check=True, capture_output=True, timeout=120)
    rows = json.loads(out.read_text())["rows"]
    figures = " | ".join(r["figure"] for r in rows)
    for words in ("lifecycles/s, tcpsim", "kernel sockets", "segments/s (trace on)",
                  "segments/s (trace off)", "concurrent lifecycles", "per-byte cost",
                  "idle established endpoint", "import tcpsim", "--help", "lossy", "skeleton"):
        assert words in figures
    assert all(r["median"] > 0 for r in rows)


def test_start_up_is_timed_with_bytecode_cached_even_where_the_shell_turns_caching_off(
        tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    env = run.cached_bytecode_env(str(tmp_path))
    run.run_seconds([sys.executable, "-c", "import tcpsim"], env)
    # the first start wrote tcpsim's compiled modules under the cache, not beside the source
    cached = {p.name.split(".")[0] for p in tmp_path.rglob("*.pyc") if "tcpsim" in p.parts}
    assert {"__init__", "connection", "network", "sockets"} <= cached
