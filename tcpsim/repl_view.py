"""How the REPL shows things: sequence-number naming, packets, events, the TCB table.

Pure formatting over the engine's public records; no protocol decisions here.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any, Iterable

from .states import State
from .trace import fmt_time

NAMINGS = ("symbolic", "relative", "absolute")


class Naming:
    """Names sequence numbers as the ladder does: ``J+1`` (symbolic), ``1`` (relative), raw.

    A thin cache over the ladder's own ``Conversations``, so the REPL's lines,
    its TCB table and the ladder always agree on which ISN is J and which is K.
    """

    def __init__(self, trace: Any, mode: str = "symbolic") -> None:
        if mode not in NAMINGS:
            raise ValueError(f"naming must be one of {', '.join(NAMINGS)}, not {mode!r}")
        self.trace = trace
        self.mode = mode
        self._seen = 0
        self._packets: Any = None
        self._convs: Any = None

    def conversations(self) -> Any:
        """The trace's conversations, brought up to date with the packets sent since."""
        packets = self.trace.packets
        if packets is not self._packets or len(packets) < self._seen:    # a new or replayed trace
            from .export.naming import Conversations

            self._convs = Conversations(())
            self._packets = packets
            self._seen = 0
        for i in range(self._seen, len(packets)):
            self._convs.add(packets[i])
        self._seen = len(packets)
        return self._convs

    def packet(self, p: Any) -> str:
        """The segment of packet ``p`` as one line, its numbers named."""
        seq, ack = self.conversations().namer(self.mode)(p)
        return p.format(lambda _: seq, lambda _: ack)

    def tcb(self, local: tuple[str, int], remote: tuple[str, int], n: int, sending: bool) -> str:
        """A TCB variable: SND.* named from the local side's ISN, RCV.* from the remote's."""
        if self.mode == "absolute":
            return str(n)
        for conv in reversed(self.conversations().all):
            if local in conv.sides and remote in conv.sides:
                side = conv.sides[local if sending else remote]
                return side.name(n) if self.mode == "symbolic" else side.relative(n)
        return str(n)


def fmt_packet(p: Any, naming: Naming) -> str:
    """``#3 client:32768 -> server:80 ACK seq=J+1 ack=K+1 win=65535``."""
    seg = p
    dup = f" (copy of #{p.duplicate_of})" if p.duplicate_of is not None else ""
    return f"#{p.id} {p.src}:{seg.src_port} -> {p.dst}:{seg.dst_port} {naming.packet(p)}{dup}"


def fmt_event(event: Any, naming: Naming) -> str:
    """An Event's one line, with sequence numbers named."""
    if event.kind != "arrival":
        return str(event)
    p = event.packet
    what = "arrives" if p.fate == "delivered" else f"is dropped ({p.reason})"
    return f"{fmt_time(event.time_ticks)} {p.dst} <- {p.src}: #{p.id} {naming.packet(p)} {what}"


def fmt_consequences(records: Iterable[Any], naming: Naming, paint: Any,
                     sends: bool = True) -> list[str]:
    """What a step or a command did: a line per state change and (``sends``) segment sent."""
    out = []
    for r in records:
        if r.kind == "state":
            out.append(f"  {r.host} {r.local[0]}:{r.local[1]}: {paint(str(r.old))} -> "
                       f"{paint(str(r.new))}")
        elif r.kind == "segment" and sends:
            lost = ""
            if r.fate == "dropped":
                lost = f"  -- {r.reason}, it will never arrive"
            out.append(f"  {r.src} sends {fmt_packet(r, naming)}{lost}")
    return out


def fmt_flight(packets: list[Any], naming: Naming) -> list[str]:
    if not packets:
        return ["nothing in flight"]
    return [f"{fmt_packet(p, naming)}   sent {fmt_time(p.sent_at_ticks)}, "
            f"arrives {fmt_time(p.arrives_at_ticks)}" for p in packets]


