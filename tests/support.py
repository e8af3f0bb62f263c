"""Helpers shared by the engine's tests: a recording sink, networks, TCB checks."""

from __future__ import annotations

from typing import Any

from tcpsim import Config, Network, Segment, State
from tcpsim.connection import Connection
from tcpsim.segment import make_segment
from tcpsim.seqnum import MASK

SYN, FIN, RST, PSH, ACK = 2, 1, 4, 8, 16


class RecordingSink:
    """A world for one sans-IO Connection: it keeps what the engine asks for."""

    def __init__(self) -> None:
        self.sent: list[Segment] = []
        self.timers: list[int] = []
        self.changes: list[tuple[State, State]] = []
        self.fired: list[str] = []
        self.next_isn = 100                 # the ISS the engine gets when it asks for one

    def emit(self, conn: Any, flags: int, seq: int, ack: int, window: int, payload: bytes,
             mss: int | None) -> None:
        self.sent.append(make_segment(conn.local[1], conn.remote[1], seq, ack, flags, window,
                                      payload, mss))

    def schedule(self, conn: Any, deadline: int) -> None:
        self.timers.append(deadline)

    def state_changed(self, conn: Any, old: State, new: State, cause: Any, event: Any) -> None:
        self.changes.append((old, new))

    def timer_fired(self, conn: Any, name: str) -> None:
        self.fired.append(name)

    def isn(self, conn: Any) -> int:
        return self.next_isn

    def take(self) -> list[Segment]:
        out, self.sent = self.sent, []
        return out


def seg(seq: int, ack: int = 0, flags: int = ACK, window: int = 65535, payload: bytes = b"",
        mss: int | None = None, src_port: int = 80, dst_port: int = 1000) -> Segment:
    """A segment from the peer (port 80) to the connection under test (port 1000)."""
    return Segment(src_port=src_port, dst_port=dst_port, seq=seq & MASK, ack=ack & MASK,
                   flags=flags, window=window, payload=payload, mss=mss)


def connection(config: Config | None = None) -> tuple[Connection, RecordingSink]:
    sink = RecordingSink()
    conn = Connection(config or Config(), sink, ("10.0.0.1", 1000), ("10.0.0.2", 80), 1)
    return conn, sink


def pair(seed: int = 0, config: Config | None = None, **kw: Any):
    """A network with hosts client (10.0.0.1) and server (10.0.0.2)."""
    net = Network(seed=seed, config=config, **kw)
    return net, net.add_host("client"), net.add_host("server")


def established(seed: int = 0, config: Config | None = None, port: int = 80, **kw: Any):
    """(net, client socket, server-side accepted socket), handshake done."""
    net, client, server = pair(seed, config, **kw)
    srv = server.socket()
    srv.bind(("", port))
    srv.listen(5)
    cli = client.socket()
    cli.connect(("server", port))
    conn, _ = srv.accept()
    return net, cli, conn


def read_all(sock, limit: int = 1 << 20) -> bytes:
    out = bytearray()
    while True:
        data = sock.recv(limit)
        if not data:
            return bytes(out)
        out += data


def flags_of(packets) -> list[str]:
    from tcpsim.segment import flag_names

    return [flag_names(p.segment.flags) for p in packets]
