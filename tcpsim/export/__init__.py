"""Readers of the transition table and the trace: pictures and captures of a run.

- ``ladder``: text ladders and Mermaid/Graphviz sequence diagrams of a trace;
- ``graph``: the RFC 9293 state diagram drawn from ``fsm.TRANSITIONS``;
- ``pcap``: a classic pcap file Wireshark and tshark read;
- ``diagrams``: the repository's ``diagrams/`` directory, generated.

Nothing here is imported by ``import tcpsim``; ``tcpsim.state_graph``,
``tcpsim.ladder_diagram`` and ``tcpsim.write_pcap`` load these modules on use.
"""
