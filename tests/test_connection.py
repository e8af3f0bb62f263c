"""The sans-IO engine, state by state, against RFC 9293's figures and 3.10's rules.

Our side is port 1000 with ISS 100; the peer is port 80 with ISS 300, as in
RFC 9293 Figure 7 (the basic three-way handshake).
"""

import errno

import pytest

from support import ACK, FIN, PSH, RST, SYN, connection, seg
from tcpsim import Config, State
from tcpsim.fsm import TRANSITIONS, Input
from tcpsim.timers import to_ticks

S = State
T0 = 0


def snapshot(conn):
    return (conn.state, conn.snd_una, conn.snd_nxt, conn.rcv_nxt)


def established_with_buffer(recv_buffer: int):
    """An active opener, ESTABLISHED (ISS 100, IRS 300), with a small receive buffer."""
    conn, sink = connection(Config(recv_buffer=recv_buffer))
    conn.open_active(100, 0)
    conn.segment_arrives(seg(300, 101, SYN | ACK), 10)
    sink.take()
    return conn, sink


@pytest.fixture
def in_syn_sent():
    conn, sink = connection()
    conn.open_active(100, T0)
    return conn, sink


@pytest.fixture
def in_established(in_syn_sent):
    conn, sink = in_syn_sent
    sink.take()
    conn.segment_arrives(seg(300, 101, SYN | ACK, mss=1460), T0 + 10)
    sink.take()
    return conn, sink


@pytest.fixture
def in_fin_wait_1(in_established):
    conn, sink = in_established
    conn.close(20)
    return conn, sink


@pytest.fixture
def in_fin_wait_2(in_fin_wait_1):
    conn, sink = in_fin_wait_1
    sink.take()
    conn.segment_arrives(seg(301, 102), 30)
    return conn, sink


@pytest.fixture
def in_close_wait(in_established):
    conn, sink = in_established
    conn.segment_arrives(seg(301, 101, FIN | ACK), 20)
    sink.take()
    return conn, sink


@pytest.fixture
def in_time_wait(in_fin_wait_2):
    conn, sink = in_fin_wait_2
    conn.segment_arrives(seg(301, 102, FIN | ACK), 40)
    return conn, sink


class TestSynSent:
    def test_active_open_sends_syn_with_iss_and_mss(self, in_syn_sent):
        conn, sink = in_syn_sent
        (syn,) = sink.sent
        assert (syn.flags, syn.seq, syn.mss) == (SYN, 100, 1460)
        assert snapshot(conn) == (S.SYN_SENT, 100, 101, 0)

    def test_syn_ack_establishes_and_acks_k_plus_1(self, in_syn_sent):
        conn, sink = in_syn_sent
        sink.take()
        conn.segment_arrives(seg(300, 101, SYN | ACK, window=5000, mss=536), 10)
        (ack,) = sink.sent
        assert (ack.flags, ack.seq, ack.ack) == (ACK, 101, 301)     # ACK seq=J+1 ack=K+1
        assert snapshot(conn) == (S.ESTABLISHED, 101, 101, 301)
        assert (conn.irs, conn.snd_wnd, conn.send_mss) == (300, 5000, 536)

    def test_syn_alone_is_simultaneous_open(self, in_syn_sent):
        conn, sink = in_syn_sent
        sink.take()
        conn.segment_arrives(seg(300, 0, SYN), 10)
        (synack,) = sink.sent
        assert (synack.flags, synack.seq, synack.ack) == (SYN | ACK, 100, 301)
        assert conn.state is S.SYN_RECEIVED

    def test_bad_ack_gets_rst_with_seq_of_seg_ack(self, in_syn_sent):
        conn, sink = in_syn_sent
        sink.take()
        conn.segment_arrives(seg(300, 555, SYN | ACK), 10)
        (rst,) = sink.sent
        assert (rst.flags, rst.seq) == (RST, 555)
        assert conn.state is S.SYN_SENT

    def test_rst_acking_our_syn_refuses(self, in_syn_sent):
        conn, _ = in_syn_sent
        conn.segment_arrives(seg(0, 101, RST | ACK), 10)
        assert conn.state is S.CLOSED and conn.error == errno.ECONNREFUSED

    def test_rst_without_ack_is_ignored(self, in_syn_sent):
        conn, _ = in_syn_sent
        conn.segment_arrives(seg(0, 0, RST), 10)
        assert conn.state is S.SYN_SENT

    def test_syn_is_retransmitted_with_backoff_then_gives_up(self):
        conn, sink = connection(Config(syn_retries=2))
        conn.open_active(100, 0)
        times = []
        now = 0
        while conn.state is S.SYN_SENT:
            now = conn.next_deadline()
            conn.on_timer(now)
            times.append(now)
        sent = sink.take()
        assert [s.seq for s in sent] == [100, 100, 100]                 # same seq every time
        assert times == [to_ticks(1), to_ticks(3), to_ticks(7)]         # 1, 2, 4 s apart
        assert conn.error == errno.ETIMEDOUT and conn.state is S.CLOSED


    @pytest.mark.parametrize("flags, text", [(SYN | ACK | PSH, b"abcdefgh"), (SYN | ACK | FIN, b"abcd")])
    def test_text_on_a_syn_ack_is_trimmed_to_the_window(self, flags, text):
        # RFC 9293 3.10.7.3 goes on at the sixth step, whose text must lie in the window
        # (3.10.7.4 first: trim what lies outside, "including SYN and FIN"); taken whole,
        # it overfilled the buffer and the ACK advertised a negative window
        conn, sink = connection(Config(recv_buffer=4))
        conn.open_active(100, 0)
        sink.take()
        conn.segment_arrives(seg(300, 101, flags, payload=text), 10)
        assert bytes(conn.rcv_buf) == b"abcd" and conn.rcv_nxt == 305
        assert conn.state is S.ESTABLISHED and not conn.fin_received     # the FIN lay outside
        assert [(x.ack, x.window) for x in sink.take()][-1] == (305, 0)

