"""The socket API over the simulated network: textbook scenarios and SPEC's error table.

Expected values come from RFC 9293's figures (handshake, close) and from what
Python's socket module raises on Linux.
"""

import errno
import socket as pysocket
import struct

import pytest

import tcpsim
from support import established, flags_of, pair, read_all
from tcpsim import Config, Deadlock, State

S = State


def server_listening(seed=0, config=None, backlog=5, port=80):
    net, client, server = pair(seed, config)
    srv = server.socket()
    srv.bind(("", port))
    srv.listen(backlog)
    return net, client, server, srv


class TestHandshake:
    def test_textbook_three_way_handshake(self):
        net, client, server, srv = server_listening()
        cli = client.socket()
        call = client.spawn(cli.connect, ("server", 80))
        acc = server.spawn(srv.accept)
        assert call.blocked and acc.blocked
        assert call.waiting_for == "connect(): SYN-SENT, waiting for SYN,ACK"
        # SYN J arrives at the server: it sits in SYN-RECEIVED
        net.step()
        assert [str(i.state) for i in server.connections()] == ["LISTEN", "SYN-RECEIVED"]
        # SYN,ACK K arrives at the client: connect() returns now, accept() does not
        while not call.done:
            net.step()
        assert acc.blocked and not acc.done
        assert [i.state for i in server.connections()][1] is S.SYN_RECEIVED
        # ACK K+1 arrives at the server: accept() returns
        while not acc.done:
            net.step()
        conn, addr = acc.result
        assert addr == ("10.0.0.1", cli.getsockname()[1])
        syn, synack, ack = net.trace.segments()
        j, k = syn.segment.seq, synack.segment.seq
        assert flags_of([syn, synack, ack]) == ["SYN", "SYN,ACK", "ACK"]
        assert synack.segment.ack == (j + 1) % 2**32                       # SYN K, ACK J+1
        assert (ack.segment.seq, ack.segment.ack) == ((j + 1) % 2**32, (k + 1) % 2**32)
        assert cli.history == [S.CLOSED, S.SYN_SENT, S.ESTABLISHED]
        assert conn.history == [S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED]

    def test_connect_returns_after_one_rtt_and_accept_after_one_and_a_half(self):
        net, client, server, srv = server_listening()
        cli = client.socket()
        cli.connect(("server", 80))
        assert net.now == pytest.approx(0.02)
        srv.accept()
        assert net.now == pytest.approx(0.03)

    def test_host_names_and_addresses_both_resolve(self):
        net, client, server, srv = server_listening()
        a = client.socket()
        a.connect(("10.0.0.2", 80))
        assert a.getpeername() == ("10.0.0.2", 80)

    def test_simultaneous_open(self):
        net, client, server = pair()
        a, b = client.socket(), server.socket()
        a.bind(("", 1000))
        b.bind(("", 2000))
        ca = client.spawn(a.connect, ("server", 2000))
        cb = server.spawn(b.connect, ("client", 1000))
        net.run()
        assert ca.done and cb.done and ca.exception is None and cb.exception is None
        for s in (a, b):
            assert s.history == [S.CLOSED, S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED]
        a.sendall(b"ping")
        assert b.recv(10) == b"ping"

    def test_refused_connect(self):
        net, client, server = pair()
        cli = client.socket()
        with pytest.raises(ConnectionRefusedError) as info:
            cli.connect(("server", 80))
        assert info.value.errno == errno.ECONNREFUSED
        syn, rst = net.trace.segments()
        assert flags_of([rst]) == ["RST,ACK"]
        assert (rst.segment.seq, rst.segment.ack) == (0, (syn.segment.seq + 1) % 2**32)

    def test_connect_ex_returns_errno(self):
        net, client, server, srv = server_listening()
        assert client.socket().connect_ex(("server", 81)) == errno.ECONNREFUSED
        assert client.socket().connect_ex(("server", 80)) == 0

    def test_all_syns_lost_backs_off_then_times_out(self):
        net, client, server, srv = server_listening()
        net.set_link("client", "server", loss=1.0)
        cli = client.socket()
        with pytest.raises(TimeoutError) as info:
            cli.connect(("server", 80))
        assert info.value.errno == errno.ETIMEDOUT
        sent = [p for p in net.trace.segments() if p.src == "client"]
        assert len(sent) == 1 + Config().syn_retries
        assert len({p.segment.seq for p in sent}) == 1
        times = [p.sent_at for p in sent]
        # 1, 2, 4, 8, 16, 32 s apart (RFC 6298 5.5), then the last wait (capped at rto_max)
        assert [round(b - a, 6) for a, b in zip(times, times[1:])] == [1, 2, 4, 8, 16, 32]
        assert net.now == pytest.approx(63 + 60)

    def test_lost_syn_ack_is_recovered(self):
        net, client, server, srv = server_listening()
        cli = client.socket()
        call = client.spawn(cli.connect, ("server", 80))
        net.step()                                   # SYN arrives, SYN,ACK now in flight
        (synack,) = net.in_flight
        net.drop(synack.id)
        net.run(until=5)
        assert call.done and call.exception is None
        conn, _ = srv.accept()
        cli.sendall(b"x")
        assert conn.recv(1) == b"x"

    def test_lost_final_ack_first_data_segment_completes_handshake(self):
        net, client, server, srv = server_listening()
        cli = client.socket()
        client.spawn(cli.connect, ("server", 80))
        net.step()
        net.step()                                   # SYN,ACK arrives: the ACK is in flight
        (ack,) = net.in_flight
        assert ack.segment.flags == tcpsim.Flags.ACK
        net.drop(ack.id)
        cli.send(b"hi")                              # the data segment carries the ACK
        conn, _ = srv.accept()
        assert conn.recv(10) == b"hi"
        assert conn.history == [S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED]

    def test_data_sent_before_accept_is_delivered_after_it(self):
        net, client, server, srv = server_listening()
        cli = client.socket()
        cli.connect(("server", 80))
        cli.sendall(b"early")
        net.run(until=1)
        conn, _ = srv.accept()
        assert conn.recv(100) == b"early"

    def test_full_accept_queue_drops_syns_and_the_client_gets_in_later(self):
        net, client, server, srv = server_listening(backlog=1)
        first, second = client.socket(), client.socket()
        first.connect(("server", 80))
        call = client.spawn(second.connect, ("server", 80))
        net.run(until=0.5)
        assert call.blocked and server.stats["dropped_syn_backlog"] == 1
        srv.accept()                                 # room again
        net.run(until=5)
        assert call.done and call.exception is None  # the retransmitted SYN got in
        assert len(srv.accept()) == 2

    def test_linux_preset_queue_holds_backlog_plus_one(self):
        net, client, server, srv = server_listening(config=Config.linux(), backlog=1)
        socks = [client.socket() for _ in range(3)]
        calls = [client.spawn(s.connect, ("server", 80)) for s in socks]
        net.run(until=0.5)
        assert [c.done for c in calls] == [True, True, False]


