"""What a ``Socket`` is made of below its calls: the ``socket`` module's constants,
Python's errors, the checks Python makes of arguments, and the options and modes
(blocking, timeouts, ``setsockopt``) and the names (``getsockname``).
"""

from __future__ import annotations

import errno as E
import operator
import os
import socket as _pysocket
import struct
import sys
from typing import Any

from .states import CLOSE_WAIT, CLOSED, ESTABLISHED, SYN_RECEIVED, SYN_SENT, TIME_WAIT

AF_INET = _pysocket.AF_INET
SOCK_STREAM = _pysocket.SOCK_STREAM
SOL_SOCKET = _pysocket.SOL_SOCKET
SO_LINGER = _pysocket.SO_LINGER
SO_REUSEADDR = _pysocket.SO_REUSEADDR
SO_ERROR = _pysocket.SO_ERROR
SO_TYPE = _pysocket.SO_TYPE
SHUT_RD = _pysocket.SHUT_RD
SHUT_WR = _pysocket.SHUT_WR
SHUT_RDWR = _pysocket.SHUT_RDWR
IPPROTO_TCP = _pysocket.IPPROTO_TCP
TCP_NODELAY = _pysocket.TCP_NODELAY
SOMAXCONN = _pysocket.SOMAXCONN

# Plain ints (the socket module's are IntFlag members, whose & is Python code).
MSG_OOB = int(_pysocket.MSG_OOB)
MSG_PEEK = int(_pysocket.MSG_PEEK)
MSG_DONTWAIT = int(_pysocket.MSG_DONTWAIT)
MSG_WAITALL = int(_pysocket.MSG_WAITALL)
MSG_NOSIGNAL = int(_pysocket.MSG_NOSIGNAL)
RECV_FLAGS = MSG_OOB | MSG_PEEK | MSG_DONTWAIT | MSG_WAITALL
SEND_FLAGS = MSG_DONTWAIT | MSG_NOSIGNAL        # Python ignores SIGPIPE already

CONNECTING = frozenset({SYN_SENT, SYN_RECEIVED})
CAN_SEND = frozenset({ESTABLISHED, CLOSE_WAIT})
# The socket's own state, apart from its connection's (Linux's sock->state): connect()
# makes it CONNECTING; it is CONNECTED once connect() (or accept) has said so, and stays
# so after the connection ends; a connect() that reports a failure makes it UNCONNECTED
# again; shutdown() of a failed connect not yet asked about leaves it DISCONNECTING.
SS_UNCONNECTED, SS_CONNECTING, SS_CONNECTED, SS_DISCONNECTING = (
    "unconnected", "connecting", "connected", "disconnecting")


def err(code: int, detail: str = "") -> OSError:
    """``OSError(code, strerror)``: Python picks the subclass (ConnectionResetError, ...)."""
    message = os.strerror(code)
    if detail:
        message = f"{message} ({detail})"
    return OSError(code, message)


def gaierror(name: str) -> OSError:
    return _pysocket.gaierror(_pysocket.EAI_NONAME, f"Name or service not known: {name!r}")