class TestListenAndSynReceived:
    def passive(self):
        conn, sink = connection()
        conn.state = S.LISTEN
        conn.history = [S.LISTEN]
        conn.set_iss(300)
        return conn, sink

    def test_syn_gets_syn_ack(self):
        conn, sink = self.passive()
        conn.segment_arrives(seg(100, 0, SYN, mss=1460, src_port=80), 0)
        (synack,) = sink.sent
        assert (synack.flags, synack.seq, synack.ack) == (SYN | ACK, 300, 101)
        assert conn.state is S.SYN_RECEIVED and conn.passive

    def test_ack_of_syn_establishes(self):
        conn, sink = self.passive()
        conn.segment_arrives(seg(100, 0, SYN), 0)
        conn.segment_arrives(seg(101, 301), 10)
        assert snapshot(conn) == (S.ESTABLISHED, 301, 301, 101)

    def test_duplicate_syn_gets_the_syn_ack_again(self):
        conn, sink = self.passive()
        conn.segment_arrives(seg(100, 0, SYN), 0)
        sink.take()
        conn.segment_arrives(seg(100, 0, SYN), 5)
        (again,) = sink.sent
        assert (again.flags, again.seq, again.ack) == (SYN | ACK, 300, 101)

    def test_a_new_syn_in_the_window_returns_a_passive_tcb_to_listen(self):
        # 3.10.7.4 fourth, SYN-RECEIVED: "If the connection was initiated with a passive
        # OPEN, then return this connection to the LISTEN state and return."
        conn, sink = self.passive()
        conn.segment_arrives(seg(100, 0, SYN), 0)
        sink.take()
        conn.segment_arrives(seg(105, 0, SYN), 5)
        assert conn.state is S.LISTEN and not sink.sent

    def test_a_syn_outside_the_window_is_answered_with_an_ack(self):
        # first check: not acceptable, so an ACK and nothing more (the SYN check never runs)
        conn, sink = self.passive()
        conn.segment_arrives(seg(100, 0, SYN), 0)
        sink.take()
        conn.segment_arrives(seg(100 + 70_000, 0, SYN), 5)
        (ack,) = sink.sent
        assert (ack.flags, ack.ack) == (ACK, 101) and conn.state is S.SYN_RECEIVED

    def test_a_new_syn_after_a_simultaneous_open_gets_a_challenge_ack(self):
        conn, sink = reach(S.SYN_RECEIVED, active=True)        # not passive: synchronized rules
        sink.take()
        conn.segment_arrives(seg(305, 0, SYN), 5)
        (ack,) = sink.sent
        assert (ack.flags, ack.ack) == (ACK, 301) and conn.state is S.SYN_RECEIVED

    def test_close_with_data_queued_waits_for_established(self):
        # 3.10.4, SYN-RECEIVED: "If no SENDs have been issued and there is no pending data
        # to send, then form a FIN segment and send it ...; otherwise, queue for processing
        # after entering ESTABLISHED state."
        conn, sink = reach(S.SYN_RECEIVED)
        sink.take()
        conn.send(b"data", 2)
        conn.close(5)
        assert conn.state is S.SYN_RECEIVED and sink.take() == []
        with pytest.raises(OSError) as raised:                   # closing: no more SENDs
            conn.send(b"more", 6)
        assert raised.value.errno == errno.EPIPE
        conn.segment_arrives(seg(301, 101), 10)                  # the ACK of our SYN
        (out,) = sink.take()
        assert (out.flags, out.seq, out.payload) == (FIN | PSH | ACK, 101, b"data")
        assert sink.changes[-2:] == [(S.SYN_RECEIVED, S.ESTABLISHED), (S.ESTABLISHED, S.FIN_WAIT_1)]

    def test_close_with_nothing_queued_sends_the_fin_at_once(self):
        conn, sink = reach(S.SYN_RECEIVED)
        sink.take()
        conn.close(5)
        (fin,) = sink.take()
        assert (fin.flags & FIN, fin.seq) == (FIN, 101) and conn.state is S.FIN_WAIT_1

    def test_unacceptable_ack_gets_rst(self):
        conn, sink = self.passive()
        conn.segment_arrives(seg(100, 0, SYN), 0)
        sink.take()
        conn.segment_arrives(seg(101, 999), 10)
        (rst,) = sink.sent
        assert (rst.flags, rst.seq) == (RST, 999)
        assert conn.state is S.SYN_RECEIVED

    def test_rst_returns_a_passive_tcb_to_listen(self):
        conn, sink = self.passive()
        conn.segment_arrives(seg(100, 0, SYN), 0)
        conn.segment_arrives(seg(101, 0, RST), 10)
        assert conn.state is S.LISTEN

    def test_send_in_listen_to_a_specified_peer_turns_active(self):
        # RFC 9293 3.10.2, LISTEN: "If the foreign socket is specified, then change the
        # connection from passive to active, select an ISS.  Send a SYN segment ...
        # Enter SYN-SENT state.  Data associated with SEND may be ... queued for
        # transmission after entering ESTABLISHED state."  (Figure 5: LISTEN --SEND--> SYN-SENT)
        conn, sink = connection()
        conn.open_passive(0)
        sink.next_isn = 500
        assert conn.send(b"early", 5) == 5
        (syn,) = sink.take()
        assert (syn.flags, syn.seq) == (SYN, 500)
        assert conn.state is S.SYN_SENT and not conn.passive
        conn.segment_arrives(seg(300, 501, SYN | ACK), 10)
        ack, data = sink.take()
        assert conn.state is S.ESTABLISHED and sink.changes[-2:] == [
            (S.LISTEN, S.SYN_SENT), (S.SYN_SENT, S.ESTABLISHED)]
        assert (data.seq, data.payload) == (501, b"early")

    def test_send_in_listen_with_no_peer_is_an_error(self):
        conn, sink = connection()
        conn.remote = ("0.0.0.0", 0)            # a listener's: the foreign socket unspecified
        conn.open_passive(0)
        with pytest.raises(OSError) as raised:
            conn.send(b"x", 5)
        assert raised.value.errno == errno.EDESTADDRREQ
        assert conn.state is S.LISTEN and not sink.sent and not conn.snd_buf

    def test_first_data_segment_completes_the_handshake(self):
        conn, sink = self.passive()
        conn.segment_arrives(seg(100, 0, SYN), 0)
        conn.segment_arrives(seg(101, 301, PSH | ACK, payload=b"hi"), 10)
        assert conn.state is S.ESTABLISHED and bytes(conn.rcv_buf) == b"hi"


