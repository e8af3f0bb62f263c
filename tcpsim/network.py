"""The world: a virtual clock, one event queue, hosts and the links between them.

Everything that happens is an event ordered by (time, insertion): a segment
arriving, a connection's timer, a simulated process waking up.  Events wait in
one heap -- except arrivals over clean links with the network's delay, which
come due in the order they were sent and so wait in a FIFO merged with the heap
(a heap push and pop cost ~350 ns with a window of segments in flight; the FIFO
~140 ns).  The order of events is the same either way.
Faults (loss, duplication, reordering, corruption) are drawn from the
network's one seeded ``random.Random``, and only for links that ask for them.
"""

from __future__ import annotations

import random
from collections import deque
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any, Callable

from .addresses import check_host_address, ipv4_literal, next_free_address
from .config import Config
from .segment import Segment, check_on_wire
from .seqnum import MASK
from .timers import TICKS_PER_SECOND, check_until, to_ticks
from .trace import Packet, Path, Trace, fmt_time

if TYPE_CHECKING:
    from .host import Host
    from .process import Process

ARRIVAL, TIMER, WAKE, CALLBACK = 0, 1, 2, 3
_new_packet = object.__new__
_FOREVER = 1 << 62          # a time limit no event reaches (ticks)


class Link:
    """Fault settings for the two directions between two hosts."""

    __slots__ = ("delay", "loss", "duplicate", "reorder", "corrupt")

    def __init__(self, delay: int, loss: float = 0.0, duplicate: float = 0.0,
                 reorder: float = 0.0, corrupt: float = 0.0) -> None:
        self.delay = delay
        self.loss = loss
        self.duplicate = duplicate
        self.reorder = reorder
        self.corrupt = corrupt

    @property
    def faulty(self) -> bool:
        return bool(self.loss or self.duplicate or self.reorder or self.corrupt)

    def __repr__(self) -> str:
        return (f"Link(delay={self.delay / TICKS_PER_SECOND}, loss={self.loss}, "
                f"duplicate={self.duplicate}, reorder={self.reorder}, corrupt={self.corrupt})")


class Event:
    """What one ``Network.step()`` did; ``str()`` is one human line."""

    __slots__ = ("time_ticks", "kind", "packet", "host", "detail")

    def __init__(self, time: int, kind: str, packet: Packet | None = None,
                 host: str = "", detail: str = "") -> None:
        self.time_ticks = time
        self.kind = kind          # "arrival", "timer", "wakeup", "timeout"
        self.packet = packet
        self.host = host
        self.detail = detail

    @property
    def time(self) -> float:
        return self.time_ticks / TICKS_PER_SECOND

    def __repr__(self) -> str:
        return f"<Event {self}>"

    def __str__(self) -> str:
        t = fmt_time(self.time_ticks)
        if self.kind == "arrival":
            p = self.packet
            assert p is not None
            what = "arrives" if p.fate == "delivered" else f"is dropped ({p.reason})"
            return f"{t} {p.dst} <- {p.src}: #{p.id} {p.format()} {what}"
        return f"{t} {self.host}: {self.detail}"


class Stray:
    """Where a segment that belongs to no connection goes (an injected one, a RST for a
    stray segment): what ``Node.emit`` reads of a Connection."""

    __slots__ = ("local", "remote", "id")

    def __init__(self, local: tuple[str, int], remote: tuple[str, int], conn_id: int = 0) -> None:
        self.local = local
        self.remote = remote
        self.id = conn_id


