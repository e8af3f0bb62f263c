"""The sending half of the engine: building segments, the output routine, timers.

``Sender`` is the base of ``Connection``: everything that puts a segment on the
wire (RFC 9293 3.10's "send" steps, the output routine with segmentation,
Nagle and the persist timer), what the peer's ACKs and windows do to the send
side, and the timeouts of 3.10.8 with RFC 6298's retransmission timer.  Like the
rest of the engine it is sans-IO: segments go to the ``sink``, timers are
deadlines the sink is asked to call back at, and an ISS it must choose comes
from the sink too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from .config import Config
from .fsm import GIVE_UP, TIMEOUT_2MSL, Input
from .seqnum import HALF, MASK, seq_diff
from .states import FIN_WAIT_1, SYN_RECEIVED, SYN_SENT, State
from .tcb import TCB
from .timers import TICKS_PER_SECOND, to_ticks

if TYPE_CHECKING:
    from .connection import Connection
    from .segment import SegmentFields

FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16
MAX_WINDOW = 65535          # no window scaling: the 16-bit field is the limit


class Sink(Protocol):
    """What a connection needs from the world around it.

    ``emit`` is told the header of a segment to send from ``conn.local`` to
    ``conn.remote``; the sink makes of it what its world needs (the network, a
    ``trace.Packet``: one object per segment, which is also its record).  What
    arrives is any ``SegmentFields``: a Segment, or that Packet.  ``isn`` chooses an
    ISS when the engine must (SEND in LISTEN): randomness is the world's, not the
    engine's."""

    def emit(self, conn: "Connection", flags: int, seq: int, ack: int, window: int,
             payload: bytes, mss: int | None) -> None: ...
    def schedule(self, conn: "Connection", deadline: int) -> None: ...
    def state_changed(self, conn: "Connection", old: State, new: State, cause: Any,
                      event: Input) -> None: ...
    def timer_fired(self, conn: "Connection", name: str) -> None: ...
    def isn(self, conn: "Connection") -> int: ...


class _Ticks:
    """A Config's durations, converted once to integer ticks."""

    __slots__ = ("rto_initial", "rto_min", "rto_max", "two_msl", "ack_delay")

    def __init__(self, config: Config) -> None:
        self.rto_initial = to_ticks(config.rto_initial)
        self.rto_min = to_ticks(config.rto_min)
        self.rto_max = to_ticks(config.rto_max)
        self.two_msl = to_ticks(2 * config.msl)
        self.ack_delay = to_ticks(config.ack_delay)


_TICKS_CACHE: dict[int, tuple[Config, _Ticks]] = {}


def _ticks_for(config: Config) -> _Ticks:
    hit = _TICKS_CACHE.get(id(config))
    if hit is None or hit[0] is not config:
        hit = (config, _Ticks(config))
        _TICKS_CACHE[id(config)] = hit
    return hit[1]