class TestEstablished:
    def test_data_is_acked_and_buffered(self, in_established):
        conn, sink = in_established
        conn.segment_arrives(seg(301, 101, PSH | ACK, payload=b"hello"), 20)
        (ack,) = sink.sent
        assert (ack.ack, ack.window) == (306, 65535 - 5)
        assert conn.receive(100, 30) == b"hello"

    def test_send_segments_to_the_peers_mss(self):
        conn, sink = connection()
        conn.open_active(100, 0)
        conn.segment_arrives(seg(300, 101, SYN | ACK, mss=500), 10)
        sink.take()
        assert conn.send(b"x" * 1200, 20) == 1200
        sizes = [len(s.payload) for s in sink.sent]
        assert sizes == [500, 500, 200]
        assert [s.seq for s in sink.sent] == [101, 601, 1101]
        assert sink.sent[-1].flags == PSH | ACK

    def test_send_respects_the_peers_window(self, in_established):
        conn, sink = in_established
        conn.segment_arrives(seg(301, 101, window=1000), 15)
        sink.take()
        conn.send(b"x" * 3000, 20)
        assert sum(len(s.payload) for s in sink.take()) == 1000
        conn.segment_arrives(seg(301, 1101, window=1000), 30)   # acked and reopened
        assert sum(len(s.payload) for s in sink.take()) == 1000

    def test_out_of_order_is_reassembled(self, in_established):
        conn, sink = in_established
        conn.segment_arrives(seg(304, 101, payload=b"def"), 20)
        (dup,) = sink.take()
        assert dup.ack == 301                                  # duplicate ACK: still want 301
        conn.segment_arrives(seg(301, 101, payload=b"abc"), 21)
        (ack,) = sink.take()
        assert ack.ack == 307
        assert conn.receive(100, 22) == b"abcdef"

    def test_duplicate_data_is_dropped_and_acked(self, in_established):
        conn, sink = in_established
        conn.segment_arrives(seg(301, 101, payload=b"abc"), 20)
        conn.segment_arrives(seg(301, 101, payload=b"abc"), 21)
        assert [s.ack for s in sink.take()] == [304, 304]
        assert conn.receive(100, 22) == b"abc"

    def test_overlapping_retransmission_delivers_only_new_bytes(self, in_established):
        conn, sink = in_established
        conn.segment_arrives(seg(301, 101, payload=b"abc"), 20)
        conn.segment_arrives(seg(302, 101, payload=b"bcde"), 21)
        assert conn.receive(100, 22) == b"abcde"

    def test_segment_outside_the_window_gets_an_ack_and_is_dropped(self, in_established):
        conn, sink = in_established
        conn.segment_arrives(seg(301 + 70000, 101, payload=b"zz"), 20)
        (ack,) = sink.take()
        assert (ack.flags, ack.seq, ack.ack) == (ACK, 101, 301)
        assert conn.rcv_nxt == 301 and not conn.ooo

    def test_ack_of_unsent_data_gets_an_ack_and_is_dropped(self, in_established):
        conn, sink = in_established
        conn.segment_arrives(seg(301, 5000), 20)
        (ack,) = sink.take()
        assert ack.seq == 101 and conn.snd_una == 101

    def test_rst_with_exact_rcv_nxt_resets(self, in_established):
        conn, _ = in_established
        conn.segment_arrives(seg(301, 0, RST), 20)
        assert conn.state is S.CLOSED and conn.error == errno.ECONNRESET

    def test_in_window_rst_not_at_rcv_nxt_gets_a_challenge_ack(self, in_established):
        # RFC 5961 3.2
        conn, sink = in_established
        conn.segment_arrives(seg(301 + 100, 0, RST), 20)
        (challenge,) = sink.take()
        assert (challenge.flags, challenge.seq, challenge.ack) == (ACK, 101, 301)
        assert conn.state is S.ESTABLISHED

    def test_rst_outside_the_window_is_dropped_silently(self, in_established):
        conn, sink = in_established
        conn.segment_arrives(seg(301 + 100_000, 0, RST), 20)
        assert sink.take() == [] and conn.state is S.ESTABLISHED

    def test_syn_gets_a_challenge_ack(self, in_established):
        # RFC 5961 4.2: any SYN in a synchronized state, in window or not
        conn, sink = in_established
        for seq in (301, 301 + 10, 9999999):
            conn.segment_arrives(seg(seq, 0, SYN), 20)
            (challenge,) = sink.take()
            assert (challenge.flags, challenge.seq, challenge.ack) == (ACK, 101, 301)
        assert conn.state is S.ESTABLISHED

    def test_an_old_syn_with_text_past_rcv_nxt_gets_a_challenge_ack_and_no_text_is_taken(
            self, in_established):
        # RFC 5961 4.2, "irrespective of the sequence number": not a SYN trimmed away and
        # its text delivered (a blind attacker's way in), but an ACK and the segment dropped
        conn, sink = in_established
        conn.segment_arrives(seg(300, 101, SYN | ACK, payload=b"evil"), 20)
        (challenge,) = sink.take()
        assert (challenge.flags, challenge.ack) == (ACK, 301)
        assert conn.rcv_buf == b"" and conn.rcv_nxt == 301 and conn.state is S.ESTABLISHED

    def test_challenge_acks_can_be_rate_limited(self):
        conn, sink = connection(Config(challenge_ack_limit=2))
        conn.open_active(100, 0)
        conn.segment_arrives(seg(300, 101, SYN | ACK), 10)
        sink.take()
        for _ in range(5):
            conn.segment_arrives(seg(301, 0, SYN), 20)
        assert len(sink.take()) == 2

    def test_fin_moves_to_close_wait_and_is_acked(self, in_established):
        conn, sink = in_established
        conn.segment_arrives(seg(301, 101, FIN | ACK), 20)
        (ack,) = sink.take()
        assert ack.ack == 302 and conn.state is S.CLOSE_WAIT and conn.fin_received

    def test_fin_after_a_gap_waits_for_the_gap(self, in_established):
        conn, sink = in_established
        conn.segment_arrives(seg(304, 101, FIN | ACK, payload=b"def"), 20)
        assert conn.state is S.ESTABLISHED and not conn.fin_received
        conn.segment_arrives(seg(301, 101, payload=b"abc"), 21)
        assert conn.state is S.CLOSE_WAIT and conn.rcv_nxt == 308
        assert conn.receive(100, 22) == b"abcdef"

    def test_rtt_sample_sets_rto_per_rfc_6298(self):
        conn, sink = connection(Config(rto_min=0.001))
        conn.open_active(100, 0)
        conn.segment_arrives(seg(300, 101, SYN | ACK), to_ticks(0.1))
        # first sample R: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4*RTTVAR = 3R
        assert conn.rto.srtt == to_ticks(0.1)
        assert conn.rto.rto == to_ticks(0.3)

    def test_a_handshake_whose_syn_timed_out_starts_data_at_an_rto_of_3_s(self):
        # RFC 6298 5.7: the SYN's timer expired at an RTO under 3 s (1 s, then 2 s after
        # the backoff); the retransmitted SYN gives no sample (Karn), so data starts at 3 s
        conn, sink = connection()
        conn.open_active(100, 0)
        conn.on_timer(conn.next_deadline())
        assert conn.rto.rto == to_ticks(2)
        conn.segment_arrives(seg(300, 101, SYN | ACK), to_ticks(1.5))
        sink.take()
        assert conn.rto.rto == to_ticks(3)
        conn.send(b"data", to_ticks(2))
        assert conn.next_deadline() == to_ticks(2) + to_ticks(3)

    def test_a_passive_handshake_whose_syn_ack_timed_out_starts_at_3_s(self):
        conn, sink = TestListenAndSynReceived().passive()
        conn.segment_arrives(seg(100, 0, SYN), 0)
        conn.on_timer(conn.next_deadline())                  # the SYN,ACK again
        conn.segment_arrives(seg(101, 301), to_ticks(1.5))
        assert conn.state is S.ESTABLISHED and conn.rto.rto == to_ticks(3)

    def test_rfc_6298_5_7_leaves_an_rto_of_3_s_or_more_alone(self):
        conn, sink = connection(Config(rto_initial=5.0))
        conn.open_active(100, 0)
        conn.on_timer(conn.next_deadline())
        conn.segment_arrives(seg(300, 101, SYN | ACK), to_ticks(6))
        assert conn.rto.rto == to_ticks(10)                 # backed off, not lowered to 3 s

    def test_data_retransmission_backs_off_then_times_out(self):
        conn, sink = connection(Config(retries=3))
        conn.open_active(100, 0)
        conn.segment_arrives(seg(300, 101, SYN | ACK), 10)
        sink.take()
        conn.send(b"data", 20)
        times = []
        while conn.state is S.ESTABLISHED:
            t = conn.next_deadline()
            times.append(t)
            conn.on_timer(t)
        resent = [s for s in sink.take() if s.payload]
        assert [s.seq for s in resent] == [101] * 4
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert gaps == [to_ticks(2), to_ticks(4), to_ticks(8)]         # doubling
        assert conn.error == errno.ETIMEDOUT


