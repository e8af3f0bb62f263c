"""tcpsim benchmarks: every figure of the performance issue, with the kernel baseline
measured in the same run.  Prints a table (median, min-max over interleaved rounds,
ratio, target) and writes it as JSON.

    python benchmarks/run.py            # full run (about fifteen seconds here)
    python benchmarks/run.py --quick    # smoke run for CI: small sizes, one round

The machine is shared and noisy: each figure is the median of several rounds, and
the rounds of the things compared are interleaved (A B A B ...), so a burst of load
hits both sides of a ratio.  One warm-up round of each comes first and is not
counted (--warmup 0 counts the process's first, cold runs too).  Times are wall-clock (time.perf_counter).  No threshold
fails the run: the table says which targets are met.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor  # noqa: E402
from tcpsim import Network  # noqa: E402

REQUEST = b"q" * 100
REPLY = b"r" * 100
TARGET_SEGMENTS = 330_000


# -- lifecycles -----------------------------------------------------------------------

def lifecycles(n: int, new_socket: Callable, srv: Any, addr: tuple, finish=lambda: None) -> float:
    """Full lifecycles per wall second: connect, accept, 100-byte request and reply,
    both close.  The same code drives tcpsim and the kernel: the APIs are the same."""
    t = time.perf_counter()
    for _ in range(n):
        cli = new_socket()
        cli.connect(addr)
        conn, _ = srv.accept()
        cli.sendall(REQUEST)
        conn.recv(1024)
        conn.sendall(REPLY)
        cli.recv(1024)
        cli.close()
        conn.recv(1024)
        conn.close()
        finish()
    return n / (time.perf_counter() - t)


def sim_lifecycles(n: int) -> float:
    """tcpsim, driven by blocking calls; TIME-WAIT expired in virtual time (net.run())
    after each lifecycle."""
    net = Network(seed=1, trace=False)
    client, server = net.add_host("client"), net.add_host("server")
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen(128)
    return lifecycles(n, client.socket, srv, ("server", 80), net.run)


def kernel_lifecycles(n: int) -> float:
    """Real sockets on 127.0.0.1, driven from Python."""
    with socket.socket() as srv:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", 0))
        srv.listen(128)
        return lifecycles(n, socket.socket, srv, srv.getsockname())


def sim_concurrent_lifecycles(n: int) -> float:
    """n connections open at once, each a full lifecycle, on non-blocking sockets."""
    net = Network(seed=1, trace=False)
    client, server = net.add_host("client"), net.add_host("server")
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen(n)
    t = time.perf_counter()
    clis = []
    for _ in range(n):
        c = client.socket()
        c.setblocking(False)
        c.connect_ex(("server", 80))
        clis.append(c)
    net.run(until=net.now + 0.05)
    conns = [srv.accept()[0] for _ in range(n)]
    for c in clis:
        c.send(REQUEST)
    net.run(until=net.now + 0.05)
    for c in conns:
        c.recv(1024)
        c.send(REPLY)
    net.run(until=net.now + 0.05)
    for c in clis:
        c.recv(1024)
        c.close()
    net.run(until=net.now + 0.05)
    for c in conns:
        c.recv(1024)
        c.close()
    net.run()
    return n / (time.perf_counter() - t)


# -- bulk ---------------------------------------------------------------------------------

def bulk(nbytes: int, trace: bool = True, **link: float) -> tuple[float, float]:
    """A one-way transfer at MSS 1460 (the default config), driven as a select loop
    would drive it.  Returns (segments per wall second, simulated bytes per wall second);
    segments count everything sent both ways (data and ACKs)."""
    net = Network(seed=1, trace=trace)
    client, server = net.add_host("client"), net.add_host("server")
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen()
    cli = client.socket()
    cli.connect(("server", 80))
    conn, _ = srv.accept()
    if link:
        net.set_link("client", "server", **link)
    cli.setblocking(False)
    conn.setblocking(False)
    view = memoryview(bytes(nbytes))
    first = net._next_packet
    sent = got = 0
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
    elapsed = time.perf_counter() - t
    segments = net._next_packet - first
    return segments / elapsed, nbytes / elapsed


def bytes_per_second(nbytes: int, reps: int) -> float:
    """Simulated bytes per wall second over ``reps`` transfers of ``nbytes`` (trace off)."""
    seconds = sum(nbytes / bulk(nbytes, False)[1] for _ in range(reps))
    return reps * nbytes / seconds


# -- memory and start-up -------------------------------------------------------------------

def idle_endpoint_bytes(n: int) -> float:
    """tracemalloc: bytes per idle established endpoint -- one side of a connection:
    its TCB with empty buffers, its socket, the host's bookkeeping for it."""
    net = Network(seed=1, trace=False)
    client, server = net.add_host("client"), net.add_host("server")
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen(n)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    socks = []
    for _ in range(n):
        c = client.socket()
        c.setblocking(False)
        c.connect_ex(("server", 80))
        socks.append(c)
    net.run(until=1)
    socks.extend(srv.accept()[0] for _ in range(n))
    net.run(until=2)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    total = sum(s.size_diff for s in after.compare_to(before, "filename"))
    return total / (2 * n)        # each connection has two endpoints


