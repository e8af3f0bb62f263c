"""The REPL's commands about time, the wire, pictures, breakpoints and the session.

A mixin of ``repl.Repl``: the same thin ``do_*`` methods, split off so that
each module stays small.  ``help`` and tab completion live here too.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from .config import Config
from .repl_parse import (MAX_DATA, UsageError, parse_float, parse_int, parse_keywords, parse_packet_id,
                         parse_data, parse_port, split_sockref, words)
from .repl_view import NAMINGS, fmt_event, fmt_flight, fmt_packet, state_rows, table, wrap
from .repl_world import Refused, parse_breakpoint
from .segment import Flags, Segment
from .states import State
from .trace import fmt_time

MAX_EVENTS = 1_000_000     # one command never runs more events than this
DAY = 86400.0              # open-ended runs stop a virtual day ahead: a zero-window probe never ends
LINK_KEYS = {"loss": "probability", "delay": "seconds", "reorder": "probability",
             "duplicate": "probability", "corrupt": "probability"}
INJECT_KEYS = {"seq": "number", "ack": "number", "win": "window", "sport": "port",
               "dport": "port", "data": "text"}
GROUPS = (
    ("sockets", "host bind listen accept connect send recv shutdown close abort sockets"),
    ("time", "step next run continue back"),
    ("the wire", "flight drop dup deliver link inject"),
    ("looking", "state calls ladder explain graph pcap naming"),
    ("breakpoints", "break clear continue"),
    ("session and scripts", "expect save seed config help quit"),
)


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
            nxt = self.world.next_event_time()     # the last event
            event = self.world.step() if nxt is not None and nxt <= -until else None
        else:
            event = self.net.run(until=until, max_events=1) or None
        if event is None:
            return None, [], None
        if verbose:
            self.say(fmt_event(event, self.naming))
        done = self.report(mark, event=event if verbose else None, verbose=verbose)
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
        for i in range(min(n, MAX_EVENTS)):
            event, _, hit = self.advance(verbose=True)
            if event is None:
                self.say("nothing is scheduled: every connection is idle or closed")
                return
            self.changed()
            if hit is not None:
                self.stopped_at(hit)
                return

    do_s = do_step

    def do_next(self, arg: str) -> None:
        """next   (alias n)
        Step until a blocked socket call returns (or raises), printing every event."""
        if arg.strip():
            raise UsageError("usage: next (no arguments)")
        if not self.world.blocked():
            raise UsageError("no blocked call to wait for (see 'calls'); use 'step' or 'run'")
        end = self.net.now + DAY
        for _ in range(MAX_EVENTS):
            nxt = self.world.next_event_time()
            if nxt is not None and nxt > end:
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
        self.say(f"ran {count} event{'s' if count != 1 else ''}; now t={fmt_time(self.net.now_ticks)}, {tail}")

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
        to the latest connection between the two hosts.  e.g. 'inject client server RST seq=J+1000'"""
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
        seg = Segment(src_port=sport, dst_port=dport, seq=self.seqnum(kw.get("seq", "0")),
                      ack=self.seqnum(kw.get("ack", "0")), flags=flags,
                      window=parse_int(kw["win"], "win", 0, 65535) if "win" in kw
                      else (0 if flags & Flags.RST else 65535),
                      payload=parse_data(kw.get("data", "")))
        mark = self.mark()
        pkt = self.net.inject(src, dst, seg)
        self.changed()
        self.say(f"  injected {fmt_packet(pkt, self.naming)} (forged: {src}'s TCP did not send it), "
                 f"arriving {fmt_time(pkt.arrives_at_ticks)}")
        self.report(mark + 1, packet=pkt)

    def ports_between(self, src: str, dst: str) -> tuple[int | None, int | None]:
        for conv in reversed(self.naming.conversations().all):
            sides = {s.host: s for s in conv.sides.values()}
            if src in sides and dst in sides:
                return sides[src].port, sides[dst].port
        return None, None

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
        (named as in the ladder) and the armed timers with their deadlines."""
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
        The socket calls still blocked, and what each one is waiting for."""
        if arg.strip():
            raise UsageError("usage: calls (no arguments)")
        blocked = self.world.blocked()
        for pc in blocked:
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
        self.say(self.net.trace.ladder(args[0] if args else self.naming.mode).rstrip("\n"))

    def write_file(self, name: str, text: str) -> None:
        try:
            Path(name).write_text(text)
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
        from .export.graph import state_graph

        graph = state_graph(self.net.trace)
        path = Path(args[0])
        if path.suffix in (".dot", ".gv", ""):
            self.write_file(args[0], graph.source)
            return
        try:
            graph.render(outfile=str(path), cleanup=True)
        except Exception as exc:
            raise UsageError(f"cannot render {args[0]} ({type(exc).__name__}); is Graphviz's "
                             "'dot' installed? 'graph FILE.dot' needs no renderer") from None
        self.say(f"wrote {args[0]}")

    def do_pcap(self, arg: str) -> None:
        """pcap FILE
        Write every segment so far as a pcap capture for Wireshark or tshark."""
        args = words(arg)
        if len(args) != 1:
            raise UsageError("usage: pcap FILE, e.g. 'pcap run.pcap'")
        from .export.pcap import write_pcap

        try:
            n = write_pcap(self.net.trace, args[0])
        except OSError as exc:
            raise UsageError(f"cannot write {args[0]}: {exc.strerror or exc}") from None
        self.say(f"wrote {n} packets to {args[0]}")

    def do_naming(self, arg: str) -> None:
        """naming symbolic|relative|absolute
        Choose how sequence numbers are shown: J+1, relative 1, or as on the wire.
        symbolic names ISNs with the textbooks' letters J, K, ...; relative is
        Wireshark's (ISN = 0); absolute shows the 32-bit numbers."""
        args = words(arg)
        if len(args) != 1 or args[0] not in NAMINGS:
            raise UsageError(f"usage: naming {'|'.join(NAMINGS)} (now {self.naming.mode})")
        self.naming.mode = args[0]
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

    # -- the session ----------------------------------------------------------------------------

    def do_back(self, arg: str) -> None:
        """back
        Undo the last command (a step, a call, a drop, ...).
        The whole session is replayed from its seed without it; determinism makes the
        replay exact."""
        if arg.strip():
            raise UsageError("usage: back (no arguments)")
        entries = list(self.history)
        undone = None
        while entries:
            line, kind = entries.pop()
            if kind != "check":
                undone = line
                break
        if undone is None:
            raise UsageError("nothing to undo: no command has changed the simulation yet")
        self.replay(entries)
        self.say(f"undid '{undone}' (replayed {len(entries)} commands from seed {self.seed}); "
                 f"now t={fmt_time(self.net.now_ticks)}")

    def do_save(self, arg: str) -> None:
        """save FILE
        Write this session as a script; 'tcpsim run FILE' replays it to the same state.
        Calls the library refused are written as 'expect fail ...'."""
        args = words(arg)
        if len(args) != 1:
            raise UsageError("usage: save FILE, e.g. 'save session.tcpsim'")
        lines = ["# a tcpsim session; replay it with: tcpsim run " + Path(args[0]).name,
                 f"seed {self.seed}"]
        lines += [f"expect fail {line}" if kind == "refused" else line for line, kind in self.history]
        self.write_file(args[0], "\n".join(lines) + "\n")

    def do_seed(self, arg: str) -> None:
        """seed N
        Start over with a fresh network whose random choices come from seed N.
        Random choices are ISNs and link faults; the session's history starts anew."""
        args = words(arg)
        if len(args) != 1:
            raise UsageError(f"usage: seed N (now {self.seed})")
        self.seed = parse_int(args[0], "the seed", 0, 2**64 - 1)
        self.replay([])
        self.say(f"a fresh network with seed {self.seed}")

    def do_config(self, arg: str) -> None:
        """config [linux] [NAME=VALUE ...]
        Show or change the TCP settings (tcpsim.Config) of connections made from now on.
        e.g. 'config msl=5', 'config recv_buffer=4096 delayed_ack=on', 'config linux'."""
        args = words(arg)
        config = self.net.config
        if args and args[0] == "linux":
            config, args = Config.linux(), args[1:]
        fields = {f.name: f for f in dataclasses.fields(Config) if f.name != "isn"}
        changes = {k: _config_value(k, v, config) for k, v in parse_keywords(
            args, {name: "" for name in fields}).items()}
        if args or arg.strip().startswith("linux"):
            try:
                self.net.config = config.replace(**changes)
            except (ValueError, TypeError) as exc:
                raise UsageError(str(exc)) from None
            self.changed()
        self.say(" ".join(f"{name}={getattr(self.net.config, name)}" for name in fields))

    def do_expect(self, arg: str) -> None:
        """expect HOST STATE | recv HOST DATA | error HOST EXC | fail COMMAND
        Check something, so that a script is a regression test.
        'expect client ESTABLISHED': some connection on HOST (or HOST/FD) is in STATE.
        'expect recv server hello': receiving on HOST gives DATA (runs the network until
        it does).  'expect error client ConnectionRefusedError' (or ECONNREFUSED): HOST's
        last finished call raised it.  'expect fail COMMAND': COMMAND is refused."""
        head = arg.split(None, 2)
        if len(head) >= 2 and head[0] == "fail":
            return self.expect_fail(arg.strip()[4:].strip())
        if len(head) == 3 and head[0] == "recv":
            return self.expect_recv(head[1], filler_or_data(head[2]))
        args = words(arg)
        if len(args) == 3 and args[0] == "error":
            return self.expect_error(args[1], args[2])
        if len(args) != 2:
            raise UsageError("usage: expect HOST STATE | expect recv HOST DATA | "
                             "expect error HOST EXC | expect fail COMMAND")
        name, fd = split_sockref(args[0])
        try:
            want = State.parse(args[1])
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        have = [self.world.pick(name, fd, "open").state] if fd is not None else self.state_of(name)
        self.changed("check")
        if want not in have:
            shown = ", ".join(dict.fromkeys(str(s) for s in have)) or "no connections"
            raise UsageError(f"expected {args[0]} in {want}, but it is in: {shown}")
        self.say(f"ok: {args[0]} is in {want}")

    def expect_fail(self, line: str) -> None:
        outer = self._line
        before = len(self.history)
        self.onecmd(line)                  # records itself when the library refused it
        inner_failed, self.failed = self.failed, False
        self._line, self._kind = outer, None
        if not inner_failed:
            raise UsageError(f"expected '{line}' to fail, but it did not")
        if len(self.history) == before:    # refused by the REPL itself: keep the check
            self.changed("check")
        self.say(f"ok: '{line}' failed as expected")

    def expect_error(self, host: str, name: str) -> None:
        self.world.host(host)
        self.changed("check")
        pc = self.last_finished.get(host)
        exc = pc.call.exception if pc is not None else None
        if exc is None:
            what = "no finished call" if pc is None else f"{pc.name} returned normally"
            raise UsageError(f"expected the last call on {host} to raise {name}, but {what}")
        import errno

        names = {type(exc).__name__, errno.errorcode.get(getattr(exc, "errno", None) or 0, "")}
        if name not in names:
            raise UsageError(f"expected {name} on {host}, but {pc.name} raised {type(exc).__name__}")
        self.say(f"ok: {pc.who}: {pc.name} raised {type(exc).__name__}")

    def expect_recv(self, ref: str, want: bytes) -> None:
        name = split_sockref(ref)[0]
        horizon = self.horizon()
        while not self.world.has_connected(name) and any(
                pc.host == name and pc.name == "accept()" for pc in self.world.pending):
            if self.advance(verbose=False, until=horizon)[0] is None:
                break                                        # let a blocked accept() return
        sock = self.sockref(ref, "conn")
        got = b""
        while len(got) < len(want) or not want:
            pc = self.run_call(sock, "recv()", sock.recv, len(want) - len(got))
            while not pc.call.done:
                if self.advance(verbose=False, until=horizon)[0] is None:
                    raise Refused(f"expected {_short(want)} from {ref}, but recv() is still "
                                  f"blocked after {_short(got)} and nothing more will happen")
            data = pc.call.result
            got += data
            if not data or not want:
                break
        if got != want:
            raise Refused(f"expected {_short(want)} from {ref}, got {_short(got)}")
        self.say(f"ok: {ref} received {_short(got)}")

    def do_quit(self, arg: str) -> bool:
        """quit   (aliases q, exit; Ctrl-D)
        Leave the REPL."""
        self.stopped = True
        return True

    do_q = do_exit = do_quit

    def do_EOF(self, arg: str) -> bool:
        """Ctrl-D leaves the REPL."""
        self.say()
        return self.do_quit("")

    def do_help(self, arg: str) -> None:
        """help [COMMAND]
        List the commands, or show one command's help."""
        name = arg.strip()
        if name:
            fn = getattr(self, "do_" + name, None)
            if fn is None or not fn.__doc__:
                raise UsageError(f"no command {name!r}; 'help' lists them all")
            self.say(_dedent(fn.__doc__))
            return
        self.say("tcpsim REPL commands (help NAME for details):")
        for title, names in GROUPS:
            self.say(f"  {title}:")
            for n in names.split():
                first = _dedent(getattr(self, "do_" + n).__doc__).splitlines()[1:2]
                self.say(f"    {n:<10} {first[0] if first else ''}")
        self.say("  HOST/FD names one socket (server/4); an empty line repeats 'step'.")

    # -- completion ------------------------------------------------------------------------------

    def completedefault(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        """Host names (and HOST/FD socket names) for any argument."""
        options = list(self.net.hosts)
        for host, socks in self.world.sockets.items():
            options += [f"{host}/{self.world.fd(s)}" for s in socks if not s.closed]
        return [o for o in options if o.startswith(text)]

    def complete_packet(self, text: str, *ignored: Any) -> list[str]:
        return [str(p.id) for p in self.net.in_flight if str(p.id).startswith(text)]

    complete_drop = complete_dup = complete_deliver = complete_packet

    def complete_break(self, text: str, line: str, *ignored: Any) -> list[str]:
        options = [str(s) for s in State] + list(Flags.__members__) + ["accept", "connect",
                                                                        "recv", "send", "close"]
        options += list(self.net.hosts)
        return [o for o in options if o.lower().startswith(text.lower())]

    def complete_naming(self, text: str, *ignored: Any) -> list[str]:
        return [n for n in NAMINGS if n.startswith(text)]

    complete_ladder = complete_naming

    def complete_help(self, text: str, *ignored: Any) -> list[str]:
        return [n for n in self.get_names_plain() if n.startswith(text)]


def filler(n: int) -> bytes:
    """The octets 'send HOST --bytes N' sends: abcd...z repeated."""
    return bytes(97 + i % 26 for i in range(n))


def filler_or_data(text: str) -> bytes:
    """``--bytes N`` (filler) or data with escapes, as 'send' takes them."""
    parts = text.split()
    if parts and parts[0] == "--bytes":
        if len(parts) != 2:
            raise UsageError("usage: --bytes N, e.g. 'send client --bytes 20000'")
        return filler(parse_int(parts[1], "the number of bytes", 1, MAX_DATA))
    return parse_data(text.strip())


def _short(data: bytes) -> str:
    return repr(data) if len(data) <= 60 else f"{data[:40]!r}... ({len(data)} bytes)"


def _dedent(doc: str) -> str:
    lines = doc.strip("\n").splitlines()
    return "\n".join(ln.strip() if i == 0 else "  " + ln.strip() for i, ln in enumerate(lines))


def _config_value(name: str, text: str, config: Config) -> Any:
    current = getattr(config, name)
    if isinstance(current, bool):
        if text.lower() in ("on", "true", "yes", "1"):
            return True
        if text.lower() in ("off", "false", "no", "0"):
            return False
        raise UsageError(f"{name} is on or off, not {text!r}")
    if name == "challenge_ack_limit" and text.lower() == "none":
        return None
    if isinstance(current, int) or name == "challenge_ack_limit":
        return parse_int(text, name, 0, 1 << 31)
    return parse_float(text, name, 0.0, 1e7)