class TestZeroWindow:
    def test_persist_probe_carries_one_new_octet(self, in_established):
        conn, sink = in_established
        conn.segment_arrives(seg(301, 101, window=0), 15)
        sink.take()
        conn.send(b"abc", 20)
        assert sink.take() == []                    # nothing fits a zero window
        t = conn.next_deadline()
        conn.on_timer(t)
        (probe,) = sink.take()
        assert (probe.seq, probe.payload) == (101, b"a")
        conn.segment_arrives(seg(301, 101, window=0), t + 10)   # still closed: probe again later
        t2 = conn.next_deadline()
        assert t2 - t == 2 * (t - 20)                # the persist interval backs off
        conn.segment_arrives(seg(301, 101, window=100), t + 20)  # the window opens
        sent = sink.take()
        assert b"".join(s.payload for s in sent) == b"abc" and sent[0].seq == 101

    def test_a_window_shrunk_to_zero_with_data_out_is_probed_not_timed_out(self, in_established):
        # RFC 1122 4.2.2.17: the sender "MUST NOT close the connection as long as the
        # receiving TCP continues to send ACKs in response to the probe segments"
        conn, sink = in_established                              # retries=15 (Config's)
        conn.send(b"x" * 3000, 20)
        sink.take()
        conn.segment_arrives(seg(301, 101, window=0), 30)       # nothing acked, window shut
        for _ in range(40):                                      # far past 15 retransmissions
            t = conn.next_deadline()
            conn.on_timer(t)
            (probe,) = sink.take()
            assert (probe.seq, len(probe.payload)) == (101, 1)  # one octet, not a segment
            conn.segment_arrives(seg(301, 101, window=0), t + 10)
        assert conn.state is S.ESTABLISHED and conn.error is None
        conn.segment_arrives(seg(301, 101, window=4000), t + 20)
        sent = sink.take()
        assert sent[0].seq == 101 and sum(len(s.payload) for s in sent) == 3000

    def test_receiver_with_full_buffer_advertises_zero_and_acks_probes(self):
        conn, sink = established_with_buffer(4)
        conn.segment_arrives(seg(301, 101, payload=b"abcd"), 20)
        (ack,) = sink.take()
        assert (ack.ack, ack.window) == (305, 0)
        conn.segment_arrives(seg(305, 101, payload=b"e"), 30)   # a probe
        (ack,) = sink.take()
        assert (ack.ack, ack.window) == (305, 0)
        assert conn.receive(4, 40) == b"abcd"
        (update,) = sink.take()                                  # the window update
        assert (update.ack, update.window) == (305, 4)

    def test_a_fin_just_past_a_window_the_text_fills_is_trimmed(self):
        # RFC 9293 3.10.7.4 first: portions outside the window are trimmed, "including SYN
        # and FIN".  Four octets fill a 4-octet window; the FIN after them is outside.
        conn, sink = established_with_buffer(4)
        conn.segment_arrives(seg(301, 101, FIN | ACK, payload=b"abcd"), 20)
        (ack,) = sink.take()
        assert conn.state is State.ESTABLISHED and not conn.fin_received
        assert (ack.ack, ack.window) == (305, 0)            # the text, not the FIN
        assert conn.receive(4, 30) == b"abcd"
        sink.take()
        conn.segment_arrives(seg(301, 101, FIN | ACK, payload=b"abcd"), 40)   # sent again
        (ack,) = sink.take()
        assert conn.state is State.CLOSE_WAIT and ack.ack == 306

    def test_a_fin_inside_the_window_after_its_text_is_taken(self):
        conn, sink = established_with_buffer(5)
        conn.segment_arrives(seg(301, 101, FIN | ACK, payload=b"abcd"), 20)
        (ack,) = sink.take()
        assert conn.state is State.CLOSE_WAIT and ack.ack == 306

    def test_acks_never_carry_seq_past_the_peers_window(self, in_established):
        # Octets sent into a window the peer then closed: SND.NXT lies past the window's
        # end, and an ACK carrying it would be unacceptable to the peer (Linux's
        # tcp_acceptable_seq sends the window's end instead).
        conn, sink = in_established
        conn.send(b"abc", 15)
        assert [s.seq for s in sink.take()] == [101]
        conn.segment_arrives(seg(301, 101, window=0), 20)     # nothing acked, window closed
        conn.segment_arrives(seg(310, 101, window=0, payload=b"x"), 30)   # out of order
        (ack,) = sink.take()
        assert (conn.snd_una, conn.snd_nxt) == (101, 104)
        assert (ack.seq, ack.ack) == (101, 301)                 # SND.UNA + SND.WND, not SND.NXT