class SocketOptions:
    """Options, modes and names; the Socket keeps the state they read and write."""

    __slots__ = ()

    # As CPython: the mode is the socket object's own, so it is kept (and read) even on a
    # closed socket; setting it on one raises EBADF after the change.
    def setblocking(self, flag: bool) -> None:
        self._timeout = None if _blocking_flag(flag) else 0.0
        self._check_open()

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    def settimeout(self, value: float | None) -> None:
        """Block for at most ``value`` virtual seconds (None: forever, 0: non-blocking)."""
        if value is not None:
            value = _timeout_value(value)
        self._timeout = value
        self._check_open()

    def gettimeout(self) -> float | None:
        return self._timeout

    def setsockopt(self, level: int, option: int, value: Any, optlen: int | None = None) -> None:
        self._check_open()
        if level == SOL_SOCKET and option == SO_LINGER:
            if not isinstance(value, (bytes, bytearray)) or len(value) != 8:
                raise err(E.EINVAL, "SO_LINGER takes struct.pack('ii', onoff, seconds)")
            self._linger = struct.unpack("ii", value)
        elif level == SOL_SOCKET and option == SO_REUSEADDR:
            self._reuse = _int_option(value)
        elif level == IPPROTO_TCP and option == TCP_NODELAY:
            self._nodelay = _int_option(value)
            if self._conn is not None:
                self._conn.nagle = not self._nodelay
        elif level in (SOL_SOCKET, IPPROTO_TCP):
            raise err(E.ENOPROTOOPT, "option not simulated by tcpsim")
        else:
            raise err(E.ENOPROTOOPT)

    def getsockopt(self, level: int, option: int, buflen: int = 0) -> Any:
        """The option's value as an int; given ``buflen``, its bytes as the kernel gives
        them (at most ``buflen`` of them), as Python's getsockopt returns them."""
        buflen = operator.index(buflen)
        if not 0 <= buflen <= 1024:
            raise OSError("getsockopt buflen out of range")
        self._check_open()
        if level == SOL_SOCKET and option == SO_ERROR:
            value = self._take_error() if self._conn is not None else 0
        elif level == SOL_SOCKET and option == SO_REUSEADDR:
            value = self._reuse
        elif level == SOL_SOCKET and option == SO_TYPE:
            value = SOCK_STREAM
        elif level == SOL_SOCKET and option == SO_LINGER:
            packed = struct.pack("ii", *self._linger)
            return packed[:buflen] if buflen else self._linger[0]
        elif level == IPPROTO_TCP and option == TCP_NODELAY:
            value = self._nodelay
        else:
            raise err(E.ENOPROTOOPT)
        return struct.pack("i", value)[:buflen] if buflen else value

    def getsockname(self) -> tuple[str, int]:
        self._check_open()
        if self._conn is not None:
            return self._conn.local
        return self._bound if self._bound is not None else ("0.0.0.0", 0)

    def getpeername(self) -> tuple[str, int]:
        self._check_open()
        conn = self._conn
        if conn is None or conn.state in (SYN_SENT, CLOSED, TIME_WAIT):    # Linux: TCP_CLOSE
            raise err(E.ENOTCONN)
        return conn.remote

    @property
    def timeout(self) -> float | None:
        """The timeout in seconds (None: blocking), as ``socket.socket.timeout``."""
        return self._timeout


def check_flags(flags: Any, known: int, call: str) -> int:
    """The flags argument of send/recv; a flag tcpsim does not simulate is an error
    rather than silently ignored."""
    if not isinstance(flags, int):
        raise TypeError(f"'{type(flags).__name__}' object cannot be interpreted as an integer")
    flags = int(flags)
    other = flags & ~known
    if other:
        raise err(E.EOPNOTSUPP, f"{call}() flag {other:#x} is not simulated by tcpsim")
    return flags


def _timeout_value(value: Any) -> float:
    """A timeout in seconds, checked as Python's socket module checks it."""
    if isinstance(value, float):
        if value != value:
            raise ValueError("Invalid value NaN (not a number)")
    elif isinstance(value, int):
        if abs(value) > _MAX_TIMEOUT:
            raise OverflowError(f"timestamp too large to convert to C {_PYTIME_T}")
    else:
        raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer")
    if value < 0:
        raise ValueError("Timeout value out of range")
    if value > _MAX_TIMEOUT:
        raise OverflowError("timestamp out of range for platform time_t")
    return float(value)


_MAX_TIMEOUT = (2**63 - 1) // 10**9     # CPython keeps timeouts as int64 nanoseconds
_PYTIME_T = "PyTime_t" if sys.version_info >= (3, 13) else "_PyTime_t"   # its C type's name


def _blocking_flag(flag: Any) -> bool:
    """setblocking's argument as the running Python reads it: 3.12 on takes any object's
    truth; 3.11 takes a C long (so None or "yes" is a TypeError)."""
    if sys.version_info >= (3, 12):
        return bool(flag)
    flag = operator.index(flag)
    if not -2**63 <= flag < 2**63:
        raise OverflowError("Python int too large to convert to C long")
    return bool(flag)


def _int_option(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, (bytes, bytearray)) and len(value) == 4:
        return struct.unpack("i", value)[0]
    raise TypeError("setsockopt() value must be an int or a 4-byte buffer")
