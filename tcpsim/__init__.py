"""tcpsim: a deterministic simulator of TCP connections behind Python's socket API.

    net = tcpsim.Network(seed=0)
    client, server = net.add_host("client"), net.add_host("server")
    srv = server.socket(); srv.bind(("", 80)); srv.listen(5)
    cli = client.socket(); cli.connect(("server", 80))
    conn, addr = srv.accept()
"""

from __future__ import annotations

from .config import Config
from .connection import Connection
from .fsm import TRANSITIONS, Input, Transition
from .host import Host
from .network import Event, Network
from .process import Call, Deadlock
from .segment import Flags, Segment
from .sockbase import (AF_INET, SHUT_RD, SHUT_RDWR, SHUT_WR, SO_ERROR, SO_LINGER, SO_REUSEADDR,
                       SOCK_STREAM, SOL_SOCKET)
from .sockets import Socket
from .states import State
from .tcb import ConnectionInfo
from .trace import Packet, Trace

__version__ = "0.1.0"

__all__ = [
    "Network", "Host", "Socket", "Call", "Config", "State", "Flags", "Segment", "Packet",
    "Deadlock", "Event", "Trace", "ConnectionInfo", "Connection", "Input", "Transition",
    "TRANSITIONS", "state_graph", "ladder_diagram", "write_pcap",
    "AF_INET", "SOCK_STREAM", "SOL_SOCKET", "SO_LINGER", "SO_REUSEADDR", "SO_ERROR",
    "SHUT_RD", "SHUT_WR", "SHUT_RDWR",
]


def __getattr__(name: str):   # exports that import graphviz and friends only when used
    if name == "state_graph":
        from .export.graph import state_graph
        return state_graph
    if name == "ladder_diagram":
        from .export.ladder import ladder_diagram
        return ladder_diagram
    if name == "write_pcap":
        from .export.pcap import write_pcap
        return write_pcap
    if name in ("socket", "strategies"):    # tcpsim.socket works after a bare `import tcpsim`
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'tcpsim' has no attribute {name!r}")


def _hypothesis_setup_hook() -> None:
    """hypothesis's entry point: ``st.from_type(Segment)`` and ``st.from_type(Config)``
    draw from ``tcpsim.strategies``.

    It lives here, not in tcpsim.strategies, and registers functions rather than
    strategies: hypothesis runs it while hypothesis itself is being imported -- by
    ``import tcpsim.strategies``, perhaps, which is then only half made."""
    from hypothesis import strategies as st

    def drawn_from_tcpsim(kind: type):
        from . import strategies

        return strategies.segments() if kind is Segment else strategies.configs()

    st.register_type_strategy(Segment, drawn_from_tcpsim)
    st.register_type_strategy(Config, drawn_from_tcpsim)
