"""Bytecodes executed per lifecycle and per bulk segment, by function.

Wall-clock figures on a shared machine move by 10% from run to run; the number of
bytecodes the interpreter executes does not.  This counts them (sys.settrace with
opcode events, so it is slow and only for small runs) to compare two versions of
the hot path exactly, and to see where a lifecycle's work goes.

    python benchmarks/bytecodes.py            # both tables, top 25 functions
    python benchmarks/bytecodes.py --top 60
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import bulk, lifecycles  # noqa: E402

from tcpsim import Network  # noqa: E402
from tcpsim.network import Node  # noqa: E402


def count(fn) -> collections.Counter:
    """Bytecodes executed while ``fn()`` runs, keyed by (file, function)."""
    counts: collections.Counter = collections.Counter()

    def tracer(frame, event, arg):
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        if event == "opcode":
            code = frame.f_code
            counts[f"{Path(code.co_filename).name}:{code.co_name}"] += 1
        return tracer

    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(None)
    return counts


def per_lifecycle(n: int = 20) -> collections.Counter:
    net = Network(seed=1, trace=False)
    client, server = net.add_host("client"), net.add_host("server")
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen(128)
    lifecycles(3, client.socket, srv, ("server", 80), net.run)       # warm: ports, fds, caches
    return _scaled(count(lambda: lifecycles(n, client.socket, srv, ("server", 80), net.run)), n)


def per_segment(nbytes: int = 400_000) -> tuple[collections.Counter, int]:
    before = Node.emit
    sent = [0]

    def counting(self, *args, **kw):
        sent[0] += 1
        return before(self, *args, **kw)

    Node.emit = counting
    try:
        counts = count(lambda: bulk(nbytes, True))
    finally:
        Node.emit = before
    del counts["bytecodes.py:counting"]
    return _scaled(counts, sent[0]), sent[0]


def _scaled(counts: collections.Counter, n: int) -> collections.Counter:
    return collections.Counter({k: v / n for k, v in counts.items()})


def show(title: str, counts: collections.Counter, top: int) -> None:
    total = sum(counts.values())
    print(f"\n{title}: {total:,.0f} bytecodes")
    for name, v in counts.most_common(top):
        print(f"  {v:9,.1f}  {100 * v / total:5.1f}%  {name}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=25, help="functions to list (default 25)")
    args = ap.parse_args()
    show("per lifecycle (connect, accept, 100 B each way, both close, TIME-WAIT)",
         per_lifecycle(), args.top)
    counts, segments = per_segment()
    show(f"per segment of a bulk transfer, trace on ({segments:,} segments)", counts, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
