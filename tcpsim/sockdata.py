"""A ``Socket``'s data calls: ``send``, ``sendall``, ``recv`` and their variants.

They block exactly when Python's would (while the send buffer is full; until data
or end of stream), take the ``MSG_*`` flags Linux takes, and fail with Python's own
errors as Linux reports them.  ``Socket`` (sockets.py) keeps the state they read.
"""

from __future__ import annotations

import errno as E
from typing import TYPE_CHECKING, Any

from .process import Deadlock
from .sockbase import (CAN_SEND, CONNECTING, MSG_DONTWAIT, MSG_OOB, MSG_PEEK, MSG_WAITALL,
                       RECV_FLAGS, SEND_FLAGS, SS_UNCONNECTED, check_flags, err)
from .states import CLOSED

if TYPE_CHECKING:
    from .connection import Connection


class DataCalls:
    """The send and receive calls; mixed into ``Socket``."""

    __slots__ = ()

    def send(self, data: Any, flags: int = 0) -> int:
        """Queue data; blocks while the send buffer is full; returns how many octets it took."""
        view = _as_bytes(data)
        self._check_open()
        if not flags or not check_flags(flags, SEND_FLAGS, "send") & MSG_DONTWAIT or self._timeout:
            # (CPython, given a timeout, waits for it before the MSG_DONTWAIT call: see recv)
            return self._send(view, "send()")
        timeout, self._timeout = self._timeout, 0.0
        try:
            return self._send(view, "send()")
        finally:
            self._timeout = timeout

    def sendto(self, data: Any, flags_or_address: Any, address: Any = None) -> int:
        """send(): a connected TCP socket ignores the address, as Linux does."""
        if address is None:
            return self.send(data)
        return self.send(data, flags_or_address)

    def _send(self, view: memoryview, name: str) -> int:
        conn = self._conn
        if conn is None:
            raise err(E.EPIPE, "socket is not connected")
        if conn.state in CONNECTING:
            self._wait(name, lambda: conn.state not in CONNECTING, conn, "waiting for the handshake")
        if conn.error is not None:
            code = self._take_error()
            if code:
                raise err(code)
        if self._shut_wr or conn.state not in CAN_SEND:
            raise err(E.EPIPE)
        if not len(view):
            return 0
        if conn.send_cap <= len(conn.snd_buf):          # no room: wait for some
            self._wait(name, lambda: conn.send_space > 0 or conn.state not in CAN_SEND
                       or conn.error is not None, conn, "waiting for send buffer space")
            code = self._take_error()
            if code:
                raise err(code)
            if conn.state not in CAN_SEND:
                raise err(E.EPIPE)
        return conn.send(view, self._net._now)

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Send all of ``data``, blocking as needed; the timeout bounds the whole call."""
        view = _as_bytes(data)
        self._check_open()
        if flags and check_flags(flags, SEND_FLAGS, "sendall") & MSG_DONTWAIT:
            raise err(E.EOPNOTSUPP, "sendall() with MSG_DONTWAIT: use send()")
        self._record("sendall()", "call", octets=len(view))
        timeout = self._timeout
        deadline = None
        if timeout:
            deadline = self._net.now + timeout
        total = 0
        try:
            while True:
                if deadline is not None:
                    self._timeout = max(deadline - self._net.now, 1e-6)
                total += self._send(view[total:], "sendall()")
                if total >= len(view):
                    break
        except BaseException as exc:
            self._record("sendall()", "raise", repr(exc))
            raise
        finally:
            self._timeout = timeout
        self._record("sendall()", "return")

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Up to ``bufsize`` octets; blocks until data or end of stream; b"" at EOF."""
        if type(bufsize) is not int and (not isinstance(bufsize, int) or isinstance(bufsize, bool)):
            raise TypeError(f"'{type(bufsize).__name__}' object cannot be interpreted as an integer")
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        if bufsize == 0:                    # CPython answers this itself, socket or no socket
            self._record("recv()", "return", octets=0)
            return b""
        self._check_open()
        if flags:
            flags = check_flags(flags, RECV_FLAGS, "recv")
            if flags & MSG_OOB:
                raise err(E.EINVAL, "no urgent data: tcpsim does not simulate it")
        conn = self._conn
        if self._shut_rd and (conn is None or not conn.rcv_buf):
            return self._at_the_end(conn, "b'' (shut for reading)")   # what arrives is read
        if conn is None or self._sock_state is SS_UNCONNECTED:
            # never connected, or a connect() reported its failure; one whose error went
            # to SO_ERROR instead is still connecting, and reads as ended
            raise err(E.ENOTCONN)
        if not conn.rcv_buf:                            # nothing buffered: wait (or not)
            self._wait_readable(conn, flags)
        if conn.rcv_buf:
            if flags & MSG_PEEK:
                data = bytes(conn.rcv_buf[:bufsize])
            elif flags & MSG_WAITALL and self._timeout is None:
                data = self._receive_all(conn, bufsize)
            else:
                data = conn.receive(bufsize, self._net._now)
            self._record("recv()", "return", octets=len(data))
            return data
        return self._at_the_end(conn, "b'' (end of stream)")

    def _at_the_end(self, conn: Connection | None, what: str) -> bytes:
        """recv with nothing to read, at end of stream or shut for reading: b'', after an
        error still pending -- unless the peer's FIN came first (Linux's tcp_recvmsg checks
        it before the error, which then stays for send: EPIPE in CLOSE-WAIT)."""
        code = 0 if conn is None or conn.fin_received else self._take_error()
        if code:
            self._record("recv()", "raise", E.errorcode.get(code, str(code)))
            raise err(code)
        self._record("recv()", "return", what)
        return b""

    def _wait_readable(self, conn: Connection, flags: int = 0, want: int = 1) -> None:
        """Block (per the timeout, or not at all with MSG_DONTWAIT) until recv can return:
        ``want`` octets are buffered, or the stream ended, or an error came, or the socket
        was shut for reading (Linux's tcp_recvmsg stops at RCV_SHUTDOWN)."""

        def ready() -> bool:
            return len(conn.rcv_buf) >= want or conn.fin_received or conn.error is not None \
                or conn.state is CLOSED or self._fd < 0 or self._shut_rd

        timeout = self._timeout
        if flags & MSG_DONTWAIT and not timeout:
            # CPython on a socket with a timeout first waits (poll) up to the timeout, and
            # only then makes the MSG_DONTWAIT call: so the flag stops only a blocking wait
            self._timeout = 0.0
        try:
            self._wait("recv()", ready, conn, "waiting for data" if want == 1 else
                       f"waiting for {want} bytes (MSG_WAITALL)")
        except BaseException as exc:
            self._record("recv()", "raise", repr(exc))
            raise
        finally:
            self._timeout = timeout
        if self._fd < 0:
            raise err(E.EBADF)

    def _receive_all(self, conn: Connection, bufsize: int) -> bytes:
        """MSG_WAITALL: ``bufsize`` octets, or fewer at end of stream or on an error
        (reported by the next call).  What was taken is returned, never lost: so while
        the buffer can hold them all, nothing is taken until they are there, and a call
        that can never return raises Deadlock as other blocking calls do."""
        self._wait_readable(conn, want=min(bufsize, conn.recv_cap))
        data = conn.receive(bufsize, self._net._now)
        while len(data) < bufsize:
            try:
                self._wait_readable(conn)
            except (Deadlock, OSError):
                return data                 # nothing more can come, or closed: keep what came
            if not conn.rcv_buf:
                break                       # end of stream or an error, for the next call
            data += conn.receive(bufsize - len(data), self._net._now)
        return data

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        """recv() into a writable buffer; returns the number of octets."""
        view = memoryview(buffer).cast("B")
        if nbytes < 0:
            raise ValueError("negative buffersize in recv_into")
        if nbytes > len(view):
            raise ValueError("buffer too small for requested bytes")
        data = self.recv(nbytes or len(view), flags)
        view[:len(data)] = data
        return len(data)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, None]:
        """recv(), and the sender's address -- None on a TCP socket, as Python gives it."""
        return self.recv(bufsize, flags), None

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, None]:
        return self.recv_into(buffer, nbytes, flags), None


def _as_bytes(data: Any) -> memoryview:
    if isinstance(data, str):
        raise TypeError("a bytes-like object is required, not 'str'")
    try:
        return memoryview(data).cast("B")
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'") from None