def run_seconds(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def cached_bytecode_env(cache: str) -> dict[str, str]:
    """The environment with bytecode caching on, into ``cache`` for every module (the
    interpreter's own too), so a start after the warm-up round reads compiled modules,
    as an installed package does.  Under PYTHONDONTWRITEBYTECODE every start would
    compile tcpsim's modules from source while the standard library comes compiled."""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# -- the table --------------------------------------------------------------------------------

WARMUP = 1        # rounds run first and not counted (set by --warmup)


def rounds_of(fns: dict[str, Callable[[], Any]], rounds: int) -> dict[str, list[Any]]:
    """Run each function once per round, interleaved (A B A B ...); collect the values.

    The first WARMUP rounds are not counted, as pyperf discards its warm-up values: in
    them the process is still growing its heap (a 10 MB traced transfer takes about
    6,000 fresh pages the first time, none once the memory is the process's own)."""
    for _ in range(WARMUP):
        for fn in fns.values():
            gc.collect()
            fn()
    out: dict[str, list[Any]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            gc.collect()
            out[name].append(fn())
    return out


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


class Table:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, figure: str, values: list[float], ratio: str = "", target: str = "",
            met: bool | None = None, unit: str = "") -> None:
        self.rows.append({"figure": figure, **summary(values), "unit": unit, "ratio": ratio,
                          "target": target, "met": met})
        print(f"  {figure}: {statistics.median(values):,.4g} {unit} {ratio}", file=sys.stderr)

    def print(self) -> None:
        width = max(len(r["figure"]) for r in self.rows)
        print(f"{'figure':<{width}}  {'median':>10}  {'min - max':>21}  {'ratio':<27}  {'target':<14} ")
        for r in self.rows:
            verdict = {True: "met", False: "MISSED", None: ""}[r["met"]]
            span = f"{r['min']:,.4g} - {r['max']:,.4g}"
            print(f"{r['figure']:<{width}}  {r['median']:>10,.4g}  {span:>21}  {r['ratio']:<27}  "
                  f"{r['target']:<14} {verdict}")


def ratios(a: list[float], b: list[float]) -> list[float]:
    """Per-round ratios a/b (the rounds were interleaved)."""
    return [x / y for x, y in zip(a, b)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one round (CI smoke)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per figure (default 5)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="rounds run first and not counted (default 1; 0 with --quick)")
    ap.add_argument("--json", default="benchmarks/results.json", help="where to write the JSON")
    args = ap.parse_args()
    q = args.quick
    rounds = 1 if q else args.rounds
    global WARMUP
    WARMUP = 0 if q else args.warmup
    n_life = 300 if q else 3000
    big = 1_000_000 if q else 10_000_000
    small, large = (100_000, 1_000_000) if q else (1_000_000, 100_000_000)
    lossy_n = 200_000 if q else 1_000_000
    conc_n = 500 if q else 10_000
    idle_n = 200 if q else 2000
    start_rounds = 3 if q else 10
    table = Table()

    # 1. Lifecycles against the kernel, same code, same run.
    res = rounds_of({"sim": lambda: sim_lifecycles(n_life), "kernel": lambda: kernel_lifecycles(n_life),
                     "skeleton": lambda: floor.lifecycle_rate(n_life)}, rounds)
    r = statistics.median(ratios(res["sim"], res["kernel"]))
    table.add("lifecycles/s, tcpsim", res["sim"], f"{r:.2f}x kernel (stretch 2x)", ">= 1.0x kernel",
              r >= 1.0, "/s")
    table.add("lifecycles/s, kernel sockets on 127.0.0.1", res["kernel"], "baseline", unit="/s")
    sk = statistics.median(ratios(res["skeleton"], res["kernel"]))
    r = statistics.median(ratios(res["sim"], res["skeleton"]))
    table.add("lifecycles/s, pure-Python skeleton (floor.py)", res["skeleton"],
              f"{sk:.2f}x kernel; tcpsim {r:.2f}x it", unit="/s")

    # 2. Bulk: 10 MB at MSS 1460, trace on (and off, for what the trace costs).
    res = rounds_of({"on": lambda: bulk(big, True), "off": lambda: bulk(big, False),
                     "skeleton": lambda: floor.bulk_rate(big)}, rounds)
    on = [x[0] for x in res["on"]]
    off = [x[0] for x in res["off"]]
    mb = big // 1_000_000
    m = statistics.median(on)
    table.add(f"bulk {mb} MB, segments/s (trace on)", on, f"{m / TARGET_SEGMENTS:.2f}x target",
              f">= {TARGET_SEGMENTS:,}", m >= TARGET_SEGMENTS, "/s")
    # The 330,000 is a quarter of what a minimal receive loop reached on its machine
    # (about 1.3 million); the same quarter of the skeleton measured here, in this run:
    r = statistics.median(ratios(on, res["skeleton"]))
    table.add(f"bulk {mb} MB, segments/s, pure-Python skeleton (floor.py)", res["skeleton"],
              f"tcpsim trace on {r:.3f}x it", ">= 0.25x", r >= 0.25, "/s")
    table.add(f"bulk {mb} MB, simulated MB/s (trace on)", [x[1] / 1e6 for x in res["on"]], unit="MB/s")
    cost = statistics.median(ratios(off, on)) - 1
    table.add(f"bulk {mb} MB, segments/s (trace off)", off, f"trace costs {100 * cost:.0f}%",
              "trace <= 25%", cost <= 0.25, "/s")

    # 3. Scaling: concurrency, transfer size, memory.
    res = rounds_of({"concurrent": lambda: sim_concurrent_lifecycles(conc_n),
                     "sequential": lambda: sim_lifecycles(n_life)}, max(1, (rounds + 1) // 2))
    r = statistics.median(ratios(res["concurrent"], res["sequential"]))
    table.add(f"{conc_n:,} concurrent lifecycles/s", res["concurrent"], f"{r:.2f}x one at a time",
              ">= 0.5x", r >= 0.5, "/s")
    reps = max(1, large // small // 10)           # time the small transfer over several runs
    res = rounds_of({"small": lambda: bytes_per_second(small, reps),
                     "large": lambda: bytes_per_second(large, 1)}, max(1, (rounds + 1) // 2))
    growth = [s / l for s, l in zip(res["small"], res["large"])]   # (s/byte large) / (s/byte small)
    g = statistics.median(growth)
    table.add(f"per-byte cost, {large // 1_000_000} MB vs {small / 1e6:g} MB (trace off)", growth,
              "growth factor", "<= 1.2x", g <= 1.2, "x")
    mem = idle_endpoint_bytes(idle_n)
    table.add("bytes per idle established endpoint", [mem], "tracemalloc", "<= 2,048",
              mem <= 2048, "B")

    # 4. Start-up, against the interpreter's own, with bytecode cached (see cached_bytecode_env).
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="tcpsim-bench-pycache-") as cache:
        env = cached_bytecode_env(cache)
        res = rounds_of({"pass": lambda: run_seconds([py, "-c", "pass"], env),
                         "import": lambda: run_seconds([py, "-c", "import tcpsim"], env),
                         "help": lambda: run_seconds([py, "-m", "tcpsim", "--help"], env)},
                        start_rounds)
    r = statistics.median(ratios(res["import"], res["pass"]))
    table.add("python -c 'import tcpsim', s", res["import"], f"{r:.2f}x python -c pass", "<= 3x",
              r <= 3, "s")
    r = statistics.median(ratios(res["help"], res["pass"]))
    table.add("tcpsim --help, s", res["help"], f"{r:.2f}x python -c pass", "<= 4x", r <= 4, "s")

    # 5. Lossy against loss-free.
    res = rounds_of({"clean": lambda: bulk(lossy_n, False),
                     "lossy": lambda: bulk(lossy_n, False, loss=0.05, reorder=0.05)}, rounds)
    clean = [x[0] for x in res["clean"]]
    lossy = [x[0] for x in res["lossy"]]
    r = statistics.median(ratios(lossy, clean))
    table.add(f"lossy {lossy_n / 1e6:g} MB (5% loss, 5% reorder), segments/s", lossy,
              f"{r:.2f}x loss-free", ">= 0.5x", r >= 0.5, "/s")

    print()
    table.print()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    out = {"quick": q, "rounds": rounds, "warmup": WARMUP, "python": sys.version.split()[0],
           "platform": platform.platform(), "cpus": os.cpu_count(), "load_average": load,
           "rows": table.rows}
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwritten to {path} (load average {load})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
