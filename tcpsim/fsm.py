r"""The TCP state machine as data: every transition tcpsim makes, and nothing else.

Rule 1 (after h11): everything that decides *which state comes next* lives in
this table.  The engine (connection.py) classifies an event into an ``Input``,
looks up ``TRANSITIONS[state, input]`` and carries out what the entry says; the
state graph export and the tests read the same table, so the drawn diagram is
the implemented one.

RFC 9293 Figure 5 (with its notes: the RST edge from SYN-RECEIVED to LISTEN
applies after a passive OPEN; RST and ABORT reach CLOSED from every state):

                            +---------+ ---------\      active OPEN
                            |  CLOSED |            \    -----------
                            +---------+<---------\   \   create TCB
                              |     ^              \   \  snd SYN
                 passive OPEN |     |   CLOSE        \   \
                 ------------ |     | ----------       \   \
                  create TCB  |     | delete TCB         \   \
                              V     |                      \   \
          rcv RST (note 1)  +---------+            CLOSE    |    \
       -------------------->|  LISTEN |          ---------- |     |
      /                     +---------+          delete TCB |     |
     /           rcv SYN      |     |     SEND              |     |
    /           -----------   |     |    -------            |     V
+--------+      snd SYN,ACK  /       \   snd SYN          +--------+
|        |<-----------------           ------------------>|        |
|  SYN   |                    rcv SYN                     |  SYN   |
|  RCVD  |<-----------------------------------------------|  SENT  |
|        |                  snd SYN,ACK                   |        |
|        |------------------           -------------------|        |
+--------+   rcv ACK of SYN  \       /  rcv SYN,ACK       +--------+
   |         --------------   |     |   -----------
   |                x         |     |     snd ACK
   |                          V     V
   |  CLOSE                 +---------+
   | -------                |  ESTAB  |
   | snd FIN                +---------+
   |                 CLOSE    |     |    rcv FIN
   V                -------   |     |    -------
+---------+         snd FIN  /       \   snd ACK         +---------+
|  FIN    |<----------------          ------------------>|  CLOSE  |
| WAIT-1  |------------------                            |   WAIT  |
+---------+          rcv FIN  \                          +---------+
  | rcv ACK of FIN   -------   |                          CLOSE  |
  | --------------   snd ACK   |                         ------- |
  V        x                   V                         snd FIN V
+---------+               +---------+                    +---------+
|FINWAIT-2|               | CLOSING |                    | LAST-ACK|
+---------+               +---------+                    +---------+
  |              rcv ACK of FIN |                 rcv ACK of FIN |
  |  rcv FIN     -------------- |    Timeout=2MSL -------------- |
  |  -------            x       V    ------------        x       V
   \ snd ACK              +---------+delete TCB          +---------+
     -------------------->|TIME-WAIT|------------------->| CLOSED  |
                          +---------+                    +---------+
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping

from .segment import Flags, flag_names
from .states import State


class Input(Enum):
    """What can move a connection: a user call, a classified segment, or a timeout."""

    ACTIVE_OPEN = "active OPEN"
    PASSIVE_OPEN = "passive OPEN"
    SEND = "SEND"
    CLOSE = "CLOSE"
    ABORT = "ABORT"
    RCV_SYN = "rcv SYN"
    RCV_SYN_ACK = "rcv SYN,ACK"
    RCV_ACK_OF_SYN = "rcv ACK of SYN"
    RCV_FIN = "rcv FIN"
    RCV_ACK_OF_FIN = "rcv ACK of FIN"
    RCV_RST = "rcv RST"
    RCV_RST_ACTIVE = "rcv RST (active OPEN)"
    TIMEOUT_2MSL = "Timeout=2MSL"
    GIVE_UP = "retransmissions exhausted"

    def __str__(self) -> str:
        return self.value

    __hash__ = object.__hash__   # singletons: identity hashing keeps table lookups in C


@dataclass(frozen=True, slots=True)
class Transition:
    """One edge: the next state, what goes out, what the engine does, and why."""

    next: State
    send: Flags = Flags(0)
    action: str = ""
    rfc: str = ""
    bits: int = field(default=0, compare=False, repr=False)   # int(send), for the engine
    method: str = field(default="", compare=False, repr=False)  # "_" + action, for the engine

    def __post_init__(self) -> None:
        object.__setattr__(self, "bits", int(self.send))
        object.__setattr__(self, "method", "_" + self.action if self.action else "")

    @property
    def label_action(self) -> str:
        """The right side of the RFC's ``event / action`` label."""
        if self.send:
            return "snd " + flag_names(int(self.send))
        return {"delete_tcb": "delete TCB", "reset": "delete TCB"}.get(self.action, "x")