class TestWindowEdges:
    """The acceptability test of RFC 9293 3.10.7.4 at the right edge of the window."""

    @staticmethod
    def two_octets_out():
        """RCV.NXT = 301, RCV.WND = 4; we sent two octets (SND.NXT = 103)."""
        conn, sink = connection(Config(recv_buffer=4))
        conn.open_active(100, 0)
        conn.segment_arrives(seg(300, 101, SYN | ACK), 10)
        conn.send(b"hi", 12)
        sink.take()
        return conn, sink

    def test_an_ack_on_the_right_edge_is_taken(self):
        conn, sink = self.two_octets_out()
        # the peer's ACK sits at 305 after it sent 4 octets we have not received (lost)
        conn.segment_arrives(seg(305, 103), 20)
        assert conn.snd_una == 103 and sink.take() == []

    def test_one_past_the_right_edge_is_refused_and_answered(self):
        conn, sink = self.two_octets_out()
        conn.segment_arrives(seg(306, 103), 20)
        assert conn.snd_una == 101
        (ack,) = sink.take()
        assert (ack.seq, ack.ack) == (103, 301)

    def test_a_rst_on_the_right_edge_is_dropped_silently(self):
        conn, sink = connection(Config(recv_buffer=4))
        conn.open_active(100, 0)
        conn.segment_arrives(seg(300, 101, SYN | ACK), 10)
        sink.take()
        conn.segment_arrives(seg(305, 0, RST), 20)              # RFC 5961 3.2: outside
        assert conn.state is S.ESTABLISHED and sink.take() == []


