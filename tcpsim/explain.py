"""``explain``: the last thing that happened, in plain words, citing the RFC step.

The explanation is read off the trace records the last step (or command)
produced: each state change is looked up in ``fsm.TRANSITIONS`` for its input
and RFC section; segments with no state change are matched against the few
cases RFC 9293 3.10.7, RFC 5961 and RFC 1337 single out.  Every sentence
exists in English and in Chinese (``--lang zh``).
"""

from __future__ import annotations

from typing import Any

from .fsm import TRANSITIONS, Input
from .trace import plural
from .seqnum import seq_lt
from .states import State

LANGS = ("en", "zh")
SYN, FIN, RST, ACK = 2, 1, 4, 16

# One entry per sentence: (English, Chinese).  Fields are filled with str.format.
TEXT: dict[str, tuple[str, str]] = {
    "nothing": ("Nothing has happened yet: issue a socket call (try 'listen server 80') "
                "or 'step'.",
                "还什么都没有发生：先发起一个套接字调用（例如 'listen server 80'）或者 'step'。"),
    "arrive": ("Segment #{id} ({seg}) from {src} reached {dst}.",
               "报文段 #{id}（{seg}）从 {src} 到达了 {dst}。"),
    "command": ("You typed '{cmd}'.", "你输入了 '{cmd}'。"),
    "state": ("{host} {local} went from {old} to {new}: the edge '{input} / {action}' of "
              "the state diagram ({rfc}).",
              "{host} {local} 从 {old} 变为 {new}：状态图中的 '{input} / {action}' 这条边（{rfc}）。"),
    "sent": ("{host} sent #{id} {seg}.", "{host} 发出了 #{id} {seg}。"),
    "lost": ("  The link lost #{id}: it will never arrive. {then}",
             "  链路丢掉了 #{id}：它永远不会到达。{then}"),
    # what comes of a segment that never arrives, by what it was
    "then_rtx": ("The sender finds out only when its retransmission timer fires, and sends it "
                 "again (RFC 6298 5.4).",
                 "发送方只有等重传定时器超时才会发现，并重发它（RFC 6298 5.4）。"),
    "then_ack": ("A segment without data, SYN or FIN is never retransmitted: a later ACK makes "
                 "up for it.",
                 "不带数据、SYN 或 FIN 的报文段不会重传：之后的 ACK 会弥补它。"),
    "then_rst": ("A RST is never retransmitted.", "RST 从不重传。"),
    "then_nobody": ("No connection sent it (it was injected, or answered a stray segment), so "
                    "nothing sends it again.",
                    "它不是哪个连接发出的（是注入的，或是对无主报文段的回应），所以没有谁会重发它。"),
    "returned": ("{who}: {call} returned{value}{why}.", "{who}：{call} 返回了{value}{why}。"),
    "raised": ("{who}: {call} raised {error}.", "{who}：{call} 抛出了 {error}。"),
    "returned_late": ("{who}: {call} returned{value}. This event did not wake it: {by} did, "
                      "and its turn to run came only after the events already due at that "
                      "instant, this one included, so it saw what they all brought.",
                      "{who}：{call} 返回了{value}。唤醒它的不是这个事件，而是 {by}；它要等同一时刻"
                      "已经排定的事件（包括这一个）都处理完才轮到运行，所以看到的是这些事件带来的全部结果。"),
    "woken": ("{who}: {call} was woken by {by}, but other events already due at this instant "
              "run first; at its turn it runs, and returns, or waits again if what it waits for "
              "has not come.",
              "{who}：{call} 被 {by} 唤醒，但这一时刻已经排定的其他事件先处理；轮到它时它才运行，然后"
              "返回，或者如果等的东西还没来就继续等待。"),
    "blocked": ("{who}: {waiting} (RFC 9293 3.10: the call waits, the network goes on).",
                "{who}：{waiting}（RFC 9293 3.10：调用在等待，网络继续运行）。"),
    "challenge_rst": ("The RST's sequence number is inside the window but is not exactly "
                      "RCV.NXT, so it may be forged: {host} does not reset but answers with a "
                      "challenge ACK (RFC 5961 3.2). A real peer would reply with an exact RST.",
                      "这个 RST 的序号在窗口内，却不正好等于 RCV.NXT，可能是伪造的：{host} 不复位连接，"
                      "而是回一个挑战 ACK（RFC 5961 3.2）。真正的对端会用序号完全正确的 RST 回应。"),
    "challenge_syn": ("A SYN on a synchronized connection does not reset it: {host} answers "
                      "with a challenge ACK (RFC 5961 4.2; RFC 9293 3.10.7.4, fourth: check the "
                      "SYN bit).",
                      "已同步的连接上收到 SYN 不会复位连接：{host} 回一个挑战 ACK（RFC 5961 4.2；"
                      "RFC 9293 3.10.7.4 第四步：检查 SYN 位）。"),
    "rst_time_wait": ("{host} is in TIME-WAIT and ignores the RST, so the old connection "
                      "cannot be assassinated (RFC 1337).",
                      "{host} 处于 TIME-WAIT，忽略了这个 RST，旧连接不会被提前“暗杀”（RFC 1337）。"),
    "rst_dropped": ("The RST is outside the receive window, so {host} drops it silently "
                    "(RFC 9293 3.10.7.4, first: check the sequence number; RFC 5961 3.2).",
                    "这个 RST 不在接收窗口内，{host} 悄悄丢弃它（RFC 9293 3.10.7.4 第一步："
                    "检查序号；RFC 5961 3.2）。"),
    "rst_listen": ("The RST matches no connection, and {host}'s listener on port {port} ignores "
                   "an incoming RST (RFC 9293 3.10.7.2, LISTEN, first: check for an RST).",
                   "这个 RST 不属于任何连接，{host} 上端口 {port} 的监听者忽略收到的 RST（RFC 9293 "
                   "3.10.7.2，LISTEN 状态，第一步：检查 RST）。"),
    "rst_closed": ("No connection and no listener on {host} matches the RST: in state CLOSED "
                   "an incoming RST is discarded, and nothing is sent in reply (RFC 9293 "
                   "3.10.7.1).",
                   "{host} 上没有连接也没有监听者与这个 RST 匹配：CLOSED 状态下收到的 RST 被丢弃，"
                   "也不回应任何报文段（RFC 9293 3.10.7.1）。"),
    "rst_syn_sent": ("{host} is in SYN-SENT, where a RST counts only if its ACK acknowledges "
                     "the SYN; this one does not, so it is dropped (RFC 9293 3.10.7.3, first: "
                     "check the ACK bit; second: check the RST bit).",
                     "{host} 处于 SYN-SENT，此时只有确认了 SYN 的 RST 才算数；这个没有，所以被丢弃"
                     "（RFC 9293 3.10.7.3 第一步：检查 ACK 位；第二步：检查 RST 位）。"),
    "reset_closed": ("No connection and no listener on {host} matches this segment, so it "
                     "answers with a RST built as RFC 9293 3.10.7.1 says (state CLOSED).",
                     "{host} 上没有连接也没有监听者与这个报文段匹配，于是按 RFC 9293 3.10.7.1"
                     "（CLOSED 状态）回一个 RST。"),
    "reset_listen": ("A listener on {host} got an ACK for no connection: it answers with a "
                     "RST (RFC 9293 3.10.7.2, second: check for an ACK).",
                     "{host} 上的监听者收到了一个不属于任何连接的 ACK：回一个 RST（RFC 9293 "
                     "3.10.7.2 第二步：检查 ACK）。"),
    "syn_again": ("A retransmitted SYN reached {host} in SYN-RECEIVED: its SYN,ACK must have "
                  "been lost, so it sends the SYN,ACK again.",
                  "重传的 SYN 到达了处于 SYN-RECEIVED 的 {host}：它的 SYN,ACK 想必丢了，于是再发一次 "
                  "SYN,ACK。"),
    "data": ("{host} took {octets} of data in order: RCV.NXT moves on by {n} and the data "
             "waits for recv() (RFC 9293 3.10.7.4, seventh: process the segment text).",
             "{host} 按序收下了 {n} 个字节：RCV.NXT 前移，数据等待 recv() 读取（RFC 9293 "
             "3.10.7.4 第七步：处理报文段正文）。"),
    "data_acked": ("It acknowledges the data at once with ACK #{id}.",
                   "它立即用 ACK #{id} 确认。"),
    "data_delayed": ("It delays its ACK, hoping to combine it with a reply (RFC 9293 3.8.6.3, "
                     "RFC 1122 4.2.3.2).",
                     "它推迟发送 ACK，希望和回复合并（RFC 9293 3.8.6.3，RFC 1122 4.2.3.2）。"),
    "out_of_order": ("The data starts beyond RCV.NXT: a segment before it is missing. {host} "
                     "keeps it for reassembly and repeats its last ACK, telling the sender what "
                     "is missing (RFC 9293 3.10.7.4, seventh; RFC 5681 3.2).",
                     "数据从 RCV.NXT 之后开始：前面缺了一个报文段。{host} 先把它留着等待重组，并重复"
                     "上一个 ACK，告诉发送方缺的是什么（RFC 9293 3.10.7.4 第七步；RFC 5681 3.2）。"),
    "unacceptable": ("The segment is not acceptable (old, duplicate or outside the window): "
                     "{host} drops it and sends an ACK saying what it expects next (RFC 9293 "
                     "3.10.7.4, first: check the sequence number).",
                     "这个报文段不可接受（旧的、重复的或在窗口之外）：{host} 丢弃它，并发一个 ACK "
                     "说明它期望的下一个序号（RFC 9293 3.10.7.4 第一步：检查序号）。"),
    "window_full": ("{host}'s receive window is full, so it cannot take the data (a zero-window "
                    "probe, if the sender's window was 0): it drops it and ACKs, repeating that "
                    "the window is still closed (RFC 9293 3.10.7.4, first; 3.8.6.1).",
                    "{host} 的接收窗口已满，收不下这些数据（如果发送方看到的窗口是 0，这就是零窗口探测）："
                    "它丢弃数据并回 ACK，重申窗口仍然关闭（RFC 9293 3.10.7.4 第一步；3.8.6.1）。"),
    "ack": ("An acknowledgment: {host} moves SND.UNA forward and updates the send window "
            "(RFC 9293 3.10.7.4, fifth: check the ACK field).",
            "这是一个确认：{host} 把 SND.UNA 前移并更新发送窗口（RFC 9293 3.10.7.4 第五步："
            "检查 ACK 字段）。"),
    "zero_window": ("The window it advertises is 0: the receiver's buffer is full, so the "
                    "sender must stop and probe with its persist timer (RFC 9293 3.8.6.1).",
                    "通告的窗口是 0：接收方的缓冲区满了，发送方必须停下来，用坚持定时器去探测"
                    "（RFC 9293 3.8.6.1）。"),
    "bad_checksum": ("#{id} arrived damaged: the checksum does not match, so {host} discards "
                     "it silently (RFC 9293 3.1). {then}",
                     "#{id} 到达时已损坏：校验和不符，{host} 悄悄丢弃它（RFC 9293 3.1）。{then}"),
    "rtx": ("{host}'s retransmission timer expired before an ACK came back: it resends the "
            "oldest unacknowledged segment and doubles its RTO (RFC 6298 5.4-5.6).",
            "{host} 的重传定时器在收到 ACK 之前超时了：它重发最早的未确认报文段，并把 RTO "
            "加倍（RFC 6298 5.4-5.6）。"),
    "rtx_next": ("If this one is lost too, the next retransmission comes at {time} s.",
                 "如果这次也丢了，下一次重传在 {time} 秒。"),
    "persist": ("{host}'s persist timer fired while the peer's window is 0: it sends a "
                "zero-window probe carrying one octet to learn whether the window has opened "
                "(RFC 9293 3.8.6.1).",
                "对端窗口为 0 时 {host} 的坚持定时器到期：它发送一个携带 1 字节的零窗口探测，看窗口"
                "是否已经打开（RFC 9293 3.8.6.1）。"),
    "delack": ("{host}'s delayed-ACK timer fired: it acknowledges what it received "
               "(RFC 9293 3.8.6.3).",
               "{host} 的延迟 ACK 定时器到期：它确认已经收到的数据（RFC 9293 3.8.6.3）。"),
    "time_wait": ("TIME-WAIT lasted 2*MSL so that stray old segments die out and the peer's "
                  "FIN can be re-acknowledged; now the TCB is deleted (RFC 9293 3.3.2, 3.10.8).",
                  "TIME-WAIT 持续了 2*MSL，让网络中残留的旧报文段消失，也能重新确认对端的 FIN；"
                  "现在 TCB 被删除（RFC 9293 3.3.2，3.10.8）。"),
    "timeout": ("{detail}: the blocked call gives up with TimeoutError (socket.settimeout).",
                "{detail}：阻塞的调用以 TimeoutError 放弃（socket.settimeout）。"),
    "wakeup": ("{detail}: a blocked call on {host} gets to run again.",
               "{detail}：{host} 上阻塞的调用得以继续运行。"),
    "drop": ("You removed #{id} from the wire. Neither end knows: the sender will retransmit "
             "when its retransmission timer fires (RFC 6298 5.4).",
             "你把 #{id} 从线路上拿掉了。两端都不知道：发送方要等重传定时器超时才会重传"
             "（RFC 6298 5.4）。"),
    "drop_timer": ("{host}'s retransmission timer is due at {time} s.",
                   "{host} 的重传定时器将在 {time} 秒到期。"),
    "dup": ("You put a copy of #{id} on the wire. The receiver will treat the second copy as "
            "a duplicate: not acceptable, answered with an ACK (RFC 9293 3.10.7.4, first).",
            "你在线路上放了一份 #{id} 的副本。接收方会把第二份当作重复报文：不可接受，回一个 ACK"
            "（RFC 9293 3.10.7.4 第一步）。"),
    "backlog_full": ("{host}'s accept queue is full (the listen backlog), so the SYN is dropped "
                     "silently: no SYN,ACK and no RST. The client will retransmit its SYN, and "
                     "gets in once accept() makes room.",
                     "{host} 的 accept 队列（listen 的 backlog）已满，所以这个 SYN 被悄悄丢弃：既没有 "
                     "SYN,ACK 也没有 RST。客户端会重传 SYN，等 accept() 腾出空位后就能连上。"),
    "inject": ("#{id} {seg} is on its way from {src} to {dst}: a hand-made segment that {src}'s "
               "TCP never sent, forged as an off-path attacker would.",
               "#{id} {seg} 正从 {src} 发往 {dst}：这是一个手工制造的报文段，{src} 的 TCP 从未发送过它，"
               "就像路径外的攻击者伪造的那样。"),
    "data_after_close": ("Data arrived after {host}'s application called close(): nobody will "
                         "ever read it, so {host} aborts the connection with RST to say so "
                         "(RFC 1122 4.2.2.13; RFC 9293 3.6).",
                         "{host} 的应用调用 close() 之后又有数据到达：再也没有人会读取它，于是 {host} "
                         "用 RST 中止连接来说明这一点（RFC 1122 4.2.2.13；RFC 9293 3.6）。"),
    "quiet": ("Nothing in TCP changed: no state change and no segment.",
              "TCP 层面没有任何变化：没有状态转换，也没有报文段。"),
}