class TestClose:
    def test_four_way_close_with_exact_acks(self):
        net, cli, conn = established()
        cli.close()
        assert conn.recv(10) == b""
        conn.close()
        net.run(until=net.now + 1)
        fin1, ack1, fin2, ack2 = net.trace.segments()[3:]
        m, n = fin1.segment.seq, fin2.segment.seq
        assert flags_of([fin1, ack1, fin2, ack2]) == ["FIN,ACK", "ACK", "FIN,ACK", "ACK"]
        assert ack1.segment.ack == (m + 1) % 2**32                       # FIN M, ACK M+1
        assert ack2.segment.ack == (n + 1) % 2**32                       # FIN N, ACK N+1
        assert cli.history == [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2,
                               S.TIME_WAIT]
        assert conn.history == [S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK,
                                S.CLOSED]

    def test_shutting_reading_wakes_a_blocked_recv_with_end_of_stream(self):
        # as on Linux: another thread's shutdown(SHUT_RD) makes a blocked recv return b""
        net, cli, conn = established()
        reader = conn.host.spawn(conn.recv, 10)
        assert reader.blocked
        conn.shutdown(tcpsim.SHUT_RD)
        net.run(until=net.now + 1)
        assert reader.done and reader.result == b""

    def test_time_wait_lasts_exactly_2msl(self):
        net, cli, conn = established(config=Config(msl=30.0))
        cli.close()
        conn.recv(10)
        conn.close()
        net.run(until=net.now + 1)
        entered = next(r.time for r in net.trace.state_changes() if r.new is S.TIME_WAIT)
        net.run()
        left = next(r.time for r in net.trace.state_changes()
                    if r.old is S.TIME_WAIT and r.new is S.CLOSED)
        assert left - entered == 60_000_000                              # 2 * MSL, in ticks
        assert cli.state is S.CLOSED
        assert client_conns(net) == []

    def test_orphan_in_time_wait_is_listed_by_connections(self):
        net, cli, conn = established()
        cli.close()
        conn.recv(1)
        conn.close()
        net.run(until=net.now + 1)
        (info,) = client_conns(net)
        assert info.state is S.TIME_WAIT and cli.fileno() == -1

    def test_simultaneous_close(self):
        net, cli, conn = established()
        cli.close()
        conn.close()
        net.run()
        for s in (cli, conn):
            assert s.history[-4:] == [S.FIN_WAIT_1, S.CLOSING, S.TIME_WAIT, S.CLOSED]

    def test_half_close(self):
        net, cli, conn = established()
        cli.sendall(b"request")
        cli.shutdown(tcpsim.SHUT_WR)
        assert read_all(conn) == b"request"                              # then EOF
        conn.sendall(b"reply after EOF")
        assert cli.recv(100) == b"reply after EOF"
        with pytest.raises(BrokenPipeError):
            cli.send(b"more")
        assert cli.state is S.FIN_WAIT_2 and conn.state is S.CLOSE_WAIT

    def test_lost_fin_is_recovered(self):
        net, cli, conn = established()
        cli.close()
        (fin,) = net.in_flight
        net.drop(fin.id)
        assert conn.recv(10) == b""                                      # after the retransmission
        assert net.now > 1.0

    def test_close_with_unread_data_sends_rst(self):
        net, cli, conn = established()
        cli.sendall(b"unread")
        net.run(until=net.now + 1)
        conn.close()
        rst = net.trace.segments()[-1]
        assert rst.segment.flags & tcpsim.Flags.RST
        with pytest.raises(ConnectionResetError):
            cli.recv(10)

    def test_so_linger_zero_aborts_with_rst(self):
        net, cli, conn = established()
        cli.setsockopt(tcpsim.SOL_SOCKET, tcpsim.SO_LINGER, struct.pack("ii", 1, 0))
        cli.close()
        assert flags_of(net.trace.segments()[-1:]) == ["RST"]
        assert cli.state is S.CLOSED
        with pytest.raises(ConnectionResetError) as info:
            conn.recv(10)
        assert info.value.errno == errno.ECONNRESET
        assert conn.recv(10) == b""                   # reported once, then end of stream
        with pytest.raises(BrokenPipeError):
            conn.send(b"x")

    def test_abort(self):
        net, cli, conn = established()
        cli.abort()
        assert flags_of(net.trace.segments()[-1:]) == ["RST"]
        assert cli.state is S.CLOSED and cli.fileno() == -1
        net.run(until=net.now + 1)                        # the RST arrives
        with pytest.raises(ConnectionResetError):
            conn.sendall(b"x")

    def test_reset_in_close_wait_is_broken_pipe(self):
        net, cli, conn = established()
        cli.shutdown(tcpsim.SHUT_WR)
        assert conn.recv(1) == b""
        cli.abort()
        net.run(until=net.now + 1)
        with pytest.raises(BrokenPipeError):
            conn.send(b"x")