class TestClosing:
    def test_close_sends_fin_after_queued_data(self, in_established):
        conn, sink = in_established
        conn.segment_arrives(seg(301, 101, window=0), 15)
        sink.take()
        conn.send(b"xy", 16)
        conn.close(17)
        assert conn.state is S.FIN_WAIT_1 and sink.take() == []    # FIN waits behind the data
        conn.segment_arrives(seg(301, 101, window=100), 18)
        (data,) = sink.take()
        assert data.payload == b"xy" and data.flags & FIN and data.seq == 101

    def test_fin_wait_1_ack_of_fin(self, in_fin_wait_1):
        conn, sink = in_fin_wait_1
        (fin,) = sink.take()
        assert (fin.flags, fin.seq, fin.ack) == (FIN | ACK, 101, 301)
        conn.segment_arrives(seg(301, 102), 30)
        assert conn.state is S.FIN_WAIT_2

    def test_fin_wait_2_fin_to_time_wait_for_2msl(self, in_fin_wait_2):
        conn, sink = in_fin_wait_2
        conn.segment_arrives(seg(301, 102, FIN | ACK), 40)
        (ack,) = sink.take()
        assert (ack.seq, ack.ack) == (102, 302)
        assert conn.state is S.TIME_WAIT
        assert conn.next_deadline() == 40 + to_ticks(240.0)

    def test_simultaneous_close_goes_through_closing(self, in_fin_wait_1):
        conn, sink = in_fin_wait_1
        sink.take()
        conn.segment_arrives(seg(301, 101, FIN | ACK), 30)      # their FIN, not acking ours
        assert conn.state is S.CLOSING
        conn.segment_arrives(seg(302, 102), 40)
        assert conn.state is S.TIME_WAIT

    def test_close_wait_close_last_ack(self, in_close_wait):
        conn, sink = in_close_wait
        conn.close(50)
        (fin,) = sink.take()
        assert (fin.flags, fin.seq, fin.ack) == (FIN | ACK, 101, 302)
        assert conn.state is S.LAST_ACK
        conn.segment_arrives(seg(302, 102), 60)
        assert conn.state is S.CLOSED
        assert conn.history == [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK, S.CLOSED]

    def test_lost_fin_is_retransmitted(self, in_fin_wait_1):
        conn, sink = in_fin_wait_1
        sink.take()
        conn.on_timer(conn.next_deadline())
        (fin,) = sink.take()
        assert fin.flags & FIN and fin.seq == 101


class TestTimeWait:
    def test_rst_is_ignored(self, in_time_wait):
        # RFC 1337: no TIME-WAIT assassination
        conn, _ = in_time_wait
        conn.segment_arrives(seg(302, 0, RST), 50)
        assert conn.state is S.TIME_WAIT

    def test_syn_gets_a_challenge_ack(self, in_time_wait):
        conn, sink = in_time_wait
        sink.take()
        conn.segment_arrives(seg(5000, 0, SYN), 50)
        (ack,) = sink.take()
        assert (ack.flags, ack.seq, ack.ack) == (ACK, 102, 302)
        assert conn.state is S.TIME_WAIT

    def test_retransmitted_fin_is_acked_and_restarts_the_timer(self, in_time_wait):
        conn, sink = in_time_wait
        sink.take()
        conn.segment_arrives(seg(301, 102, FIN | ACK), 1000)
        (ack,) = sink.take()
        assert ack.ack == 302
        assert conn.next_deadline() == 1000 + to_ticks(240.0)

    def test_a_fin_at_rcv_nxt_is_acked_and_restarts_the_timer(self, in_time_wait):
        # 3.10.7.4 eighth, TIME-WAIT: "Remain in the TIME-WAIT state.  Restart the 2 MSL
        # time-wait timeout."  (Not the retransmission of the FIN that brought us here,
        # but a FIN at RCV.NXT: what the eighth step sees.)
        conn, sink = in_time_wait
        sink.take()
        conn.segment_arrives(seg(302, 102, FIN | ACK), 1000)
        (ack,) = sink.take()
        assert ack.ack == 303 and conn.state is S.TIME_WAIT
        assert conn.next_deadline() == 1000 + to_ticks(240.0)

    def test_2msl_timeout_closes(self, in_time_wait):
        conn, _ = in_time_wait
        conn.on_timer(conn.next_deadline())
        assert conn.state is S.CLOSED


def reach(state: S, active: bool = False):
    """A connection (ISS 100; the peer's ISS 300) brought to ``state`` by its own calls
    and the peer's segments, as RFC 9293 Figure 5 goes (SYN-RECEIVED by a passive OPEN,
    or with ``active`` by a simultaneous open)."""
    conn, sink = connection()
    if state is S.CLOSED:
        return conn, sink
    if state is S.LISTEN or state is S.SYN_RECEIVED and not active:
        conn.open_passive(0)
        conn.set_iss(100)                       # as a host sets a new child's
        if state is S.SYN_RECEIVED:
            conn.segment_arrives(seg(300, 0, SYN), 1)
        return conn, sink
    conn.open_active(100, 0)
    if state is S.SYN_RECEIVED:                 # simultaneous open: the peer's SYN crosses ours
        conn.segment_arrives(seg(300, 0, SYN), 1)
        return conn, sink
    steps = {S.SYN_SENT: [], S.ESTABLISHED: ["synack"], S.FIN_WAIT_1: ["synack", "close"],
             S.FIN_WAIT_2: ["synack", "close", "ack_fin"], S.CLOSING: ["synack", "close", "fin"],
             S.TIME_WAIT: ["synack", "close", "ack_fin", "fin"], S.CLOSE_WAIT: ["synack", "fin"],
             S.LAST_ACK: ["synack", "fin", "close"]}[state]
    for t, step in enumerate(steps, 1):
        if step == "close":
            conn.close(t)
        else:
            conn.segment_arrives({"synack": seg(300, 101, SYN | ACK), "ack_fin": seg(301, 102),
                                  "fin": seg(301, 101, FIN | ACK)}[step], t)
    assert conn.state is state
    return conn, sink


