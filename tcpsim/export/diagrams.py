"""The repository's ``diagrams/``: the state graph and the textbook scenarios' ladders.

``write_diagrams(out_dir)`` runs each scenario (fixed seeds, the Python API
only) and writes, for the state graph, ``state-graph.dot`` and ``.svg``, and
for each scenario ``NAME.mmd`` (Mermaid, renders on GitHub), ``NAME.txt`` (the
text ladder), ``NAME.dot`` and ``NAME.svg`` (Graphviz).  Without Graphviz's
``dot`` program it writes the text forms, says in one line how to install
Graphviz, and makes no SVG.  ``stale_diagrams(dir)`` regenerates the text forms
in memory and names the files that differ from them.
"""

from __future__ import annotations

import pathlib
import shutil
import sys
from typing import Any, Callable, TextIO

from ..config import Config

INSTALL_HINT = ("tcpsim: Graphviz's 'dot' program is not on PATH, so no SVG was made "
                "(the DOT text was written); install Graphviz to get SVGs: "
                "apt-get install graphviz, brew install graphviz, or https://graphviz.org/download/")


# -- the scenarios ------------------------------------------------------------------------


def _pair(seed: int, config: Config | None = None,
          names: tuple[str, str] = ("client", "server")) -> tuple[Any, Any, Any]:
    from ..network import Network

    net = Network(seed=seed, config=config)
    return net, net.add_host(names[0], "10.0.0.1"), net.add_host(names[1], "10.0.0.2")


PEERS = ("peer-a", "peer-b")       # the RFC's "TCP Peer A" and "TCP Peer B"


def _connected(seed: int, config: Config | None = None,
               names: tuple[str, str] = ("client", "server")) -> tuple[Any, Any, Any]:
    net, client, server = _pair(seed, config, names)
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen(1)
    cli = client.socket()
    cli.connect((names[1], 80))
    conn, _ = srv.accept()
    srv.close()
    return net, cli, conn


def handshake() -> Any:
    """The three-way handshake: connect() and accept() block until it is done."""
    net, client, server = _pair(seed=1)
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen(1)
    cli = client.socket()
    cli.connect(("server", 80))
    srv.accept()
    return net.trace


def four_way_close() -> Any:
    """Open, one request, then the client closes first: FIN, ACK, FIN, ACK, TIME-WAIT."""
    net, cli, conn = _connected(seed=2)
    cli.sendall(b"hello")
    conn.recv(1024)
    cli.close()
    conn.recv(1024)            # end of stream: the server has ACKed the client's FIN
    conn.close()
    net.run()
    return net.trace


def simultaneous_open() -> Any:
    """Both sides connect() to each other at once: SYN-SENT -> SYN-RECEIVED on both."""
    net, a, b = _pair(seed=3, names=PEERS)
    sa, sb = a.socket(), b.socket()
    sa.bind(("", 5000))
    sb.bind(("", 6000))
    ca = a.spawn(sa.connect, (b.name, 6000))
    cb = b.spawn(sb.connect, (a.name, 5000))
    net.run()
    ca.result, cb.result       # both connects returned (raise here if not)
    return net.trace


def simultaneous_close() -> Any:
    """Both sides close() at once: FIN-WAIT-1 -> CLOSING -> TIME-WAIT on both."""
    net, cli, conn = _connected(seed=4, names=PEERS)
    cli.close()
    conn.close()
    net.run()
    return net.trace


def refused() -> Any:
    """connect() to a port nobody listens on: the SYN is answered by RST,ACK."""
    net, client, _ = _pair(seed=5)
    cli = client.socket()
    try:
        cli.connect(("server", 80))
    except ConnectionRefusedError:
        pass
    else:
        raise AssertionError("connect() to a closed port did not raise ConnectionRefusedError")
    return net.trace


def lossy_transfer() -> Any:
    """A small transfer over a link that loses a quarter of its segments."""
    net, cli, conn = _connected(seed=6, config=Config(mss=100))
    net.set_link("client", "server", loss=0.25)
    data = bytes(range(256)) + bytes(range(144))      # 400 octets: four segments
    cli.sendall(data)
    got = b""
    while len(got) < len(data):
        got += conn.recv(1024)
    cli.close()
    conn.recv(1024)
    conn.close()
    net.run()
    return net.trace


SCENARIOS: dict[str, Callable[[], Any]] = {
    "handshake": handshake,
    "four-way-close": four_way_close,
    "simultaneous-open": simultaneous_open,
    "simultaneous-close": simultaneous_close,
    "refused": refused,
    "lossy-transfer": lossy_transfer,
}


# -- writing them ---------------------------------------------------------------------------


def diagram_texts() -> dict[str, str]:
    """Every text file of ``diagrams/`` (name -> contents), generated afresh."""
    from .graph import state_graph
    from .ladder import ladder_diagram, text_ladder

    texts = {"state-graph.dot": state_graph().source}
    for name, scenario in SCENARIOS.items():
        trace = scenario()
        texts[f"{name}.mmd"] = ladder_diagram(trace, "mermaid")
        texts[f"{name}.dot"] = ladder_diagram(trace, "dot")
        texts[f"{name}.txt"] = text_ladder(trace)
    return texts


def render_svg(dot_source: str) -> bytes | None:
    """``dot -Tsvg`` of the source, or None when Graphviz's ``dot`` is not installed."""
    import graphviz

    if shutil.which("dot") is None:
        return None
    try:
        return graphviz.Source(dot_source).pipe(format="svg")
    except graphviz.ExecutableNotFound:
        return None


def write_diagrams(out_dir: str | pathlib.Path, *, err: TextIO | None = None) -> list[pathlib.Path]:
    """Generate ``diagrams/`` into ``out_dir``; return the paths written, sorted.

    When ``dot`` is missing, one line saying how to install Graphviz goes to
    ``err`` (stderr by default) and only the text forms are written.
    """
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    missing_dot = False
    for name, text in diagram_texts().items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
        if name.endswith(".dot") and not missing_dot:
            svg = render_svg(text)
            if svg is None:
                missing_dot = True
                continue
            svg_path = path.with_suffix(".svg")
            svg_path.write_bytes(svg)
            written.append(svg_path)
    if missing_dot:
        print(INSTALL_HINT, file=err if err is not None else sys.stderr)
    return sorted(written)


def stale_diagrams(directory: str | pathlib.Path) -> list[str]:
    """Names of the text files in ``directory`` that are missing or differ from a fresh run."""
    base = pathlib.Path(directory)
    stale = []
    for name, text in diagram_texts().items():
        path = base / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale
