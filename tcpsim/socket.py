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
from .sockbase import _timeout_value
from .sockets import Socket

# Pure functions and constants of the socket module: no network behind them.
from socket import (AF_INET6, AF_UNSPEC, AI_PASSIVE, SOCK_DGRAM, htonl, htons,  # noqa: E402,I001
                    inet_aton, inet_ntoa, inet_ntop, inet_pton, ntohl, ntohs)

__all__ = [
    "socket", "create_connection", "create_server", "gethostname", "gethostbyname",
    "getdefaulttimeout", "setdefaulttimeout", "error", "timeout", "gaierror", "herror",
    "AF_INET", "SOCK_STREAM", "SOL_SOCKET", "SO_LINGER", "SO_REUSEADDR", "SO_ERROR", "SO_TYPE",
    "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "IPPROTO_TCP", "TCP_NODELAY", "SOMAXCONN", "has_ipv6",
    "MSG_OOB", "MSG_PEEK", "MSG_DONTWAIT", "MSG_WAITALL", "MSG_NOSIGNAL", "getaddrinfo",
    "AF_INET6", "AF_UNSPEC", "AI_PASSIVE", "SOCK_DGRAM", "htonl", "htons", "ntohl", "ntohs",
    "inet_aton", "inet_ntoa", "inet_pton", "inet_ntop",
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

    def _default_timeout(self) -> float | None:
        return _default_timeout if _default_timeout is not None else super()._default_timeout()


def getdefaulttimeout() -> float | None:
    return _default_timeout


def setdefaulttimeout(value: float | None) -> None:
    global _default_timeout
    _default_timeout = None if value is None else _timeout_value(value)


def gethostname() -> str:
    return _host().name


def gethostbyname(name: str) -> str:
    host = _host()
    if name in ("localhost", ""):
        return "127.0.0.1"
    address = host.net.lookup(name)
    if address is None:
        raise gaierror(_pysocket.EAI_NONAME, f"Name or service not known: {name!r}")
    return address


def getaddrinfo(host: str | bytes | None, port: int | str | None, family: int = 0, type: int = 0,
                proto: int = 0, flags: int = 0) -> list[tuple]:
    """IPv4 addresses on the simulated network, in ``socket.getaddrinfo``'s shape (one
    SOCK_STREAM entry unless another type is asked for)."""
    if family not in (AF_UNSPEC, AF_INET):
        raise gaierror(_pysocket.EAI_FAMILY, "ai_family not supported")
    if isinstance(host, bytes):
        host = host.decode("idna")
    if host is None:
        address = "0.0.0.0" if flags & AI_PASSIVE else "127.0.0.1"
    else:
        address = gethostbyname(host)
    if port is None:
        number = 0
    elif isinstance(port, int):
        number = port
    elif isinstance(port, (str, bytes)):
        name = port.decode() if isinstance(port, bytes) else port
        try:
            number = int(name) if name.isdigit() else _pysocket.getservbyname(name, "tcp")
        except OSError:
            raise gaierror(_pysocket.EAI_SERVICE, "Servname not supported for ai_socktype") from None
    else:
        raise OSError("Int or String expected")
    kind = _pysocket.SocketKind(type) if type else _pysocket.SOCK_STREAM
    proto = proto or {SOCK_STREAM: IPPROTO_TCP, SOCK_DGRAM: _pysocket.IPPROTO_UDP}.get(kind, 0)
    return [(_pysocket.AF_INET, kind, proto, "", (address, number))]


_GLOBAL_DEFAULT_TIMEOUT = object()      # as in the socket module: "leave the default alone"


def create_connection(address: tuple[str, int], timeout: Any = _GLOBAL_DEFAULT_TIMEOUT,
                      source_address: tuple[str, int] | None = None, **_: Any) -> socket:
    """Connect to ``address`` and return the socket (as ``socket.create_connection``)."""
    sock = socket()
    try:
        if timeout is not _GLOBAL_DEFAULT_TIMEOUT:
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
