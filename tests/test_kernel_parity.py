"""Differential tests: the same socket program against the kernel and against tcpsim.

Each scenario is one function written against the ``socket`` API.  It runs
twice: over real sockets on 127.0.0.1 and over a simulated network; what it
observes (returned data, exception types and errno values) must be the same.
The expected values are therefore whatever Python and the kernel do on this
machine -- nothing here is written down by hand.

Addresses differ between the worlds, so scenarios record what a program can
compare, never an address or a port number.
"""

from __future__ import annotations

import errno
import io
import select
import socket as pysocket
import struct
import sys
import time

import pytest

import tcpsim.socket as tcpsim_socket
from tcpsim import Network

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux's socket semantics")

LINGER_0 = struct.pack("ii", 1, 0)


class Kernel:
    """Real sockets on the loopback interface."""

    name = "kernel"

    def __init__(self) -> None:
        self.opened: list[pysocket.socket] = []

    def socket(self, side: str = "client") -> pysocket.socket:
        sock = pysocket.socket(pysocket.AF_INET, pysocket.SOCK_STREAM)
        self.opened.append(sock)
        return sock

    def any_addr(self) -> tuple[str, int]:
        return ("127.0.0.1", 0)

    def server_addr(self, srv: pysocket.socket) -> tuple[str, int]:
        return srv.getsockname()

    def closed_port(self) -> tuple[str, int]:
        probe = pysocket.socket()
        probe.bind(("127.0.0.1", 0))
        addr = probe.getsockname()          # a port nobody listens on once closed
        probe.close()
        return addr

    def settle(self, *socks: pysocket.socket) -> None:
        """Let what was sent arrive (loopback is quick, but not synchronous)."""
        deadline = time.monotonic() + 0.05
        while time.monotonic() < deadline:
            time.sleep(0.005)
        for s in socks:
            select.select([s], [], [], 0.2)

    def close_all(self) -> None:
        for s in self.opened:
            s.close()


class Sim:
    """A client and a server host on a simulated network."""

    name = "tcpsim"

    def __init__(self) -> None:
        self.net = Network(seed=3)
        self.hosts = {"client": self.net.add_host("client"), "server": self.net.add_host("server")}

    def socket(self, side: str = "client"):
        return self.hosts[side].socket()

    def any_addr(self) -> tuple[str, int]:
        return ("", 0)

    def server_addr(self, srv) -> tuple[str, int]:
        return ("server", srv.getsockname()[1])

    def closed_port(self) -> tuple[str, int]:
        return ("server", 4321)

    def settle(self, *socks) -> None:
        self.net.run(until=self.net.now + 1)

    def close_all(self) -> None:
        pass


def outcome(fn, *args):
    """What a call did, comparable across worlds: its result or (exception type, errno)."""
    try:
        result = fn(*args)
    except OSError as exc:
        return (type(exc).__name__, errno.errorcode.get(exc.errno, exc.errno))
    except (ValueError, TypeError, OverflowError) as exc:
        return (type(exc).__name__, str(exc))
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], int):
        return "address"
    if isinstance(result, tuple) and len(result) == 2:       # accept()
        return "accepted"
    return result


def serving(w, backlog: int = 5):
    srv = w.socket("server")
    srv.bind(w.any_addr())
    srv.listen(backlog)
    return srv


def connected(w):
    srv = serving(w)
    cli = w.socket()
    cli.connect(w.server_addr(srv))
    conn, _ = srv.accept()
    return srv, cli, conn


# -- the scenarios: each returns the list of what it observed --------------------------------


def unconnected_calls(w):
    s = w.socket()
    return [outcome(s.recv, 10), outcome(s.send, b"x"), outcome(s.getpeername),
            outcome(s.shutdown, pysocket.SHUT_WR), outcome(s.accept), outcome(s.recv, -1),
            outcome(s.getsockname)]


def closed_socket_calls(w):
    s = w.socket()
    s.close()
    return [outcome(s.close), s.fileno(), outcome(s.connect_ex, w.closed_port()),
            outcome(s.send, b"x"), outcome(s.recv, 1), outcome(s.getsockname),
            outcome(s.bind, w.any_addr()), outcome(s.listen),
            # arguments are checked before the descriptor is
            outcome(s.recv, -1), outcome(s.send, "text"), outcome(s.sendall, 3),
            outcome(s.connect, (w.closed_port()[0], 1 << 16)), outcome(s.bind, ("", -1)),
            outcome(s.connect_ex, (3, 1))]


def refused(w):
    s = w.socket()
    t = w.socket()
    return [outcome(s.connect, w.closed_port()), outcome(t.connect_ex, w.closed_port()),
            # a refused socket is not connected
            outcome(s.recv, 1), outcome(s.send, b"x"), outcome(s.getpeername),
            outcome(s.shutdown, pysocket.SHUT_RDWR), outcome(t.recv, 1)]


def bad_arguments(w):
    s = w.socket()
    return [outcome(s.bind, ("", 70000)), outcome(s.connect, ("x",)),
            outcome(s.connect, "server"), outcome(s.shutdown, 7), outcome(s.settimeout, -1)]


def address_in_use(w):
    srv = serving(w)
    other = w.socket("server")
    again = outcome(srv.bind, w.any_addr())
    return [outcome(other.bind, ("", srv.getsockname()[1])), again]


def connected_misuse(w):
    srv, cli, conn = connected(w)
    return [outcome(cli.connect, w.server_addr(srv)), outcome(cli.listen),
            outcome(cli.accept), outcome(srv.recv, 1), outcome(cli.recv, 0),
            outcome(srv.connect_ex, w.server_addr(srv))]


def echo_and_close(w):
    srv, cli, conn = connected(w)
    cli.sendall(b"hello")
    w.settle(conn)
    got = conn.recv(1024)
    conn.sendall(got.upper())
    w.settle(cli)
    reply = cli.recv(1024)
    cli.close()
    w.settle(conn)
    return [got, reply, conn.recv(1024), conn.recv(1024), outcome(conn.send, b"late")]


def half_close(w):
    srv, cli, conn = connected(w)
    cli.sendall(b"request")
    cli.shutdown(pysocket.SHUT_WR)
    w.settle(conn)
    request = conn.recv(1024)
    eof = conn.recv(1024)
    conn.sendall(b"reply after your FIN")
    conn.close()
    w.settle(cli)
    return [request, eof, outcome(cli.send, b"more"), cli.recv(1024), cli.recv(1024)]


def reset_by_linger(w):
    srv, cli, conn = connected(w)
    conn.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_LINGER, LINGER_0)
    conn.close()
    w.settle(cli)
    return [outcome(cli.recv, 10), outcome(cli.recv, 10), outcome(cli.send, b"x"),
            cli.getsockopt(pysocket.SOL_SOCKET, pysocket.SO_ERROR)]


def reset_by_unread_data(w):
    srv, cli, conn = connected(w)
    cli.sendall(b"never read")
    w.settle(conn)
    conn.close()                          # unread data: RST, not FIN (RFC 2525 / Linux)
    w.settle(cli)
    return [outcome(cli.send, b"x"), outcome(cli.send, b"y"), outcome(cli.recv, 1)]


def reset_in_close_wait(w):
    srv, cli, conn = connected(w)
    conn.sendall(b"unread by the client")
    w.settle(cli)
    cli.close()                           # unread data: RST while conn is in CLOSE-WAIT?
    w.settle(conn)
    return [outcome(conn.recv, 10), outcome(conn.send, b"x"), outcome(conn.recv, 10)]


def non_blocking(w):
    srv = serving(w)
    srv.setblocking(False)
    first = outcome(srv.accept)
    cli = w.socket()
    cli.setblocking(False)
    started = outcome(cli.connect, w.server_addr(srv))
    w.settle(srv)
    again = outcome(cli.connect_ex, w.server_addr(srv))
    conn, _ = srv.accept()
    conn.setblocking(False)
    return [first, started, again, outcome(conn.recv, 10), cli.send(b"abc"),
            cli.gettimeout(), conn.getblocking()]


def timeouts(w):
    srv = serving(w)
    srv.settimeout(0.01)
    cli = w.socket()
    cli.connect(w.server_addr(srv))
    conn, _ = srv.accept()
    conn.settimeout(0.01)
    return [outcome(srv.accept), outcome(conn.recv, 10), conn.gettimeout()]


def more_misuse(w):
    s = w.socket()
    first = outcome(s.bind, w.any_addr())
    srv = serving(w)
    return [first, outcome(s.bind, w.any_addr()), outcome(w.socket().bind, ("10.9.9.9", 0)),
            outcome(s.sendall, "text"), outcome(s.recv, 1.5), outcome(s.settimeout, "x"),
            outcome(s.settimeout, float("nan")), outcome(s.settimeout, 1e10),
            outcome(s.settimeout, 10**10), outcome(s.settimeout, True), s.gettimeout(),
            outcome(srv.shutdown, pysocket.SHUT_WR), outcome(srv.getpeername)]


def refused_without_blocking(w):
    s = w.socket()
    s.setblocking(False)
    first = outcome(s.connect_ex, w.closed_port())
    w.settle(s)
    return [first, s.getsockopt(pysocket.SOL_SOCKET, pysocket.SO_ERROR),
            s.getsockopt(pysocket.SOL_SOCKET, pysocket.SO_ERROR), outcome(s.recv, 1),
            outcome(s.connect_ex, w.closed_port())]


def write_to_a_closed_peer(w):
    srv, cli, conn = connected(w)
    conn.close()                          # FIN: cli is in CLOSE-WAIT and may still send
    w.settle(cli)
    first = outcome(cli.send, b"into the void")   # accepted; the peer answers with RST
    w.settle(cli)
    return [first, outcome(cli.send, b"again"), outcome(cli.recv, 10), outcome(cli.recv, 10)]


def read_shutdown(w):
    srv, cli, conn = connected(w)
    conn.shutdown(pysocket.SHUT_RD)
    first = outcome(conn.recv, 10)
    return [first, outcome(conn.send, b"still can send"), outcome(conn.shutdown, pysocket.SHUT_RD),
            outcome(conn.shutdown, pysocket.SHUT_RDWR)]


def listener_shut_for_reading(w):
    srv = serving(w)
    addr = w.server_addr(srv)
    srv.shutdown(pysocket.SHUT_RD)
    w.settle()
    return [outcome(srv.accept), outcome(w.socket().connect, addr), outcome(srv.listen)]


def listener_closed(w):
    srv = serving(w)
    addr = w.server_addr(srv)
    srv.close()
    w.settle()
    return [outcome(srv.accept), outcome(w.socket().connect, addr)]


def receive_flags(w):
    srv, cli, conn = connected(w)
    cli.sendall(b"hello world")
    w.settle(conn)
    seen = [conn.recv(5, pysocket.MSG_PEEK), conn.recv(100, pysocket.MSG_PEEK), conn.recv(3),
            conn.recvfrom(100), outcome(conn.recv, 10, pysocket.MSG_DONTWAIT),
            outcome(conn.recv, 10, pysocket.MSG_OOB), outcome(conn.recv, 10, "x")]
    cli.sendall(b"12345")
    w.settle(conn)
    buf = bytearray(8)
    seen += [conn.recv_into(buf, 3), bytes(buf), outcome(conn.recv_into, buf, 9),
             outcome(conn.recv_into, buf, -1), conn.recvfrom_into(buf), bytes(buf)]
    cli.sendall(b"abcdef")
    cli.shutdown(pysocket.SHUT_WR)
    w.settle(conn)
    seen += [conn.recv(100, pysocket.MSG_WAITALL), conn.recv(10, pysocket.MSG_WAITALL)]
    return seen


def send_flags(w):
    srv, cli, conn = connected(w)
    sent = [cli.send(b"abc", pysocket.MSG_DONTWAIT), cli.sendto(b"de", ("127.0.0.1", 1)),
            cli.sendto(b"f", 0, ("127.0.0.1", 1)), cli.send(b"g", pysocket.MSG_NOSIGNAL)]
    w.settle(conn)
    return sent + [conn.recv(100), cli.timeout, conn.settimeout(2.5), conn.timeout]


def files(w):
    srv, cli, conn = connected(w)
    wfile = conn.makefile("wb")
    rfile = cli.makefile("r", encoding="ascii", newline="\n")
    conn.close()                          # the file keeps the connection open
    wfile.write(b"first line\nsecond line\n")
    wfile.flush()
    w.settle(cli)
    lines = [rfile.readline(), rfile.readline(), conn.fileno() >= 0]
    wfile.close()                         # the last file closes the socket: FIN
    w.settle(cli)
    return lines + [rfile.readline(), conn.fileno(), outcome(cli.makefile, "rx"),
                    outcome(cli.makefile, "r", 0), rfile.mode, type(cli.makefile("rwb")).__name__]


def names_after_the_end(w):
    srv, cli, conn = connected(w)
    conn.close()
    w.settle(cli)
    after_fin = [outcome(cli.getpeername), outcome(cli.getsockname)]
    other_srv, other, other_conn = connected(w)
    other_conn.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_LINGER, LINGER_0)
    other_conn.close()
    w.settle(other)
    return after_fin + [outcome(other.getpeername), outcome(other.recv, 1),
                        outcome(other.getpeername)]


def data_after_read_shutdown(w):
    srv, cli, conn = connected(w)
    conn.shutdown(pysocket.SHUT_RD)
    cli.sendall(b"to a reader who stopped")
    w.settle(cli)
    more = outcome(cli.send, b"more")
    w.settle(conn)
    return [more, outcome(conn.recv, 100), outcome(conn.recv, 100, pysocket.MSG_DONTWAIT),
            outcome(conn.send, b"back")]


def waitall_after_read_shutdown(w):
    """MSG_WAITALL on a socket shut for reading returns what is there (Linux's tcp_recvmsg
    stops at RCV_SHUTDOWN), and then b''."""
    srv, cli, conn = connected(w)
    conn.shutdown(pysocket.SHUT_RD)
    cli.sendall(b"e")
    w.settle(conn)
    return [outcome(conn.recv, 100, pysocket.MSG_WAITALL), outcome(conn.recv, 100, pysocket.MSG_WAITALL)]


def refused_twice_then_served(w):
    s = w.socket()
    addr = w.closed_port()
    first = outcome(s.connect, addr)
    second = outcome(s.connect, addr)
    return [first, second, outcome(s.getpeername)]


def context_manager_and_double_close(w):
    srv, cli, conn = connected(w)
    with conn:
        conn.sendall(b"bye")
    w.settle(cli)
    return [conn.fileno(), outcome(conn.close), cli.recv(10), cli.recv(10),
            outcome(conn.sendall, b"x"), outcome(conn.shutdown, pysocket.SHUT_RDWR)]


def send_a_file(w):
    srv, cli, conn = connected(w)
    f = io.BytesIO(bytes(range(256)) * 40)
    sent = [cli.sendfile(f, 5, 3000), f.tell(), outcome(cli.sendfile, f, 0, 0),
            outcome(cli.sendfile, f, 0, 1.5), outcome(cli.sendfile, f, -1)]
    w.settle(conn)
    got = b""
    while len(got) < 3000:
        got += conn.recv(4096)
    cli.setblocking(False)
    return sent + [got == f.getvalue()[5:3005], outcome(cli.sendfile, f)]


def accepted_sockets_block(w):
    # Python makes accepted sockets blocking (the default timeout) whatever the listener's mode
    srv = serving(w)
    srv.settimeout(5)
    w.socket().connect(w.server_addr(srv))
    first, _ = srv.accept()
    srv.setblocking(False)
    w.socket().connect(w.server_addr(srv))
    w.settle(srv)
    second, _ = srv.accept()
    return [first.gettimeout(), second.gettimeout(), second.getblocking()]


def nonblocking_type_flag(w):
    if isinstance(w, Kernel):
        s = pysocket.socket(pysocket.AF_INET, pysocket.SOCK_STREAM | pysocket.SOCK_NONBLOCK)
        w.opened.append(s)
    else:
        s = w.hosts["client"].socket(pysocket.AF_INET, pysocket.SOCK_STREAM | pysocket.SOCK_NONBLOCK)
    return [s.gettimeout(), s.type == pysocket.SOCK_STREAM, outcome(s.connect, w.closed_port())]


def listener_misuse(w):
    srv = serving(w)
    return [outcome(srv.connect, w.server_addr(srv)), outcome(srv.send, b"x"),
            outcome(srv.recv, 1), outcome(srv.listen, 3), srv.getsockname()[0] in ("0.0.0.0", "127.0.0.1")]


def shutdown_again(w):
    srv, cli, conn = connected(w)
    first = [outcome(cli.shutdown, pysocket.SHUT_WR), outcome(cli.shutdown, pysocket.SHUT_WR)]
    w.settle(conn)
    conn.sendall(b"late reply")
    w.settle(cli)
    both = outcome(cli.shutdown, pysocket.SHUT_RDWR)
    return first + [conn.recv(10), both, outcome(cli.recv, 100), outcome(cli.send, b"x"),
                    outcome(conn.shutdown, pysocket.SHUT_RDWR), outcome(conn.recv, 10)]


def reset_while_reading_sent_data(w):
    srv, cli, conn = connected(w)
    conn.sendall(b"unread")
    w.settle(cli)
    cli.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_LINGER, LINGER_0)
    cli.close()
    w.settle(conn)
    return [outcome(conn.sendall, b"x" * 10), outcome(conn.recv, 10), outcome(conn.sendall, b"y")]


def attributes(w):
    s = w.socket()

    def assign(name, value):
        try:
            setattr(s, name, value)
        except AttributeError:
            return "read-only"
        return "assigned"

    return [repr(s.family), repr(s.type), s.proto, assign("family", 10), assign("type", 2),
            assign("proto", 17), assign("not_a_socket_attribute", 1)]


def address_forms(w):
    srv = serving(w)
    name, port = w.server_addr(srv)
    cli = w.socket()
    first = outcome(cli.connect, (name.encode(), port))      # a host name as bytes
    srv.accept()
    other = w.socket()
    return [first, outcome(other.connect, (name, float(port))), outcome(other.connect, (3, port)),
            outcome(other.connect, (bytearray(name.encode()), True)),   # port True is port 1
            outcome(cli.connect, (name, port))]


def reset_after_the_peer_shut_writing(w):
    srv, cli, conn = connected(w)
    cli.shutdown(pysocket.SHUT_WR)
    w.settle(conn)
    cli.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_LINGER, LINGER_0)
    cli.close()                                              # RST to conn, in CLOSE-WAIT
    w.settle(conn)
    return [outcome(conn.recv, 10), outcome(conn.recv, 10), outcome(conn.send, b"x"),
            outcome(conn.send, b"x"), outcome(conn.recv, 10)]


def reset_then_send_in_close_wait(w):
    srv, cli, conn = connected(w)
    cli.shutdown(pysocket.SHUT_WR)
    w.settle(conn)
    cli.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_LINGER, LINGER_0)
    cli.close()
    w.settle(conn)
    return [outcome(conn.send, b"x"), outcome(conn.recv, 10), outcome(conn.send, b"x")]


def connect_after_a_reset(w):
    srv, cli, conn = connected(w)
    conn.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_LINGER, LINGER_0)
    conn.close()
    w.settle(cli)
    return [outcome(cli.recv, 10), outcome(cli.connect, w.server_addr(srv)),
            outcome(cli.connect_ex, w.server_addr(srv)), outcome(cli.recv, 10)]


def nonblocking_connect_reset_before_asked_again(w):
    srv = serving(w)
    cli = w.socket()
    cli.setblocking(False)
    addr = w.server_addr(srv)
    first = outcome(cli.connect, addr)                       # EINPROGRESS
    w.settle(srv)
    conn, _ = srv.accept()
    conn.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_LINGER, LINGER_0)
    conn.close()
    w.settle(cli)
    # the reset is connect's error; then the socket is unconnected and may connect afresh
    return [first, outcome(cli.connect, addr), outcome(cli.connect, addr)]


def connect_after_both_closed(w):
    srv, cli, conn = connected(w)
    cli.shutdown(pysocket.SHUT_WR)
    conn.close()
    w.settle(cli)
    return [outcome(cli.recv, 10), outcome(cli.connect, w.server_addr(srv))]


# -- found by a differential fuzzer (random socket programs in both worlds) -----------------


def dontwait_on_a_socket_with_a_timeout(w):
    srv, cli, conn = connected(w)
    conn.settimeout(0.05)                # CPython waits the timeout out, MSG_DONTWAIT or not
    first = outcome(conn.recv, 10, pysocket.MSG_DONTWAIT)
    conn.settimeout(None)                # blocking: the flag makes it EAGAIN at once
    return [first, outcome(conn.recv, 10, pysocket.MSG_DONTWAIT)]


def recv0_closed(w):
    s = w.socket()
    a = outcome(s.recv, 0)
    s.close()
    return [a, outcome(s.recv, 0), outcome(s.recv, 0, pysocket.MSG_PEEK)]


def data_after_shut_rd_in_fin_wait(w):
    srv, cli, conn = connected(w)
    cli.shutdown(pysocket.SHUT_RDWR)          # FIN sent, reading shut
    w.settle(conn)
    conn.sendall(b"late")              # data to a FIN-WAIT-2 socket shut for reading
    w.settle(cli)
    return [outcome(cli.recv, 10), outcome(cli.getpeername), outcome(cli.shutdown, pysocket.SHUT_RDWR),
            outcome(cli.getsockopt, pysocket.SOL_SOCKET, pysocket.SO_ERROR),
            outcome(conn.send, b"x"), outcome(conn.recv, 10)]


def data_after_shut_rd_then_wr(w):
    srv, cli, conn = connected(w)
    cli.shutdown(pysocket.SHUT_RD)
    cli.shutdown(pysocket.SHUT_WR)
    w.settle(conn)
    conn.sendall(b"late")
    w.settle(cli)
    return [outcome(cli.recv, 10), outcome(conn.send, b"x"), outcome(conn.recv, 10)]


def reset_after_shut_rd_in_close_wait(w):
    srv, cli, conn = connected(w)
    cli.shutdown(pysocket.SHUT_RD)
    conn.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_LINGER, LINGER_0)
    conn.close()                        # RST to cli
    w.settle(cli)
    return [outcome(cli.recv, 10), outcome(cli.recv, 10), outcome(cli.send, b"x")]


def reset_after_fin_then_shutdown_and_getpeername(w):
    srv, cli, conn = connected(w)
    conn.close()                        # FIN: cli in CLOSE-WAIT
    w.settle(cli)
    cli.send(b"x")                      # conn is gone: RST back
    w.settle(cli)
    return [outcome(cli.getpeername), outcome(cli.shutdown, pysocket.SHUT_RD),
            outcome(cli.shutdown, pysocket.SHUT_WR), outcome(cli.recv, 10)]


