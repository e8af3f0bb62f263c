"""Socket-call programs: REPL commands run against a Network without ever
blocking the caller, and written back out as a script ``tcpsim run`` replays.

A program is a list of ``Command`` values, each one line of the REPL's
language::

    listen server 80
    connect client server:80
    accept server
    send client hello
    recv server
    shutdown client wr
    step 3
    drop 4
    link client server loss=0.1 duplicate=0.0 reorder=0.0 corrupt=0.0
    run until 2.5

``Runner`` carries them out as the REPL does: every socket call that may block
runs as a simulated process (``host.spawn``), so a blocked ``accept`` or
``recv`` waits while later commands step the network, and a command means the
socket the REPL would pick.  The runner records what each ``send`` handed to a
socket and what each ``recv`` returned, so a test can compare the two streams;
its ``script()`` is the run as a file ``tcpsim run`` replays.

This module does not import hypothesis; ``tcpsim.strategies`` builds on it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Callable

from .config import Config
from .process import Call
from .segment import Flags, Segment, flag_names
from .sockbase import SHUT_RD, SHUT_RDWR, SHUT_WR
from .sockets import Socket
from .repl_parse import DEFAULT_RECV
from .repl_world import choose_socket

if TYPE_CHECKING:
    from .network import Network
    from .trace import Packet

VERBS = ("listen", "connect", "accept", "send", "recv", "shutdown", "close", "abort",
         "step", "run", "drop", "dup", "deliver", "link", "inject")
SHUT_NAMES = {"rd": SHUT_RD, "wr": SHUT_WR, "rdwr": SHUT_RDWR}
LINK_KEYS = ("delay", "loss", "duplicate", "reorder", "corrupt")
_NUMERIC_ARGS = {"listen": (1, 2), "recv": (1,), "step": (0,), "drop": (0,), "dup": (0,),
                 "deliver": (0,)}
RUN_EVENT_LIMIT = 200_000    # ``run`` without ``until`` stops after this many events

# What a socket call may raise on a simulated network: Python's own errors.
# Anything else escaping the library is a bug the runner reports.
EXPECTED_ERRORS = (OSError, ValueError, TypeError, OverflowError)


class Pick(int):
    """An in-flight packet chosen by position (``in_flight[k % len]``), not by id.

    Generated programs cannot know packet ids ahead; the runner resolves a Pick
    to the id of the packet it names and logs the command with that id.
    """

    def __repr__(self) -> str:
        return f"Pick({int(self)})"

    def __str__(self) -> str:
        return f"@{int(self)}"


@dataclass(frozen=True, slots=True)
class Command:
    """One REPL command: a verb, its arguments, and ``link``'s ``key=value`` options."""

    verb: str
    args: tuple[Any, ...] = ()
    options: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        words = [self.verb]
        if self.verb == "run" and self.args:
            words += ["until", _number(self.args[0])]
        else:
            words += [_number(a) if isinstance(a, float) else str(a) for a in self.args]
        words += [f"{key}={_option_text(value)}" for key, value in self.options]
        return " ".join(words)

    @classmethod
    def parse(cls, line: str) -> "Command":
        """The Command a script line spells (the inverse of ``str``)."""
        words = line.split()
        if not words or words[0] not in VERBS:
            raise ValueError(f"not a command: {line!r}; one of {', '.join(VERBS)}")
        verb, rest = words[0], words[1:]
        if verb == "run":
            if rest and rest[0] == "until" and len(rest) == 2:
                return cls(verb, (float(rest[1]),))
            if rest:
                raise ValueError(f"run takes 'until T' or nothing, not {' '.join(rest)!r}")
            return cls(verb)
        if verb == "link":
            options = tuple((k, float(v)) for k, _, v in (w.partition("=") for w in rest[2:]))
            return cls(verb, tuple(rest[:2]), options)
        if verb == "inject":
            options = tuple((k, _parse_bytes(v) if k == "data" else int(v))
                            for k, _, v in (w.partition("=") for w in rest[3:]))
            return cls(verb, tuple(rest[:3]), options)
        numbers = _NUMERIC_ARGS.get(verb, ())
        args = tuple(int(w) if i in numbers and w.isdigit() else w for i, w in enumerate(rest))
        return cls(verb, args)