class TestUserCallsByState:
    """RFC 9293 3.10.1-3.10.2: what OPEN and SEND do in each state."""

    @pytest.mark.parametrize("state", [s for s in S if s is not S.CLOSED], ids=str)
    def test_open_outside_closed_says_the_connection_exists(self, state):
        conn, sink = reach(state)
        sink.take()
        for call in (lambda: conn.open_active(500, 50), lambda: conn.open_passive(50)):
            with pytest.raises(OSError) as raised:
                call()
            assert raised.value.errno == errno.EISCONN
        assert conn.state is state and not sink.sent

    @pytest.mark.parametrize("state, code", [
        (S.CLOSED, errno.ENOTCONN), (S.FIN_WAIT_1, errno.EPIPE), (S.FIN_WAIT_2, errno.EPIPE),
        (S.CLOSING, errno.EPIPE), (S.LAST_ACK, errno.EPIPE), (S.TIME_WAIT, errno.EPIPE)], ids=str)
    def test_send_where_there_is_no_connection_or_it_is_closing_is_an_error(self, state, code):
        # "error: connection does not exist" / "error: connection closing"
        conn, sink = reach(state)
        sink.take()
        queued = len(conn.snd_buf)
        with pytest.raises(OSError) as raised:
            conn.send(b"late", 50)
        assert raised.value.errno == code
        assert conn.state is state and not sink.sent and len(conn.snd_buf) == queued

    @pytest.mark.parametrize("state, goes_out", [
        (S.SYN_SENT, False), (S.SYN_RECEIVED, False), (S.ESTABLISHED, True), (S.CLOSE_WAIT, True)],
        ids=str)
    def test_send_is_queued_before_established_and_sent_after(self, state, goes_out):
        conn, sink = reach(state)
        sink.take()
        assert conn.send(b"data", 50) == 4
        assert conn.state is state and bytes(conn.snd_buf).endswith(b"data")
        assert [s.payload for s in sink.take()] == ([b"data"] if goes_out else [])


I = Input
CALLS = {I.ACTIVE_OPEN: lambda c, t: c.open_active(500, t), I.PASSIVE_OPEN: lambda c, t: c.open_passive(t),
         I.SEND: lambda c, t: c.send(b"x", t), I.CLOSE: lambda c, t: c.close(t),
         I.ABORT: lambda c, t: c.abort(t)}


def stimulus(conn, event: Input, now: int) -> None:
    """Make ``event`` happen to ``conn`` as the RFC means it: a user call, the peer's
    segment of that kind (at RCV.NXT once synchronized, acknowledging nothing new but
    what the input names), or the timeout."""
    synced = conn.state not in (S.CLOSED, S.LISTEN, S.SYN_SENT)
    seq = conn.rcv_nxt if synced else 300
    if event in CALLS:
        try:
            CALLS[event](conn, now)
        except OSError:
            pass                                       # refused: the state must not move
    elif event is I.RCV_SYN:
        conn.segment_arrives(seg(seq, 0, SYN), now)
    elif event is I.RCV_SYN_ACK:
        conn.segment_arrives(seg(seq, 101, SYN | ACK), now)
    elif event is I.RCV_ACK_OF_SYN:
        conn.segment_arrives(seg(seq, 101), now)
    elif event is I.RCV_FIN:
        conn.segment_arrives(seg(seq, conn.snd_una, FIN | ACK), now)
    elif event is I.RCV_ACK_OF_FIN:
        conn.segment_arrives(seg(seq, conn.snd_max), now)
    elif event in (I.RCV_RST, I.RCV_RST_ACTIVE):
        conn.segment_arrives(seg(seq, conn.snd_max, RST | ACK), now)
    elif event is I.TIMEOUT_2MSL:
        if conn.t_timewait is not None:
            conn.on_timer(conn.t_timewait)
    elif event is I.GIVE_UP:
        if conn.state in (S.ESTABLISHED, S.CLOSE_WAIT):
            conn.send(b"x", now)                       # something to retransmit
        while conn.t_rtx is not None and conn.state is not S.CLOSED:
            conn.on_timer(conn.t_rtx)
    else:
        raise AssertionError(f"no stimulus for {event}")


# Where the RFC reads an input's stimulus as another input in that state.
READ_AS = {(S.SYN_RECEIVED, I.RCV_ACK_OF_FIN): I.RCV_ACK_OF_SYN,   # no FIN sent: it acks the SYN
           (S.SYN_RECEIVED, I.RCV_SYN_ACK): I.RCV_SYN}           # 3.10.7.4 fourth: a SYN all the same
READ_AS.update({(s, I.RCV_RST_ACTIVE): I.RCV_RST for s in S if s is not S.SYN_RECEIVED})


