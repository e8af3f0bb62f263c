"""``Socket``: Python's ``socket.socket`` API over simulated TCP connections.

Calls block exactly when Python's would (see process.py for how), and fail
with Python's own exceptions and errno values, as Linux reports them.  This module
has the socket's life -- bind, listen, accept, connect, shutdown, close; the data
calls are in sockdata.py, the options and names in sockbase.py, makefile() in
sockfile.py.
"""

from __future__ import annotations

import errno as E
import operator
import os
import socket as _pysocket
from typing import TYPE_CHECKING, Any

from .connection import Connection
from .host import Listener
from .process import block_until
from .sockbase import (AF_INET, CONNECTING, IPPROTO_TCP, SHUT_RD, SHUT_RDWR, SHUT_WR, SOCK_STREAM,
                       SOMAXCONN, SS_CONNECTED, SS_CONNECTING, SS_DISCONNECTING, SS_UNCONNECTED,
                       SocketOptions, err, gaierror)
from .sockdata import DataCalls
from .sockfile import FileMethods
from .states import CLOSED, SYN_RECEIVED, SYN_SENT, TIME_WAIT, State
from .trace import CallRecord, plural

if TYPE_CHECKING:
    from .host import Host

_SOCK_NONBLOCK = getattr(_pysocket, "SOCK_NONBLOCK", 0)
# States in which Linux's socket has no connection any more (TCP_CLOSE): Linux keeps a
# TIME-WAIT in a small record of its own, apart from the socket
_ENDED = frozenset({CLOSED, TIME_WAIT})


