"""What seeing a run costs: trace recording on a bulk transfer, and pcap writing.

    python benchmarks/bench_export.py            # full run (about half a minute)
    python benchmarks/bench_export.py --quick    # smoke run: small sizes, one round

Prints a table.  Every ratio is between figures measured in this same run, with
the rounds of the things compared interleaved (the machine may be shared and
noisy), each figure the median over the rounds.  Targets (issue 3): recording
the trace costs at most 25% against ``Network(trace=False)``; writing a pcap
costs at most 3 microseconds per segment.  Standard library only.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tcpsim import Network  # noqa: E402
from tcpsim.export.pcap import write_pcap  # noqa: E402


def bulk(nbytes: int, trace: bool, data: bytes | None = None) -> tuple[float, Network]:
    """Wall seconds for a one-way transfer of ``nbytes`` (zeros, or ``data``) at MSS 1460."""
    net = Network(seed=1, trace=trace)
    client, server = net.add_host("client"), net.add_host("server")
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen()
    cli = client.socket()
    cli.connect(("server", 80))
    conn, _ = srv.accept()
    cli.setblocking(False)
    conn.setblocking(False)
    view = memoryview(bytes(nbytes) if data is None else data)
    sent = got = 0
    gc.collect()
    t = time.perf_counter()
    while got < nbytes:
        if sent < nbytes:
            try:
                sent += cli.send(view[sent:sent + 262144])
            except BlockingIOError:
                pass
        net.run(until=net.now + 0.05)
        while True:
            try:
                data = conn.recv(1 << 20)
            except BlockingIOError:
                break
            got += len(data)
    return time.perf_counter() - t, net


def pcap_seconds(net: Network, path: str) -> float:
    gc.collect()
    t = time.perf_counter()
    write_pcap(net.trace, path)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one round")
    args = parser.parse_args(argv)
    nbytes, rounds = (2_000_000, 1) if args.quick else (20_000_000, 5)

    on: list[float] = []
    off: list[float] = []
    pcap: list[float] = []
    pcap_random: list[float] = []
    segments = 0
    _, noisy = bulk(nbytes, trace=True, data=random.Random(1).randbytes(nbytes))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bulk.pcap")
        for _ in range(rounds):                       # interleaved rounds
            seconds, _net = bulk(nbytes, trace=False)
            off.append(seconds)
            seconds, net = bulk(nbytes, trace=True)
            on.append(seconds)
            segments = len(net.trace.packets)
            pcap.append(pcap_seconds(net, path))
            size = os.path.getsize(path)
            pcap_random.append(pcap_seconds(noisy, path))
            del net, _net

    t_on, t_off, t_pcap, t_random = (statistics.median(v) for v in (on, off, pcap, pcap_random))
    cost = 100 * (t_on / t_off - 1)
    per_segment = 1e6 * t_pcap / segments
    per_random = 1e6 * t_random / len(noisy.trace.packets)
    rows = [
        ("figure", "measured", "ratio / target"),
        (f"bulk {nbytes // 1_000_000} MB, trace off", f"{t_off:.3f} s", "baseline"),
        (f"bulk {nbytes // 1_000_000} MB, trace on", f"{t_on:.3f} s",
         f"trace costs {cost:.1f}% (target <= 25%)"),
        ("segments in the trace", f"{segments:,}", ""),
        ("write_pcap", f"{t_pcap:.3f} s", f"{size / 1e6:.1f} MB file"),
        ("write_pcap per segment", f"{per_segment:.2f} us", "target <= 3 us"),
        ("write_pcap per segment, random payload", f"{per_random:.2f} us", "target <= 3 us"),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    print(f"rounds: {rounds} (median), python {sys.version.split()[0]}")
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    ok = cost <= 25 and per_segment <= 3 and per_random <= 3
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