class Node:
    """A host as the network sees it: a name, an address, and the way onto the wire.
    ``Host`` builds on it; ``emit`` is the Sink method its connections send through."""

    net: "Network"
    name: str
    address: str
    _routes: dict[str, tuple]          # destination address -> the network's route

    def emit(self, conn: Any, flags: int, seq: int, ack: int, window: int, payload: bytes,
             mss: int | None) -> Packet:
        """Put a segment from ``conn.local`` to ``conn.remote`` on the wire, as a Packet.

        This runs for every segment, so the clean link's case is all here, in one call
        from the engine; a faulty link's goes on in ``Network._through_faults``."""
        remote = conn.remote
        dst_addr = remote[0]
        net = self.net
        route = self._routes.get(dst_addr)
        if route is None:
            route = net._route(self, dst_addr)
        dst, path, delay, link, fifo = route
        now = net._now
        pid = net._next_packet
        net._next_packet = pid + 1
        arrives = now + delay
        # Packet(...), inline (a class call costs ~100 ns more)
        pkt = _new_packet(Packet)
        pkt.src_port = conn.local[1]
        pkt.dst_port = remote[1]
        pkt.seq = seq
        pkt.ack = ack
        pkt.flags = flags
        pkt.window = window
        pkt.payload = payload
        pkt.mss = mss
        pkt.id = pid
        pkt.path = path
        pkt.sent_at_ticks = now
        pkt.arrives_at_ticks = arrives
        pkt.fate = "in flight"
        pkt.corrupted = False
        pkt.conn_id = conn.id
        trace = net.trace
        if trace.enabled:
            trace.records.append(pkt)
        if fifo is not None:            # a clean link at the network's delay: the common case
            order = net._order = net._order + 1
            fifo.append((arrives, order, ARRIVAL, pkt))
            return pkt
        return net._through_faults(pkt, dst, delay, link)