WHY_RETURNED = {
    "accept()": (": a connection completed its handshake and was waiting in the accept queue",
                 "：一个连接完成了握手，正在 accept 队列中等待"),
    "connect()": (": the handshake is complete on this side", "：这一端的握手已经完成"),
    "recv()": (": data, or the peer's FIN, was there to read", "：有数据（或对端的 FIN）可读"),
    "sendall()": (": all of it fit in the send buffer", "：数据全部放进了发送缓冲区"),
}
NO_ACTION = ("nothing sent", "不发送报文段")
_ZH_STEPS = (("first", "第一步"), ("second", "第二步"), ("third", "第三步"), ("fourth", "第四步"),
             ("fifth", "第五步"), ("sixth", "第六步"), ("seventh", "第七步"), ("eighth", "第八步"),
             ("check for a SYN", "检查 SYN"), ("check the ACK field", "检查 ACK 字段"),
             ("check the RST bit", "检查 RST 位"), ("check the SYN bit", "检查 SYN 位"),
             ("check the FIN bit", "检查 FIN 位"), ("simultaneous open", "同时打开"),
             ("(passive OPEN)", "（被动打开）"), ("(active OPEN)", "（主动打开）"),
             ("(TIME-WAIT timeout)", "（TIME-WAIT 超时）"), ("(user timeout)", "（用户超时）"))


