"""tcpsim benchmarks: every figure of the performance issue, with the kernel baseline
measured in the same run.  Prints a table (medians over interleaved rounds, min-max)
and writes it as JSON.

    python benchmarks/run.py            # full run (a few minutes)
    python benchmarks/run.py --quick    # smoke run for CI: small sizes, one round

The machine is shared and noisy: each figure is the median of several rounds,
and rounds of the things compared are interleaved.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tcpsim  # noqa: E402
from tcpsim import Config, Network  # noqa: E402

REQUEST = b"q" * 100
REPLY = b"r" * 100


# -- lifecycles ---------------------------------------------------------------------

def lifecycles(n: int, new_socket, srv, addr, finish=lambda: None) -> float:
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
    """tcpsim, TIME-WAIT expired in virtual time after each lifecycle."""
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
    """n connections at once, each a full lifecycle, on non-blocking sockets."""
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


# -- bulk -------------------------------------------------------------------------------

def bulk(nbytes: int, trace: bool = True, **link: float) -> tuple[float, float, int]:
    """A one-way transfer at MSS 1460, driven as a select loop would drive it.
    Returns (segments per wall second, simulated bytes per wall second, segments)."""
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
    return segments / elapsed, nbytes / elapsed, segments


# -- memory and start-up ---------------------------------------------------------------

def idle_connection_bytes(n: int) -> float:
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
    return total / (2 * n)        # per endpoint (each connection has two TCBs)


def startup(cmd: list[str], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


# -- the table ------------------------------------------------------------------------------

def rounds_of(fns: dict, rounds: int) -> dict[str, list[float]]:
    """Run each function once per round, interleaved; collect the values."""
    out: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            gc.collect()
            out[name].append(fn())
    return out


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one round (CI smoke)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", default="benchmarks/results.json", help="where to write the JSON")
    args = ap.parse_args()
    q = args.quick
    rounds = 1 if q else args.rounds
    n_life = 200 if q else 3000
    big = 1_000_000 if q else 10_000_000

    rows: list[tuple[str, dict, str, str]] = []
    res = rounds_of({
        "tcpsim lifecycles/s": lambda: sim_lifecycles(n_life),
        "kernel lifecycles/s": lambda: kernel_lifecycles(n_life),
    }, rounds)
    sim, ker = summary(res["tcpsim lifecycles/s"]), summary(res["kernel lifecycles/s"])
    rows.append(("lifecycles/s, tcpsim", sim, f"{sim['median'] / ker['median']:.2f}x kernel", ">= 1.0x"))
    rows.append(("lifecycles/s, kernel 127.0.0.1", ker, "baseline", ""))

    res = rounds_of({
        "on": lambda: bulk(big, True),
        "off": lambda: bulk(big, False),
    }, rounds)
    on = summary([r[0] for r in res["on"]])
    off = summary([r[0] for r in res["off"]])
    mbps = summary([r[1] / 1e6 for r in res["on"]])
    rows.append((f"bulk {big // 1_000_000} MB segments/s (trace on)", on,
                 f"{on['median'] / 330_000:.2f}x target", ">= 330,000"))
    rows.append((f"bulk {big // 1_000_000} MB segments/s (trace off)", off,
                 f"trace costs {100 * (off['median'] / on['median'] - 1):.0f}%", "<= 25%"))
    rows.append(("bulk simulated MB per wall second", mbps, "", ""))

    small, large = (100_000, 1_000_000) if q else (1_000_000, 100_000_000)
    res = rounds_of({
        "small": lambda: bulk(small, False),
        "large": lambda: bulk(large, False),
    }, 1 if not q else 1)
    per_small = 1 / res["small"][0][1]          # wall seconds per simulated byte
    per_large = 1 / res["large"][0][1]
    rows.append((f"per-byte cost {large // small}x more data", summary([per_large / per_small]),
                 "growth factor", "<= 1.2x"))

    lossy_n = 200_000 if q else 1_000_000
    res = rounds_of({
        "clean": lambda: bulk(lossy_n, False),
        "lossy": lambda: bulk(lossy_n, False, loss=0.05, reorder=0.05),
    }, rounds)
    clean = summary([r[0] for r in res["clean"]])
    lossy = summary([r[0] for r in res["lossy"]])
    rows.append(("lossy 5%+5% segments/s", lossy, f"{lossy['median'] / clean['median']:.2f}x loss-free",
                 ">= 0.5x"))

    conc_n = 500 if q else 10_000
    res = rounds_of({
        "concurrent": lambda: sim_concurrent_lifecycles(conc_n),
        "sequential": lambda: sim_lifecycles(n_life),
    }, max(1, rounds // 2))
    conc, seq = summary(res["concurrent"]), summary(res["sequential"])
    rows.append((f"{conc_n} concurrent lifecycles/s", conc,
                 f"{conc['median'] / seq['median']:.2f}x one at a time", ">= 0.5x"))

    mem = idle_connection_bytes(200 if q else 2000)
    rows.append(("bytes per idle established endpoint", summary([mem]), "", "<= 2048"))

    py = [sys.executable]
    base = startup(py + ["-c", "pass"], 3 if q else 10)
    imp = startup(py + ["-c", "import tcpsim"], 3 if q else 10)
    hlp = startup(py + ["-m", "tcpsim", "--help"], 3 if q else 10)
    rows.append(("python -c 'import tcpsim' (s)", summary([imp]), f"{imp / base:.2f}x python -c pass", "<= 3x"))
    rows.append(("tcpsim --help (s)", summary([hlp]), f"{hlp / base:.2f}x python -c pass", "<= 4x"))

    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'median':>14}  {'min-max':>25}  {'ratio':<28} target")
    for name, s, ratio, target in rows:
        print(f"{name:<{width}}  {s['median']:>14,.4g}  {s['min']:>12,.4g}-{s['max']:<12,.4g}  {ratio:<28} {target}")
    out = {"quick": q, "rounds": rounds, "python": sys.version.split()[0],
           "rows": [{"figure": n, **s, "ratio": r, "target": t} for n, s, r, t in rows]}
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