def client_conns(net):
    return net.hosts["client"].connections()


class TestRfc5961:
    def test_out_of_window_rst_is_dropped_in_window_gets_challenge_exact_resets(self):
        net, cli, conn = established()
        info = net.hosts["server"].connections()[1]
        lport, rport = info.local[1], info.remote[1]

        def rst(seq):
            return tcpsim.Segment(src_port=rport, dst_port=lport, seq=seq % 2**32, ack=0,
                                  flags=tcpsim.Flags.RST, window=0)

        before = len(net.trace.segments())
        net.inject("client", "server", rst(info.rcv_nxt + 10**6))
        net.run(until=net.now + 1)
        assert conn.state is S.ESTABLISHED and len(net.trace.segments()) == before + 1
        net.inject("client", "server", rst(info.rcv_nxt + 100))
        net.run(until=net.now + 1)
        challenge = net.trace.segments()[-1]
        assert conn.state is S.ESTABLISHED
        assert challenge.src == "server" and challenge.segment.flags == tcpsim.Flags.ACK
        assert (challenge.segment.seq, challenge.segment.ack) == (info.snd_nxt, info.rcv_nxt)
        net.inject("client", "server", rst(info.rcv_nxt))
        net.run(until=net.now + 1)
        assert conn.state is S.CLOSED

    def test_syn_on_established_gets_challenge_ack(self):
        net, cli, conn = established()
        info = net.hosts["server"].connections()[1]
        net.inject("client", "server", tcpsim.Segment(
            src_port=info.remote[1], dst_port=info.local[1], seq=12345, ack=0,
            flags=tcpsim.Flags.SYN, window=1000))
        net.run(until=net.now + 1)
        last = net.trace.segments()[-1]
        assert last.segment.flags == tcpsim.Flags.ACK and last.segment.ack == info.rcv_nxt
        assert conn.state is S.ESTABLISHED

    def test_ack_to_a_listener_gets_rst_with_seq_of_seg_ack(self):
        net, client, server, srv = server_listening()
        net.inject("client", "server", tcpsim.Segment(
            src_port=5555, dst_port=80, seq=1, ack=777, flags=tcpsim.Flags.ACK, window=1000))
        net.run()
        rst = net.trace.segments()[-1]
        assert rst.src == "server" and rst.segment.flags == tcpsim.Flags.RST
        assert rst.segment.seq == 777 and srv.state is S.LISTEN


