"""Simulated processes: ordinary blocking code, run one at a time, deterministically.

``host.spawn(fn)`` runs ``fn`` in a thread of its own, but only ever one thread
runs: the scheduler hands control to a process and waits until it blocks or
ends, like a coroutine switch.  A blocking socket call inside a process parks
it until the connection it waits on changes, then a wake-up event on the
network's queue resumes it -- so which process runs when is decided by the
event order alone, and the same seed gives the same run.

Outside any process (a test, a REPL line) a blocking call instead drives the
network forward itself until it can return, or raises ``Deadlock``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

from .timers import to_ticks

if TYPE_CHECKING:
    from .host import Host
    from .network import Network


class Deadlock(RuntimeError):
    """A blocking call outside any process can never return: nothing is left to run."""


class _Killed(BaseException):
    """Raised inside a parked process when its network is closed."""


_NOT_YET = object()

# A blocking call outside any process gives up (Deadlock) after this much virtual time.
STALL_LIMIT = 86_400 * 1_000_000     # one virtual day, in ticks
_MANY = 1 << 62                      # no limit on the number of events


class Call:
    """The handle of a spawned process (or of one blocking call).

    ``done`` and ``blocked`` say where it is; ``result`` gives its return value
    (raising its exception if it failed); ``waiting_for`` says in words what a
    blocked call waits for: ``"connect(): SYN-SENT, waiting for SYN,ACK"``.
    ``woken`` is true while a blocked call has been woken (what it waits on changed)
    and its wake-up event waits its turn on the network's queue; when that runs,
    the call returns or waits again.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.done = False
        self.blocked = False
        self.woken = False
        self.waiting_for = ""
        self._result: Any = _NOT_YET
        self.exception: BaseException | None = None

    @property
    def result(self) -> Any:
        """The return value; raises the call's exception if it raised one."""
        if self.exception is not None:
            raise self.exception
        if not self.done:
            raise RuntimeError(f"{self.name} has not returned yet"
                               + (f" ({self.waiting_for})" if self.waiting_for else ""))
        return self._result

    def __repr__(self) -> str:
        if self.done:
            what = f"raised {self.exception!r}" if self.exception else f"returned {self._result!r}"
        elif self.blocked:
            what = f"blocked: {self.waiting_for}"
        else:
            what = "running"
        return f"<Call {self.name} {what}>"


class Process:
    """A thread that runs only when the scheduler hands it control."""

    def __init__(self, host: "Host", fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        self.host = host
        self.net = host.net
        self.name = getattr(fn, "__name__", "process")
        self.call = Call(self.name)
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.finished = False
        self.wake_pending = False
        self.killed = False
        self._go = threading.Semaphore(0)
        self._back = threading.Semaphore(0)
        self._thread = threading.Thread(target=self._main, name=f"tcpsim:{host.name}:{self.name}",
                                        daemon=True)

    def _main(self) -> None:
        self._go.acquire()
        call = self.call
        try:
            if self.killed:
                raise _Killed
            call._result = self.fn(*self.args, **self.kwargs)
        except _Killed:
            call.exception = Deadlock(f"{self.name} was still blocked when the network closed")
        except BaseException as exc:   # the process's own failure is its Call's result
            call.exception = exc
        finally:
            call.done = True
            call.blocked = False
            call.waiting_for = ""
            self.finished = True
            self._back.release()

    def start(self) -> None:
        self._thread.start()
        self.resume()

    def resume(self) -> None:
        """Hand control to this process until it blocks or ends (scheduler side)."""
        net = self.net
        previous = net._current
        net._current = self
        _running.append(self)
        self.call.blocked = self.call.woken = False
        self._go.release()
        self._back.acquire()
        _running.pop()
        net._current = previous

    def park(self, waiting_for: str) -> None:
        """Give control back to the scheduler until woken (process side)."""
        self.call.blocked = True
        self.call.waiting_for = waiting_for
        self._back.release()
        self._go.acquire()
        self.call.waiting_for = ""
        if self.killed:
            raise _Killed

    def wake(self) -> None:
        """Schedule this process to resume now (a wake-up event on the queue)."""
        if not self.wake_pending and not self.finished:
            from .network import WAKE

            self.wake_pending = self.call.woken = True
            self.net._push(self.net._now, WAKE, self)


def spawn(host: "Host", fn: Callable[..., Any], args: tuple, kwargs: dict) -> Call:
    if not callable(fn):
        raise TypeError(f"spawn() needs a callable, not {type(fn).__name__}")
    proc = Process(host, fn, args, kwargs)
    net = host.net
    procs = net.__dict__.setdefault("_processes", [])
    procs.append(proc)
    proc.start()
    return proc.call


def kill_all(net: "Network") -> None:
    for proc in getattr(net, "_processes", []):
        if not proc.finished:
            proc.killed = True
            proc.resume()
    net.__dict__["_processes"] = []


# The stack of processes handed control, across networks: the top one runs.
_running: list[Process] = []


def running_process() -> Process | None:
    """The simulated process running now (on any network), or None."""
    return _running[-1] if _running else None


def block_until(net: "Network", ready: Callable[[], bool], subscribe: Callable[[Callable[[], None]], None],
                what: Callable[[], str], timeout: float | None, host_name: str) -> None:
    """Wait until ``ready()`` holds: park the current process, or drive the network.

    ``subscribe(wake)`` asks to be called back when something ``ready`` reads
    may have changed.  ``timeout`` is in virtual seconds (None: forever; 0:
    never wait -- raise BlockingIOError).  Raises TimeoutError("timed out") when
    it elapses, Deadlock when nothing is left that could make ``ready`` true.
    """
    if ready():
        return
    if timeout is not None and timeout <= 0:
        raise BlockingIOError(11, "Resource temporarily unavailable")
    deadline = None if timeout is None else net._now + to_ticks(timeout)
    proc = net._current
    handle = None
    if deadline is not None:
        waker = proc.wake if proc is not None else (lambda: None)
        handle = net.call_at(deadline, waker, host_name, f"timeout of {what()} expires")
    try:
        if proc is None:
            give_up = net._now + STALL_LIMIT
            if deadline is None:
                # Events run until ready() holds, nothing is left, or a day has passed.
                net._loop(max_events=_MANY, ready=ready, stop=give_up)
            else:
                advance = net._advance
                while not ready() and net._now <= give_up:
                    if net._now >= deadline:
                        raise TimeoutError("timed out")
                    if not advance():
                        break
            if net._now > give_up:
                # Only timers that can never help are left (a peer that never
                # reads keeps zero-window probes going forever).
                raise Deadlock(f"{what()}, still, after {STALL_LIMIT // 1_000_000} "
                               f"virtual seconds; use settimeout() to wait that long")
            if not ready():
                raise Deadlock(f"{what()}, but nothing is left to run")
        else:
            while not ready():
                if deadline is not None and net._now >= deadline:
                    raise TimeoutError("timed out")
                subscribe(proc.wake)
                proc.park(what())
    finally:
        if handle is not None:
            handle[0] = False
