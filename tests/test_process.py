"""Simulated processes: ordinary blocking socket code, one process at a time."""

import pytest

import tcpsim
import tcpsim.socket as socket
from support import established, pair
from tcpsim import Deadlock, State


# The echo server and client of Python's socket documentation, with
# `import tcpsim.socket as socket` as the only change (and a loop to serve two).
def echo_server(clients):
    HOST = ''                 # Symbolic name meaning all available interfaces
    PORT = 50007              # Arbitrary non-privileged port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, PORT))
        s.listen(1)
        for _ in range(clients):
            conn, addr = s.accept()
            with conn:
                print('Connected by', addr)
                while True:
                    data = conn.recv(1024)
                    if not data: break
                    conn.sendall(data)


def echo_client(message):
    HOST = 'server'           # The remote host
    PORT = 50007              # The same port as used by the server
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.connect((HOST, PORT))
        s.sendall(message)
        data = s.recv(1024)
    print('Received', repr(data))
    return data


def test_python_docs_echo_server_serves_two_clients(capsys):
    net, client, server = pair()
    other = net.add_host("other")
    srv = server.spawn(echo_server, 2)
    a = client.spawn(echo_client, b"Hello, world")
    b = other.spawn(echo_client, b"Hello again")
    net.run()
    assert a.result == b"Hello, world" and b.result == b"Hello again"
    assert srv.done and srv.exception is None
    out = capsys.readouterr().out
    assert "Connected by ('10.0.0.1', 32768)" in out and "Connected by ('10.0.0.3', 32768)" in out


def test_spawn_runs_until_first_block():
    net, client, server = pair()
    s = server.socket()
    s.bind(("", 80))
    s.listen()
    call = server.spawn(s.accept)
    assert call.blocked and not call.done
    assert call.waiting_for == "accept(): LISTEN, waiting for a connection"
    c = client.socket()
    c.connect(("server", 80))
    net.run(until=1)
    assert call.done and not call.blocked
    conn, addr = call.result
    assert addr == c.getsockname()


def test_a_blocked_call_is_woken_by_the_arrival_and_runs_at_its_wake_up_event():
    net, c, conn = established()
    call = net.hosts["server"].spawn(conn.recv, 100)
    assert call.blocked and not call.woken
    c.send(b"aaa")
    arrival = net.step()
    assert arrival.kind == "arrival"
    assert call.blocked and call.woken and not call.done      # woken, not run yet
    assert call.waiting_for == "recv(): ESTABLISHED, waiting for data"
    assert net.step().kind == "wakeup"
    assert call.done and not call.woken and call.result == b"aaa"


def test_a_function_that_does_not_block_is_done_at_once():
    net, client, server = pair()
    call = client.spawn(lambda: 42)
    assert call.done and call.result == 42 and call.exception is None


def test_exceptions_are_the_calls_result():
    net, client, server = pair()
    call = client.spawn(lambda: client.socket().connect(("server", 80)))
    net.run()
    assert isinstance(call.exception, ConnectionRefusedError)
    with pytest.raises(ConnectionRefusedError):
        call.result


def test_result_before_done_says_what_it_waits_for():
    net, client, server = pair()
    s = server.socket()
    s.listen()
    call = server.spawn(s.accept)
    with pytest.raises(RuntimeError, match="waiting for a connection"):
        call.result


def test_same_seed_same_interleaving():
    def run():
        net, client, server = pair(seed=5)
        server.spawn(echo_server, 2)
        client.spawn(echo_client, b"one")
        client.spawn(echo_client, b"two")
        net.run()
        return net.trace.lines()

    assert run() == run()


def test_drop_in_module_outside_a_process_says_how_to_use_it():
    with pytest.raises(RuntimeError, match="host.spawn"):
        socket.socket()


def test_gethostname_and_create_connection_inside_a_process():
    net, client, server = pair()
    srv = server.socket()
    srv.bind(("", 7))
    srv.listen()

    def proc():
        s = socket.create_connection(("server", 7))
        return socket.gethostname(), s.getpeername()

    call = client.spawn(proc)
    net.run(until=1)
    assert call.result == ("client", ("10.0.0.2", 7))