def state_rows(net: Any, fds: dict[Any, tuple[str, int]], naming: Naming,
               closed: list[tuple[str, int]]) -> list[list[str]]:
    """One row per connection on every host: host, fd, addresses, state, RFC variables,
    the octets queued to send and waiting to be read (ss's Send-Q, Recv-Q), timers.

    ``fds`` maps a connection's (host, local, remote) to the REPL socket's fd;
    ``closed`` lists (host, fd) of REPL sockets whose connection is gone.
    """
    rows = [["host", "fd", "local", "remote", "state", "SND.UNA", "SND.NXT", "SND.WND",
             "RCV.NXT", "RCV.WND", "Send-Q", "Recv-Q", "timers"]]
    for host in net.hosts.values():
        for info in host.connections():
            local = f"{info.local[0]}:{info.local[1]}"
            listening = info.remote[1] == 0
            remote = "*:*" if listening else f"{info.remote[0]}:{info.remote[1]}"
            fd = fds.get((host.name, info.local, info.remote))
            if listening:
                seqs = ["-"] * 7
            else:
                lr = (info.local, info.remote)
                seqs = [naming.tcb(*lr, info.snd_una, True), naming.tcb(*lr, info.snd_nxt, True),
                        str(info.snd_wnd), naming.tcb(*lr, info.rcv_nxt, False), str(info.rcv_wnd),
                        str(info.send_queue), str(info.recv_queue)]
                if info.state is State.SYN_SENT:
                    # no SYN has come: IRS, so RCV.NXT, and the peer's window are unknown
                    seqs[2] = seqs[3] = "-"
            timers = ", ".join(f"{name}@{t:.6f}" for name, t in info.timers) or "-"
            rows.append([host.name, "-" if fd is None else str(fd), local, remote,
                         str(info.state), *seqs, timers])
    for host_name, fd in closed:
        rows.append([host_name, str(fd), "-", "-", "CLOSED"] + ["-"] * 8)
    return rows


def table(rows: list[list[str]], paint: Any = None, state_col: int = 4) -> list[str]:
    """Left-aligned columns; the state column painted when colour is on."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            text = cell.ljust(widths[i]) if i < len(row) - 1 else cell
            if paint is not None and n and i == state_col:
                text = paint(cell) + " " * (widths[i] - len(cell))
            cells.append(text)
        out.append("  ".join(cells).rstrip())
    return out


_COLOURS = {
    "ESTABLISHED": "32", "LISTEN": "36", "CLOSED": "2", "TIME-WAIT": "33",
    "SYN-SENT": "35", "SYN-RECEIVED": "35", "error": "31", "prompt": "1",
}


_STATE_NAMES = re.compile("|".join(re.escape(str(s)) for s in sorted(State, key=lambda s: -len(str(s)))))


def paint_states(text: str, paint: Any) -> str:
    """``text`` (a ladder) with every state name painted; alignment is kept, as the
    colour codes take no room on a terminal."""
    return _STATE_NAMES.sub(lambda m: paint(m.group()), text)


def painter(enabled: bool):
    """A function that colours known words (state names, 'error') when enabled."""
    if not enabled:
        return lambda text, style=None: text

    def paint(text: str, style: str | None = None) -> str:
        code = _COLOURS.get(style or text) or ("33" if "WAIT" in text or "CLOS" in text else "")
        return f"\033[{code}m{text}\033[0m" if code else text

    return paint


def wrap(text: str, lang: str, width: int = 78) -> str:
    """Fill a paragraph; Chinese may break between any two wide characters."""
    if lang != "zh":
        return textwrap.fill(text, width, break_on_hyphens=False, break_long_words=False)
    lines, line, used = [], "", 0
    for word in _zh_pieces(text):
        size = sum(2 if ord(ch) > 0x2E80 else 1 for ch in word)
        if used + size > width and line and word not in "，。；：、）”":
            lines.append(line.rstrip())
            line, used = "", 0
            word = word.lstrip()
        line += word
        used += size
    return "\n".join(lines + [line.rstrip()])


def _zh_pieces(text: str) -> list[str]:
    """Each wide character alone; runs of narrow ones (a word, 'RFC 5961') together."""
    pieces: list[str] = []
    for ch in text:
        if ord(ch) > 0x2E80 or not pieces or ord(pieces[-1][-1]) > 0x2E80 or ch == " ":
            pieces.append(ch)
        else:
            pieces[-1] += ch
    return pieces