S = State
I = Input
_ACK = Flags.ACK
_RFC_OPEN = "RFC 9293 3.10.1"
_RFC_CLOSE = "RFC 9293 3.10.4"
_RFC_ABORT = "RFC 9293 3.10.5"
_RFC_LISTEN = "RFC 9293 3.10.7.2"
_RFC_SYN_SENT = "RFC 9293 3.10.7.3"
_RFC_RST = "RFC 9293 3.10.7.4, second: check the RST bit"
_RFC_SYN = "RFC 9293 3.10.7.4, fourth: check the SYN bit"
_RFC_ACK = "RFC 9293 3.10.7.4, fifth: check the ACK field"
_RFC_FIN = "RFC 9293 3.10.7.4, eighth: check the FIN bit"
_RFC_TIMEOUT = "RFC 9293 3.10.8"

TRANSITIONS: Mapping[tuple[State, Input], Transition] = {
    # Opening (3.10.1 OPEN; 3.10.7.2 LISTEN; 3.10.7.3 SYN-SENT)
    (S.CLOSED, I.ACTIVE_OPEN): Transition(S.SYN_SENT, Flags.SYN, "", _RFC_OPEN),
    (S.CLOSED, I.PASSIVE_OPEN): Transition(S.LISTEN, Flags(0), "", _RFC_OPEN),
    (S.LISTEN, I.SEND): Transition(S.SYN_SENT, Flags.SYN, "", "RFC 9293 3.10.2"),
    (S.LISTEN, I.RCV_SYN): Transition(S.SYN_RECEIVED, Flags.SYN | _ACK, "", _RFC_LISTEN + ", third: check for a SYN"),
    (S.LISTEN, I.CLOSE): Transition(S.CLOSED, Flags(0), "delete_tcb", _RFC_CLOSE),
    (S.SYN_SENT, I.RCV_SYN_ACK): Transition(S.ESTABLISHED, _ACK, "established", _RFC_SYN_SENT + ", fourth: check the SYN bit"),
    (S.SYN_SENT, I.RCV_SYN): Transition(S.SYN_RECEIVED, Flags.SYN | _ACK, "", _RFC_SYN_SENT + ", fourth: simultaneous open"),
    (S.SYN_SENT, I.CLOSE): Transition(S.CLOSED, Flags(0), "delete_tcb", _RFC_CLOSE),
    (S.SYN_SENT, I.RCV_RST): Transition(S.CLOSED, Flags(0), "refused", _RFC_SYN_SENT + ", second: check the RST bit"),
    (S.SYN_RECEIVED, I.RCV_ACK_OF_SYN): Transition(S.ESTABLISHED, Flags(0), "established", _RFC_ACK),
    (S.SYN_RECEIVED, I.RCV_RST): Transition(S.LISTEN, Flags(0), "back_to_listen", _RFC_RST + " (passive OPEN)"),
    (S.SYN_RECEIVED, I.RCV_SYN): Transition(S.LISTEN, Flags(0), "back_to_listen", _RFC_SYN + " (passive OPEN)"),
    (S.SYN_RECEIVED, I.RCV_RST_ACTIVE): Transition(S.CLOSED, Flags(0), "refused", _RFC_RST + " (active OPEN)"),
    (S.SYN_RECEIVED, I.CLOSE): Transition(S.FIN_WAIT_1, Flags.FIN, "", _RFC_CLOSE),
    # Closing (3.10.4 CLOSE; 3.10.7.4 fifth and eighth steps)
    (S.ESTABLISHED, I.CLOSE): Transition(S.FIN_WAIT_1, Flags.FIN, "", _RFC_CLOSE),
    (S.ESTABLISHED, I.RCV_FIN): Transition(S.CLOSE_WAIT, _ACK, "", _RFC_FIN),
    (S.CLOSE_WAIT, I.CLOSE): Transition(S.LAST_ACK, Flags.FIN, "", _RFC_CLOSE),
    (S.FIN_WAIT_1, I.RCV_ACK_OF_FIN): Transition(S.FIN_WAIT_2, Flags(0), "", _RFC_ACK),
    (S.FIN_WAIT_1, I.RCV_FIN): Transition(S.CLOSING, _ACK, "", _RFC_FIN),
    (S.FIN_WAIT_2, I.RCV_FIN): Transition(S.TIME_WAIT, _ACK, "start_time_wait", _RFC_FIN),
    (S.CLOSING, I.RCV_ACK_OF_FIN): Transition(S.TIME_WAIT, Flags(0), "start_time_wait", _RFC_ACK),
    (S.LAST_ACK, I.RCV_ACK_OF_FIN): Transition(S.CLOSED, Flags(0), "delete_tcb", _RFC_ACK),
    (S.TIME_WAIT, I.TIMEOUT_2MSL): Transition(S.CLOSED, Flags(0), "delete_tcb", _RFC_TIMEOUT + " (TIME-WAIT timeout)"),
}