class Sender(TCB):
    """Output and timers; the attributes it uses are declared by Connection."""

    __slots__ = ()

    # -- output ------------------------------------------------------------------

    def _adv_window(self) -> int:
        wnd = self.recv_cap - len(self.rcv_buf)
        return wnd if wnd < MAX_WINDOW else MAX_WINDOW

    def _emit(self, flags: int, seq: int, ack: int, payload: bytes, mss: int | None = None) -> None:
        """Hand one segment's header to the sink; any ACK we send clears a pending one.

        (_output and _send_ack write these steps out for speed: a change here goes
        there too.)"""
        if flags & RST:
            wnd = 0
        else:
            wnd = self.recv_cap - len(self.rcv_buf)
            if wnd > MAX_WINDOW:
                wnd = MAX_WINDOW
            if flags & ACK:
                self.rcv_adv = (self.rcv_nxt + wnd) & MASK
                self.ack_pending = False
                self.delack_count = 0
                self.t_delack = None
        self.sink.emit(self, flags, seq, ack, wnd, payload, mss)

    def _send_ack(self, now: int) -> None:
        """<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, with SEQ no further than the peer's window
        reaches once our SYN is acknowledged (Linux's tcp_acceptable_seq).  After the peer
        closed its window on octets we had sent, SND.NXT lies beyond it; an ACK carrying it
        would be unacceptable there and answered by an ACK we may find unacceptable too."""
        seq = self.snd_nxt
        if seq != self.snd_una and self.snd_una != self.iss:     # (nothing out: SEQ fits)
            end = (self.snd_una + self.snd_wnd) & MASK
            if 0 < ((seq - end) & MASK) <= HALF:      # SND.NXT after the window's end
                seq = end
        # _emit(ACK, seq, RCV.NXT, b""), inline: a receiver sends one of these per segment
        wnd = self.recv_cap - len(self.rcv_buf)
        if wnd > MAX_WINDOW:
            wnd = MAX_WINDOW
        rcv_nxt = self.rcv_nxt
        self.rcv_adv = (rcv_nxt + wnd) & MASK
        self.ack_pending = False
        self.delack_count = 0
        self.t_delack = None
        self.sink.emit(self, ACK, seq, rcv_nxt, wnd, b"", None)

    def _ack_or_delay(self, now: int) -> None:
        if not self.config.delayed_ack or self.delack_count >= 2:
            self._send_ack(now)
        elif self.t_delack is None:
            self.t_delack = now + self.ticks.ack_delay
            self._arm(self.t_delack)

    def _send_rst(self, now: int) -> None:
        if self.rst_with_ack:
            self._emit(RST | ACK, self.snd_nxt, self.rcv_nxt, b"")
        else:
            self._emit(RST, self.snd_nxt, 0, b"")

    def _challenge_ack(self, now: int) -> None:
        """RFC 5961 3.2/4.2/5.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, the same ACK that
        answers an unacceptable segment; rate-limited only when configured (RFC 5961 7)."""
        interval = self.config.oow_ack_interval
        if interval is not None:
            # Linux's tcp_oow_rate_limited: two peers that each find the other's ACKs
            # out of window (after a forged segment) would otherwise trade them forever.
            if self.last_oow_ack >= 0 and now - self.last_oow_ack < interval * TICKS_PER_SECOND:
                return
            self.last_oow_ack = now
        limit = self.config.challenge_ack_limit
        if limit is not None:
            second = now // TICKS_PER_SECOND
            if second != self.challenge_window:
                self.challenge_window = second
                self.challenge_count = 0
            if self.challenge_count >= limit:
                return
            self.challenge_count += 1
        self._send_ack(now)

    def _send_syn(self, now: int) -> None:
        """SYN (SYN-SENT) or SYN,ACK (SYN-RECEIVED), with our MSS, from ISS."""
        first = self.snd_max == self.iss
        if self.state is SYN_SENT:
            self._emit(SYN, self.iss, 0, b"", self.config.mss)
        else:
            self._emit(SYN | ACK, self.iss, self.rcv_nxt, b"", self.config.mss)
        if first:
            self.snd_nxt = self.snd_max = (self.iss + 1) & MASK
            self.timed_end = self.snd_nxt
            self.timed_at = now
        if self.t_rtx is None:
            self.t_rtx = now + self.rto.rto
            self._arm(self.t_rtx)

    def _output(self, now: int, limit: int = -1, rtx: bool = False) -> None:
        """Send what the window and the buffer allow, then a FIN if one is queued.

        Each segment goes straight to the sink, with _emit's and _sent's steps written
        out: in a bulk transfer this runs once per ACK and sends one segment."""
        buf = self.snd_buf
        if not buf and not self.fin_queued:
            return                                      # nothing to send or to wait with
        seq = self.snd_nxt                              # SND.NXT, kept here as segments go
        sent = (seq - self.buf_seq) & MASK              # where SND.NXT is in the buffer
        unsent = len(buf) - sent                        # (below zero: the FIN went too)
        if unsent <= 0 and (unsent or not self.fin_queued):
            return                                      # all of it, and any FIN, sent
        mss = self.send_mss
        una = self.snd_una                              # neither changes while this runs
        usable = self.snd_wnd - ((seq - una) & MASK)
        emit = self.sink.emit
        rcv_nxt = self.rcv_nxt
        while limit:
            if unsent > 0:
                if rtx:                                 # what was sent once may go again
                    usable = max(usable, (self.snd_max - seq) & MASK)
                if usable <= 0:
                    break
                n = unsent
                if n > usable:
                    n = usable
                if n > mss:
                    n = mss
                if self.nagle and n < mss and seq != una:
                    break                               # RFC 896: wait for the ACK
                if n == unsent:                         # the last of it: PSH (and the FIN)
                    payload = bytes(buf[sent:])
                    if self.fin_queued:
                        flags = FIN | PSH | ACK
                        self.fin_seq = (seq + n) & MASK
                        end = (seq + n + 1) & MASK
                    else:
                        flags = PSH | ACK
                        end = (seq + n) & MASK
                else:
                    payload = bytes(buf[sent:sent + n])
                    flags = ACK
                    end = (seq + n) & MASK
            elif unsent == 0 and self.fin_queued:       # the FIN alone, window or not
                n = 0
                payload = b""
                flags = FIN | ACK
                self.fin_seq = seq
                end = (seq + 1) & MASK
            else:
                break
            # _emit(flags, seq, RCV.NXT, payload), inline: an ACK, so a pending one is sent
            wnd = self.recv_cap - len(self.rcv_buf)
            if wnd > MAX_WINDOW:
                wnd = MAX_WINDOW
            self.rcv_adv = (rcv_nxt + wnd) & MASK
            self.ack_pending = False
            self.delack_count = 0
            self.t_delack = None
            emit(self, flags, seq, rcv_nxt, wnd, payload, None)
            # _sent(seq, end), inline
            self.snd_nxt = end
            if 0 < ((end - self.snd_max) & MASK) <= HALF:   # seq_diff(end, SND.MAX) > 0
                if self.timed_end is None and seq == self.snd_max:
                    self.timed_end = end                # Karn: time only new data
                    self.timed_at = now
                self.snd_max = end
            if self.t_rtx is None:
                self.t_rtx = now + self.rto.rto
                self._arm(self.t_rtx)
            limit -= 1
            seq = end
            sent += n
            unsent -= n
            usable -= n
            if flags & FIN:
                break
        if self.snd_wnd == 0:
            self._persist_if_shut(now)

    def _persist_if_shut(self, now: int) -> None:
        """RFC 9293 3.8.6.1: data waits on a zero window with nothing out: start the
        persist timer."""
        if (self.snd_nxt == self.snd_una and self.t_persist is None
                and self.unsent() > 0):
            self.persist_interval = self.rto.rto
            self.t_persist = now + self.persist_interval
            self._arm(self.t_persist)

    # -- what the peer's ACKs tell the send side (3.10.7.4 fifth step) ----------

    def _ack_advance(self, ack: int, now: int) -> None:
        """SND.UNA moves to ``ack``: free the buffer, time the RTT, restart the timer."""
        # seq_diff inline (this runs for every ACK): d in (0, HALF] is "after", d <= HALF "not before"
        n = (ack - self.buf_seq) & MASK                 # take_acked(ack), inline
        if 0 < n <= HALF:
            buf = self.snd_buf
            if n > len(buf):
                n = len(buf)
            del buf[:n]
            self.buf_seq = (self.buf_seq + n) & MASK
        self.snd_una = ack
        if 0 < ((ack - self.snd_nxt) & MASK) <= HALF:
            self.snd_nxt = ack
        timed = self.timed_end
        if timed is not None and ((ack - timed) & MASK) <= HALF:
            self.rto.sample(now - self.timed_at)                  # RFC 6298 2.2/2.3
            self.timed_end = None
        self.rtx_count = 0
        if self.probing:
            self.probing = False
            self.t_persist = None
        if ack == self.snd_max:
            self.t_rtx = None                                      # RFC 6298 5.2
        else:
            t = self.t_rtx = now + self.rto.rto                    # RFC 6298 5.3
            if self.wake_at is None or t < self.wake_at:           # a later restart needs no new entry
                self._arm(t)
        if self.waiters:
            self._wake()

    def _window_update(self, window: int, seq: int, ack: int) -> None:
        self.snd_wnd = window
        self.snd_wl1 = seq
        self.snd_wl2 = ack
        if window > self.max_snd_wnd:
            self.max_snd_wnd = window
        if self.probing:
            if window:
                # The window opened while a probe was out: send the probed octet as data.
                self.probing = False
                self.t_persist = None
                self.snd_nxt = self.snd_una
            elif ack == self.snd_una and self.snd_buf and self.buf_seq == ack:
                # The probe was refused: its octet is unsent again, so the persist
                # timer (not the retransmission timer) sends the next probe, as BSD's
                # tcp_output pulls SND.NXT back to SND.UNA while the window is zero.
                # (Our ACKs stay acceptable to the zero window either way: _send_ack
                # stops SEQ at the window's end.)
                self.snd_nxt = self.snd_una

    def _learn_mss(self, seg: "SegmentFields") -> None:
        self.peer_mss = seg.mss if seg.mss else 536               # RFC 9293 3.7.1
        self.send_mss = min(self.config.mss, self.peer_mss)

    # -- 3.10.8 timeouts ---------------------------------------------------------

    def _arm(self, deadline: int) -> None:
        if self.wake_at is None or deadline < self.wake_at:
            self.wake_at = deadline
            self.sink.schedule(self, deadline)

    def next_deadline(self) -> int | None:
        """The earliest armed timer, or None."""
        best = self.t_rtx
        t = self.t_persist
        if t is not None and (best is None or t < best):
            best = t
        t = self.t_delack
        if t is not None and (best is None or t < best):
            best = t
        t = self.t_timewait
        if t is not None and (best is None or t < best):
            best = t
        return best

    def on_timer(self, now: int) -> bool:
        """Run every timer due at ``now``; return whether any was."""
        self.wake_at = None
        fired = False
        if self.t_timewait is not None and self.t_timewait <= now:
            self.t_timewait = None
            self.sink.timer_fired(self, "TIME-WAIT")
            self._fire(TIMEOUT_2MSL, now, "2MSL timeout")
            return True
        if self.t_delack is not None and self.t_delack <= now:
            self.t_delack = None
            fired = True
            self.sink.timer_fired(self, "delayed ACK")
            self._send_ack(now)
        if self.t_rtx is not None and self.t_rtx <= now:
            self.t_rtx = None
            fired = True
            self.sink.timer_fired(self, "retransmission")
            self._retransmission_timeout(now)
        if self.t_persist is not None and self.t_persist <= now:
            self.t_persist = None
            fired = True
            self.sink.timer_fired(self, "persist")
            self._probe(now)
        nxt = self.next_deadline()
        if nxt is not None:
            self._arm(nxt)
        return fired

    def _retransmission_timeout(self, now: int) -> None:
        """RFC 6298 5.4-5.6: retransmit the earliest unacknowledged segment, back off."""
        state = self.state
        # The SYN is the earliest unacknowledged segment until SND.UNA passes ISS --
        # also in FIN-WAIT-1 after a CLOSE in SYN-RECEIVED (RFC 9293 3.10.4).
        syn = state is SYN_SENT or state is SYN_RECEIVED or (
            state is FIN_WAIT_1 and self.snd_una == self.iss and self.history[-2] is SYN_RECEIVED)
        if not syn and self.snd_wnd == 0 and self.snd_buf and self.buf_seq == self.snd_una:
            # The peer shrank its window to zero with data out: probe it as the persist
            # timer does, and do not time the connection out while it answers (RFC 1122
            # 4.2.2.17; Linux's retransmission timer does the same).
            self.t_rtx = self.timed_end = None
            self.snd_nxt = self.snd_una
            self.persist_interval = self.rto.rto
            self._probe(now)
            return
        limit = self.config.syn_retries if syn else self.config.retries
        if self.rtx_count >= limit:
            self._fire(GIVE_UP, now, "retransmissions exhausted")
            return
        self.rtx_count += 1
        self.rto.backoff()
        self.timed_end = None                                      # Karn's rule
        if syn:
            self._send_syn(now)
        else:
            self.snd_nxt = self.snd_una                            # go back to SND.UNA
            if self.t_rtx is None:
                self.t_rtx = now + self.rto.rto
                self._arm(self.t_rtx)
            self._output(now, limit=1, rtx=True)

    def _probe(self, now: int) -> None:
        """The persist timer: a zero-window probe carrying one octet of new data (SPEC)."""
        if self.snd_wnd or self.unsent() == 0 and not self.probing:
            return
        if not self.snd_buf or self.buf_seq != self.snd_una:
            # No data octet to probe with (only a FIN is left): the retransmission
            # timer carries the FIN, which takes no window.
            self.probing = False
            return
        self.probing = True
        self.snd_nxt = self.snd_una
        seq = self.snd_nxt
        sent = (seq - self.buf_seq) & MASK
        self._emit(ACK, seq, self.rcv_nxt, bytes(self.snd_buf[sent:sent + 1]))
        end = (seq + 1) & MASK
        self.snd_nxt = end
        if seq_diff(end, self.snd_max) > 0:
            self.snd_max = end
        self.persist_interval = min(self.persist_interval * 2, self.ticks.rto_max)
        self.t_persist = now + self.persist_interval
        self._arm(self.t_persist)