def zh_rfc(rfc: str) -> str:
    """An RFC citation from the transition table, its words in Chinese."""
    for en, zh in _ZH_STEPS:
        rfc = rfc.replace(en, zh)
    return rfc.replace(": ", "：").replace(", ", " ")


_BY_CAUSE = (("abort", Input.ABORT), ("with", Input.ABORT), ("listener closed", Input.ABORT),
             ("2MSL", Input.TIMEOUT_2MSL), ("retransmissions", Input.GIVE_UP),
             ("connect", Input.ACTIVE_OPEN), ("listen", Input.PASSIVE_OPEN),
             ("close", Input.CLOSE), ("shutdown", Input.CLOSE))


def transition_of(change: Any) -> tuple[Input, Any] | None:
    """The (input, Transition) of TRANSITIONS that a traced state change took."""
    edges = [(i, t) for (s, i), t in TRANSITIONS.items() if s is change.old and t.next is change.new]
    if len(edges) <= 1:
        return edges[0] if edges else None
    cause = change.cause
    flags = getattr(cause, "flags", None)
    if flags is not None:
        if flags & RST:
            wanted = [Input.RCV_RST, Input.RCV_RST_ACTIVE]
        else:
            wanted = [i for i, bit in ((Input.RCV_SYN_ACK, SYN | ACK), (Input.RCV_SYN, SYN),
                                       (Input.RCV_FIN, FIN), (Input.RCV_ACK_OF_SYN, ACK),
                                       (Input.RCV_ACK_OF_FIN, ACK)) if flags & bit == bit]
    else:
        text = str(cause)
        wanted = [i for word, i in _BY_CAUSE if word in text]
    if flags is not None:
        wanted.append(Input.ABORT)     # data after close(): the engine aborts (RFC 1122 4.2.2.13)
    for inp in wanted:
        for i, t in edges:
            if i is inp:
                return i, t
    return edges[0]