# RST on a synchronized connection (3.10.7.4 second step).  TIME-WAIT is absent
# on purpose: RFC 1337 (TIME-WAIT assassination) -- a RST there is ignored.
for _state in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT):
    TRANSITIONS[_state, I.RCV_RST] = Transition(S.CLOSED, Flags(0), "reset", _RFC_RST)  # type: ignore[index]
for _state in (S.CLOSING, S.LAST_ACK):
    TRANSITIONS[_state, I.RCV_RST] = Transition(S.CLOSED, Flags(0), "delete_tcb", _RFC_RST)  # type: ignore[index]

# ABORT (3.10.5): a RST goes out from the states that have a peer to tell.
for _state in (S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT):
    TRANSITIONS[_state, I.ABORT] = Transition(S.CLOSED, Flags.RST, "delete_tcb", _RFC_ABORT)  # type: ignore[index]
for _state in (S.LISTEN, S.SYN_SENT, S.CLOSING, S.LAST_ACK, S.TIME_WAIT):
    TRANSITIONS[_state, I.ABORT] = Transition(S.CLOSED, Flags(0), "delete_tcb", _RFC_ABORT)  # type: ignore[index]

# Giving up after the last retransmission (3.10.8; RFC 1122 4.2.3.5 R2).
for _state in (S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1,
               S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK):
    TRANSITIONS[_state, I.GIVE_UP] = Transition(S.CLOSED, Flags(0), "timed_out", _RFC_TIMEOUT + " (user timeout)")  # type: ignore[index]

del _state


# The inputs as module names, for the engine's hot paths (see the note in states.py).
ACTIVE_OPEN = Input.ACTIVE_OPEN
PASSIVE_OPEN = Input.PASSIVE_OPEN
SEND = Input.SEND
CLOSE = Input.CLOSE
ABORT = Input.ABORT
RCV_SYN = Input.RCV_SYN
RCV_SYN_ACK = Input.RCV_SYN_ACK
RCV_ACK_OF_SYN = Input.RCV_ACK_OF_SYN
RCV_FIN = Input.RCV_FIN
RCV_ACK_OF_FIN = Input.RCV_ACK_OF_FIN
RCV_RST = Input.RCV_RST
RCV_RST_ACTIVE = Input.RCV_RST_ACTIVE
TIMEOUT_2MSL = Input.TIMEOUT_2MSL
GIVE_UP = Input.GIVE_UP


def edges() -> list[tuple[State, Input, Transition]]:
    """Every transition as (from, input, transition), in a stable order."""
    order = list(State)
    inputs = list(Input)
    return sorted(((s, i, t) for (s, i), t in TRANSITIONS.items()),
                  key=lambda e: (order.index(e[0]), inputs.index(e[1])))


def is_edge(old: State, new: State) -> bool:
    """True when some input moves ``old`` to ``new``."""
    return (old, new) in _PAIRS


_PAIRS = frozenset((s, t.next) for (s, _), t in TRANSITIONS.items())
