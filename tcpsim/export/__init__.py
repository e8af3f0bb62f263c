"""Readers of the transition table and the trace: pictures and captures of a run.

- ``ladder``: text ladders and Mermaid/Graphviz sequence diagrams of a trace;
- ``graph``: the RFC 9293 state diagram drawn from ``fsm.TRANSITIONS``;
- ``pcap``: a classic pcap file Wireshark and tshark read;
- ``diagrams``: the repository's ``diagrams/`` directory, generated.

Nothing here is imported by ``import tcpsim``; ``tcpsim.state_graph``,
``tcpsim.ladder_diagram`` and ``tcpsim.write_pcap`` load these modules on use.
"""

from __future__ import annotations

from typing import Any


def as_trace(obj: Any, call: str) -> Any:
    """The Trace to draw: ``net.trace`` (or anything with its ``records``), or a Network's
    (an easy thing to pass by mistake); anything else is a TypeError that says what to pass."""
    from ..network import Network

    if isinstance(obj, Network):
        return obj.trace
    if hasattr(obj, "records"):
        return obj
    raise TypeError(f"{call}() takes a tcpsim Trace (net.trace), not {type(obj).__name__}")
