"""What a REPL session holds: a network, the sockets typed about, the calls in progress.

``World`` is the part of the REPL that ``back`` throws away and rebuilds by
replaying the session's commands from the same seed.  It makes no protocol
decisions: sockets are the library's, and each user socket call runs as a
simulated process (``host.spawn``) so that a blocking call never blocks the
prompt -- it shows as blocked, and a later ``step`` shows it returning.
"""

from __future__ import annotations

from typing import Any, Callable

from .config import Config
from .network import Network
from .repl_parse import UsageError
from .segment import Flags
from .states import State
from .timers import to_ticks
from .trace import fmt_time

CALL_NAMES = ("listen", "accept", "connect", "send", "sendall", "recv", "shutdown", "close")


def choose_socket(socks: list[Any], role: str) -> Any:
    """The REPL's rule for which of a host's sockets a command means: the latest open
    one that fits ``role`` -- "listener", "conn" (connected), "fresh" (unconnected, or
    None), anything else: any open one.  Raises LookupError(role) when none fits."""
    live = [s for s in reversed(socks) if not s.closed]
    listening = [s for s in live if s.state is State.LISTEN]
    others = [s for s in live if s.state is not State.LISTEN]
    if role == "listener":
        if listening:
            return listening[0]
        raise LookupError("listener")
    if role == "fresh":
        return next((s for s in others if s.connection is None), None)
    connected = [s for s in others if s.connection is not None]
    if role == "conn":
        if connected:
            return connected[0]
        raise LookupError("conn")
    if connected or others or listening:
        return (connected or others or listening)[0]
    raise LookupError("open")


class Refused(Exception):
    """A command the world refused after it had begun to change it (a socket call raised,
    an expectation failed); ``back`` and ``save`` still replay it, as 'expect fail ...'."""


class Ran:
    """What a command stopped by Ctrl-C did, as lines that replay it exactly: the calls
    it made and the events it ran as 'step N', ended after each breakpoint hit (where
    'step' would stop)."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.steps = 0

    def event(self, hit: Any) -> None:
        self.steps += 1
        if hit is not None:
            self.flush()

    def call(self, line: str) -> None:
        self.flush()
        self.done.append(line)

    def flush(self) -> None:
        if self.steps:
            self.done.append(f"step {self.steps}")
            self.steps = 0

    def lines(self) -> list[str]:
        self.flush()
        return self.done


class PendingCall:
    """A socket call the REPL issued that has not been reported as finished yet."""

    def __init__(self, host: str, fd: int, name: str, call: Any, nbytes: int = 0) -> None:
        self.host = host
        self.fd = fd
        self.name = name
        self.call = call
        self.nbytes = nbytes
        self.woken_by = ""         # what woke it, while its wake-up waits its turn ...
        self.woken_at = 0          # ... and when (ticks)

    @property
    def who(self) -> str:
        return f"{self.host} fd {self.fd}"

    def woken_text(self) -> str:
        """``woken by #4: it runs after the events already due at 0.040000, ...``."""
        return (f"woken by {self.woken_by}: it runs after the events already due at "
                f"{fmt_time(self.woken_at)}, and returns then or waits again")


class Breakpoint:
    """``break [HOST] STATE|FLAG|CALL``: stop when a state is entered, a flag sent, a call ends."""

    def __init__(self, number: int, host: str | None, kind: str, value: Any, text: str) -> None:
        self.number = number
        self.host = host
        self.kind = kind
        self.value = value
        self.text = text

    def matches(self, r: Any) -> bool:
        if self.kind == "state":
            ok = r.kind == "state" and r.new is self.value
            host = getattr(r, "host", None)
        elif self.kind == "flag":
            ok = r.kind == "segment" and r.flags & self.value == self.value
            host = getattr(r, "src", None)
        else:
            ok = (r.kind == "call" and r.phase in ("return", "raise")
                  and r.name.rstrip("()") in self.value)
            host = getattr(r, "host", None)
        return ok and (self.host is None or host == self.host)

    def __str__(self) -> str:
        where = f" on {self.host}" if self.host else ""
        what = {"state": "a connection enters", "flag": "a segment is sent with",
                "call": "a call returns:"}[self.kind]
        return f"breakpoint {self.number}: stop when {what} {self.text}{where}"