class Explainer:
    """Builds the sentences for one language."""

    def __init__(self, lang: str, naming: Any) -> None:
        if lang not in LANGS:
            raise ValueError(f"language must be one of {', '.join(LANGS)}, not {lang!r}")
        self.zh = lang == "zh"
        self.naming = naming
        self.lines: list[str] = []

    def say(self, key: str, **fields: Any) -> None:
        self.lines.append(TEXT[key][self.zh].format(**fields))

    def then(self, p: Any) -> str:
        """What comes of packet ``p`` never arriving: who, if anyone, sends it again."""
        if not p.conn_id:
            key = "then_nobody"
        elif p.flags & RST:
            key = "then_rst"
        elif p.seg_len == 0:
            key = "then_ack"
        else:
            key = "then_rtx"
        return TEXT[key][self.zh]

    def state(self, r: Any) -> None:
        found = transition_of(r)
        inp, t = found if found else ("?", None)
        action = t.label_action if t else "?"
        if action == "x":
            action = NO_ACTION[self.zh]
        rfc = t.rfc if t else "RFC 9293"
        self.say("state", host=r.host, local=f"{r.local[0]}:{r.local[1]}", old=r.old, new=r.new,
                 input=inp, action=action, rfc=zh_rfc(rfc) if self.zh else rfc)
        if r.new is State.CLOSED and r.old is State.TIME_WAIT:
            self.say("time_wait")
        if inp is Input.ABORT and getattr(r.cause, "flags", None) is not None:
            self.say("data_after_close", host=r.host)

    def sent(self, p: Any) -> None:
        self.say("sent", host=p.src, id=p.id, seg=self.naming.packet(p))
        if p.fate == "dropped" and p.reason == "lost":
            self.say("lost", id=p.id, then=self.then(p))