class TestData:
    def test_zero_window_probe_and_resume(self):
        net, cli, conn = established(config=Config(recv_buffer=2000, send_buffer=20000))
        data = bytes(range(256)) * 30
        call = net.hosts["client"].spawn(cli.sendall, data)
        net.run(until=20)
        probes = [p for p in net.trace.segments() if p.src == "client" and len(p.segment.payload) == 1]
        assert probes and all(p.segment.payload == data[2000:2001] for p in probes)
        assert conn.connection.rcv_wnd == 0
        assert read_all_n(conn, len(data)) == data
        assert call.done

    def test_send_blocks_while_the_send_buffer_is_full(self):
        net, cli, conn = established(config=Config(recv_buffer=1000, send_buffer=1000))
        cli.setblocking(False)
        assert cli.send(b"x" * 5000) == 1000
        net.run(until=net.now + 1)
        assert cli.send(b"y" * 5000) == 1000           # the peer's buffer took the first 1000
        net.run(until=net.now + 1)
        with pytest.raises(BlockingIOError) as info:
            cli.send(b"z")
        assert info.value.errno == errno.EAGAIN

    @pytest.mark.parametrize("fault", ["loss", "duplicate", "reorder", "corrupt", "all"])
    def test_bulk_both_ways_under_faults(self, fault):
        link = (dict(loss=0.05, duplicate=0.05, reorder=0.1, corrupt=0.05) if fault == "all"
                else {fault: 0.1})
        net, client, server = pair(seed=7)
        net.set_link("client", "server", **link)
        srv = server.socket()
        srv.bind(("", 80))
        srv.listen()
        up, down = bytes(i % 251 for i in range(100_000)), bytes(i % 241 for i in range(50_000))
        got = {}

        def serve():
            conn, _ = srv.accept()
            conn.sendall(down)
            conn.shutdown(tcpsim.SHUT_WR)
            got["server"] = read_all(conn)
            conn.close()

        def fetch():
            cli = client.socket()
            cli.connect(("server", 80))
            cli.sendall(up)
            cli.shutdown(tcpsim.SHUT_WR)
            got["client"] = read_all(cli)
            cli.close()

        a, b = server.spawn(serve), client.spawn(fetch)
        net.run()
        assert a.exception is None and b.exception is None
        assert got == {"server": up, "client": down}
        key = {"loss": "lost", "duplicate": "duplicated", "reorder": "reordered",
               "corrupt": "bad_checksum"}
        for name in key.values() if fault == "all" else [key[fault]]:
            assert net.stats[name] > 0

    def test_isn_near_the_top_behaves_like_isn_zero(self):
        def run(isn):
            net, cli, conn = established(config=Config(isn=isn))
            cli.sendall(b"a" * 5000)
            got = read_all_n(conn, 5000)
            cli.close()
            conn.recv(1)
            conn.close()
            net.run()
            shape = [(p.src, p.segment.flags, (p.segment.seq - isn) % 2**32,
                      (p.segment.ack - isn) % 2**32 if p.segment.flags & 16 else 0,
                      len(p.segment.payload)) for p in net.trace.segments()]
            return got, shape, cli.history

        assert run(0) == run(2**32 - 3)


