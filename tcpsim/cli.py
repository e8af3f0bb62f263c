"""The ``tcpsim`` command: argparse over the library (thin; no protocol logic)."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence, TextIO


def _lifecycle(seed: int):
    """The full lifecycle: handshake, one request and reply, four-way close, TIME-WAIT."""
    from . import Network

    net = Network(seed=seed)
    client = net.add_host("client")
    server = net.add_host("server")
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen(1)
    cli = client.socket()
    cli.connect(("server", 80))
    conn, _ = srv.accept()
    cli.sendall(b"GET / HTTP/1.0\r\n\r\n")
    conn.recv(1024)
    conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello")
    cli.recv(1024)
    cli.close()                     # the client closes first: it will sit in TIME-WAIT
    assert conn.recv(1024) == b""   # the server reads end of stream ...
    conn.close()                    # ... and closes its side
    srv.close()
    net.run()
    return net


def _print_trace(net, out: TextIO) -> None:
    from .trace import fmt_time

    isn = {}
    for p in net.trace.segments():
        isn.setdefault((p.src, p.segment.src_port), p.segment.seq)

    def rel(host: str, port: int):
        base = isn.get((host, port))
        return (lambda n: str((n - base) & 0xFFFFFFFF)) if base is not None else str

    for r in net.trace.records:
        if r.kind == "segment":
            seg = r.segment
            text = seg.format(rel(r.src, seg.src_port), rel(r.dst, seg.dst_port))
            out.write(f"{fmt_time(r.sent_at_ticks):>12}  {r.src:>8} -> {r.dst:<8} {text}\n")
        elif r.kind == "state":
            out.write(f"{fmt_time(r.time):>12}  {r.host:>8}    {r.old} -> {r.new}\n")
        elif r.kind == "call" and r.phase in ("call", "blocked", "return"):
            out.write(f"{fmt_time(r.time):>12}  {r.host:>8}    {str(r).split(': ', 1)[1]}\n")
    out.write("(sequence numbers relative to each side's ISN, as Wireshark shows them)\n")


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    net = _lifecycle(args.seed)
    _print_trace(net, out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tcpsim", description="A deterministic TCP simulator.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="run a textbook scenario and show it")
    demo.add_argument("--seed", type=int, default=0, help="the network's seed (default 0)")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(out or sys.stdout)
        return 0
    return args.func(args, out or sys.stdout)