def parse_breakpoint(number: int, words: list[str], hosts: dict[str, Any]) -> Breakpoint:
    host = None
    if len(words) == 2 and words[0] in hosts:
        host, words = words[0], words[1:]
    elif len(words) == 2:
        raise UsageError(f"no host named {words[0]!r}; hosts: {', '.join(hosts)}")
    if len(words) != 1:
        raise UsageError("usage: break [HOST] STATE|FLAG|CALL, e.g. 'break TIME-WAIT', "
                         "'break server SYN-RECEIVED', 'break RST', 'break accept'")
    word = words[0]
    try:
        return Breakpoint(number, host, "state", State.parse(word), str(State.parse(word)))
    except ValueError:
        pass
    names = [n.strip().upper() for n in word.split(",")]
    if all(n in Flags.__members__ for n in names):
        value = 0
        for n in names:
            value |= Flags[n]
        return Breakpoint(number, host, "flag", value, ",".join(names))
    call = word.rstrip("()").lower()
    if call in CALL_NAMES:
        value = ("send", "sendall") if call in ("send", "sendall") else (call,)
        return Breakpoint(number, host, "call", value, f"{call}()")
    raise UsageError(f"cannot break on {word!r}: give a state (TIME-WAIT), a flag (RST, SYN,ACK) "
                     f"or a call ({', '.join(CALL_NAMES)})")