def read_all_n(sock, n):
    out = b""
    while len(out) < n:
        out += sock.recv(65536)
    return out


class TestDeterminism:
    def test_same_seed_same_trace(self):
        def run(seed):
            net, cli, conn = established(seed=seed)
            net.set_link("client", "server", loss=0.2, reorder=0.2)
            cli.sendall(b"x" * 20000)
            read_all_n(conn, 20000)
            return net.trace.lines()

        assert run(3) == run(3)
        assert run(3) != run(4)

    def test_different_seeds_draw_different_isns(self):
        isns = set()
        for seed in range(5):
            net, cli, conn = established(seed=seed)
            isns.add(cli.connection.iss)
        assert len(isns) == 5

    def test_isn_callable_is_called_per_connection(self):
        counter = iter(range(1000, 10**6, 1000))
        net, cli, conn = established(config=Config(isn=lambda: next(counter)))
        assert (cli.connection.iss, conn.connection.iss) == (1000, 2000)


class TestErrors:
    def test_bind_to_port_in_use(self):
        net, client, server, srv = server_listening()
        other = server.socket()
        with pytest.raises(OSError) as info:
            other.bind(("", 80))
        assert info.value.errno == errno.EADDRINUSE

    def test_connect_on_connected_socket(self):
        net, cli, conn = established()
        with pytest.raises(OSError) as info:
            cli.connect(("server", 80))
        assert info.value.errno == errno.EISCONN

    def test_calls_on_unconnected_socket(self):
        net, client, server = pair()
        s = client.socket()
        for call in (lambda: s.recv(1), s.getpeername, lambda: s.shutdown(tcpsim.SHUT_WR)):
            with pytest.raises(OSError) as info:
                call()
            assert info.value.errno == errno.ENOTCONN
        with pytest.raises(BrokenPipeError):
            s.send(b"x")

    def test_listen_on_connected_socket_bad_how_negative_bufsize(self):
        net, cli, conn = established()
        with pytest.raises(OSError) as info:
            cli.listen(1)
        assert info.value.errno == errno.EINVAL
        with pytest.raises(OSError) as info:
            cli.shutdown(7)
        assert info.value.errno == errno.EINVAL
        with pytest.raises(ValueError):
            cli.recv(-1)

    def test_port_out_of_range(self):
        net, client, server = pair()
        with pytest.raises(OverflowError):
            client.socket().bind(("", 70000))
        with pytest.raises(OverflowError):
            client.socket().connect(("server", -1))

    def test_unknown_host_names_it(self):
        net, client, server = pair()
        with pytest.raises(OSError, match="nowhere"):
            client.socket().connect(("nowhere", 80))

    def test_closed_socket(self):
        net, cli, conn = established()
        cli.close()
        cli.close()                                       # a second close is a no-op
        assert cli.fileno() == -1
        assert cli.connect_ex(("server", 80)) == errno.EBADF
        for call in (lambda: cli.recv(1), lambda: cli.send(b"x"), cli.getsockname,
                     lambda: cli.connect(("server", 80))):
            with pytest.raises(OSError) as info:
                call()
            assert info.value.errno == errno.EBADF

    def test_send_after_shutdown(self):
        net, cli, conn = established()
        cli.shutdown(tcpsim.SHUT_WR)
        with pytest.raises(BrokenPipeError) as info:
            cli.sendall(b"x")
        assert info.value.errno == errno.EPIPE

    def test_data_retransmissions_exhausted(self):
        net, cli, conn = established(config=Config(retries=3))
        net.set_link("client", "server", loss=1.0)
        cli.sendall(b"x")
        with pytest.raises(TimeoutError) as info:
            cli.recv(10)
        assert info.value.errno == errno.ETIMEDOUT
        data = [p for p in net.trace.segments() if p.segment.payload]
        gaps = [round(b.sent_at - a.sent_at, 6) for a, b in zip(data, data[1:])]
        assert gaps == [1, 2, 4]

    def test_settimeout_elapses_in_virtual_time(self):
        net, cli, conn = established()
        cli.settimeout(2.5)
        start = net.now
        with pytest.raises(TimeoutError, match="timed out"):
            cli.recv(10)
        assert net.now - start == pytest.approx(2.5)
        assert cli.gettimeout() == 2.5
        with pytest.raises(ValueError):
            cli.settimeout(-1)

    def test_a_socket_once_connected_stays_connected_after_the_connection_ends(self):
        # Linux keeps the socket SS_CONNECTED: connect() says EISCONN even once the
        # connection has gone through TIME-WAIT to CLOSED (test_kernel_parity checks the
        # same before TIME-WAIT ends, against the kernel)
        net, cli, conn = established()
        cli.shutdown(tcpsim.SHUT_WR)
        conn.close()
        net.run()
        assert cli.state is State.CLOSED
        assert cli.recv(10) == b""
        with pytest.raises(OSError) as info:
            cli.connect(("server", 80))
        assert info.value.errno == errno.EISCONN

    def test_non_blocking_calls(self):
        net, client, server, srv = server_listening()
        srv.setblocking(False)
        with pytest.raises(BlockingIOError) as info:
            srv.accept()
        assert info.value.errno == errno.EAGAIN
        cli = client.socket()
        cli.setblocking(False)
        with pytest.raises(BlockingIOError) as info:
            cli.connect(("server", 80))
        assert info.value.errno == errno.EINPROGRESS
        assert cli.connect_ex(("server", 80)) == errno.EALREADY
        net.run(until=1)
        assert cli.getsockopt(tcpsim.SOL_SOCKET, tcpsim.SO_ERROR) == 0
        assert cli.connect_ex(("server", 80)) == 0        # Linux: the first, once connected
        assert cli.connect_ex(("server", 80)) == errno.EISCONN
        conn, _ = srv.accept()
        assert conn.getblocking()           # Python: accepted sockets start blocking
        conn.setblocking(False)
        with pytest.raises(BlockingIOError):
            conn.recv(10)

    def test_non_blocking_connect_refused_reports_through_so_error(self):
        net, client, server = pair()
        cli = client.socket()
        cli.setblocking(False)
        assert cli.connect_ex(("server", 80)) == errno.EINPROGRESS
        net.run()
        assert cli.getsockopt(tcpsim.SOL_SOCKET, tcpsim.SO_ERROR) == errno.ECONNREFUSED

    def test_deadlock_names_what_it_waited_for(self):
        net, cli, conn = established()
        with pytest.raises(Deadlock, match=r"recv\(\): ESTABLISHED, waiting for data"):
            cli.recv(10)

    def test_wrong_types(self):
        net, cli, conn = established()
        with pytest.raises(TypeError):
            cli.send("text")
        with pytest.raises(TypeError):
            cli.connect("server:80")
        with pytest.raises(TypeError):
            cli.recv("10")