@pytest.mark.parametrize("event", list(Input), ids=str)
@pytest.mark.parametrize("state", list(S), ids=str)
def test_every_state_by_every_input_follows_the_table(state, event):
    """STYLE 10's exhaustive State x Input test: the engine takes exactly the table's edge
    (and sends what it says), and an input the table has no edge for leaves the state."""
    conn, sink = reach(state, active=event is I.RCV_RST_ACTIVE)
    sink.take()
    sink.changes.clear()
    stimulus(conn, event, 1_000)
    t = TRANSITIONS.get((state, READ_AS.get((state, event), event)))
    if t is None:
        assert conn.state is state and sink.changes == []
        return
    assert sink.changes[0] == (state, t.next)
    assert conn.state is t.next or event is I.GIVE_UP and conn.state is S.CLOSED
    if t.send:
        assert any(x.flags & t.send == t.send for x in sink.sent), sink.sent


class TestAbort:
    def test_abort_sends_rst_with_snd_nxt(self, in_established):
        conn, sink = in_established
        conn.abort(20)
        (rst,) = sink.take()
        assert (rst.flags, rst.seq) == (RST, 101)
        assert conn.state is S.CLOSED

    def test_abort_in_syn_sent_sends_nothing(self, in_syn_sent):
        conn, sink = in_syn_sent
        sink.take()
        conn.abort(5)
        assert sink.take() == [] and conn.state is S.CLOSED


@pytest.mark.parametrize("iss", [0, 2**32 - 3, 2**32 - 1])
def test_wraparound_is_invisible(iss):
    conn, sink = connection()
    conn.open_active(iss, 0)
    conn.segment_arrives(seg(2**32 - 2, (iss + 1) % 2**32, SYN | ACK, mss=1460), 10)
    sink.take()
    conn.send(b"x" * 3000, 20)
    sent = sink.take()
    assert [s.seq for s in sent] == [(iss + 1 + k) % 2**32 for k in (0, 1460, 2920)]
    conn.segment_arrives(seg(2**32 - 1, (iss + 3001) % 2**32, payload=b"abc"), 30)
    assert conn.snd_una == (iss + 3001) % 2**32 and conn.rcv_nxt == 2
    assert len(conn.snd_buf) == 0 and conn.receive(10, 40) == b"abc"


class TestOptions:
    def test_delayed_ack_acks_every_second_segment(self):
        # RFC 1122 4.2.3.2: an ACK for at least every second full-sized segment
        conn, sink = connection(Config(delayed_ack=True))
        conn.open_active(100, 0)
        conn.segment_arrives(seg(300, 101, SYN | ACK), 10)
        sink.take()
        conn.segment_arrives(seg(301, 101, payload=b"a" * 1460), 20)
        assert sink.take() == []
        conn.segment_arrives(seg(1761, 101, payload=b"b" * 1460), 21)
        (ack,) = sink.take()
        assert ack.ack == 301 + 2920

    def test_delayed_ack_timer_fires_after_ack_delay(self):
        conn, sink = connection(Config(delayed_ack=True, ack_delay=0.04))
        conn.open_active(100, 0)
        conn.segment_arrives(seg(300, 101, SYN | ACK), 10)
        sink.take()
        conn.segment_arrives(seg(301, 101, payload=b"a"), 20)
        assert sink.take() == [] and conn.next_deadline() == 20 + to_ticks(0.04)
        conn.on_timer(conn.next_deadline())
        (ack,) = sink.take()
        assert ack.ack == 302

    def test_data_going_out_carries_the_delayed_ack(self):
        conn, sink = connection(Config(delayed_ack=True))
        conn.open_active(100, 0)
        conn.segment_arrives(seg(300, 101, SYN | ACK), 10)
        sink.take()
        conn.segment_arrives(seg(301, 101, payload=b"ping"), 20)
        conn.send(b"pong", 21)
        (reply,) = sink.take()
        assert (reply.payload, reply.ack) == (b"pong", 305)
        assert conn.t_delack is None

    def test_nagle_holds_small_segments_while_data_is_unacked(self):
        # RFC 896
        conn, sink = connection(Config(nagle=True))
        conn.open_active(100, 0)
        conn.segment_arrives(seg(300, 101, SYN | ACK, mss=1460), 10)
        sink.take()
        conn.send(b"a", 20)
        conn.send(b"b", 21)
        conn.send(b"c", 22)
        assert [s.payload for s in sink.take()] == [b"a"]
        conn.segment_arrives(seg(301, 102), 30)
        assert [s.payload for s in sink.take()] == [b"bc"]

    def test_without_nagle_every_send_goes_out(self, in_established):
        conn, sink = in_established
        conn.send(b"a", 20)
        conn.send(b"b", 21)
        assert [s.payload for s in sink.take()] == [b"a", b"b"]


def test_refused_probe_octet_is_unsent_again():
    # After a zero-window probe is answered with ack=SND.UNA and window 0, our
    # ACKs must carry SEQ=SND.UNA (= the peer's RCV.NXT), which a zero window
    # accepts -- otherwise two such peers trade ACKs forever.
    conn, sink = connection()
    conn.open_active(100, 0)
    conn.segment_arrives(seg(300, 101, SYN | ACK, window=0), 10)
    sink.take()
    conn.send(b"abc", 20)
    conn.on_timer(conn.next_deadline())
    (probe,) = sink.take()
    assert (probe.seq, probe.payload) == (101, b"a")
    conn.segment_arrives(seg(301, 101, window=0), 2_000_000)     # refused: still window 0
    assert conn.snd_nxt == 101 and conn.probing
    conn.segment_arrives(seg(301, 101, window=0, payload=b"z"), 2_000_001)   # their data
    (ack,) = sink.take()
    assert (ack.seq, ack.ack) == (101, 302)