def explain(last: Any, net: Any, naming: Any, lang: str = "en") -> list[str]:
    """Sentences about ``last`` (the REPL's record of its last step or command)."""
    ex = Explainer(lang, naming)
    if last is None:
        ex.say("nothing")
        return ex.lines
    records = last.records
    changes = [r for r in records if r.kind == "state"]
    sent = [r for r in records if r.kind == "segment"]
    event = last.event
    if event is None:
        cmd = last.command
        ex.say("command", cmd=cmd if len(cmd) <= 100 else cmd[:80] + f"... ({len(cmd)} characters)")
    elif event.kind == "arrival":
        p = event.packet
        ex.say("arrive", id=p.id, seg=naming.packet(p), src=p.src, dst=p.dst)
    for r in changes:
        ex.state(r)
    if event is not None:
        _why(ex, event, changes, sent, net)
    elif last.command.split()[:1] == ["drop"] and last.packet is not None:
        p = last.packet
        ex.say("drop", id=p.id)
        for host in net.hosts.values():
            for info in host.connections():
                if info.local == (p.src_addr, p.src_port):
                    for name, t in info.timers:
                        if name == "retransmission":
                            ex.say("drop_timer", host=p.src, time=f"{t:.6f}")
    elif last.command.split()[:1] == ["inject"] and last.packet is not None:
        p = last.packet
        ex.say("inject", id=p.id, seg=naming.packet(p), src=p.src, dst=p.dst)
    elif last.command.split()[:1] in (["dup"], ["duplicate"]) and last.packet is not None:
        ex.say("dup", id=last.packet.duplicate_of or last.packet.id)
    for p in sent:
        ex.sent(p)
    for who, call, outcome, value, woken_by in last.calls:
        if outcome == "returned" and woken_by:
            ex.say("returned_late", who=who, call=call, value=f" {value}" if value else "",
                   by=woken_by)
        elif outcome == "returned":
            why = WHY_RETURNED.get(call, ("", ""))[ex.zh]
            ex.say("returned", who=who, call=call, value=f" {value}" if value else "", why=why)
        elif outcome == "raised":
            ex.say("raised", who=who, call=call, error=value)
        elif outcome == "woken":
            ex.say("woken", who=who, call=call, by=woken_by)
        else:
            ex.say("blocked", who=who, waiting=value)
    if len(ex.lines) == 1 and event is None:
        ex.say("quiet")
    return ex.lines