def names_after_both_fins(w):
    srv, cli, conn = connected(w)
    cli.shutdown(pysocket.SHUT_WR)
    w.settle(conn)
    conn.close()                        # cli: FIN-WAIT-2 -> TIME-WAIT while still open
    w.settle(cli)
    return [outcome(cli.recv, 10), outcome(cli.getpeername), outcome(cli.shutdown, pysocket.SHUT_RD),
            outcome(cli.shutdown, pysocket.SHUT_WR), outcome(cli.send, b"x"),
            outcome(cli.connect, w.server_addr(srv))]


def modes_after_close(w):
    s = w.socket()
    s.close()
    a = [outcome(s.setblocking, False), s.gettimeout()]
    b = [outcome(s.settimeout, 2.5), s.gettimeout()]
    return a + b + [outcome(s.getblocking)]


def recv_after_a_failed_shutdown(w):
    s = w.socket()                                        # never connected
    t = w.socket()
    addr = w.closed_port()
    refused = outcome(t.connect, addr)
    return [outcome(s.shutdown, pysocket.SHUT_RD), outcome(s.recv, 1),
            refused, outcome(t.shutdown, pysocket.SHUT_RD), outcome(t.recv, 1),
            outcome(t.recv, 1, pysocket.MSG_DONTWAIT)]


def recv_after_a_failed_shutdown_wr(w):
    s = w.socket()
    return [outcome(s.shutdown, pysocket.SHUT_WR), outcome(s.recv, 1, pysocket.MSG_DONTWAIT), outcome(s.send, b"x")]


def shutdown_after_nonblocking_connect(w):
    srv = serving(w)
    cli = w.socket()
    cli.setblocking(False)
    first = outcome(cli.connect, w.server_addr(srv))     # EINPROGRESS
    w.settle(srv)                                         # established meanwhile
    return [first, outcome(cli.shutdown, pysocket.SHUT_RD), outcome(cli.connect, w.server_addr(srv)),
            outcome(cli.connect, w.server_addr(srv))]


def shutdown_after_refused_nonblocking_connect(w):
    cli = w.socket()
    cli.setblocking(False)
    addr = w.closed_port()
    first = outcome(cli.connect, addr)                    # EINPROGRESS
    w.settle(cli)                                         # refused meanwhile
    return [first, outcome(cli.shutdown, pysocket.SHUT_RDWR), outcome(cli.connect, addr),
            outcome(cli.connect, addr), outcome(cli.getsockopt, pysocket.SOL_SOCKET, pysocket.SO_ERROR)]


def connect_after_a_failed_shutdown(w):
    srv = serving(w)
    s = w.socket()
    first = outcome(s.shutdown, pysocket.SHUT_RDWR)
    c = outcome(s.connect, w.server_addr(srv))
    conn, _ = srv.accept()
    w.settle(conn)
    r = [first, c, outcome(s.send, b"x")]
    w.settle(conn)
    r += [outcome(conn.recv, 10, pysocket.MSG_DONTWAIT), outcome(conn.send, b"y")]
    w.settle(s)
    s.setblocking(False)
    return r + [outcome(s.recv, 10)]