def test_deadlock_outside_a_process():
    net, client, server = pair()
    s = server.socket()
    s.listen()
    with pytest.raises(Deadlock, match=r"accept\(\): LISTEN, waiting for a connection"):
        s.accept()


def test_settimeout_inside_a_process():
    net, client, server = pair()
    s = server.socket()
    s.listen()
    s.settimeout(3)
    call = server.spawn(s.accept)
    net.run()
    assert isinstance(call.exception, TimeoutError) and net.now == pytest.approx(3)


def test_close_ends_blocked_processes():
    net, client, server = pair()
    s = server.socket()
    s.listen()
    call = server.spawn(s.accept)
    net.close()
    assert call.done and isinstance(call.exception, Deadlock)


def test_a_peer_that_never_reads_is_a_deadlock_not_a_hang():
    from support import established
    from tcpsim import Config

    net, cli, conn = established(config=Config(recv_buffer=1000, send_buffer=1000))
    with pytest.raises(Deadlock, match="waiting for send buffer space"):
        cli.sendall(b"x" * 10_000)
    assert net.now > 86_400


def first_listener(port):
    """Try each address getaddrinfo offers for a passive socket, as portable servers do."""
    for family, kind, proto, _, addr in socket.getaddrinfo(None, port, socket.AF_UNSPEC,
                                                           socket.SOCK_STREAM, 0, socket.AI_PASSIVE):
        try:
            s = socket.socket(family, kind, proto)
        except OSError:
            continue
        s.bind(addr)
        s.listen(1)
        return s
    raise OSError("no address to listen on")


def test_servers_and_clients_that_go_through_getaddrinfo():
    net, client, server = pair()

    def serve():
        with first_listener("8080") as s:
            conn, _ = s.accept()
            with conn, conn.makefile("rwb") as f:
                f.write(f.readline().upper())
                f.flush()

    def ask():
        family, kind, proto, _, addr = socket.getaddrinfo("server", 8080)[0]
        with socket.socket(family, kind, proto) as s:
            s.connect(addr)
            s.sendall(b"line one\n")
            return addr, s.recv(100)

    srv = server.spawn(serve)
    call = client.spawn(ask)
    net.run()
    assert call.result == (("10.0.0.2", 8080), b"LINE ONE\n")
    assert srv.done and srv.exception is None


def test_getaddrinfo_errors_are_pythons():
    net, client, server = pair()

    def lookups():
        out = []
        for args in [("nosuch", 80), ("server", 80, socket.AF_INET6), ("server", "no-such-service"),
                     ("server", 1.5)]:
            try:
                socket.getaddrinfo(*args)
            except Exception as exc:
                out.append((type(exc).__name__, getattr(exc, "errno", None)))
        out.append(socket.getaddrinfo(b"10.0.0.2", "http")[0][4])
        out.append(socket.getaddrinfo("10.9.9.9", None, type=socket.SOCK_DGRAM)[0][1:3])
        return out

    call = client.spawn(lookups)
    import socket as real
    assert call.result == [("gaierror", real.EAI_NONAME), ("gaierror", real.EAI_FAMILY),
                           ("gaierror", real.EAI_SERVICE), ("OSError", None),
                           ("10.0.0.2", 80), (real.SOCK_DGRAM, real.IPPROTO_UDP)]


def test_create_connection_timeout_none_means_blocking_even_with_a_default():
    net, client, server = pair()
    srv = server.socket()
    srv.bind(("", 7))
    srv.listen()

    def proc():
        socket.setdefaulttimeout(3)
        try:
            return (socket.create_connection(("server", 7), None).gettimeout(),
                    socket.create_connection(("server", 7)).gettimeout())
        finally:
            socket.setdefaulttimeout(None)

    call = client.spawn(proc)
    net.run(until=1)
    assert call.result == (None, 3.0)
