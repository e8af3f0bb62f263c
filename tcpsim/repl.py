"""The step-through REPL: a ``cmd.Cmd`` over the library, as pdb is over the interpreter.

Each ``do_*`` method's docstring is its help; aliases are assignments
(``do_s = do_step``); output goes through the injected ``stdout``.  Socket
calls run as simulated processes, so a blocking call shows as blocked and a
later ``step`` shows it returning.  ``back`` replays the session from its seed
without the last command; ``save`` writes the session as a script for
``tcpsim run``.  Bad input of any kind prints one line and changes nothing.

The commands about time, the wire and pictures live in ``repl_more.py``, those
about the session itself (back, save, expect, help) in ``repl_session.py``:
mixins, to keep each module small.
"""

from __future__ import annotations

import cmd
import difflib
import errno as E
import io
import signal
import threading
from typing import Any, TextIO

from .config import Config
from .repl_more import MoreCommands
from .repl_parse import (DEFAULT_RECV, UsageError, check_name, check_plain, parse_int, parse_port,
                         printable, split_address, split_sockref, strip_comment, words)
from .repl_session import EXPECT_FORMS, SessionCommands, filler_or_data
from .repl_view import Naming, fmt_consequences, painter
from .repl_world import PendingCall, Refused, World
from .states import State
from .trace import fmt_time, plural

SHUT = {"rd": 0, "wr": 1, "rdwr": 2}
MAX_LINES = 100                 # what one command prints of its segments and state changes
HINTS = {
    E.EADDRINUSE: "the port is taken; pick another port or close the socket holding it",
    E.ECONNREFUSED: "nothing listens on that port",
    E.ENOTCONN: "the socket is not connected; connect or accept first",
    E.EPIPE: "this socket can no longer send: it was shut down, closed or reset",
    E.ECONNRESET: "the peer reset the connection; from now on recv gives b''",
    E.EBADF: "the socket is closed; make a new one",
    E.EISCONN: "the socket is already connected; connect from a new socket",
    E.EINVAL: "the call is not valid in this socket's state",
    E.EALREADY: "a connect is already in progress",
    E.ETIMEDOUT: "no answer came in time",
}


class Last:
    """What ``explain`` reads: the last step or command and what it did."""

    def __init__(self, command: str, event: Any, records: list, calls: list, packet: Any) -> None:
        self.command = command
        self.event = event
        self.records = records
        self.calls = calls
        self.packet = packet


def error_text(exc: BaseException, hint: str | None = None) -> str:
    """``ConnectionRefusedError: [Errno 111] Connection refused (nothing listens ...)``."""
    text = f"{type(exc).__name__}: {exc}"
    hint = hint or HINTS.get(getattr(exc, "errno", None) or 0)
    return f"{text} ({hint})" if hint else text