class TestSocketSurface:
    def test_constants_equal_the_socket_modules(self):
        for name in ("AF_INET", "SOCK_STREAM", "SOL_SOCKET", "SO_LINGER", "SO_REUSEADDR",
                     "SO_ERROR", "SHUT_RD", "SHUT_WR", "SHUT_RDWR"):
            assert getattr(tcpsim, name) == getattr(pysocket, name)

    def test_fileno_counts_from_3_per_host(self):
        net, client, server = pair()
        assert [client.socket().fileno() for _ in range(3)] == [3, 4, 5]
        assert server.socket().fileno() == 3

    def test_names(self):
        net, client, server, srv = server_listening()
        assert srv.getsockname() == ("0.0.0.0", 80)
        cli = client.socket()
        cli.connect(("server", 80))
        assert cli.getsockname() == ("10.0.0.1", 32768)
        assert cli.getpeername() == ("10.0.0.2", 80)

    def test_context_manager_closes(self):
        net, client, server = pair()
        with client.socket() as s:
            assert s.fileno() == 3
        assert s.fileno() == -1

    def test_so_reuseaddr_allows_binding_over_time_wait(self):
        net, cli, conn = established()
        port = cli.getsockname()[1]
        cli.close()
        conn.recv(1)
        conn.close()
        net.run(until=net.now + 1)
        assert cli.state is S.TIME_WAIT
        again = net.hosts["client"].socket()
        with pytest.raises(OSError):
            again.bind(("", port))
        again.setsockopt(tcpsim.SOL_SOCKET, tcpsim.SO_REUSEADDR, 1)
        again.bind(("", port))
        assert again.getsockname()[1] == port