def _number(value: float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _option_text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return '"' + "".join(f"\\x{b:02x}" for b in value) + '"'
    return _number(value)


def _parse_bytes(text: str) -> bytes:
    """``"\\x68\\x69"`` (as ``_option_text`` writes it) back to ``b"hi"``."""
    text = text.strip('"')
    return bytes(int(text[i + 2:i + 4], 16) for i in range(0, len(text), 4))


def inject_command(src: str, dst: str, seg: Segment) -> Command:
    """``inject SRC DST FLAGS seq=.. ack=.. win=.. sport=.. dport=.. [data=..]`` for ``seg``
    (the REPL's forged segment; it has no MSS option, and needs at least one flag)."""
    options: tuple[tuple[str, Any], ...] = (
        ("seq", seg.seq), ("ack", seg.ack), ("win", seg.window),
        ("sport", seg.src_port), ("dport", seg.dst_port))
    if seg.payload:
        options += (("data", bytes(seg.payload)),)
    return Command("inject", (src, dst, flag_names(int(seg.flags))), options)


def link_command(a: str, b: str, *, delay: float | None = None, loss: float = 0.0,
                 duplicate: float = 0.0, reorder: float = 0.0, corrupt: float = 0.0) -> Command:
    """``link A B loss=... duplicate=... reorder=... corrupt=... [delay=...]``.

    Every probability is spelled out, zeros too: the REPL keeps unnamed settings,
    so ``link A B`` alone would change nothing.  ``delay=None`` keeps the delay."""
    options = [("loss", loss), ("duplicate", duplicate), ("reorder", reorder), ("corrupt", corrupt)]
    if delay is not None:
        options.insert(0, ("delay", delay))
    return Command("link", (a, b), tuple((k, float(v)) for k, v in options))


def config_changes(config: Config) -> dict[str, Any]:
    """The fields of ``config`` that differ from ``Config()``'s defaults."""
    default = Config()
    return {f.name: getattr(config, f.name) for f in fields(Config)
            if getattr(config, f.name) != getattr(default, f.name)}


def render_script(commands: list[Command], seed: int | None = None,
                  config: Config | None = None, refused: Collection[int] = ()) -> str:
    """A ``tcpsim run`` script: the seed (as a comment: it is a command-line option),
    the config as a ``config`` line, then one command a line.  Commands whose
    index is in ``refused`` failed when issued; they read ``expect fail COMMAND``,
    so the script goes on past them as the run did."""
    lines = []
    if seed is not None:
        lines.append(f"# tcpsim run --seed {seed} SCRIPT")
    changes = config_changes(config) if config is not None else {}
    isn = changes.pop("isn", None)
    if isn is not None:
        lines.append(f"# every ISS is {isn}: Config(isn={isn}) (the REPL cannot set ISNs)")
    if changes:
        lines.append("config " + " ".join(f"{k}={_config_text(v)}" for k, v in changes.items()))
    for i, command in enumerate(commands):
        lines.append(f"expect fail {command}" if i in refused else str(command))
    return "\n".join(lines) + "\n"


def _config_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return repr(value) if isinstance(value, float) else str(value)


class EventStorm(RuntimeError):
    """A ``run until T`` processed ``Runner.event_limit`` events without reaching T."""


class Refusal(Exception):
    """The REPL would refuse this command (no such socket, no such packet)."""


class Runner:
    """Carries out Commands on a Network exactly as the REPL does, never blocking.

    Sockets are picked as the REPL picks them: each host's sockets in the order
    they were made (or accepted); a command means the latest open one that fits
    (a connected one for send/recv/shutdown, the listener for accept, any open
    one for close/abort, an unconnected one or a new one for connect).  After
    each command, processes woken at that instant run (the REPL settles them
    before its prompt); ``step N`` is N events, each with the wake-ups it causes.

    ``log`` holds every command carried out, packet ids resolved; ``refused``
    the indexes of those that failed at once (the script's ``expect fail``).
    ``sent[sock]`` and ``received[sock]`` are the octets each socket handed to
    its connection and got from ``recv``; ``eof`` holds the sockets whose
    ``recv`` returned ``b""`` or raised, ``shut_rd`` those shut for reading.
    """

    def __init__(self, net: "Network") -> None:
        self.net = net
        self.sockets: dict[str, list[Socket]] = {name: [] for name in net.hosts}
        self.sent: dict[Socket, bytearray] = {}
        self.received: dict[Socket, bytearray] = {}
        self.eof: set[Socket] = set()
        self.shut_rd: set[Socket] = set()
        self.calls: list[tuple[Command, Call, Socket]] = []
        self._unadopted: list[tuple[Call, str]] = []
        self.log: list[Command] = []
        self.refused: set[int] = set()
        self.failures: list[tuple[Command, BaseException]] = []   # raised by a direct call
        self.event_limit: int | None = None    # a `run until T` taking more events raises EventStorm

    # -- carrying out commands -----------------------------------------------------

    def run_all(self, commands: list[Command]) -> "Runner":
        for command in commands:
            self.execute(command)
        return self

    def execute(self, command: Command) -> Any:
        """Carry out one command; socket errors and refusals are results, not exceptions."""
        handler: Callable[..., Any] = getattr(self, "_do_" + command.verb)
        at = len(self.log)
        try:
            result = handler(command, *command.args)
        except Refusal as exc:
            self._refuse(at, command, exc)
            return exc
        self._settle()
        self._adopt()
        if isinstance(result, Call) and result.done and result.exception is not None:
            self.refused.add(at)                 # failed at once: the REPL refuses it
        return result

    def _refuse(self, at: int, command: Command, exc: BaseException) -> None:
        if len(self.log) == at:
            self.log.append(command)
        self.refused.add(at)
        if isinstance(exc, _Failed):
            self.failures.append((command, exc.exc))

    def _settle(self) -> None:
        net = self.net
        while net.next_event_kind() == "wakeup" and net.next_time() == net.now:
            net.step()

    def _adopt(self) -> None:
        """accept()'s new sockets join their host's list, in the order the calls were made."""
        keep = []
        for call, host in self._unadopted:
            if call.done and call.exception is None:
                self._add(host, call.result[0])
            elif not call.done:
                keep.append((call, host))
        self._unadopted = keep

    def _direct(self, command: Command, fn: Callable[[], Any]) -> Any:
        """Log ``command`` and make a call that never blocks; what it raises is refused."""
        self.log.append(command)
        try:
            return fn()
        except Exception as exc:   # kept: unexpected() tells Python's errors from bugs
            raise _Failed(exc) from exc

    def _spawn(self, command: Command, sock: Socket, fn: Callable[[], Any]) -> Call:
        self.log.append(command)
        call = sock.host.spawn(fn)
        self.calls.append((command, call, sock))
        return call

    def pick(self, host: str, role: str) -> Socket | None:
        """The socket a command on ``host`` means (the REPL's rule); Refusal if none."""
        if host not in self.sockets:
            raise Refusal(f"no host named {host!r}")
        try:
            return choose_socket(self.sockets[host], role)
        except LookupError as missing:
            what = {"listener": "listening", "conn": "connected"}.get(missing.args[0], "open")
            raise Refusal(f"{host} has no {what} socket") from None

    def _add(self, host: str, sock: Socket) -> Socket:
        self.sockets[host].append(sock)
        self.sent.setdefault(sock, bytearray())
        self.received.setdefault(sock, bytearray())
        return sock

    def _do_listen(self, command: Command, host: str, port: int, backlog: int | None = None) -> Any:
        sock = self.pick(host, "fresh")
        if sock is not None and sock.getsockname()[1] not in (0, port):
            sock = None
        if sock is None:
            sock = self._add(host, self.net.host(host).socket())

        def listen() -> None:
            if sock.getsockname()[1] != port:
                sock.bind(("", port))
            sock.listen(*(() if backlog is None else (backlog,)))
        return self._direct(command, listen)

    def _do_connect(self, command: Command, host: str, target: str) -> Call:
        peer, _, port = target.rpartition(":")
        if self.net.resolve(peer) is None:
            raise Refusal(f"no host named {peer!r}")
        sock = self.pick(host, "fresh") or self._add(host, self.net.host(host).socket())

        def connect() -> None:
            sock.connect((peer, int(port)))
        return self._spawn(command, sock, connect)

    def _do_accept(self, command: Command, host: str) -> Call:
        listener = self.pick(host, "listener")

        def accept() -> tuple[Socket, Any]:
            return listener.accept()
        call = self._spawn(command, listener, accept)
        self._unadopted.append((call, host))
        return call

    def _do_send(self, command: Command, host: str, word: str) -> Call:
        sock = self.pick(host, "conn")
        data = word.encode()

        def send() -> None:
            view = memoryview(data)
            while view:
                n = sock.send(view)
                if n <= 0:
                    raise RuntimeError(f"send() returned {n} on a blocking socket")
                self.sent[sock] += view[:n]
                view = view[n:]
        return self._spawn(command, sock, send)

    def _do_recv(self, command: Command, host: str, size: int = DEFAULT_RECV) -> Call:
        sock = self.pick(host, "conn")

        def recv() -> None:
            try:
                data = sock.recv(size)
            except BaseException:
                self.eof.add(sock)
                raise
            self.received[sock] += data
            if not data:
                self.eof.add(sock)
        return self._spawn(command, sock, recv)

    def _do_shutdown(self, command: Command, host: str, how: str) -> Any:
        sock = self.pick(host, "conn")

        def shutdown() -> None:
            sock.shutdown(SHUT_NAMES[how])
            if how != "wr":
                self.shut_rd.add(sock)
        return self._direct(command, shutdown)

    def _do_close(self, command: Command, host: str) -> Any:
        return self._direct(command, self.pick(host, "open").close)

    def _do_abort(self, command: Command, host: str) -> Any:
        return self._direct(command, self.pick(host, "open").abort)

    def _do_step(self, command: Command, count: int = 1) -> int:
        self.log.append(command)
        done = 0
        while done < count and self.net.step() is not None:
            self._settle()
            done += 1
        return done

    def _do_run(self, command: Command, until: float | None = None) -> int:
        self.log.append(command)
        if until is None:
            return self.net.run(max_events=self.event_limit or RUN_EVENT_LIMIT)
        if self.event_limit is None:
            return self.net.run(until=until)
        count = self.net.run(until=until, max_events=self.event_limit)
        if count >= self.event_limit and self.net.next_time() is not None \
                and self.net.next_time() <= until:
            raise EventStorm(f"`{command}` ran {count} events and had not reached "
                             f"t={until} (now t={self.net.now}): the network never goes quiet")
        return count

    def _do_drop(self, command: Command, pid: int) -> Any:
        return self._on_packet(command, pid, self.net.drop)

    def _do_dup(self, command: Command, pid: int) -> Any:
        return self._on_packet(command, pid, self.net.duplicate)

    def _do_deliver(self, command: Command, pid: int) -> Any:
        return self._on_packet(command, pid, self.net.deliver)

    def _on_packet(self, command: Command, pid: int, fn: Callable[[int], Any]) -> Any:
        flight = self.net.in_flight
        if isinstance(pid, Pick):
            if not flight:
                return None                     # nothing to pick: nothing happens, nothing logged
            pid = flight[pid % len(flight)].id
            command = Command(command.verb, (pid,))
        if all(p.id != pid for p in flight):
            raise Refusal(f"no packet #{pid} in flight")
        self.log.append(command)
        return fn(pid)

    def _do_inject(self, command: Command, src: str, dst: str, flags: str) -> Packet:
        bits = 0
        for name in flags.split(","):
            if name not in Flags.__members__:
                raise Refusal(f"unknown flag {name!r}")
            bits |= Flags[name]
        opts = dict(command.options)
        seg = Segment(src_port=opts["sport"], dst_port=opts["dport"], seq=opts.get("seq", 0),
                      ack=opts.get("ack", 0), flags=bits,
                      window=opts.get("win", 0 if bits & Flags.RST else 65535),
                      payload=opts.get("data", b""))
        self.log.append(command)
        return self.net.inject(src, dst, seg)

    def _do_link(self, command: Command, a: str, b: str) -> None:
        self.log.append(command)
        link = self.net.link(a, b)
        settings = {k: getattr(link, k) for k in ("loss", "duplicate", "reorder", "corrupt")}
        settings["delay"] = link.delay / 1e6
        settings.update(command.options)         # unnamed settings keep their values (the REPL's rule)
        self.net.set_link(a, b, **settings)

    # -- looking at the run ----------------------------------------------------------------

    @property
    def data_sockets(self) -> list[Socket]:
        """Every socket with a connection that is not a listener's, in the order made."""
        return [s for socks in self.sockets.values() for s in socks
                if s.connection is not None and s.connection.remote[1] != 0]

    def pending(self) -> list[tuple[Command, Call, Socket]]:
        """Spawned calls still blocked."""
        return [entry for entry in self.calls if not entry[1].done]

    def unexpected(self) -> list[tuple[Command, BaseException]]:
        """Exceptions from socket calls that are not Python's socket errors: bugs."""
        raised = list(self.failures)
        raised += [(c, call.exception) for c, call, _ in self.calls
                   if call.done and call.exception is not None]
        return [(c, e) for c, e in raised if not isinstance(e, EXPECTED_ERRORS)]

    def pairs(self) -> list[tuple[Socket, Socket]]:
        """(connecting socket, accepted socket) for every connection both ends hold."""
        socks = self.data_sockets
        by_ends = {(s.connection.local, s.connection.remote): s for s in socks}
        out = []
        for sock in socks:
            conn = sock.connection
            peer = by_ends.get((conn.remote, conn.local))
            if not conn.passive and peer is not None and peer is not sock:
                out.append((sock, peer))
        return out

    def script(self, seed: int | None = None, config: Config | None = None) -> str:
        """The run so far as a ``tcpsim run`` script."""
        return render_script(self.log, seed, config, self.refused)

    def close(self) -> None:
        """End the processes still blocked (their threads exit)."""
        self.net.close()


class _Failed(Refusal):
    """A direct call raised: the command is refused, and the exception kept."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(str(exc))
        self.exc = exc