class Repl(MoreCommands, SessionCommands, cmd.Cmd):
    """The tcpsim REPL.  ``Repl(stdin=..., stdout=...)`` for tests; ``cmdloop()`` to run."""

    doc_header = "commands (help NAME for details)"
    identchars = cmd.Cmd.identchars + "-"

    def __init__(self, seed: int = 0, naming: str = "symbolic", lang: str = "en",
                 color: bool = False, config: Config | None = None,
                 stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        super().__init__(stdin=stdin, stdout=stdout)
        if stdin is not None:
            self.use_rawinput = False
        self.seed = seed
        self.base_config = config
        self.lang = lang
        self.paint = painter(color)
        self.world = World(seed, config)
        self.naming = Naming(self.world.net.trace, naming)
        self.start_naming = naming     # the naming a replay starts from; 'save' writes it
        # (line, kind): "world" changed the simulation, "refused" changed it and failed,
        # "check" checked it, "naming" changed only how numbers are shown
        self.history: list[tuple[str, str]] = []
        self.last: Last | None = None
        self.last_finished: dict[str, PendingCall] = {}
        self.failed = False
        self.last_error = ""
        self.busy = False
        self.interrupted = False       # Ctrl-C during a command: it stops between two events
        self.stopped = False
        self._line = ""
        self._kind: str | None = None
        self._since = (0, 0)           # (trace records, clock) when the current line began
        self._entries: list[str] | None = None   # what to keep instead (see record_as)
        self.intro = (f"tcpsim REPL, seed {seed}: hosts client (10.0.0.1) and server (10.0.0.2).\n"
                      "Try: listen server 80 / accept server / connect client server:80 / step\n"
                      "'help' lists every command; Ctrl-D or 'quit' leaves.")
        self.update_prompt()

    # -- plumbing --------------------------------------------------------------------------

    @property
    def net(self) -> Any:
        return self.world.net

    def say(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def error(self, text: str) -> None:
        self.failed = True
        self.last_error = text
        self.say(f"{self.paint('error', 'error')}: {text}")

    def update_prompt(self) -> None:
        net = self.net
        nxt = self.world.next_event_time()
        pending = len(net.in_flight)
        tail = f", next event at {fmt_time(round(nxt * 1e6))}" if nxt is not None else ", nothing scheduled"
        self.prompt = f"(tcpsim t={fmt_time(net.now_ticks)}, {pending} in flight{tail}) "

    def close(self) -> None:
        """End the session's simulated processes (their threads exit)."""
        self.world.close()

    def cmdloop(self, intro: Any = None) -> None:
        """As cmd.Cmd's, but Ctrl-C at the prompt drops the line typed, not the session."""
        while True:
            try:
                return super().cmdloop(intro)
            except KeyboardInterrupt:
                if self.busy:              # in the middle of a command: leave, as before
                    raise
                self.say("^C (the line is dropped; 'quit' or Ctrl-D leaves)")
                intro = ""

    def precmd(self, line: str) -> str:
        self.busy = True
        return line

    def onecmd(self, line: str) -> bool:
        """Run one line; any error becomes one printed line and the session goes on."""
        self.failed = False
        self._kind = None
        self._entries = None
        self.interrupted = False
        self._since = (self.mark(), self.net.now_ticks)
        previous = self._catch_ctrl_c()
        try:
            check_plain(line)
            line = strip_comment(line)
            self._line = line
            stop = super().onecmd(line) if line else self.emptyline()
        except (UsageError, Refused) as exc:
            self.error(str(exc))
            self._record_refused(isinstance(exc, Refused))
            return False
        except Exception as exc:     # a bug must not end the session: say it in one line
            self.error(f"internal error, please report it: {type(exc).__name__}: {exc}")
            self._record_refused(False)
            return False
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        if self._entries is not None:      # stopped by Ctrl-C: what it did, as lines
            self.history += [(ln, "world" if i == 0 else "more") for i, ln in enumerate(self._entries)]
        elif self._kind is not None:
            self.history.append((self._line, self._kind))
        return bool(stop)

    def _record_refused(self, refused: bool) -> None:
        """A failed line is kept (as 'expect fail LINE') when the world had already moved:
        events ran, the clock moved or a socket call was made before it failed; else it
        changed nothing and is forgotten."""
        if refused or self._kind == "world" or (self.mark(), self.net.now_ticks) != self._since:
            self.history.append((self._line, "refused"))

    def _catch_ctrl_c(self) -> Any:
        """While a command runs, Ctrl-C sets ``interrupted`` (the loops that run events
        stop at the next event boundary) instead of raising in the middle of an event,
        which would leave a segment half processed.  Returns the handler to put back
        (None where signals cannot be caught: outside the main thread)."""
        if threading.current_thread() is not threading.main_thread():
            return None

        def interrupt(signum: int, frame: Any) -> None:
            if self.interrupted:       # a second Ctrl-C before the loop saw the first:
                raise KeyboardInterrupt    # the command is stuck elsewhere; leave as before
            self.interrupted = True

        try:
            return signal.signal(signal.SIGINT, interrupt)
        except (ValueError, OSError):
            return None

    def emptyline(self) -> bool:
        """An empty line repeats ``step``."""
        self._line = "step"
        return bool(self.do_step(""))

    def default(self, line: str) -> bool:
        name = line.split()[0] if line.split() else line
        names = self.get_names_plain()
        close = [n for n in names if n.startswith(name)] or difflib.get_close_matches(name, names, n=2)
        hint = ("; did you mean " + " or ".join(f"'{n}'" for n in close[:3]) + "?" if close
                else "; type 'help' for the list")
        raise UsageError(f"unknown command {name!r}{hint}")

    def get_names_plain(self) -> list[str]:
        return sorted({n[3:] for n in self.get_names() if n.startswith("do_") and n != "do_EOF"})

    def postcmd(self, stop: bool, line: str) -> bool:
        self.busy = False
        self.update_prompt()
        return stop

    def changed(self, kind: str = "world") -> None:
        """Mark the current line as one that ``back`` and ``save`` replay."""
        self._kind = kind

    def mark(self) -> int:
        return len(self.net.trace.records)

    def report(self, mark: int, event: Any = None, packet: Any = None, verbose: bool = True,
               spawned: PendingCall | None = None, ran: Any = None) -> list[PendingCall]:
        """Print what happened since ``mark`` (state changes, segments, calls); remember it.

        ``ran`` is the event that ran (``event`` is None in quiet mode): a call it woke
        whose turn comes after other events due now is said to be woken, not waiting."""
        self.world.settle()
        records = self.net.trace.records[mark:]
        lines = fmt_consequences(records, self.naming, self.paint, sends=verbose)
        if len(lines) > MAX_LINES:          # 'send --bytes 1000000' at MSS 1: not 65,536 lines
            lines[MAX_LINES - 10:-10] = [f"  ... {len(lines) - MAX_LINES} more lines like these "
                                         "('ladder' shows them all)"]
        for ln in lines:
            self.say(ln)
        calls = []
        done = self.world.finished()
        for pc in done:
            self.last_finished[pc.host] = pc
            outcome, value = self.outcome(pc)
            late = f" (woken by {pc.woken_by}; its turn came after this)" if pc.woken_by else ""
            if not (spawned is pc and pc.call.exception is not None):
                self.say(f"  {pc.who}: {pc.name} {outcome}{' ' + value if value else ''}{late}")
            calls.append((pc.who, pc.name, outcome, value, pc.woken_by))
        calls += self.note_woken(ran or event, verbose)
        if spawned is not None and not spawned.call.done:
            waiting = spawned.call.waiting_for
            self.say(f"  {spawned.who}: blocked: {waiting}")
            calls.append((spawned.who, spawned.name, "blocked", waiting, ""))
        if records or calls or event is not None or packet is not None:
            self.last = Last(self._line, event, records, calls, packet)
        return done

    def note_woken(self, ran: Any, verbose: bool) -> list[tuple]:
        """Calls just woken whose turn to run is still to come: say so (their wait may be
        over), and remember what woke them for when they return."""
        woken = self.world.woken()
        for pc in self.world.pending:
            if pc not in woken:
                pc.woken_by = ""           # it ran and waits again
        out = []
        for pc in woken:
            if pc.woken_by:
                continue
            if ran is None:
                pc.woken_by = f"'{self._line}'"
            elif ran.kind == "arrival":
                pc.woken_by = f"#{ran.packet.id}"
            else:
                pc.woken_by = f"the {ran.kind} at {fmt_time(ran.time_ticks)}"
            pc.woken_at = self.net.now_ticks
            text = pc.woken_text()
            if verbose:
                self.say(f"  {pc.who}: {pc.name} {text}")
            out.append((pc.who, pc.name, "woken", text, pc.woken_by))
        return out

    def outcome(self, pc: PendingCall) -> tuple[str, str]:
        call = pc.call
        if call.exception is not None:
            return "raised", error_text(call.exception)
        result = call._result if call.done else None
        if pc.name == "accept()":
            sock, addr = result
            return "returned", f"fd {sock.fileno()} (peer {addr[0]}:{addr[1]}; use {pc.host}/{sock.fileno()})"
        if pc.name == "recv()":
            if not result:
                return "returned", "b'' (end of stream: the peer sent FIN)"
            shown = repr(result[:60]) + (f"... ({len(result)} bytes)" if len(result) > 60 else "")
            return "returned", shown
        if pc.name == "sendall()":
            return "returned", f"({plural(pc.nbytes, 'byte')} handed to TCP)"
        return "returned", ""

    def run_call(self, sock: Any, name: str, fn: Any, *args: Any, nbytes: int = 0) -> PendingCall:
        """Issue a socket call as a simulated process and say how it went."""
        mark = self.mark()
        pc = self.world.spawn(sock, name, fn, *args, nbytes=nbytes)
        self.changed()
        self.report(mark, spawned=pc)
        if pc.call.done and pc.call.exception is not None:
            raise Refused(f"{pc.who}: {name} raised {error_text(pc.call.exception)}")
        return pc

    def direct(self, sock: Any, name: str, fn: Any, *args: Any) -> Any:
        """A call that never blocks (listen, close, shutdown, abort), made directly."""
        mark = self.mark()
        self.changed()
        try:
            result = fn(*args)
        except (OSError, ValueError, TypeError, OverflowError) as exc:
            self.report(mark)
            hint = None
            if name == "bind()" and getattr(exc, "errno", None) == E.EADDRINUSE:
                hint = self.world.held_in_time_wait(sock.host.name, args[0][1])
            raise Refused(f"{self.world.describe(sock).split()[0]}: {name} raised "
                          f"{error_text(exc, hint)}") from None
        self.report(mark)
        return result

    def sockref(self, text: str, role: str) -> Any:
        name, fd = split_sockref(text)
        return self.world.pick(name, fd, role)

    def open_socket(self, text: str) -> Any:
        """The socket HOST[/FD] names, for close and abort: refused if already closed."""
        sock = self.sockref(text, "open")
        if sock.closed:
            raise UsageError(f"{sock.host.name}/{self.world.fd(sock)} is already closed")
        return sock

    # -- hosts and sockets ---------------------------------------------------------------------

    def do_host(self, arg: str) -> None:
        """host NAME [ADDRESS]
        Add a host; client and server exist from the start.
        e.g. 'host attacker 10.0.0.66'; without an address it gets the next free 10.0.0.N."""
        args = words(arg)
        if len(args) not in (1, 2):
            raise UsageError("usage: host NAME [ADDRESS], e.g. 'host third' or 'host third 10.0.0.9'")
        if args[0] in [*self.get_names_plain(), "EOF", *EXPECT_FORMS]:
            raise UsageError(f"{args[0]!r} is a command or 'expect {args[0]} ...'; a host needs "
                             "another name, so that a line means one thing")
        host = self.world.add_host(check_name(args[0]), args[1] if len(args) > 1 else None)
        self.changed()
        self.say(f"host {host.name} has address {host.address}")

    def do_bind(self, arg: str) -> None:
        """bind HOST PORT
        Make a socket on HOST bound to PORT, for a connect from a fixed port.
        As socket.bind(("", PORT)); a later 'connect HOST ...' or 'listen HOST PORT' uses
        it.  A simultaneous open needs both ends bound."""
        args = words(arg)
        if len(args) != 2:
            raise UsageError("usage: bind HOST PORT, e.g. 'bind client 5000'")
        self.world.host(args[0])
        port = parse_port(args[1])
        sock = self.world.pick(args[0], None, "fresh")
        if sock is None or sock.getsockname()[1] != 0:      # bound already: bind a new one
            sock = self.world.new_socket(args[0])
        self.direct(sock, "bind()", sock.bind, ("", port))
        self.say(f"{args[0]}/{self.world.fd(sock)} bound to {sock.getsockname()[0]}:{sock.getsockname()[1]}")

    def do_listen(self, arg: str) -> None:
        """listen HOST PORT [BACKLOG]
        Make a listening socket on HOST: bind(("", PORT)) then listen(BACKLOG).
        e.g. 'listen server 80', or 'listen server 80 1' for a one-slot accept queue."""
        args = words(arg)
        if len(args) not in (2, 3):
            raise UsageError("usage: listen HOST PORT [BACKLOG], e.g. 'listen server 80'")
        self.world.host(args[0])
        port = parse_port(args[1])
        backlog = parse_int(args[2], "the backlog", 0, 65535) if len(args) == 3 else None
        sock = self.world.pick(args[0], None, "fresh")
        if sock is not None and sock.getsockname()[1] not in (0, port):
            sock = None
        if sock is None:
            sock = self.world.new_socket(args[0])
        if sock.getsockname()[1] != port:
            self.direct(sock, "bind()", sock.bind, ("", port))
        self.direct(sock, "listen()", sock.listen, *(() if backlog is None else (backlog,)))
        self.say(f"{args[0]}/{self.world.fd(sock)} listening on port {sock.getsockname()[1]}"
                 + (f", backlog {backlog}" if backlog is not None else ""))

    def do_accept(self, arg: str) -> None:
        """accept HOST[/FD]
        Call accept() on HOST's listening socket; it blocks until a connection is queued.
        A connection is queued when the handshake's final ACK arrives; 'step' shows
        accept() return then, with the new socket's fd."""
        args = words(arg)
        if len(args) != 1:
            raise UsageError("usage: accept HOST[/FD], e.g. 'accept server'")
        sock = self.sockref(args[0], "listener")
        self.run_call(sock, "accept()", sock.accept)

    def do_connect(self, arg: str) -> None:
        """connect HOST[/FD] DEST:PORT
        Call connect() from HOST to DEST:PORT; it sends SYN and blocks until SYN,ACK.
        DEST is a host name or address, e.g. 'connect client server:80'.  HOST/FD
        connects an existing socket (one made by 'bind')."""
        args = words(arg)
        if len(args) != 2:
            raise UsageError("usage: connect HOST[/FD] DEST:PORT, e.g. 'connect client server:80'")
        name, fd = split_sockref(args[0])
        dest, port = split_address(args[1])
        if self.net.resolve(dest) is None:
            what = "has address" if dest[:1].isdigit() else "is named"
            raise UsageError(f"no host {what} {dest}; hosts: "
                             + ", ".join(f"{h.name} ({h.address})" for h in self.net.hosts.values()))
        sock = self.world.pick(name, fd, "fresh") if fd is None else self.world.pick(name, fd, "open")
        if sock is None:
            sock = self.world.new_socket(name)
        self.run_call(sock, "connect()", sock.connect, (dest, port))

    def do_send(self, arg: str) -> None:
        """send HOST[/FD] DATA    or    send HOST[/FD] --bytes N
        Call sendall(DATA) on HOST's connected socket; it blocks while the buffer is full.
        \\n, \\r, \\t and \\xNN escapes work and quotes keep spaces:
        send client "GET / HTTP/1.0\\r\\n\\r\\n".  --bytes N sends N octets of filler."""
        ref, rest = (arg.split(None, 1) + ["", ""])[:2]      # a tab separates as a space does
        if not ref or not rest.strip():
            raise UsageError("usage: send HOST[/FD] DATA, e.g. 'send client hello'")
        data = filler_or_data(rest)
        sock = self.sockref(ref, "conn")
        self.run_call(sock, "sendall()", sock.sendall, data, nbytes=len(data))

    def do_recv(self, arg: str) -> None:
        """recv HOST[/FD] [BUFSIZE]
        Call recv(BUFSIZE) on HOST's connected socket; it blocks until data or FIN.
        BUFSIZE defaults to 4096; b'' means end of stream (the peer's FIN was read)."""
        args = words(arg)
        if len(args) not in (1, 2):
            raise UsageError("usage: recv HOST[/FD] [BUFSIZE], e.g. 'recv server'")
        size = parse_int(args[1], "the buffer size", 1, 1 << 30) if len(args) == 2 else DEFAULT_RECV
        sock = self.sockref(args[0], "conn")
        self.run_call(sock, "recv()", sock.recv, size)

    def do_shutdown(self, arg: str) -> None:
        """shutdown HOST[/FD] rd|wr|rdwr
        Call shutdown(); wr sends FIN but keeps receiving (a half-close).
        rd stops reading; rdwr does both."""
        args = words(arg)
        if len(args) != 2 or args[1].lower() not in SHUT:
            raise UsageError("usage: shutdown HOST[/FD] rd|wr|rdwr, e.g. 'shutdown client wr'")
        sock = self.sockref(args[0], "conn")
        self.direct(sock, "shutdown()", sock.shutdown, SHUT[args[1].lower()])
        self.say(f"{self.world.describe(sock)}")

    def do_close(self, arg: str) -> None:
        """close HOST[/FD]
        Call close() on HOST's latest open socket; the connection closes with FIN.
        e.g. 'close client'; name one exactly with HOST/FD ('close server/3' closes the
        listener on fd 3).  With unread data, close() sends RST instead."""
        args = words(arg)
        if len(args) != 1:
            raise UsageError("usage: close HOST[/FD], e.g. 'close client' or 'close server/3'")
        sock = self.open_socket(args[0])
        fd = self.world.fd(sock)
        self.direct(sock, "close()", sock.close)
        self.say(f"{sock.host.name}/{fd} closed; the connection is now {sock.state}")

    def do_abort(self, arg: str) -> None:
        """abort HOST[/FD]
        Abort the connection: send RST, drop all data, release the socket (RFC 9293 ABORT).
        The same as close() with SO_LINGER set to 0 seconds."""
        args = words(arg)
        if len(args) != 1:
            raise UsageError("usage: abort HOST[/FD], e.g. 'abort client'")
        sock = self.open_socket(args[0])
        self.direct(sock, "abort()", sock.abort)
        self.say(f"{sock.host.name}/{self.world.fd(sock)} aborted")

    def do_sockets(self, arg: str) -> None:
        """sockets
        List the sockets made in this session: HOST/FD, state and addresses."""
        if arg.strip():
            raise UsageError("usage: sockets (no arguments)")
        found = [self.world.describe(s) for socks in self.world.sockets.values() for s in socks]
        for line in found or ["no sockets yet; try 'listen server 80'"]:
            self.say(line)

    # -- scripts ----------------------------------------------------------------------------------

    def run_lines(self, lines: list[str], echo: bool = True) -> tuple[int, str] | None:
        """Run script lines; return (line number, error message) of the first failure, or None."""
        for number, raw in enumerate(lines, 1):
            line = strip_comment(raw) if raw.isprintable() or "\t" in raw else raw
            if not line:
                continue
            if echo:
                self.say(f"{self.prompt}{printable(line)}")
            stop = self.onecmd(line)
            self.update_prompt()
            if self.failed:
                return number, self.last_error
            if stop:         # quit (q, exit, EOF) ends a script there, as exit ends a shell's
                rest = sum(1 for later in lines[number:] if strip_comment(later))
                if rest:
                    self.say(f"'{line}' at line {number} ends the script: the "
                             f"{plural(rest, 'line')} after it {'is' if rest == 1 else 'are'} not run")
                break
        return None

    def replay(self, entries: list[tuple[str, str]]) -> None:
        """Rebuild the world from the seed and run ``entries`` again, silently."""
        self.world.close()
        self.world = World(self.seed, self.base_config)
        self.naming = Naming(self.world.net.trace, self.start_naming)
        self.history = []
        self.last = None
        self.last_finished = {}
        out, self.stdout = self.stdout, io.StringIO()
        line = self._line
        try:
            for entry, _ in entries:
                self.onecmd(entry)
        finally:
            self.stdout = out
            self._line, self._kind, self.failed = line, None, False
        if [e for e, _ in self.history] != [e for e, _ in entries]:
            self.error("the replay went differently from the session (please report this)")
        else:
            self.history = list(entries)       # with their kinds: "more" is not "world"
        self.update_prompt()

    def state_of(self, host: str) -> list[State]:
        """Every state HOST's connections and sockets are in now."""
        states = [info.state for info in self.world.host(host).connections()]
        states += [s.state for s in self.world.sockets[host]]
        return states

