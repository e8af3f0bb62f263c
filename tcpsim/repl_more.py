"""The REPL's commands about time, the wire, pictures and breakpoints.

A mixin of ``repl.Repl``: the same thin ``do_*`` methods, split off so that
each module stays small.  The session's own commands are in ``repl_session``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .repl_parse import (UsageError, not_a_file, parse_data, parse_float, parse_int,
                         parse_keywords, parse_packet_id, parse_port, words)
from .repl_view import (NAMINGS, fmt_event, fmt_flight, fmt_packet, paint_states,
                        state_rows, table, wrap)
from .repl_world import parse_breakpoint
from .segment import Flags, Segment
from .states import State
from .trace import fmt_time, plural

MAX_EVENTS = 1_000_000     # one command never runs more events than this
DAY = 86400.0              # open-ended runs stop a virtual day ahead: a zero-window probe never ends
PICTURES = (".svg", ".png", ".pdf")    # what 'graph' has Graphviz draw
MAX_PAYLOAD = 65495        # octets one IPv4 packet holds after its IP and TCP headers
LINK_KEYS = {"loss": "probability", "delay": "seconds", "reorder": "probability",
             "duplicate": "probability", "corrupt": "probability"}
INJECT_KEYS = {"seq": "number", "ack": "number", "win": "window", "sport": "port",
               "dport": "port", "data": "text"}


def check_file(name: str) -> None:
    """Refuse to write to anything but a regular file (or a new one)."""
    why = not_a_file(name)
    if why is not None:
        raise UsageError(f"cannot write {name}: {why}")


class MoreCommands:
    """Mixed into Repl (which provides say, world, net, naming, report, changed, ...)."""

    # -- time --------------------------------------------------------------------------------

    def advance(self, verbose: bool, until: float | None = None) -> tuple[Any, list, Any]:
        """One step: (event or None, calls that finished, breakpoint hit or None).

        With ``until``, no event later than it runs (then the result is None) and the
        clock moves to ``until``; quiet mode only, as it has no Event to print.  A
        negative ``until`` is a horizon: no event after -until runs, the clock stays.
        """
        mark = self.mark()
        if until is None:
            event = self.world.step()
        elif until < 0:            # open-ended, within a virtual day: never move the clock past
            event = self.world.step() if self.world.due_by(-until) else None   # the last event
        elif self.world.due_by(until):
            event = self.world.step()
        else:
            self.net.run(until=until)          # nothing is due by then: the clock moves on
            event = None
        if event is None:
            return None, [], None
        if verbose:
            self.say(fmt_event(event, self.naming))
        done = self.report(mark, event=event if verbose else None, verbose=verbose, ran=event)
        records = self.net.trace.records[mark:]
        hit = next((b for b in self.world.breaks for r in records if b.matches(r)), None)
        return event, done, hit

    def stopped_at(self, hit: Any) -> None:
        self.say(f"stopped at {hit}")

    def do_step(self, arg: str) -> None:
        """step [N]   (alias s; an empty line repeats step)
        Process the next N events (default 1), printing each and what it caused.
        What it caused: state changes, segments sent, socket calls that returned."""
        n = parse_int(arg, "N", 1) if arg.strip() else 1
        end = self.net.now + DAY
        for i in range(min(n, MAX_EVENTS)):
            if self.stop_on_ctrl_c():
                return self.record_as([f"step {i}"] if i else [])
            if self.after(end):
                self.say(f"stopped after {plural(i, 'step')}, a virtual day ahead (a zero-window probe "
                         "goes on forever); 'step N' to go on")
                return
            event, _, hit = self.advance(verbose=True)
            if event is None:
                self.say("nothing is scheduled: every connection is idle or closed")
                return
            self.changed()
            if hit is not None:
                self.stopped_at(hit)
                return

    do_s = do_step

    def record_as(self, lines: list[str]) -> None:
        """A command stopped by Ctrl-C is kept for back and save as what it did: ``lines``,
        which replay it exactly (none: it did nothing)."""
        self._entries = lines
        if lines:
            self.say(f"kept for back and save as: {' / '.join(lines)}")

    def stop_on_ctrl_c(self) -> bool:
        """Was Ctrl-C pressed during this command?  Then say so: the loop stops here,
        between two events, and the session goes on."""
        if not self.interrupted:
            return False
        self.interrupted = False
        self.say(f"interrupted (Ctrl-C) at t={fmt_time(self.net.now_ticks)}, between two events; "
                 "the session goes on")
        return True

    def after(self, end: float) -> bool:
        """Is the next event later than virtual time ``end``?"""
        nxt = self.world.next_event_time()
        return nxt is not None and nxt > end

    def do_next(self, arg: str) -> None:
        """next   (alias n)
        Step until a blocked socket call returns (or raises), printing every event."""
        if arg.strip():
            raise UsageError("usage: next (no arguments)")
        if not self.world.blocked():
            raise UsageError("no blocked call to wait for (see 'calls'); use 'step' or 'run'")
        end = self.net.now + DAY
        for count in range(MAX_EVENTS):
            if self.stop_on_ctrl_c():      # no call returned, no breakpoint: as many steps
                return self.record_as([f"step {count}"] if count else [])
            if self.after(end):
                self.say("a virtual day passed and the call is still blocked; 'next' to go on")
                return
            event, done, hit = self.advance(verbose=True)
            if event is None:
                self.say("nothing is scheduled, and the call is still blocked")
                return
            self.changed()
            if done or hit is not None:
                if hit is not None:
                    self.stopped_at(hit)
                return

    do_n = do_next

    def horizon(self) -> float:
        """The bound of an open-ended run, as advance() takes it: a virtual day from now."""
        return -(self.net.now + DAY)

    def run_quietly(self, until: float | None) -> None:
        count = 0
        start = self.net.now_ticks
        limit = self.horizon() if until is None else until
        while count < MAX_EVENTS:
            # Ctrl-C stops it once the events due at this instant have run, so that
            # 'run until NOW' replays it: no breakpoint was hit, no day has passed
            if self.interrupted and not self.world.due_now() and self.stop_on_ctrl_c():
                self.record_as([f"run until {fmt_time(self.net.now_ticks)}"] if count else [])
                break
            event, _, hit = self.advance(verbose=False, until=limit)
            if event is None:
                if until is None and self.world.next_event_time() is not None:
                    self.say("stopped a virtual day ahead, with events still scheduled (a "
                             "zero-window probe goes on forever); 'run' again to go on")
                break
            count += 1
            if hit is not None:
                self.stopped_at(hit)
                break
        else:
            self.say(f"stopped after {MAX_EVENTS} events; type 'run' again to go on")
        if count or self.net.now_ticks != start:
            self.changed()
        nxt = self.world.next_event_time()
        tail = "nothing is scheduled" if nxt is None else f"next event at {fmt_time(round(nxt * 1e6))}"
        self.say(f"ran {plural(count, 'event')}; now t={fmt_time(self.net.now_ticks)}, {tail}")

    def do_run(self, arg: str) -> None:
        """run [until T | for T]
        Run until nothing is scheduled, or until virtual time T, or for T seconds.
        Stops at breakpoints; prints state changes and returning calls."""
        args = words(arg)
        until = None
        if args:
            if len(args) != 2 or args[0] not in ("until", "for"):
                raise UsageError("usage: run [until T | for T], e.g. 'run', 'run until 2.5', 'run for 1'")
            t = parse_float(args[1], "the time T (virtual seconds)")
            until = t if args[0] == "until" else self.net.now + t
        self.run_quietly(until)

    def do_continue(self, arg: str) -> None:
        """continue   (aliases c, cont)
        Run until a breakpoint is hit (see 'break') or nothing is scheduled."""
        if arg.strip():
            raise UsageError("usage: continue (no arguments); set breakpoints with 'break'")
        if not self.world.breaks:
            self.say("no breakpoints are set ('break TIME-WAIT', 'break RST', ...); running to the end")
        self.run_quietly(None)

    do_c = do_cont = do_continue

    # -- the wire ------------------------------------------------------------------------------

    def do_flight(self, arg: str) -> None:
        """flight
        List the segments in flight, with ids (for drop, dup, deliver) and arrival times."""
        if arg.strip():
            raise UsageError("usage: flight (no arguments)")
        for line in fmt_flight(self.net.in_flight, self.naming):
            self.say(line)

    def packet_arg(self, arg: str, usage: str) -> int:
        args = words(arg)
        if len(args) != 1:
            raise UsageError(f"usage: {usage}")
        pid = parse_packet_id(args[0])
        if all(p.id != pid for p in self.net.in_flight):
            ids = ", ".join(f"#{p.id}" for p in self.net.in_flight) or "none"
            raise UsageError(f"no packet #{pid} in flight; in flight: {ids}")
        return pid

    def do_drop(self, arg: str) -> None:
        """drop ID
        Drop in-flight packet ID (see 'flight'): it never arrives, and nobody is told."""
        pid = self.packet_arg(arg, "drop ID, e.g. 'drop 1' (see 'flight')")
        mark = self.mark()
        pkt = self.net.drop(pid)
        self.changed()
        self.say(f"dropped {fmt_packet(pkt, self.naming)}")
        self.report(mark, packet=pkt)

    def do_dup(self, arg: str) -> None:
        """dup ID
        Put a copy of in-flight packet ID on the wire; it arrives just after the original."""
        pid = self.packet_arg(arg, "dup ID, e.g. 'dup 3' (see 'flight')")
        mark = self.mark()
        copy = self.net.duplicate(pid)
        self.changed()
        self.say(f"copied #{pid} as #{copy.id}, arriving {fmt_time(copy.arrives_at_ticks)}")
        self.report(mark, packet=copy)

    def do_deliver(self, arg: str) -> None:
        """deliver ID
        Deliver in-flight packet ID now, ahead of its turn (reordering by hand)."""
        pid = self.packet_arg(arg, "deliver ID, e.g. 'deliver 4' (see 'flight')")
        mark = self.mark()
        event = self.net.deliver(pid)
        self.changed()
        self.say(fmt_event(event, self.naming))
        self.report(mark, event=event)

    def do_link(self, arg: str) -> None:
        """link A B [loss=P] [delay=S] [reorder=P] [duplicate=P] [corrupt=P]
        Show or set the faults on the link between hosts A and B (both directions).
        Probabilities P from 0 to 1 are drawn from the seeded RNG; 'link client server'
        alone shows the settings; unnamed settings keep their values."""
        args = words(arg)
        if len(args) < 2:
            raise UsageError("usage: link A B [loss=0.1] [delay=0.05] [reorder=0.2] ...")
        a, b = self.world.host(args[0]).name, self.world.host(args[1]).name
        given = parse_keywords(args[2:], LINK_KEYS)
        link = self.net.link(a, b)
        values = {k: getattr(link, k) for k in ("loss", "reorder", "duplicate", "corrupt")}
        delay = link.delay / 1e6
        for key, text in given.items():
            if key == "delay":
                delay = parse_float(text, "delay (seconds)", 0.0, 3600.0)
            else:
                values[key] = parse_float(text, key, 0.0, 1.0)
        if given:
            self.net.set_link(a, b, delay=delay, **values)
            self.changed()
        shown = " ".join(f"{k}={v:g}" for k, v in values.items())
        self.say(f"link {a} <-> {b}: delay={delay:g} {shown}")

    def do_inject(self, arg: str) -> None:
        """inject SRC DST FLAGS [seq=N] [ack=N] [win=N] [sport=P] [dport=P] [data=TEXT]
        Put a hand-made segment on the wire from SRC to DST, as an attacker would.
        FLAGS like RST or SYN,ACK; numbers may be symbolic (seq=K+1000).  Ports default
        to the latest connection between the two hosts that is still open (not CLOSED),
        else the latest one.  e.g. 'inject client server RST seq=J+1000'"""
        args = words(arg)
        if len(args) < 3:
            raise UsageError("usage: inject SRC DST FLAGS [seq=N] [ack=N] ..., "
                             "e.g. 'inject client server RST seq=J+1000'")
        src, dst = self.world.host(args[0]).name, self.world.host(args[1]).name
        flags = 0
        for name in args[2].upper().split(","):
            if name not in Flags.__members__:
                raise UsageError(f"unknown flag {name!r}; flags are SYN, ACK, FIN, RST, PSH, URG "
                                 "joined with commas (SYN,ACK)")
            flags |= Flags[name]
        kw = parse_keywords(args[3:], INJECT_KEYS)
        sport, dport = self.ports_between(src, dst)
        sport = parse_port(kw["sport"]) if "sport" in kw else sport
        dport = parse_port(kw["dport"]) if "dport" in kw else dport
        if sport is None or dport is None:
            raise UsageError(f"no connection between {src} and {dst} to take ports from; "
                             "give sport=P dport=P")
        payload = parse_data(kw.get("data", ""))
        if len(payload) > MAX_PAYLOAD:
            raise UsageError(f"a segment carries at most {MAX_PAYLOAD} octets of data (one IPv4 "
                             f"packet), not {len(payload)}")
        seg = Segment(src_port=sport, dst_port=dport, seq=self.seqnum(kw.get("seq", "0")),
                      ack=self.seqnum(kw.get("ack", "0")), flags=flags,
                      window=parse_int(kw["win"], "win", 0, 65535) if "win" in kw
                      else (0 if flags & Flags.RST else 65535),
                      payload=payload)
        mark = self.mark()
        pkt = self.net.inject(src, dst, seg)
        self.changed()
        self.say(f"  injected {fmt_packet(pkt, self.naming)} (forged: {src}'s TCP did not send it), "
                 f"arriving {fmt_time(pkt.arrives_at_ticks)}")
        self.report(mark + 1, packet=pkt)

    def ports_between(self, src: str, dst: str) -> tuple[int | None, int | None]:
        """The ports of the latest connection between the hosts still open (not CLOSED)
        at either end, else of the latest one; (None, None) if they never talked."""
        between = []
        for conv in reversed(self.naming.conversations().all):
            sides = {s.host: s for s in conv.sides.values()}
            if src in sides and dst in sides:
                between.append((sides[src], sides[dst]))
        for a, b in between:
            for host, me, peer in ((src, a, b), (dst, b, a)):
                if any(info.local == (me.addr, me.port) and info.remote == (peer.addr, peer.port)
                       and info.state is not State.CLOSED
                       for info in self.net.hosts[host].connections()):
                    return a.port, b.port
        return (between[0][0].port, between[0][1].port) if between else (None, None)

    def seqnum(self, text: str) -> int:
        """``1234`` or symbolic ``J``, ``K+1000``, ``J-5`` (named as in the ladder)."""
        m = re.fullmatch(r"([A-Z]\d*)([+-]\d{1,10})?", text)
        if m:
            for conv in self.naming.conversations().all:
                for side in conv.sides.values():
                    if side.letter == m.group(1) and side.isn is not None:
                        return (side.isn + int(m.group(2) or 0)) & 0xFFFFFFFF
            raise UsageError(f"no ISN is called {m.group(1)} yet (see 'ladder'); or give a number")
        return parse_int(text, "a sequence number", 0, 0xFFFFFFFF)

    # -- looking ------------------------------------------------------------------------------

    def do_state(self, arg: str) -> None:
        """state
        A table of every connection on every host, with the RFC's TCB variables.
        Columns: fd, addresses, state, SND.UNA, SND.NXT, SND.WND, RCV.NXT, RCV.WND
        (named as in the ladder), Send-Q and Recv-Q (octets not yet acknowledged, and
        received but not yet read, as ss shows them) and the armed timers' deadlines;
        '-' where there is no value yet (in SYN-SENT, RCV.NXT and SND.WND: no SYN has come)."""
        if arg.strip():
            raise UsageError("usage: state (no arguments)")
        fds, closed = {}, []
        for host, socks in self.world.sockets.items():
            for s in socks:
                conn = s.connection
                if s.closed:
                    continue
                if s.state is State.CLOSED:
                    closed.append((host, self.world.fd(s)))
                elif conn is not None:
                    fds[(host, conn.local, conn.remote)] = self.world.fd(s)
        rows = state_rows(self.net, fds, self.naming, closed)
        if len(rows) == 1:
            self.say("no connections now (every one has closed)" if self.net.trace.packets
                     else "no connections yet; try 'listen server 80'")
            return
        for line in table(rows, self.paint):
            self.say(line)

    def do_calls(self, arg: str) -> None:
        """calls
        The socket calls still blocked, and what each one is waiting for.
        A call woken up (its data, connection or room may have come) runs at its turn,
        after the events already due at that instant; until then it shows as woken."""
        if arg.strip():
            raise UsageError("usage: calls (no arguments)")
        blocked = self.world.blocked()
        woken = self.world.woken()
        for pc in blocked:
            if pc in woken and pc.woken_by:
                self.say(f"{pc.who}: {pc.name} {pc.woken_text()} (it was {pc.call.waiting_for})")
            else:
                self.say(f"{pc.who}: {pc.call.waiting_for}")
        if not blocked:
            self.say("no blocked calls")

    def do_ladder(self, arg: str) -> None:
        """ladder [symbolic|relative|absolute]    or    ladder mermaid|dot FILE
        Draw the run so far as a ladder diagram, one column per host.
        'ladder mermaid FILE' and 'ladder dot FILE' write it as diagram source."""
        args = words(arg)
        if len(args) == 2 and args[0] in ("mermaid", "dot"):
            from .export.ladder import ladder_diagram

            self.write_file(args[1], ladder_diagram(self.net.trace, format=args[0]))
            return
        if len(args) > 1 or (args and args[0] not in NAMINGS):
            raise UsageError("usage: ladder [symbolic|relative|absolute] or ladder mermaid|dot FILE")
        if not self.net.trace.packets:
            self.say("no segments yet: nothing to draw")
            return
        ladder = self.net.trace.ladder(args[0] if args else self.naming.mode).rstrip("\n")
        self.say(paint_states(ladder, self.paint))

    def write_file(self, name: str, content: str | bytes) -> None:
        check_file(name)
        try:
            if isinstance(content, bytes):
                Path(name).write_bytes(content)
            else:
                Path(name).write_text(content)
        except OSError as exc:
            raise UsageError(f"cannot write {name}: {exc.strerror or exc}") from None
        self.say(f"wrote {name}")

    def do_graph(self, arg: str) -> None:
        """graph FILE
        Write the RFC 9293 state diagram, with the transitions this run took highlighted.
        It is drawn from the engine's transition table.  FILE.dot/.gv is Graphviz
        source; .svg, .png or .pdf are rendered with Graphviz's 'dot' program."""
        args = words(arg)
        if len(args) != 1:
            raise UsageError("usage: graph FILE, e.g. 'graph states.dot' or 'graph states.svg'")
        suffix = Path(args[0]).suffix.lower()
        if suffix not in (".dot", ".gv", "", *PICTURES):
            raise UsageError(f"graph writes FILE.dot or FILE.gv (Graphviz source) or FILE.svg, "
                             f".png or .pdf (a picture), not {suffix!r}")
        from .export.graph import state_graph

        check_file(args[0])
        graph = state_graph(self.net.trace)
        if suffix not in PICTURES:
            self.write_file(args[0], graph.source)
            return
        try:
            picture = graph.pipe(format=suffix[1:])
        except Exception as exc:
            raise UsageError(f"cannot render {args[0]} ({type(exc).__name__}); is Graphviz's "
                             "'dot' installed? 'graph FILE.dot' needs no renderer") from None
        self.write_file(args[0], picture)

    def do_pcap(self, arg: str) -> None:
        """pcap FILE
        Write every segment so far as a pcap capture for Wireshark or tshark."""
        args = words(arg)
        if len(args) != 1:
            raise UsageError("usage: pcap FILE, e.g. 'pcap run.pcap'")
        from .export.pcap import write_pcap

        check_file(args[0])
        try:
            n = write_pcap(self.net.trace, args[0])
        except OSError as exc:
            raise UsageError(f"cannot write {args[0]}: {exc.strerror or exc}") from None
        self.say(f"wrote {plural(n, 'packet')} to {args[0]}")

    def do_naming(self, arg: str) -> None:
        """naming symbolic|relative|absolute
        Choose how sequence numbers are shown: J+1, relative 1, or as on the wire.
        symbolic names ISNs with the textbooks' letters J, K, ...; relative is
        Wireshark's (ISN = 0); absolute shows the 32-bit numbers."""
        args = words(arg)
        if len(args) != 1 or args[0] not in NAMINGS:
            raise UsageError(f"usage: naming {'|'.join(NAMINGS)} (now {self.naming.mode})")
        self.naming.mode = args[0]
        self.changed("naming")        # saved and replayed, but not a step 'back' undoes
        self.say(f"sequence numbers are now {args[0]}")

    def do_explain(self, arg: str) -> None:
        """explain [--lang en|zh]
        Say in plain words what the last step or command did, citing the RFC step.
        The step of RFC 9293 (or RFC 5961, RFC 6298, RFC 1337) behind it; --lang zh
        explains in Chinese."""
        args = words(arg)
        lang = self.lang
        if args:
            if len(args) != 2 or args[0] != "--lang" or args[1] not in ("en", "zh"):
                raise UsageError("usage: explain [--lang en|zh]")
            lang = args[1]
        from .explain import explain

        for line in explain(self.last, self.net, self.naming, lang):
            self.say(wrap(line, lang, 100))

    # -- breakpoints -------------------------------------------------------------------------

    def do_break(self, arg: str) -> None:
        """break [HOST] STATE|FLAG|CALL   (alias b)
        Set a breakpoint for continue (and step, next, run); 'break' alone lists them.
        Stops when a connection enters STATE ('break TIME-WAIT'), a segment with FLAG
        is sent ('break RST', 'break SYN,ACK') or a call returns ('break accept')."""
        args = words(arg)
        if not args:
            for b in self.world.breaks:
                self.say(str(b))
            if not self.world.breaks:
                self.say("no breakpoints")
            return
        bp = parse_breakpoint(self.world.next_break, args, self.net.hosts)
        self.world.breaks.append(bp)
        self.world.next_break += 1
        self.changed()
        self.say(str(bp))

    do_b = do_break

    def do_clear(self, arg: str) -> None:
        """clear [N]
        Delete breakpoint N, or all of them."""
        args = words(arg)
        if len(args) > 1:
            raise UsageError("usage: clear [N]")
        if not args:
            self.world.breaks.clear()
            self.say("all breakpoints deleted")
        else:
            n = parse_int(args[0], "the breakpoint number", 1)
            if all(b.number != n for b in self.world.breaks):
                raise UsageError(f"no breakpoint {n}; see 'break'")
            self.world.breaks[:] = [b for b in self.world.breaks if b.number != n]
            self.say(f"deleted breakpoint {n}")
        self.changed()
