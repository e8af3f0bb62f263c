"""A host: demultiplexes arriving segments to connections and listeners by
4-tuple, answers segments for no connection, allocates ephemeral ports and
file descriptors, and is the ``Sink`` its connections talk to the world through.
"""

from __future__ import annotations

from collections import deque
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any, Callable

from .connection import Connection, closed_reply, listen_reply
from .segment import Segment, SegmentFields
from .states import CLOSED, ESTABLISHED, LISTEN, State
from .network import TIMER, Node
from .tcb import ConnectionInfo
from .trace import Packet, StateChange, TimerRecord

if TYPE_CHECKING:
    from .network import Network
    from .process import Call
    from .sockets import Socket

SYN, RST, ACK = 2, 4, 16
EPHEMERAL_FIRST, EPHEMERAL_LAST = 32768, 60999     # Linux's ip_local_port_range


class Listener:
    """What a listening socket owns besides its LISTEN connection: the accept queue."""

    __slots__ = ("conn", "backlog", "queue", "pending", "limit")

    def __init__(self, conn: Connection, backlog: int, slack: int) -> None:
        self.conn = conn
        self.backlog = backlog
        self.limit = max(1, backlog + slack)
        self.queue: deque[Connection] = deque()   # established, not yet accepted
        self.pending: set[Connection] = set()     # children in SYN-RECEIVED

    def set_backlog(self, backlog: int, slack: int) -> None:
        self.backlog = backlog
        self.limit = max(1, backlog + slack)

    @property
    def full(self) -> bool:
        return len(self.queue) + len(self.pending) >= self.limit


class Host(Node):
    """One simulated machine on a Network: the Sink of its connections (``emit``, the
    way onto the wire, is ``network.Node``'s)."""

    def __init__(self, net: "Network", name: str, address: str) -> None:
        self.net = net
        self.name = name
        self.address = address
        self._conns: dict[tuple[int, str, int], Connection] = {}
        self._listeners: dict[int, Listener] = {}
        self._bound: dict[int, list["Socket"]] = {}
        self._next_port = EPHEMERAL_FIRST
        self._next_fd = 3
        self._free_fds: list[int] = []            # a heap: the lowest is handed out first
        self._port_users: dict[int, int] = {}     # local port -> connections using it
        self._routes: dict[str, tuple] = {}      # destination address -> the network's route
        self.stats = {"dropped_syn_backlog": 0, "rst_sent": 0}

    def __repr__(self) -> str:
        return f"<Host {self.name} {self.address}>"

    # -- user-facing --------------------------------------------------------------

    def socket(self, family: int = 2, type: int = 1, proto: int = 0) -> "Socket":
        """A new TCP socket on this host (``socket.socket(AF_INET, SOCK_STREAM)``)."""
        from .sockets import Socket

        return Socket(self, family, type, proto)

    def spawn(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> "Call":
        """Run ``fn(*args, **kwargs)`` as a simulated process on this host.

        It runs at once until it first blocks or returns; the returned Call says which.
        """
        from .process import spawn

        return spawn(self, fn, args, kwargs)

    def connections(self) -> list[ConnectionInfo]:
        """Every TCB on the host, like ``ss -tan``: listeners, half-open children, orphans."""
        out = [lst.conn.info() for lst in self._listeners.values()]
        out.extend(conn.info() for conn in self._conns.values())
        return out

    # -- ports and descriptors --------------------------------------------------------

    def _alloc_fd(self) -> int:
        if self._free_fds:
            return heappop(self._free_fds)
        fd = self._next_fd
        self._next_fd += 1
        return fd

    def _release_fd(self, fd: int) -> None:
        heappush(self._free_fds, fd)          # lowest first, as the kernel hands them out

    def _port_busy(self, port: int, reuse: bool = False, me: Any = None) -> bool:
        if port in self._listeners:
            return True
        users = self._bound.get(port)
        if users and any(s is not me for s in users):
            return True
        if reuse:
            return False
        return port in self._port_users

    def _ephemeral_port(self) -> int:
        span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1
        for _ in range(span):
            port = self._next_port
            self._next_port = port + 1 if port < EPHEMERAL_LAST else EPHEMERAL_FIRST
            if not self._port_busy(port):
                return port
        raise OSError(99, "Cannot assign requested address (no ephemeral port left)")

    # -- the Sink a Connection talks through ----------------------------------------------

    def schedule(self, conn: Connection, deadline: int) -> None:
        self.net._push(deadline, TIMER, conn)

    def isn(self, conn: Connection) -> int:
        return self.net._isn()

    def timer_fired(self, conn: Connection, name: str) -> None:
        trace = self.net.trace
        if trace.enabled:
            trace.records.append(TimerRecord(self.net._now, self.name, conn.id, conn.local,
                                             conn.remote, name))

    def state_changed(self, conn: Connection, old: State, new: State, cause: Any,
                      event: Any = None) -> None:
        trace = self.net.trace
        if trace.enabled:
            if type(cause) is Packet:               # the record keeps the segment, as a value
                cause = cause.segment
            trace.records.append(StateChange(self.net._now, self.name, conn.id, conn.local,
                                             conn.remote, old, new, cause, event))
        owner = conn.owner
        if isinstance(owner, Listener):             # a child of a listening socket
            if new is ESTABLISHED:
                owner.pending.discard(conn)
                owner.queue.append(conn)
                owner.conn._wake()
            elif new is LISTEN or new is CLOSED:
                owner.pending.discard(conn)     # a queued child stays queued: accept() sees it
                if new is LISTEN:
                    self._forget(conn)          # RFC 9293 note 1: back to LISTEN -- the listener's
        if new is CLOSED:
            self._forget(conn)

    def _register(self, conn: Connection) -> None:
        port = conn.local[1]
        self._conns[(port, conn.remote[0], conn.remote[1])] = conn
        self._port_users[port] = self._port_users.get(port, 0) + 1

    def _forget(self, conn: Connection) -> None:
        port = conn.local[1]
        key = (port, conn.remote[0], conn.remote[1])
        if self._conns.get(key) is conn:
            del self._conns[key]
            left = self._port_users[port] - 1
            if left:
                self._port_users[port] = left
            else:
                del self._port_users[port]

    # -- demultiplexing -------------------------------------------------------------------

    def _receive(self, seg: SegmentFields, src_addr: str) -> None:
        """A segment arrived from ``src_addr``: hand it to its connection, listener or RST."""
        conn = self._conns.get((seg.dst_port, src_addr, seg.src_port))
        if conn is not None:
            conn.segment_arrives(seg, self.net._now)
            return
        listener = self._listeners.get(seg.dst_port)
        if listener is not None:
            if seg.flags & (SYN | RST | ACK) == SYN:
                self._syn_to_listener(listener, seg, src_addr)
                return
            reply = listen_reply(seg)
        else:
            reply = closed_reply(seg)
        if reply is not None:
            self.stats["rst_sent"] += 1
            self.net._send_segment(self, src_addr, reply)

    def _syn_to_listener(self, listener: Listener, seg: Segment, src_addr: str) -> None:
        if listener.full:
            self.stats["dropped_syn_backlog"] += 1     # dropped silently: the client retries
            return
        lconn = listener.conn
        child = Connection(lconn.config, self, lconn.local, (src_addr, seg.src_port),
                           self.net._new_conn_id())
        child.state = LISTEN
        child.history = [LISTEN]
        child.owner = listener
        child.set_iss(self.isn(child))
        self._register(child)
        listener.pending.add(child)
        child.segment_arrives(seg, self.net._now)