def _why(ex: Explainer, event: Any, changes: list, sent: list, net: Any) -> None:
    """The sentence for an event that the state changes alone do not explain."""
    host = event.host or (event.packet.dst if event.packet is not None else "")
    if event.kind == "timer":
        detail = event.detail
        if "retransmission" in detail:
            ex.say("rtx", host=host)
            local = detail.split(" of ")[-1].split(" ")[0]
            for info in net.hosts[host].connections():
                if f"{info.local[0]}:{info.local[1]}" == local:
                    for name, t in info.timers:
                        if name == "retransmission":
                            ex.say("rtx_next", time=f"{t:.6f}")
        elif "persist" in detail:
            ex.say("persist", host=host)
        elif "delayed ACK" in detail:
            ex.say("delack", host=host)
        return
    if event.kind == "timeout":
        ex.say("timeout", detail=event.detail)
        return
    if event.kind == "wakeup":
        ex.say("wakeup", detail=event.detail, host=host)
        return
    p = event.packet
    if p.fate != "delivered":
        ex.say("bad_checksum", id=p.id, host=p.dst, then=ex.then(p))
        return
    if changes:
        return
    seg = p
    flags = seg.flags
    replies = [r for r in sent if r.src == p.dst]
    reply = replies[0] if replies else None
    rflags = reply.flags if reply is not None else 0
    if flags & RST:
        state = _state_of(net, p)
        if reply is not None and rflags & ACK:
            ex.say("challenge_rst", host=p.dst)
        elif state is None:
            ex.say("rst_listen" if _listening(net, p) else "rst_closed", host=p.dst,
                   port=seg.dst_port)
        elif state is State.TIME_WAIT:
            ex.say("rst_time_wait", host=p.dst)
        elif state is State.SYN_SENT:
            ex.say("rst_syn_sent", host=p.dst)
        else:
            ex.say("rst_dropped", host=p.dst)
    elif reply is not None and rflags & RST:
        ex.say("reset_listen" if _listening(net, p) else "reset_closed", host=p.dst)
    elif flags & SYN and reply is None and not flags & ACK and _listening(net, p):
        ex.say("backlog_full", host=p.dst)
    elif flags & SYN and reply is not None and rflags & SYN:
        ex.say("syn_again", host=p.dst)
    elif flags & SYN and reply is not None:
        ex.say("challenge_syn", host=p.dst)
    elif seg.payload:
        if reply is not None and reply.ack == seg.seq:
            ex.say("window_full", host=p.dst)
        elif reply is not None and seq_lt(reply.ack, seg.seq):
            ex.say("out_of_order", host=p.dst)
        elif _delivered_before(net, p):
            ex.say("unacceptable", host=p.dst)
        else:
            n = len(seg.payload)
            ex.say("data", host=p.dst, n=n, octets=plural(n, "octet"))
            if reply is not None:
                ex.say("data_acked", id=reply.id)
            else:
                ex.say("data_delayed")
    elif reply is not None and rflags == ACK and not reply.payload:
        ex.say("unacceptable", host=p.dst)
    elif flags & ACK:
        ex.say("ack", host=p.dst)
    if seg.window == 0 and not flags & RST:
        ex.say("zero_window")


def _delivered_before(net: Any, p: Any) -> bool:
    """Did the same data (same sender, sequence number and length) arrive before ``p``?"""
    seg = p
    return any(q.id != p.id and q.fate == "delivered" and q.src == p.src and q.dst == p.dst
               and q.seq == seg.seq and len(q.payload) == len(seg.payload)
               and q.src_port == seg.src_port and q.arrives_at_ticks <= p.arrives_at_ticks
               for q in net.trace.packets)


def _listening(net: Any, p: Any) -> bool:
    """Is a listener on packet ``p``'s destination port?"""
    return any(i.state is State.LISTEN and i.local[1] == p.dst_port
               for i in net.hosts[p.dst].connections())


def _state_of(net: Any, p: Any) -> State | None:
    """The state now of the receiver's connection for packet ``p`` (None if it has none)."""
    seg = p
    for info in net.hosts[p.dst].connections():
        if info.local[1] == seg.dst_port and info.remote == (p.src_addr, seg.src_port):
            return info.state
    return None