class TestOrphans:
    def test_close_with_unread_data_and_no_rst_still_closes_both_sides(self):
        # With rst_on_close_with_unread off, the closed socket discards what it holds
        # and what arrives (acking it), so the peer's data and FIN get through.
        config = Config(recv_buffer=7, rst_on_close_with_unread=False)
        net, cli, conn = established(config=config)
        cli.setblocking(False)
        cli.send(b"x" * 20)                    # 7 fill the server's window, 13 wait
        net.run(until=net.now + 1)
        conn.close()                           # FIN, no RST
        net.run(until=net.now + 1)
        cli.close()                            # its FIN follows the 13 octets
        net.run(until=net.now + 2 * config.msl + 10 * config.rto_max)
        assert cli.state is S.CLOSED and conn.state is S.CLOSED
        assert not any(p.segment.flags & tcpsim.Flags.RST for p in net.trace.segments())

    def test_data_after_close_gets_rst_by_default(self):
        # RFC 1122 4.2.2.13
        net, cli, conn = established()
        cli.close()                            # FIN-WAIT-1, then FIN-WAIT-2: an orphan
        net.run(until=net.now + 1)
        assert cli.state is S.FIN_WAIT_2
        conn.sendall(b"late")
        net.run(until=net.now + 1)
        assert cli.state is S.CLOSED
        rst = net.trace.segments()[-1]
        assert rst.src == "client" and rst.segment.flags & tcpsim.Flags.RST


def test_forged_octet_ack_storm_is_throttled_in_the_linux_preset():
    # Joncheray's ACK storm: a forged in-window octet desynchronizes the pair; each
    # side finds the other's ACKs out of window.  Linux answers such ACKs at most once
    # per 0.5 s (tcp_invalid_ratelimit), which ends the loop.
    net, cli, conn = established(config=Config.linux())
    c = cli.connection
    net.inject("server", "client", tcpsim.Segment(
        src_port=80, dst_port=c.local[1], seq=c.rcv_nxt, ack=c.snd_nxt,
        flags=tcpsim.Flags.ACK, window=65535, payload=b"x"))
    before = len(net.trace.segments())
    net.run(until=net.now + 10)
    assert len(net.trace.segments()) - before < 10
    assert net.next_event_kind() in (None, "timer")


