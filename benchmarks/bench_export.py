"""What seeing a run costs: trace recording on a bulk transfer, and pcap writing.

    python benchmarks/bench_export.py            # full run (about half a minute)
    python benchmarks/bench_export.py --quick    # smoke run: small sizes, one round

Prints a table.  Every ratio is between figures measured in this same run, with
the rounds of the things compared interleaved, each figure the median over the
rounds.  Times are the process's CPU time (``time.process_time``: user and
system), not wall time, because the machine may be shared: other busy processes
stretch wall time but not the work done here.  Targets (issue 3): recording
the trace costs at most 25% on the engine's bulk-transfer benchmark
(``run.bulk``) against ``Network(trace=False)``; writing a pcap costs at most
3 microseconds per segment, for a transfer of zeros (what ``run.bulk`` sends)
and of random octets (whose checksums cost more).  Standard library only.
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

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from run import bulk  # noqa: E402  (the engine's bulk-transfer benchmark)

from tcpsim import Network, Trace  # noqa: E402
from tcpsim.export.pcap import pcap_chunks, write_pcap  # noqa: E402


def transfer_trace(data: bytes) -> Trace:
    """The trace of a one-way transfer of ``data``: a reading process, a blocking sendall."""
    net = Network(seed=1)
    client, server = net.add_host("client"), net.add_host("server")
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen()

    def reader() -> None:
        conn, _ = srv.accept()
        while conn.recv(1 << 20):
            pass
        conn.close()

    server.spawn(reader)
    cli = client.socket()
    cli.connect(("server", 80))
    cli.sendall(data)
    cli.close()
    net.run()
    return net.trace


def cpu_seconds(fn, *args) -> float:
    """CPU seconds (user + system) that ``fn(*args)`` takes."""
    gc.collect()
    t = time.process_time()
    fn(*args)
    return time.process_time() - t


def encode(trace: Trace) -> None:
    """write_pcap's work without the file system: every record built in memory."""
    for _ in pcap_chunks(trace.packets):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one round")
    args = parser.parse_args(argv)
    nbytes, rounds = (2_000_000, 1) if args.quick else (20_000_000, 5)

    zeros = transfer_trace(bytes(nbytes))
    noisy = transfer_trace(random.Random(1).randbytes(nbytes))
    on: list[float] = []
    off: list[float] = []
    pcap_zeros: list[float] = []
    pcap_noisy: list[float] = []
    encode_noisy: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bulk.pcap")
        for _ in range(rounds):                       # interleaved rounds
            off.append(cpu_seconds(bulk, nbytes, False))
            on.append(cpu_seconds(bulk, nbytes, True))
            pcap_zeros.append(cpu_seconds(write_pcap, zeros, path))
            pcap_noisy.append(cpu_seconds(write_pcap, noisy, path))
            encode_noisy.append(cpu_seconds(encode, noisy))
        size = os.path.getsize(path)

    t_on, t_off = statistics.median(on), statistics.median(off)
    cost = 100 * (t_on / t_off - 1)
    us_zeros = 1e6 * statistics.median(pcap_zeros) / len(zeros.packets)
    us_noisy = 1e6 * statistics.median(pcap_noisy) / len(noisy.packets)
    us_encode = 1e6 * statistics.median(encode_noisy) / len(noisy.packets)
    mb = nbytes // 1_000_000
    rows = [
        ("figure", "measured", "ratio / target"),
        (f"run.bulk {mb} MB, trace off", f"{t_off:.3f} s", "baseline"),
        (f"run.bulk {mb} MB, trace on", f"{t_on:.3f} s", f"trace costs {cost:.1f}% (target <= 25%)"),
        (f"write_pcap, {mb} MB of zeros", f"{us_zeros:.2f} us/segment",
         f"{len(zeros.packets):,} segments (target <= 3 us)"),
        (f"write_pcap, {mb} MB of random octets", f"{us_noisy:.2f} us/segment",
         f"{len(noisy.packets):,} segments, {size / 1e6:.1f} MB file (target <= 3 us)"),
        ("  of which encoding (no file system)", f"{us_encode:.2f} us/segment",
         f"the rest, {us_noisy - us_encode:.2f} us, is the write to {tempfile.gettempdir()}"),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    print(f"rounds: {rounds} (median), CPU time, python {sys.version.split()[0]}")
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    ok = cost <= 25 and us_zeros <= 3 and us_noisy <= 3
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