class Network:
    """Hosts joined by simulated links, driven by a virtual clock."""

    def __init__(self, seed: int = 0, config: Config | None = None, delay: float = 0.01,
                 trace: bool = True) -> None:
        if config is None:
            config = Config()
        if not isinstance(config, Config):
            raise TypeError(f"config must be a tcpsim.Config, not {type(config).__name__}")
        if not isinstance(seed, int):       # random.Random(None) would seed from the OS
            raise TypeError(f"seed must be an int (the same seed gives the same run), "
                            f"not {type(seed).__name__}")
        if not isinstance(delay, (int, float)) or delay < 0:
            raise ValueError(f"delay must be a non-negative number of seconds, not {delay!r}")
        self.seed = seed
        self.config = config
        self.rng = random.Random(seed)
        self.delay = delay
        self._delay = to_ticks(delay)
        self.hosts: dict[str, Host] = {}
        self._by_addr: dict[str, Host] = {}
        self._links: dict[tuple[str, str], Link] = {}
        self._queue: list[tuple[int, int, int, Any]] = []     # a heap
        self._wire: deque[tuple[int, int, int, Any]] = deque()  # clean arrivals, in order
        self._order = 0
        self._now = 0
        self._next_packet = 1
        self._next_conn = 1
        self._current: Process | None = None
        self.trace = Trace(enabled=trace)
        self.stats = {"bad_checksum": 0, "lost": 0, "duplicated": 0, "reordered": 0}

    def __repr__(self) -> str:
        return f"<Network seed={self.seed} now={self.now} hosts={list(self.hosts)}>"

    # -- hosts -----------------------------------------------------------------

    def add_host(self, name: str, address: str | None = None) -> "Host":
        """Add a host; without an address it gets the next free 10.0.0.N."""
        from .host import Host

        if not isinstance(name, str) or not name or any(c.isspace() or c == ":" for c in name):
            raise ValueError(f"host name must be a non-empty word without spaces or ':', not {name!r}")
        if ipv4_literal(name) is not None:
            raise ValueError(f"host name {name!r} looks like an address; give the address as the "
                             "second argument")
        if name in self.hosts:
            raise ValueError(f"there is already a host named {name!r}")
        if address is None:                     # 10.0.0.1, 10.0.0.2, ... 10.0.1.0, ...
            address = next_free_address(self._by_addr)
        else:
            check_host_address(address)
            if address in self._by_addr:
                raise ValueError(f"address {address} is taken by host {self._by_addr[address].name!r}")
        host = Host(self, name, address)
        self.hosts[name] = host
        self._by_addr[address] = host
        self._forget_routes()
        return host

    def host(self, name_or_address: str) -> "Host":
        """The host with this name or address (``KeyError`` naming it if none)."""
        host = self.hosts.get(name_or_address) or self._by_addr.get(name_or_address)
        if host is None:
            raise KeyError(f"no host named {name_or_address!r}; hosts: {', '.join(self.hosts)}")
        return host

    def resolve(self, name: str) -> str | None:
        """A host name or dotted address to an address on this network, or None."""
        host = self.hosts.get(name)
        if host is not None:
            return host.address
        if name in self._by_addr:
            return name
        return None

    def lookup(self, name: str) -> str | None:
        """What getaddrinfo would give for ``name``: a host's address, or any dotted
        address even if no host has it (a SYN to it goes nowhere), or None."""
        return self.resolve(name) or ipv4_literal(name)

    # -- time --------------------------------------------------------------------

    @property
    def now(self) -> float:
        """Virtual time in seconds."""
        return self._now / TICKS_PER_SECOND

    @property
    def now_ticks(self) -> int:
        """Virtual time in integer microseconds."""
        return self._now

    def _push(self, when: int, kind: int, obj: Any) -> None:
        self._order += 1
        heappush(self._queue, (when, self._order, kind, obj))

    def pending(self) -> int:
        """How many entries the event queue holds (some may be stale timers)."""
        return len(self._queue) + len(self._wire)

    def _settle(self) -> None:
        """Move the FIFO's first arrival into the heap if it comes first, so that
        ``_queue[0]`` is the next event of all."""
        wire = self._wire
        if wire and (not self._queue or wire[0] < self._queue[0]):
            heappush(self._queue, wire.popleft())

    def next_time(self) -> float | None:
        """Virtual time of the next live event, or None when nothing is scheduled."""
        t = self._peek()
        return None if t is None else t / TICKS_PER_SECOND

    def _peek(self) -> int | None:
        """The time of the next live event, dropping (and re-arming) stale entries."""
        queue = self._queue
        while True:
            self._settle()
            if not queue:
                break
            when, _, kind, obj = queue[0]
            if kind == TIMER and obj.wake_at == when:
                deadline = obj.next_deadline()
                if deadline is not None and deadline <= when:
                    return when
                heappop(queue)
                obj.wake_at = None
                if deadline is not None:
                    obj._arm(deadline)          # the timer moved later: queue it there
                continue
            if self._live(when, kind, obj):
                return when
            heappop(queue)
        return None

    def next_event_kind(self) -> str | None:
        """What ``step()`` would do next: "arrival", "timer", "wakeup", "timeout", or None."""
        if self._peek() is None:
            return None
        return ("arrival", "timer", "wakeup", "timeout")[self._queue[0][2]]

    @staticmethod
    def _live(when: int, kind: int, obj: Any) -> bool:
        if kind == ARRIVAL:
            return obj.fate == "in flight" and obj.arrives_at_ticks == when
        if kind == TIMER:
            return obj.wake_at == when
        if kind == WAKE:
            return obj.wake_pending and not obj.finished
        return obj[0]   # CALLBACK: [active, fn]

    # -- running ---------------------------------------------------------------------

    def step(self) -> Event | None:
        """Process exactly the next scheduled event and return it (None if nothing is)."""
        while self._queue or self._wire:
            event = self._step(True)
            if event is not None:
                return event
        return None

    def _advance(self) -> bool:
        """Run the next live event (no Event built); False when nothing is scheduled."""
        return self._loop() == 1

    def run(self, until: float | None = None, max_events: int = 10_000_000) -> int:
        """Step until nothing is scheduled, or the next event lies after ``until``."""
        until = check_until(until)
        if not isinstance(max_events, int):
            raise TypeError(f"max_events must be an int, not {type(max_events).__name__}")
        limit = _FOREVER if until is None else to_ticks(until)
        if limit < self._now:
            return 0
        count = self._loop(limit, max_events)
        if until is not None and self._now < limit and count < max_events:
            self._now = limit
        return count

    def _loop(self, limit: int = _FOREVER, max_events: int = 1,
              ready: Callable[[], bool] | None = None, stop: int = _FOREVER) -> int:
        """Run live events due at or before ``limit`` (ticks), at most ``max_events`` of
        them; return how many ran.  Entries are popped in order; stale ones do nothing.
        With ``ready``, also stop after the event that takes the time past ``stop`` or
        makes ``ready()`` true (a blocking call waiting, see process.block_until)."""
        queue = self._queue
        wire = self._wire
        count = 0
        while count < max_events:
            if wire and (not queue or wire[0] < queue[0]):
                if wire[0][0] > limit:
                    break
                when, _, kind, obj = wire.popleft()
            elif queue and queue[0][0] <= limit:
                when, _, kind, obj = heappop(queue)
            else:
                break
            if kind == ARRIVAL:
                if obj.fate != "in flight" or obj.arrives_at_ticks != when:
                    continue
                self._now = when
                if obj.corrupted:
                    self._arrive(obj)           # a faulty link damaged it: _arrive drops it
                else:
                    # Delivered here, without a call per event (most events are arrivals);
                    # _arrive is the same steps, for a packet delivered by hand.
                    obj.fate = "delivered"        # the packet is the segment the engine reads
                    path = obj.path
                    conn = path.host._conns.get((obj.dst_port, path.src_addr, obj.src_port))
                    if conn is not None:
                        conn.segment_arrives(obj, when)
                    else:
                        path.host._receive(obj, path.src_addr)
            elif self._run_entry(when, kind, obj, False) is None:
                continue
            count += 1
            if ready is not None and (self._now > stop or ready()):
                break
        return count

    def _step(self, describe: bool) -> Any:
        """Pop one queue entry; run it if live.  Returns an Event (or True) if it ran."""
        self._settle()
        when, _, kind, obj = heappop(self._queue)
        return self._run_entry(when, kind, obj, describe)

    def _run_entry(self, when: int, kind: int, obj: Any, describe: bool) -> Any:
        """Run one popped queue entry if live.  Returns an Event (or True) if it ran."""
        if kind == ARRIVAL:
            if obj.fate != "in flight" or obj.arrives_at_ticks != when:
                return None
            self._now = when
            self._arrive(obj)
            return Event(when, "arrival", obj) if describe else True
        if kind == TIMER:
            if obj.wake_at != when:
                return None
            deadline = obj.next_deadline()
            if deadline is None:
                obj.wake_at = None
                return None
            if deadline > when:
                obj.wake_at = None
                obj._arm(deadline)
                return None
            self._now = when
            obj.on_timer(when)
            if describe:
                names = ", ".join(r.name for r in self._recent_timers(when, obj.id))
                host = obj.sink.name
                return Event(when, "timer", host=host,
                             detail=f"{names or 'timer'} timer of {obj.local[0]}:{obj.local[1]} fired")
            return True
        if kind == WAKE:
            if not obj.wake_pending or obj.finished:
                return None
            self._now = when
            obj.wake_pending = False
            obj.resume()
            if describe:
                return Event(when, "wakeup", host=obj.host.name, detail=f"process {obj.name} wakes up")
            return True
        # CALLBACK: [active, fn, host, text]
        if not obj[0]:
            return None
        self._now = when
        obj[0] = False
        obj[1]()
        return Event(when, "timeout", host=obj[2], detail=obj[3]) if describe else True

    def _recent_timers(self, when: int, conn_id: int) -> list[Any]:
        out = []
        for r in reversed(self.trace.records):
            if r.time != when:
                break
            if r.kind == "timer" and r.conn_id == conn_id:
                out.append(r)
        out.reverse()
        return out

    def call_at(self, when: int, fn: Callable[[], None], host: str = "", text: str = "timeout") -> list:
        """Run ``fn`` at virtual time ``when`` (ticks); returns a handle to cancel (handle[0] = False)."""
        handle = [True, fn, host, text]
        self._push(when, CALLBACK, handle)
        return handle

    # -- the wire ------------------------------------------------------------------

    def _route(self, src: Node, dst_addr: str) -> tuple:
        """(destination host or None, Path, delay in ticks, faulty Link or None, the FIFO
        or None), cached per host."""
        dst = self._by_addr.get(dst_addr)
        dst_name = dst.name if dst is not None else dst_addr
        link = self._links.get((src.name, dst_name))
        delay = self._delay if link is None else link.delay
        faults = link if link is not None and link.faulty else None
        # the FIFO of clean arrivals takes what comes due in send order: a clean link at the
        # network's delay; anything else goes through _through_faults to the heap
        fifo = self._wire if faults is None and dst is not None and delay == self._delay else None
        route = (dst, Path(src.name, dst_name, src.address, dst_addr, dst), delay, faults, fifo)
        src._routes[dst_addr] = route
        return route

    def _forget_routes(self) -> None:
        for host in self.hosts.values():
            host._routes.clear()

    def _send_segment(self, src: "Node", dst_addr: str, seg: Segment, conn_id: int = 0) -> Packet:
        """Put a Segment value on the wire (an injected one, a RST for a stray segment)."""
        return src.emit(Stray((src.address, seg.src_port), (dst_addr, seg.dst_port), conn_id),
                        int(seg.flags), seg.seq, seg.ack, seg.window, seg.payload, seg.mss)

    def _through_faults(self, pkt: Packet, dst: "Node | None", delay: int, link: Link | None) -> Packet:
        """The rest of a packet's way onto a faulty link, a link with its own delay, or to
        no host: faults are decided here, and the arrival goes on the heap."""
        now = self._now
        if dst is None:
            pkt.fate = "dropped"
            pkt.reason = "no route"
            return pkt
        if link is not None:
            rng = self.rng
            if link.loss and rng.random() < link.loss:
                pkt.fate = "dropped"
                pkt.reason = "lost"
                self.stats["lost"] += 1
                return pkt
            if link.corrupt and rng.random() < link.corrupt:
                pkt.corrupted = True
            if link.reorder and rng.random() < link.reorder:
                pkt.arrives_at_ticks = now + delay + int(delay * (0.5 + 2 * rng.random())) + 1
                self.stats["reordered"] += 1
            if link.duplicate and rng.random() < link.duplicate:
                self._push(pkt.arrives_at_ticks, ARRIVAL, pkt)
                self.stats["duplicated"] += 1
                self._copy(pkt, pkt.arrives_at_ticks + 1 + int(delay * rng.random()))
                return pkt
        self._order += 1
        heappush(self._queue, (pkt.arrives_at_ticks, self._order, ARRIVAL, pkt))
        return pkt

    def _copy(self, pkt: Packet, arrives_at: int) -> Packet:
        pid = self._next_packet
        self._next_packet = pid + 1
        dup = Packet(pid, pkt.src, pkt.dst, pkt.src_addr, pkt.dst_addr, pkt,
                     self._now, arrives_at, pkt.conn_id)
        dup.path = pkt.path
        dup.duplicate_of = pkt.id
        dup.corrupted = pkt.corrupted
        if self.trace.enabled:
            self.trace.records.append(dup)
        self._push(arrives_at, ARRIVAL, dup)
        return dup

    def _arrive(self, pkt: Packet) -> None:
        if pkt.corrupted:
            pkt.fate = "dropped"
            pkt.reason = "bad checksum"
            self.stats["bad_checksum"] += 1
            return
        pkt.fate = "delivered"
        host = self._by_addr[pkt.dst_addr]
        conn = host._conns.get((pkt.dst_port, pkt.src_addr, pkt.src_port))
        if conn is not None:                   # the common case, without a call to the host
            conn.segment_arrives(pkt, self._now)
        else:
            host._receive(pkt, pkt.src_addr)

    # -- looking at and meddling with the wire ---------------------------------------

    @property
    def in_flight(self) -> list[Packet]:
        """Segments sent and not yet arrived, by arrival time (then id)."""
        seen = {}
        for when, _, kind, obj in (*self._queue, *self._wire):
            if kind == ARRIVAL and obj.fate == "in flight" and obj.arrives_at_ticks == when:
                seen[obj.id] = obj
        return sorted(seen.values(), key=lambda p: (p.arrives_at_ticks, p.id))

    def packet(self, packet_id: int) -> Packet:
        """The in-flight packet with this id (KeyError saying so if none)."""
        for when, _, kind, obj in (*self._queue, *self._wire):
            if kind == ARRIVAL and obj.id == packet_id and obj.fate == "in flight" \
                    and obj.arrives_at_ticks == when:
                return obj
        raise KeyError(f"no packet #{packet_id} in flight")

    def drop(self, packet_id: int) -> Packet:
        """Drop one in-flight packet: it never arrives."""
        pkt = self.packet(packet_id)
        pkt.fate = "dropped"
        pkt.reason = "dropped by hand"
        return pkt

    def duplicate(self, packet_id: int) -> Packet:
        """Send a copy of an in-flight packet; it arrives just after the original."""
        pkt = self.packet(packet_id)
        return self._copy(pkt, pkt.arrives_at_ticks)

    def deliver(self, packet_id: int) -> Event:
        """Deliver an in-flight packet now, ahead of its turn."""
        pkt = self.packet(packet_id)
        pkt.arrives_at_ticks = self._now
        self._arrive(pkt)
        return Event(self._now, "arrival", pkt)

    def inject(self, src: str, dst: str, segment: Segment) -> Packet:
        """Put a hand-made segment on the wire from host ``src`` to host ``dst``."""
        if not isinstance(segment, Segment):
            hint = " (a packet's segment is packet.segment)" if isinstance(segment, Packet) else ""
            raise TypeError(f"inject() needs a tcpsim.Segment, not {type(segment).__name__}{hint}")
        check_on_wire(segment)
        src_host = self.host(src)
        dst_host = self.host(dst)
        return self._send_segment(src_host, dst_host.address, segment)

    def set_link(self, a: str, b: str, *, delay: float | None = None, loss: float = 0.0,
                 duplicate: float = 0.0, reorder: float = 0.0, corrupt: float = 0.0) -> None:
        """Faults for both directions between hosts ``a`` and ``b`` (probabilities 0..1)."""
        ha, hb = self.host(a), self.host(b)
        for name, p in (("loss", loss), ("duplicate", duplicate), ("reorder", reorder),
                        ("corrupt", corrupt)):
            if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability between 0 and 1, not {p!r}")
        if delay is not None and (not isinstance(delay, (int, float)) or delay < 0):
            raise ValueError(f"delay must be a non-negative number of seconds, not {delay!r}")
        ticks = self._delay if delay is None else to_ticks(delay)
        for key in ((ha.name, hb.name), (hb.name, ha.name)):
            self._links[key] = Link(ticks, loss, duplicate, reorder, corrupt)
        self._forget_routes()

    def link(self, a: str, b: str) -> Link:
        """The settings of the link from ``a`` to ``b``."""
        ha, hb = self.host(a), self.host(b)
        return self._links.get((ha.name, hb.name)) or Link(self._delay)

    # -- for the layers above -----------------------------------------------------------

    def _new_conn_id(self) -> int:
        n = self._next_conn
        self._next_conn = n + 1
        return n

    def _isn(self) -> int:
        isn = self.config.isn
        if isn is None:
            return self.rng.getrandbits(32)
        if callable(isn):
            value = isn()
            if not isinstance(value, int):
                raise TypeError(f"Config.isn() returned {value!r}: it must return an int "
                                "(taken modulo 2**32)")
            return value & MASK
        return isn

    def close(self) -> None:
        """End every simulated process still blocked (their threads exit)."""
        from .process import kill_all

        kill_all(self)
