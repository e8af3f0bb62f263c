"""A drop-in for the part of Python's ``socket`` module a TCP program uses.

Inside a simulated process (``host.spawn``), ``import tcpsim.socket as socket``
is the only change an ordinary blocking program needs: ``socket.socket()``
makes a simulated socket on the process's host.
"""

from __future__ import annotations

import socket as _pysocket
from typing import Any

from .process import running_process
from .sockbase import (AF_INET, IPPROTO_TCP, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_OOB, MSG_PEEK,
                       MSG_WAITALL, SHUT_RD, SHUT_RDWR, SHUT_WR, SO_ERROR, SO_LINGER, SO_REUSEADDR,
                       SO_TYPE, SOCK_STREAM, SOL_SOCKET, SOMAXCONN, TCP_NODELAY)
from .sockets import Socket

__all__ = [
    "socket", "create_connection", "create_server", "gethostname", "gethostbyname",
    "getdefaulttimeout", "setdefaulttimeout", "error", "timeout", "gaierror", "herror",
    "AF_INET", "SOCK_STREAM", "SOL_SOCKET", "SO_LINGER", "SO_REUSEADDR", "SO_ERROR", "SO_TYPE",
    "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "IPPROTO_TCP", "TCP_NODELAY", "SOMAXCONN", "has_ipv6",
    "MSG_OOB", "MSG_PEEK", "MSG_DONTWAIT", "MSG_WAITALL", "MSG_NOSIGNAL",
]

error = OSError
timeout = TimeoutError
gaierror = _pysocket.gaierror
herror = _pysocket.herror
has_ipv6 = False
_default_timeout: float | None = None


def _host() -> Any:
    # Only one simulated process runs at a time, so the running one is ours.
    proc = running_process()
    if proc is None:
        raise RuntimeError("tcpsim.socket is for code running in a simulated process "
                           "(host.spawn(fn)); outside one, use host.socket()")
    return proc.host


class socket(Socket):
    """``socket.socket(AF_INET, SOCK_STREAM)`` on the running process's host."""

    def __init__(self, family: int = AF_INET, type: int = SOCK_STREAM, proto: int = 0,
                 fileno: int | None = None) -> None:
        if fileno is not None:
            raise OSError(9, "tcpsim sockets cannot be made from a file descriptor")
        super().__init__(_host(), family, type, proto)
        if _default_timeout is not None:
            self._timeout = _default_timeout


def getdefaulttimeout() -> float | None:
    return _default_timeout


def setdefaulttimeout(value: float | None) -> None:
    global _default_timeout
    if value is not None and value < 0:
        raise ValueError("Timeout value out of range")
    _default_timeout = value


def gethostname() -> str:
    return _host().name


def gethostbyname(name: str) -> str:
    host = _host()
    if name in ("localhost", ""):
        return "127.0.0.1"
    address = host.net.resolve(name)
    if address is None:
        raise gaierror(_pysocket.EAI_NONAME, f"Name or service not known: {name!r}")
    return address


def create_connection(address: tuple[str, int], timeout: float | None = None,
                      source_address: tuple[str, int] | None = None, **_: Any) -> socket:
    """Connect to ``address`` and return the socket (as ``socket.create_connection``)."""
    sock = socket()
    try:
        if timeout is not None:
            sock.settimeout(timeout)
        if source_address is not None:
            sock.bind(source_address)
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


def create_server(address: tuple[str, int], *, family: int = AF_INET, backlog: int | None = None,
                  reuse_port: bool = False, **_: Any) -> socket:
    """Bind and listen (as ``socket.create_server``)."""
    sock = socket(family, SOCK_STREAM)
    try:
        sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock
