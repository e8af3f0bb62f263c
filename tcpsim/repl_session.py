"""The REPL's commands about the session itself: back, save, seed, config, expect, help.

A mixin of ``repl.Repl`` like ``repl_more.MoreCommands``; tab completion lives
here too.
"""

from __future__ import annotations

import dataclasses
import errno
from pathlib import Path
from typing import Any

from .config import Config
from .repl_parse import (DEFAULT_RECV, MAX_DATA, UsageError, parse_data, parse_float, parse_int,
                         parse_keywords, parse_seed, split_sockref, words)
from .repl_view import NAMINGS
from .repl_world import Ran, Refused
from .segment import Flags
from .states import State
from .trace import fmt_time, plural

GROUPS = (
    ("sockets", "host bind listen accept connect send recv shutdown close abort sockets"),
    ("time", "step next run continue back"),
    ("the wire", "flight drop dup deliver link inject"),
    ("looking", "state calls ladder explain graph pcap naming"),
    ("breakpoints", "break clear continue"),
    ("session and scripts", "expect save seed config help quit"),
)

EXPECT_FORMS = {"recv": "recv HOST DATA|--bytes N, e.g. 'expect recv server hello'",
                "error": "error HOST EXC, e.g. 'expect error client ConnectionRefusedError'",
                "fail": "fail COMMAND, e.g. 'expect fail listen server 80'"}


class SessionCommands:
    """Mixed into Repl (which provides say, world, net, history, replay, ...)."""

    def do_back(self, arg: str) -> None:
        """back
        Undo the last command (a step, a call, a drop, ...).
        The whole session is replayed from its seed without it; determinism makes the
        replay exact.  Checks (expect) and 'naming' are not commands it undoes."""
        if arg.strip():
            raise UsageError("usage: back (no arguments)")
        entries = list(self.history)
        last = next((i for i in reversed(range(len(entries)))
                     if entries[i][1] in ("world", "refused", "more")), None)
        if last is None:
            raise UsageError("nothing to undo: no command has changed the simulation yet")
        while entries[last][1] == "more":      # a command kept as several lines: all of it
            last -= 1
        undone = entries[last][0]
        # checks after it go with it; a naming chosen since stays chosen
        entries = entries[:last] + [e for e in entries[last + 1:] if e[1] == "naming"]
        self.replay(entries)
        self.say(f"undid '{undone}' (replayed {plural(len(entries), 'command')} from seed "
                 f"{self.seed}); "
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
        if self.start_naming != "symbolic":
            lines.append(f"naming {self.start_naming}")
        lines += [f"expect fail {line}" if kind == "refused" else line for line, kind in self.history]
        self.write_file(args[0], "\n".join(lines) + "\n")

    def do_seed(self, arg: str) -> None:
        """seed N
        Start over with a fresh network whose random choices come from seed N.
        Random choices are ISNs and link faults; the session's history starts anew."""
        args = words(arg)
        if len(args) != 1:
            raise UsageError(f"usage: seed N (now {self.seed})")
        self.seed = parse_seed(args[0])
        self.start_naming = self.naming.mode      # a fresh network, shown as before
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
        """expect HOST STATE | recv HOST DATA|--bytes N | error HOST EXC | fail COMMAND
        Check something, so that a script is a regression test.
        'expect client ESTABLISHED': some connection on HOST (or HOST/FD) is in STATE.
        'expect recv server hello': receiving on HOST gives DATA (runs the network until
        it does); DATA as 'send' takes it, "" for end of stream, or --bytes N for the N
        octets of filler 'send HOST --bytes N' sends.  'expect error client
        ConnectionRefusedError' (or ECONNREFUSED): HOST's last finished call raised it.  'expect fail COMMAND': COMMAND is refused."""
        head = arg.split(None, 2)
        if len(head) >= 2 and head[0] == "fail":
            line = arg.strip()[4:].strip()
            if line.split(None, 2)[:2] == ["expect", "fail"]:
                raise UsageError("usage: expect fail COMMAND, where COMMAND is not 'expect fail' "
                                 "again (one says it fails; 'expect HOST STATE' may follow)")
            return self.expect_fail(line)
        if len(head) == 3 and head[0] == "recv":
            return self.expect_recv(head[1], filler_or_data(head[2]))
        args = words(arg)
        if len(args) == 3 and args[0] == "error":
            return self.expect_error(args[1], args[2])
        if args and args[0] in EXPECT_FORMS and args[0] not in self.net.hosts:
            raise UsageError(f"usage: expect {EXPECT_FORMS[args[0]]}")
        if len(args) != 2:
            raise UsageError("usage: expect HOST STATE | expect recv HOST DATA|--bytes N | "
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
        self._line, self._kind, self._entries = outer, None, None
        self._since = (self.mark(), self.net.now_ticks)    # what moved, the inner line recorded
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
        names = {type(exc).__name__, errno.errorcode.get(getattr(exc, "errno", None) or 0, "")}
        if name not in names:
            raise UsageError(f"expected {name} on {host}, but {pc.name} raised {type(exc).__name__}")
        self.say(f"ok: {pc.who}: {pc.name} raised {type(exc).__name__}")

    def expect_recv(self, ref: str, want: bytes) -> None:
        name = split_sockref(ref)[0]
        horizon = self.horizon()
        ran = Ran()            # what it did, should Ctrl-C stop it
        while not self.world.has_connected(name) and any(
                pc.host == name and pc.name == "accept()" for pc in self.world.pending):
            if self.stop_on_ctrl_c():
                return self.record_as(ran.lines())
            event, _, hit = self.advance(verbose=False, until=horizon)
            if event is None:
                break                                        # let a blocked accept() return
            ran.event(hit)
        sock = self.sockref(ref, "conn")
        got = b""
        while len(got) < len(want) or not want:
            # expecting b'' (end of stream) asks for as much as 'recv' does: recv(0) is
            # always b'', whatever is there to read
            size = len(want) - len(got) if want else DEFAULT_RECV
            ran.call(f"recv {sock.host.name}/{self.world.fd(sock)} {size}")
            pc = self.run_call(sock, "recv()", sock.recv, size)
            while not pc.call.done:
                if self.stop_on_ctrl_c():
                    return self.record_as(ran.lines())
                event, _, hit = self.advance(verbose=False, until=horizon)
                if event is None:
                    raise Refused(f"expected {_short(want)} from {ref}, but recv() is still "
                                  f"blocked after {_short(got)} and nothing more will happen")
                ran.event(hit)
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