def options_as_bytes_and_mode_arguments(w):
    """getsockopt with a buffer length gives the option's bytes; setblocking reads its
    argument as the running Python does (a C long on 3.11, any truth from 3.12)."""
    srv, cli, conn = connected(w)
    SOL, TCP = pysocket.SOL_SOCKET, pysocket.IPPROTO_TCP
    cli.setsockopt(SOL, pysocket.SO_LINGER, struct.pack("ii", 1, 7))
    asked = [(SOL, pysocket.SO_ERROR, 4), (SOL, pysocket.SO_ERROR, 2), (SOL, pysocket.SO_ERROR, 8),
             (SOL, pysocket.SO_TYPE, 4), (SOL, pysocket.SO_LINGER, 8), (SOL, pysocket.SO_LINGER, 4),
             (SOL, pysocket.SO_LINGER, 0), (SOL, pysocket.SO_REUSEADDR, 4),
             (SOL, pysocket.SO_ERROR, 1025), (SOL, pysocket.SO_ERROR, -1), (SOL, pysocket.SO_ERROR, 4.0)]
    seen = [outcome(cli.getsockopt, *a) for a in asked]
    cli.setsockopt(TCP, pysocket.TCP_NODELAY, 1)
    seen.append(outcome(cli.getsockopt, TCP, pysocket.TCP_NODELAY, 4))
    for flag in (None, "yes", 1.5, [], 2**70, 0, 2, True):
        seen += [outcome(cli.setblocking, flag), cli.getblocking()]
    return seen


SCENARIOS = [shutdown_after_nonblocking_connect, shutdown_after_refused_nonblocking_connect,
             connect_after_a_failed_shutdown, dontwait_on_a_socket_with_a_timeout, recv0_closed, data_after_shut_rd_in_fin_wait,
             data_after_shut_rd_then_wr, reset_after_shut_rd_in_close_wait,
             reset_after_fin_then_shutdown_and_getpeername, names_after_both_fins,
             modes_after_close, recv_after_a_failed_shutdown, recv_after_a_failed_shutdown_wr,
             address_forms, reset_after_the_peer_shut_writing, reset_then_send_in_close_wait,
             connect_after_a_reset, nonblocking_connect_reset_before_asked_again,
             connect_after_both_closed, attributes, unconnected_calls, closed_socket_calls, refused, bad_arguments, address_in_use,
             connected_misuse, echo_and_close, half_close, reset_by_linger,
             reset_by_unread_data, reset_in_close_wait, non_blocking, timeouts, more_misuse,
             refused_without_blocking, write_to_a_closed_peer, read_shutdown, listener_shut_for_reading,
             listener_closed, receive_flags, send_flags, files,
             names_after_the_end, data_after_read_shutdown, refused_twice_then_served,
             context_manager_and_double_close, send_a_file, accepted_sockets_block,
             nonblocking_type_flag, listener_misuse, shutdown_again,
             reset_while_reading_sent_data, options_as_bytes_and_mode_arguments,
             waitall_after_read_shutdown]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
def test_same_as_the_kernel(scenario):
    kernel = Kernel()
    try:
        expected = scenario(kernel)
    finally:
        kernel.close_all()
    assert scenario(Sim()) == expected


# -- the drop-in module: the same program with `socket` and with `tcpsim.socket` --------------


def drop_in_program(socket):
    """Runs as-is on the real module and, in a simulated process, on tcpsim.socket."""
    seen = [socket.error is OSError, socket.timeout is TimeoutError,
            socket.gethostbyname("localhost"),
            socket.getaddrinfo(None, 0, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                               socket.AI_PASSIVE)[0][4][0]]
    with socket.create_server(("", 0)) as srv:
        seen.append(srv.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0)
        port = srv.getsockname()[1]
        host = socket.gethostname()
        socket.setdefaulttimeout(7)
        try:
            with socket.create_connection((host, port)) as cli:
                conn, _ = srv.accept()
                seen += [cli.gettimeout(), conn.gettimeout()]
                cli.sendall(b"ping")
                seen.append(conn.recv(10))
                conn.close()
        finally:
            socket.setdefaulttimeout(None)
    try:
        socket.create_connection((host, port))
    except OSError as exc:
        seen.append(type(exc).__name__)
    return seen


def test_the_drop_in_module_runs_a_program_as_the_socket_module_does():
    expected = drop_in_program(pysocket)
    net = Network(seed=5)
    net.add_host("server")
    call = net.hosts["server"].spawn(drop_in_program, tcpsim_socket)
    net.run()
    assert call.result == expected