class Socket(DataCalls, SocketOptions, FileMethods):
    """A TCP socket on a simulated host; mirrors ``socket.socket``."""

    # Slotted, as socket.socket is: no stray attributes, and about 160 bytes less each.
    __slots__ = ("_host", "_net", "_proto", "_fd", "_timeout", "_bound", "_conn", "_listener",
                 "_shut_rd", "_shut_wr", "_reset_seen", "_sock_state", "_linger", "_reuse",
                 "_nodelay", "_pending_error", "_io_refs", "_close_when_files_close",
                 "__weakref__")

    def __init__(self, host: "Host", family: int = AF_INET, type: int = SOCK_STREAM,
                 proto: int = 0) -> None:
        if family != AF_INET:
            raise err(E.EAFNOSUPPORT, "tcpsim simulates AF_INET only")
        if type & 0xF != SOCK_STREAM:
            raise err(E.EPROTONOSUPPORT, "tcpsim simulates SOCK_STREAM (TCP) only")
        if proto not in (0, IPPROTO_TCP):
            raise err(E.EPROTONOSUPPORT)
        self._host = host
        self._net = host.net
        self._proto = proto
        self._fd = host._alloc_fd()
        self._timeout: float | None = 0.0 if type & _SOCK_NONBLOCK else self._default_timeout()
        self._bound: tuple[str, int] | None = None      # what bind() was given, resolved
        self._conn: Connection | None = None
        self._listener: Listener | None = None
        self._shut_rd = False
        self._shut_wr = False
        self._reset_seen = False
        self._sock_state = SS_UNCONNECTED               # Linux's sock->state: see connect()
        self._linger: tuple[int, int] = (0, 0)
        self._reuse = 0
        self._nodelay = int(not host.net.config.nagle)  # TCP_NODELAY as it is in effect
        self._pending_error = 0
        self._io_refs = 0                               # files from makefile() still open
        self._close_when_files_close = False

    # Read-only, as socket.socket's are; the socket module's enums, as it gives them.
    family = property(lambda self: _pysocket.AddressFamily.AF_INET, doc="AF_INET")
    type = property(lambda self: _pysocket.SocketKind.SOCK_STREAM, doc="SOCK_STREAM")
    proto = property(lambda self: self._proto, doc="the protocol number given (0 or 6)")

    def _default_timeout(self) -> float | None:
        """The timeout a new socket starts with (``socket.getdefaulttimeout()``)."""
        return _pysocket.getdefaulttimeout()

    @classmethod
    def _accepted(cls, host: "Host", conn: Connection, timeout: float | None) -> "Socket":
        sock = cls(host)
        sock._conn = conn
        sock._sock_state = SS_CONNECTED
        sock._bound = conn.local
        sock._timeout = timeout
        conn.owner = sock
        return sock

    # -- looking at it ---------------------------------------------------------------

    @property
    def host(self) -> "Host":
        return self._host

    @property
    def connection(self) -> Connection | None:
        """The engine's connection behind this socket (None before connect/listen)."""
        if self._conn is not None:
            return self._conn
        return self._listener.conn if self._listener is not None else None

    @property
    def state(self) -> State:
        """The connection's state; it goes on through TIME-WAIT to CLOSED after close()."""
        conn = self.connection
        return conn.state if conn is not None else CLOSED

    @property
    def history(self) -> list[State]:
        """Every state this connection has been in, in order."""
        conn = self.connection
        return list(conn.history) if conn is not None else [CLOSED]

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def fileno(self) -> int:
        """The descriptor number (from 3, per host); -1 once closed."""
        return self._fd

    def __repr__(self) -> str:
        if self._fd < 0:
            return f"<tcpsim.Socket [closed] fd=-1, family=AF_INET, type=SOCK_STREAM, proto={self.proto}>"
        text = f"<tcpsim.Socket fd={self._fd}, family=AF_INET, type=SOCK_STREAM, proto={self.proto}"
        if self._bound is not None or self._conn is not None:
            text += f", laddr={self.getsockname()}"
        conn = self._conn
        if conn is not None and conn.state not in (CLOSED, SYN_SENT):
            text += f", raddr={conn.remote}"
        return text + f", host={self._host.name!r}, state={self.state}>"

    def __enter__(self) -> "Socket":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- tracing ------------------------------------------------------------------------

    def _record(self, name: str, phase: str, detail: str = "", *args: Any,
                octets: int | None = None) -> None:
        """Trace a call; ``detail % args`` (or ``octets`` as "N bytes") is formatted only
        when the trace is on."""
        trace = self._net.trace
        if trace.enabled:
            if octets is not None:
                detail = plural(octets, "byte")
            elif args:
                detail = detail % args
            conn = self.connection
            trace.records.append(CallRecord(self._net._now, self._host.name, self._fd, name, phase,
                                            detail, conn.id if conn is not None else 0))

    def _check_open(self) -> None:
        if self._fd < 0:
            raise err(E.EBADF)

    def _wait(self, name: str, ready: Any, target: Connection, what: str) -> None:
        """Block (or not, per the timeout) until ``ready()``; traced as blocked/returned."""
        if ready():
            return
        self._record(name, "blocked", what)
        host = self._host.name

        def describe() -> str:
            return f"{name}: {target.state}, {what}"

        block_until(self._net, ready, target.add_waiter, describe, self._timeout, host)

    # -- addresses --------------------------------------------------------------------------

    def _parse_address(self, address: Any, call: str) -> tuple[str, int]:
        if not isinstance(address, tuple):
            raise TypeError(f"{call}(): AF_INET address must be tuple, not {type(address).__name__}")
        if len(address) != 2:
            raise TypeError("AF_INET address must be a pair (host, port)")
        name, port = address
        if isinstance(name, (bytes, bytearray)):       # Python takes a host name as bytes too
            try:
                name = bytes(name).decode("ascii")
            except UnicodeDecodeError:
                raise gaierror(bytes(name).decode("ascii", "backslashreplace")) from None
        elif not isinstance(name, str):
            raise TypeError(f"str, bytes or bytearray expected, not {type(name).__name__}")
        try:
            port = operator.index(port)               # an int, a bool, anything with __index__
        except TypeError:
            raise TypeError(f"'{type(port).__name__}' object cannot be interpreted as an integer") \
                from None
        if not 0 <= port <= 65535:
            raise OverflowError(f"{call}(): port must be 0-65535.")
        return name, port

    def _resolve_remote(self, name: str) -> str:
        if name in ("localhost", "127.0.0.1", ""):
            return self._host.address
        address = self._net.lookup(name)
        if address is None:
            raise gaierror(name)
        return address          # an address no host has: the SYN is dropped ("no route")

    # -- bind / listen / accept -------------------------------------------------------------

    def bind(self, address: tuple[str, int]) -> None:
        """Bind to ``(host, port)``; ``""`` means any address of this host, port 0 any port."""
        name, port = self._parse_address(address, "bind")   # as Python: arguments first,
        self._check_open()                                   # then EBADF
        if self._bound is not None or self._conn is not None:
            raise err(E.EINVAL, "already bound")
        host = self._host
        if name in ("", "0.0.0.0"):
            bind_addr = "0.0.0.0"
        elif name in (host.address, host.name, "localhost", "127.0.0.1"):
            bind_addr = host.address
        elif self._net.lookup(name) is None:
            raise gaierror(name)
        else:
            raise err(E.EADDRNOTAVAIL, f"{name} is not an address of host {host.name!r}")
        if port == 0:
            port = host._ephemeral_port()
        elif host._port_busy(port, reuse=bool(self._reuse), me=self):
            raise err(E.EADDRINUSE, f"port {port} on {host.name}")
        self._bound = (bind_addr, port)
        host._bound.setdefault(port, []).append(self)

    def _unbind(self) -> None:
        if self._bound is not None:
            users = self._host._bound.get(self._bound[1])
            if users and self in users:
                users.remove(self)
                if not users:
                    del self._host._bound[self._bound[1]]

    def listen(self, backlog: int | None = None) -> None:
        """Start listening; SYNs beyond a full accept queue are dropped silently."""
        self._check_open()
        if backlog is None:
            backlog = min(SOMAXCONN, 128)
        if not isinstance(backlog, int):
            raise TypeError(f"'{type(backlog).__name__}' object cannot be interpreted as an integer")
        backlog = max(backlog, 0)
        slack = self._net.config.backlog_slack
        if self._listener is not None:
            self._listener.set_backlog(backlog, slack)
            return
        if self._conn is not None:
            raise err(E.EINVAL, "socket is connected")
        host = self._host
        if self._bound is None:
            self.bind(("", 0))
        assert self._bound is not None
        port = self._bound[1]
        if port in host._listeners:
            raise err(E.EADDRINUSE, f"port {port} on {host.name}")
        self._unbind()
        conn = Connection(self._net.config, host, (host.address, port), ("0.0.0.0", 0),
                          self._net._new_conn_id())
        conn.owner = self
        listener = Listener(conn, backlog, slack)
        host._listeners[port] = listener
        self._listener = listener
        self._record("listen()", "call", str(backlog))
        conn.open_passive(self._net._now)

    def accept(self) -> tuple["Socket", tuple[str, int]]:
        """Wait for an established connection; return (new socket, peer address)."""
        self._check_open()
        listener = self._listener
        if listener is None:
            raise err(E.EINVAL, "socket is not listening")
        self._record("accept()", "call")
        if not listener.queue:
            try:
                self._wait("accept()", lambda: bool(listener.queue) or self._fd < 0, listener.conn,
                           "waiting for a connection")
            except BaseException as exc:
                self._record("accept()", "raise", repr(exc))
                raise
            if self._fd < 0:
                raise err(E.EBADF)
        conn = listener.queue.popleft()
        # Python makes the new socket with the default timeout, whatever the listener's
        sock = Socket._accepted(self._host, conn, self._default_timeout())
        sock._nodelay = self._nodelay               # inherited from the listener, as on Linux
        conn.nagle = not self._nodelay
        self._record("accept()", "return", "%s:%d fd %d", conn.remote[0], conn.remote[1], sock._fd)
        return sock, conn.remote

    # -- connect ------------------------------------------------------------------------------

    def connect(self, address: tuple[str, int]) -> None:
        """Open a connection; blocks until the SYN,ACK arrives (or it fails)."""
        code = self._connect(address, raise_errors=True)
        if code:
            raise err(code)

    def connect_ex(self, address: tuple[str, int]) -> int:
        """Like connect(), but return an errno (0 on success) instead of raising."""
        if self._fd < 0:
            self._parse_address(address, "connect_ex")      # as Python: arguments first
            return E.EBADF
        try:
            return self._connect(address, raise_errors=False)
        except BlockingIOError as exc:
            return exc.errno or E.EINPROGRESS
        except TimeoutError as exc:
            return exc.errno or E.EAGAIN

    def _connect(self, address: Any, raise_errors: bool) -> int:
        name, port = self._parse_address(address, "connect")
        self._check_open()
        if self._sock_state is SS_DISCONNECTING:        # Linux: it takes no connect
            return E.EINVAL if not raise_errors else self._raise(E.EINVAL)
        if self._listener is not None:
            return E.EISCONN if not raise_errors else self._raise(E.EISCONN)
        conn = self._conn
        if conn is not None:
            if conn.state in CONNECTING:
                if self._timeout == 0:
                    return E.EALREADY if not raise_errors else self._raise(E.EALREADY)
                return self._finish_connect(conn, raise_errors)
            # Linux: a socket stays connected (SS_CONNECTED) once connect() has said so,
            # even after a reset or the end of the connection
            if conn.state is not CLOSED or self._sock_state is SS_CONNECTED:
                if self._sock_state is SS_CONNECTING:   # the first connect after EINPROGRESS
                    self._sock_state = SS_CONNECTED     # completed says success, later EISCONN
                    return 0
                return E.EISCONN if not raise_errors else self._raise(E.EISCONN)
            # A non-blocking connect that failed meanwhile: its error, once (Linux says
            # ECONNABORTED if SO_ERROR already took it); the next connect starts afresh.
            code = self._take_error() or (E.ECONNABORTED if self._sock_state is SS_CONNECTING
                                          else 0)
            if code:
                return self._connect_failed(code, raise_errors)
        remote_addr = self._resolve_remote(name)
        host = self._host
        if port == 0:
            return E.ECONNREFUSED if not raise_errors else self._raise(E.ECONNREFUSED)
        if self._bound is None:
            local_port = host._ephemeral_port()
            local_addr = host.address
        else:
            local_port = self._bound[1]
            local_addr = host.address
            self._unbind()
        key = (local_port, remote_addr, port)
        if key in host._conns:
            return E.EADDRINUSE if not raise_errors else self._raise(E.EADDRINUSE)
        iss = self._net._isn()                  # first: Config.isn's callable may raise
        self._bound = (local_addr, local_port)
        conn = Connection(self._net.config, host, (local_addr, local_port), (remote_addr, port),
                          self._net._new_conn_id())
        conn.owner = self
        conn.nagle = not self._nodelay
        self._conn = conn
        self._reset_seen = False
        self._sock_state = SS_CONNECTING
        host._register(conn)
        self._record("connect()", "call", "%s:%d", name, port)
        conn.open_active(iss, self._net._now)
        if self._timeout == 0:
            self._record("connect()", "raise", "EINPROGRESS")
            if raise_errors:
                raise BlockingIOError(E.EINPROGRESS, os.strerror(E.EINPROGRESS))
            return E.EINPROGRESS
        return self._finish_connect(conn, raise_errors)

    def _raise(self, code: int) -> int:
        raise err(code)

    def _finish_connect(self, conn: Connection, raise_errors: bool) -> int:
        if conn.state in CONNECTING:
            waiting = "waiting for SYN,ACK" if conn.state is SYN_SENT else "waiting for ACK"
            try:
                self._wait("connect()", lambda: conn.state not in CONNECTING, conn, waiting)
            except BaseException as exc:
                self._record("connect()", "raise", repr(exc))
                raise
        if conn.error is not None:
            code = conn.error
            conn.error = None
            self._record("connect()", "raise", E.errorcode.get(code, str(code)))
            return self._connect_failed(code, raise_errors)
        self._record("connect()", "return")
        self._sock_state = SS_CONNECTED
        return 0

    def _connect_failed(self, code: int, raise_errors: bool) -> int:
        """connect() reports its connection's failure: Linux then disconnects the socket
        (tcp_disconnect: unconnected, its shutdowns cleared), so recv says ENOTCONN."""
        self._sock_state = SS_UNCONNECTED
        self._shut_rd = self._shut_wr = False
        if raise_errors:
            raise err(code)
        return code

    # -- errors ---------------------------------------------------------------------------------

    def _take_error(self) -> int:
        """The errno a reset or failure left for the user, reported once (0: none)."""
        conn = self._conn
        if conn is not None and conn.error is not None:
            code = conn.error
            conn.error = None
            self._reset_seen = True
            return code
        return 0

    # -- closing ------------------------------------------------------------------------------------

    def shutdown(self, how: int) -> None:
        """SHUT_WR sends FIN and keeps receiving (half-close); SHUT_RD stops reading."""
        self._check_open()
        if not isinstance(how, int):
            raise TypeError(f"'{type(how).__name__}' object cannot be interpreted as an integer")
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            raise err(E.EINVAL)
        if self._listener is not None:
            # Linux: a listener has nothing to send; shutting its reading stops listening.
            self._record("shutdown()", "call", {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}[how])
            if how != SHUT_WR:
                self._stop_listening(self._net._now)
                self._listener = None
            return
        conn = self._conn
        if self._sock_state is SS_CONNECTING and conn.state is not SYN_SENT:
            # Linux (inet_shutdown) settles a connect not yet asked about: connected if
            # it got through, else disconnecting for good
            ended = conn.state in _ENDED or conn.state is SYN_RECEIVED
            self._sock_state = SS_DISCONNECTING if ended else SS_CONNECTED
        if conn is None or conn.state in _ENDED:
            # Linux (inet_shutdown): ENOTCONN from a socket with no connection, yet the
            # shutdown holds: recv then says b'', send EPIPE
            self._shut_rd |= how != SHUT_WR
            self._shut_wr |= how != SHUT_RD
            raise err(E.ENOTCONN)
        if conn.state is SYN_SENT:
            raise err(E.ENOTCONN)
        self._record("shutdown()", "call", {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}[how])
        if how in (SHUT_RD, SHUT_RDWR):
            self._shut_rd = conn.rcv_shut = True
            conn._wake()
        if how in (SHUT_WR, SHUT_RDWR) and not self._shut_wr:
            self._shut_wr = True
            conn.close(self._net._now)

    def close(self) -> None:
        """Release the socket; the connection closes gracefully (FIN) and lives on
        through TIME-WAIT -- or is reset when unread data would be lost or SO_LINGER is 0.
        While a file from makefile() is open, the release waits for it (as in Python)."""
        self._close(traced=True)

    def _close(self, traced: bool) -> None:
        if self._fd < 0:
            return
        if self._io_refs > 0:
            self._close_when_files_close = True
            return
        if traced:
            self._record("close()", "call")
        fd = self._fd
        self._fd = -1
        self._host._release_fd(fd)
        self._unbind()
        now = self._net._now
        if self._listener is not None:
            self._stop_listening(now)
            return
        conn = self._conn
        if conn is None:
            return
        conn.orphan = True
        config = self._net.config
        if self._linger[0] and self._linger[1] == 0:
            conn.abort(now, cause="close() with SO_LINGER 0")
        elif conn.rcv_buf and config.rst_on_close_with_unread:
            conn.abort(now, with_ack=config.reset_with_ack, cause="close() with unread data")
        else:
            conn.rcv_buf.clear()    # unread and now unreadable: free the window for the peer
            conn.close(now)
        conn._wake()

    def _stop_listening(self, now: int) -> None:
        """No more connections: the queued and half-open ones are reset."""
        listener = self._listener
        host = self._host
        port = listener.conn.local[1]
        if host._listeners.get(port) is listener:
            del host._listeners[port]
        for child in list(listener.queue) + sorted(listener.pending, key=lambda c: c.id):
            child.orphan = True
            child.abort(now, cause="listener closed")
            host._forget(child)
        listener.queue.clear()
        listener.conn.close(now)
        listener.conn._wake()

    def abort(self) -> None:
        """RFC 9293 ABORT: send RST (where there is a peer), drop everything, release the socket."""
        self._check_open()
        self._record("abort()", "call")         # traced before the RST it sends
        conn = self.connection
        if conn is not None and self._listener is None:
            conn.abort(self._net._now)
        self._close(traced=False)