class TestFlags:
    """recv/send flags: what Linux does (see test_kernel_parity), and no silent loss."""

    def test_a_flag_tcpsim_does_not_simulate_is_an_error_and_the_data_stays(self):
        net, cli, conn = established()
        cli.sendall(b"payload")
        net.run(until=net.now + 1)
        with pytest.raises(OSError) as info:
            conn.recv(10, pysocket.MSG_TRUNC)
        assert info.value.errno == errno.EOPNOTSUPP
        with pytest.raises(OSError) as info:
            cli.send(b"x", pysocket.MSG_OOB)
        assert info.value.errno == errno.EOPNOTSUPP
        assert conn.recv(10) == b"payload"

    def test_waitall_that_can_never_be_satisfied_is_a_deadlock_that_keeps_the_data(self):
        # SPEC 3: a blocking call outside a process that can never return raises Deadlock
        # (the kernel would block for ever); what had arrived is still there to read
        net, cli, conn = established()
        cli.sendall(b"abc")                 # and nothing more will come
        with pytest.raises(Deadlock, match="MSG_WAITALL"):
            conn.recv(5, pysocket.MSG_WAITALL)
        assert conn.recv(5) == b"abc"
        cli.sendall(b"defgh")
        cli.shutdown(pysocket.SHUT_WR)
        assert conn.recv(8, pysocket.MSG_WAITALL) == b"defgh"     # the end of the stream
        assert conn.recv(8, pysocket.MSG_WAITALL) == b""

    def test_waitall_gathers_across_segments(self):
        net, cli, conn = established(config=Config(mss=100))
        call = conn.host.spawn(conn.recv, 250, pysocket.MSG_WAITALL)
        cli.sendall(b"x" * 120)
        net.run(until=net.now + 1)
        assert call.blocked                 # 120 of 250
        cli.sendall(b"y" * 200)
        net.run(until=net.now + 1)
        assert call.result == b"x" * 120 + b"y" * 130
        assert conn.recv(100) == b"y" * 70

    def test_peek_does_not_open_the_window(self):
        net, cli, conn = established(config=Config(recv_buffer=1000))
        cli.sendall(b"z" * 1000)
        net.run(until=net.now + 1)
        before = len(net.trace.segments())
        assert conn.recv(600, pysocket.MSG_PEEK) == b"z" * 600
        net.run(until=net.now + 1)
        assert len(net.trace.segments()) == before
        assert conn.recv(2000) == b"z" * 1000


class TestNoDelay:
    """TCP_NODELAY per socket over Config.nagle, the default for new connections."""

    def small_writes(self, nodelay_on=None, config=Config(nagle=True)):
        net, client, server = pair(config=config)
        srv = server.socket()
        srv.bind(("", 80))
        srv.listen()
        cli = client.socket()
        if nodelay_on == "before connect":
            cli.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY, 1)
        cli.connect(("server", 80))
        conn, _ = srv.accept()
        if nodelay_on == "after connect":
            cli.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY, 1)
        first = len(net.trace.segments())
        cli.send(b"a")
        cli.send(b"b")                      # Nagle: waits while "a" is unacknowledged
        sent = [p.segment.payload for p in net.trace.segments()[first:]]
        return sent, cli.getsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY)

    def test_nagle_holds_the_second_small_write(self):
        assert self.small_writes() == ([b"a"], 0)

    @pytest.mark.parametrize("when", ["before connect", "after connect"])
    def test_nodelay_sends_it_at_once(self, when):
        assert self.small_writes(when) == ([b"a", b"b"], 1)

    def test_the_option_says_what_is_in_effect(self):
        assert self.small_writes(config=Config()) == ([b"a", b"b"], 1)

    def test_accepted_sockets_inherit_it_from_the_listener(self):
        net, client, server = pair(config=Config(nagle=True))
        srv = server.socket()
        srv.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY, 1)
        srv.bind(("", 80))
        srv.listen()
        client.socket().connect(("server", 80))
        conn, _ = srv.accept()
        assert conn.getsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY) == 1
        assert conn.connection.nagle is False