class World:
    """The network of one session, with the REPL's sockets and calls."""

    def __init__(self, seed: int = 0, config: Config | None = None) -> None:
        self.seed = seed
        self.net = Network(seed=seed, config=config)
        self.sockets: dict[str, list[Any]] = {}
        self.fds: dict[int, int] = {}          # id(socket) -> the fd it was created with
        self.pending: list[PendingCall] = []
        self.breaks: list[Breakpoint] = []
        self.next_break = 1
        for name in ("client", "server"):
            self.add_host(name)

    def close(self) -> None:
        """End the simulated processes still blocked (their threads exit)."""
        self.net.close()

    # -- hosts and sockets --------------------------------------------------------------

    def add_host(self, name: str, address: str | None = None) -> Any:
        try:
            host = self.net.add_host(name, address)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        self.sockets[name] = []
        return host

    def host(self, name: str) -> Any:
        host = self.net.hosts.get(name)
        if host is None:
            raise UsageError(f"no host named {name!r}; hosts: {', '.join(self.net.hosts)} "
                             f"(add one with 'host NAME')")
        return host

    def new_socket(self, host_name: str) -> Any:
        sock = self.host(host_name).socket()
        self.sockets[host_name].append(sock)
        self.fds[id(sock)] = sock.fileno()
        return sock

    def adopt(self, host_name: str, sock: Any) -> None:
        """A socket made by the library (accept's new socket) becomes the REPL's."""
        self.sockets[host_name].append(sock)
        self.fds[id(sock)] = sock.fileno()

    def fd(self, sock: Any) -> int:
        return self.fds[id(sock)]

    def pick(self, host_name: str, fd: int | None, role: str) -> Any:
        """The socket a command means: ``HOST/FD`` exactly, else the host's latest that fits.

        ``role`` is "listener" (accept), "conn" (send/recv/shutdown), "open" (close/abort)
        or "fresh" (connect: an unconnected socket, or None to make one).
        """
        self.host(host_name)
        socks = self.sockets[host_name]
        if fd is not None:
            for sock in reversed(socks):
                if self.fd(sock) == fd and not sock.closed:
                    return sock
            for sock in reversed(socks):
                if self.fd(sock) == fd:
                    return sock
            have = ", ".join(f"{host_name}/{self.fd(s)}" for s in socks if not s.closed) or "none"
            raise UsageError(f"{host_name} has no socket with fd {fd}; open sockets: {have}")
        try:
            return choose_socket(socks, role)
        except LookupError as missing:
            if missing.args[0] == "listener":
                raise UsageError(f"{host_name} has no listening socket; first 'listen {host_name} PORT'") from None
            if missing.args[0] == "conn":
                listening = any(not s.closed and s.state is State.LISTEN for s in socks)
                hint = f"'accept {host_name}'" if listening else f"'connect {host_name} HOST:PORT'"
                ended = [f"{host_name}/{self.fd(s)}" for s in socks if s.closed and s.connection
                         is not None and s.connection.remote[1] != 0]
                if ended:
                    raise UsageError(f"{host_name} has no connected socket: {', '.join(ended)} "
                                     f"{'is' if len(ended) == 1 else 'are'} closed; for a new "
                                     f"connection, {hint}") from None
                raise UsageError(f"{host_name} has no connected socket yet; first {hint}") from None
            raise UsageError(f"{host_name} has no open socket") from None

    def has_connected(self, host_name: str) -> bool:
        """Does HOST have an open socket with a connection (one 'send'/'recv' can use)?"""
        return any(not s.closed and s.connection is not None and s.state is not State.LISTEN
                   for s in self.sockets.get(host_name, ()))

    def held_in_time_wait(self, host_name: str, port: int) -> str | None:
        """Why a bind to HOST's PORT failed, when a connection in TIME-WAIT holds it."""
        for info in self.host(host_name).connections():
            if info.local[1] == port and info.state is State.TIME_WAIT:
                ends = [t for name, t in info.timers if name == "TIME-WAIT"]
                until = f", until t={ends[0]:.6f}" if ends else ""
                return (f"the connection {info.local[0]}:{port} - {info.remote[0]}:"
                        f"{info.remote[1]} is in TIME-WAIT, which holds the port for 2*MSL"
                        f"{until}; 'run' past then or pick another port (a program would set "
                        "SO_REUSEADDR before bind(); the REPL has no setsockopt)")
        return None

    def describe(self, sock: Any) -> str:
        """``server/4`` with its addresses: ``10.0.0.2:80 <- 10.0.0.1:32768``."""
        host = sock.host.name
        conn = sock.connection
        where = ""
        if conn is not None:
            local = f"{conn.local[0]}:{conn.local[1]}"
            where = local if conn.remote[1] == 0 else f"{local} - {conn.remote[0]}:{conn.remote[1]}"
        elif not sock.closed:
            name = sock.getsockname()
            where = f"{name[0]}:{name[1]}" if name[1] else "unbound"
        closed = " (closed)" if sock.closed else ""
        return f"{host}/{self.fd(sock)} {sock.state} {where}{closed}".rstrip()

    # -- calls -------------------------------------------------------------------------------

    def spawn(self, sock: Any, name: str, fn: Callable[..., Any], *args: Any,
              nbytes: int = 0) -> PendingCall:
        host = sock.host.name
        call = sock.host.spawn(fn, *args)
        pc = PendingCall(host, self.fd(sock), name, call, nbytes)
        self.pending.append(pc)
        return pc

    def woken(self) -> list[PendingCall]:
        """Blocked calls woken up whose turn to run has not come yet.

        A wake-up is an event of its own, queued behind the events already due at
        that instant (RFC 9293 leaves the order to the implementation; a kernel too
        runs a woken reader after the packets it is handling).  Until it runs, the
        call still says what it was waiting for, and decides then whether to return."""
        return [pc for pc in self.pending if pc.call.woken and not pc.call.done]

    def finished(self) -> list[PendingCall]:
        """Calls that returned or raised since last asked (accept's socket adopted)."""
        done = [pc for pc in self.pending if pc.call.done]
        if done:
            self.pending = [pc for pc in self.pending if not pc.call.done]
        for pc in done:
            if pc.name == "accept()" and pc.call.exception is None:
                self.adopt(pc.host, pc.call.result[0])
        return done

    def blocked(self) -> list[PendingCall]:
        return [pc for pc in self.pending if pc.call.blocked]

    # -- time ----------------------------------------------------------------------------------

    def _wakeup_due(self) -> bool:
        """Is the next event a process waking up at this very instant?"""
        net = self.net
        return net.next_event_kind() == "wakeup" and net.next_time() == net.now

    def next_event_time(self) -> float | None:
        """When the next event will run (None: nothing is scheduled).

        The network's own answer: it skips cancelled timers and packets no longer in
        flight without a scan of everything queued, so a step costs the same with one
        packet in flight or a hundred thousand.  Wake-ups at this instant do not show:
        the REPL settles them before it shows a prompt.
        """
        return self.net.next_time()

    def due_by(self, until: float) -> bool:
        """Is an event scheduled at or before virtual time ``until``?"""
        nxt = self.net.next_time()
        return nxt is not None and to_ticks(nxt) <= to_ticks(until)

    def due_now(self) -> bool:
        """Is an event scheduled at this very instant (not yet run)?"""
        nxt = self.net.next_time()
        return nxt is not None and to_ticks(nxt) == self.net.now_ticks

    def settle(self) -> None:
        """Let processes woken at this instant run, so a call that can return has returned."""
        while self._wakeup_due():
            self.net.step()

    def step(self) -> Any:
        """One event, plus the wake-ups it causes at the same instant; None if nothing is left."""
        event = self.net.step()
        if event is not None:
            self.settle()
        return event
