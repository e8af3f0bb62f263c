"""The REPL, driven by transcripts: what each line prints, and that nothing bad ends a session."""

from __future__ import annotations

import contextlib
import io
import re
import signal
import shutil
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpsim import State, scenarios
from tcpsim.cli import main
from tcpsim.repl import Repl

HANDSHAKE = ["listen server 80", "accept server", "connect client server:80"]


class Session:
    """A REPL fed one line at a time; ``run(line)`` returns what that line printed."""

    def __init__(self, **kw) -> None:
        self.out = io.StringIO()
        self.repl = Repl(stdin=io.StringIO(), stdout=self.out, **kw)

    def run(self, line: str) -> str:
        start = self.out.tell()
        self.repl.onecmd(line)
        self.repl.update_prompt()
        self.out.seek(start)
        text = self.out.read()
        self.out.seek(0, io.SEEK_END)
        return text

    def lines(self, *lines: str) -> list[str]:
        return [self.run(line) for line in lines]

    def sock(self, host: str, fd: int):
        return next(s for s in self.repl.world.sockets[host] if self.repl.world.fd(s) == fd)


@pytest.fixture
def s():
    session = Session()
    yield session
    session.repl.close()


def test_blocking_calls_show_as_blocked_and_do_not_block_the_prompt(s):
    listen, accept, connect = s.lines(*HANDSHAKE)
    assert "CLOSED -> LISTEN" in listen
    assert "blocked: accept(): LISTEN, waiting for a connection" in accept
    assert "CLOSED -> SYN-SENT" in connect
    assert "SYN seq=J" in connect
    assert "blocked: connect(): SYN-SENT, waiting for SYN,ACK" in connect
    assert "2 blocked" not in s.run("calls")
    assert s.run("calls").count("waiting for") == 2


def test_stepped_handshake_returns_connect_and_accept_at_the_right_steps(s):
    s.lines(*HANDSHAKE)
    syn, synack, ack = s.lines("step", "step", "step")
    # RFC 9293 3.10.7.2: the SYN makes the listener's new connection SYN-RECEIVED.
    assert "#1 SYN" in syn and "LISTEN -> SYN-RECEIVED" in syn and "returned" not in syn
    # 3.10.7.3: the SYN,ACK establishes the client; connect() returns now ...
    assert "SYN,ACK seq=K ack=J+1" in synack and "SYN-SENT -> ESTABLISHED" in synack
    assert "connect() returned" in synack and "accept()" not in synack
    # ... and only the final ACK establishes the server and completes accept().
    assert "SYN-RECEIVED -> ESTABLISHED" in ack and "accept() returned fd 4" in ack
    assert s.sock("client", 3).history == [State.CLOSED, State.SYN_SENT, State.ESTABLISHED]
    assert s.sock("server", 4).state is State.ESTABLISHED


def test_step_count_and_nothing_left(s):
    s.lines(*HANDSHAKE)
    out = s.run("step 3")
    assert out.count(" arrives") == 3
    assert "nothing is scheduled" in s.run("step 5")


def test_next_runs_until_a_blocked_call_returns(s):
    s.lines(*HANDSHAKE)
    out = s.run("next")
    assert "connect() returned" in out and "accept() returned" not in out
    assert "accept() returned" in s.run("next")
    assert "error: no blocked call" in s.run("next")


def test_prompt_shows_virtual_time_and_pending_events(s):
    s.lines(*HANDSHAKE)
    assert "t=0.000000" in s.repl.prompt and "1 in flight" in s.repl.prompt
    s.run("step")
    assert "t=0.010000" in s.repl.prompt and "next event at 0.020000" in s.repl.prompt


def state_after(lines: list[str]) -> str:
    session = Session()
    try:
        session.lines(*lines)
        return session.run("state") + session.run("flight") + session.repl.prompt
    finally:
        session.repl.close()


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_back_after_n_steps_equals_n_minus_1_steps(n):
    base = HANDSHAKE + ["send client hello", "recv server"]
    session = Session()
    try:
        session.lines(*base, *["step"] * n)
        undone = session.run("state")             # `state` is not a command back undoes
        assert "undid 'step'" in session.run("back")
        assert session.run("state") + session.run("flight") + session.repl.prompt == \
            state_after(base + ["step"] * (n - 1))
        assert undone != session.run("state") or n > 4
    finally:
        session.repl.close()


def test_back_undoes_a_drop_and_nothing_is_left_to_undo(s):
    s.lines("connect client server:80", "drop 1")
    assert s.run("flight").strip() == "nothing in flight"
    s.run("back")
    assert "#1 client:32768 -> server:80 SYN" in s.run("flight")
    s.run("back")
    assert "error: nothing to undo" in s.run("back")


def test_save_then_run_reproduces_the_final_state(tmp_path):
    lines = ["link client server loss=0.2", *HANDSHAKE, "run for 10", "send client --bytes 5000",
             "step 4", "flight", "drop 9", "expect client ESTABLISHED", "run for 3"]
    session = Session(seed=7)
    try:
        session.lines(*lines)
        path = tmp_path / "session.tcpsim"
        assert "wrote" in session.run(f"save {path}")
        want = session.run("state")
    finally:
        session.repl.close()
    assert "seed 7" in path.read_text()
    assert main(["run", str(path)], io.StringIO()) == 0
    replay = Session()
    try:
        assert replay.repl.run_lines(path.read_text().splitlines(), echo=False) is None
        assert replay.run("state") == want
    finally:
        replay.repl.close()


def test_save_writes_refused_calls_as_expect_fail(tmp_path, s):
    s.lines("listen server 80")
    assert s.run("listen server 80").startswith("error: ")    # EADDRINUSE: a new socket was made
    path = tmp_path / "s.tcpsim"
    s.run(f"save {path}")
    assert "expect fail listen server 80" in path.read_text()
    assert main(["run", str(path)], io.StringIO()) == 0


BAD = [
    "frobnicate", "lisen server 80", "listen", "listen server", "listen server eighty",
    "listen server 99999", "listen nosuch 80", "connect client", "connect client server",
    "connect client nowhere:80", "connect client server:-1", "send client", "send client hi",
    "recv server", "accept client", "drop", "drop 42", "drop x", "dup -1", "deliver 1e9",
    "step 0", "step -3", "step " + "9" * 40, "run until -1", "run until 1e400", "run until nan",
    "run 5", "link client", "link client server loss=2", "link client server speed=1",
    "link client server loss", "break", "break NOSUCH", "clear 7", "expect client ESTABLISHED",
    "expect client BOGUS", "expect recv", "explain --lang fr", "naming wrong", "ladder sideways",
    "host", "host client", "host bad/name", "host help", "host fail", "host q", "host EOF", "host x 300.1.1.1", "seed -1", "config mss=0",
    "config nosuch=1", "inject client server XYZ", "inject client server RST", "save",
    'send client "unclosed', "send client bad\\q", "shutdown client sideways", "close nosuch",
    "help nosuch", "graph", "pcap", "back 2",
]


@pytest.mark.parametrize("line", BAD)
def test_bad_input_prints_one_line_and_changes_nothing(s, line):
    s.lines("listen server 80")
    before = s.run("state") + s.run("flight") + s.run("calls")
    out = s.run(line)
    if line == "break":                       # listing no breakpoints is not an error
        assert out == "no breakpoints\n"
        return
    assert out.startswith("error: ") and out.count("\n") == 1, out
    assert "Traceback" not in out and "internal error" not in out
    assert s.run("state") + s.run("flight") + s.run("calls") == before


def test_a_refused_socket_call_says_so_in_one_line_with_a_hint(s):
    s.lines(*HANDSHAKE, "run", "abort client", "run")
    out = s.run("send server more")
    assert out.startswith("error: server fd 4: sendall() raised ConnectionResetError")
    assert "reset" in out and out.count("\n") == 1
    assert "recv() returned b''" in s.run("recv server")       # Linux: reported once, then EOF


def test_control_characters_and_escape_sequences_are_refused(s):
    for line in ["\x1b[A", "step\x00", "\x7f", "state\x07"]:
        out = s.run(line)
        assert out.startswith("error: the line holds a control character"), out


@pytest.mark.parametrize("line", ["send client \udcff", "expect fail bogus\udcff", "step\ud800"])
def test_bytes_that_are_not_utf8_are_refused_in_one_line_and_not_recorded(s, tmp_path, line):
    # what a REPL reading a C.UTF-8 terminal gets for the byte 0xff (surrogateescape)
    s.lines(*HANDSHAKE)
    out = s.run(line)
    assert out.startswith("error: the line ") and out.count("\n") == 1 and "internal" not in out
    assert [kind for _, kind in s.repl.history] == ["world"] * 3
    assert "wrote" in s.run(f"save {tmp_path / 'x.tcpsim'}")


@pytest.mark.parametrize("sep, name", [("\u2028", "line separator"), ("\u2029", "paragraph separator")])
def test_line_and_paragraph_separators_are_refused_as_a_script_would_split_there(s, sep, name):
    s.lines(*HANDSHAKE, "run")
    out = s.run(f"send client a{sep}b")
    assert out.startswith(f"error: the line holds a {name}") and out.count("\n") == 1
    assert s.repl.history[-1] == ("run", "world")


def test_refused_connect_raises_connection_refused_at_the_rst(s):
    s.run("connect client server:81")
    out = s.run("step 2")
    assert "RST,ACK" in out
    assert "connect() raised ConnectionRefusedError" in out
    assert s.run("expect error client ECONNREFUSED").startswith("ok")


def test_flight_drop_dup_deliver(s):
    s.lines(*HANDSHAKE)
    assert s.run("flight").startswith("#1 client:32768 -> server:80 SYN seq=J")
    s.run("drop 1")
    # RFC 6298 2.1 and 5.5: the SYN goes again after the initial RTO of 1 s, then 2 s later.
    assert "1.000000 client: retransmission timer" in s.run("step")
    s.run("drop 2")
    assert "3.000000 client: retransmission timer" in s.run("step")
    assert "copied #3 as #4" in s.run("dup 3")
    out = s.run("deliver 4")
    assert "#4 SYN" in out and "LISTEN -> SYN-RECEIVED" in out


def test_link_loss_drops_segments_on_the_wire(s):
    s.run("link client server loss=1")
    assert "loss=1" in s.run("link client server")
    assert "lost, it will never arrive" in s.run("connect client server:80")
    assert s.run("flight").strip() == "nothing in flight"


def test_breakpoints_and_continue(s):
    assert "a connection enters TIME-WAIT" in s.run("break TIME-WAIT")
    s.lines(*HANDSHAKE, "run", "close client", "close server")
    out = s.run("continue")
    assert "stopped at breakpoint 1" in out
    assert s.sock("client", 3).state is State.TIME_WAIT and s.repl.net.now < 1
    s.run("clear")
    s.run("break accept")
    s.run("continue")
    assert s.sock("client", 3).state is State.CLOSED


def test_break_on_a_flag_stops_at_the_segment(s):
    s.run("break server RST")
    s.lines("connect client server:81")
    out = s.run("continue")
    assert "stopped at breakpoint 1" in out and s.repl.net.now == pytest.approx(0.01)


def test_explain_cites_the_rfc_step_in_english_and_chinese(s):
    assert "Nothing has happened yet" in s.run("explain")
    s.lines(*HANDSHAKE, "step")
    en = " ".join(s.run("explain").split())
    assert "LISTEN to SYN-RECEIVED" in en and "RFC 9293 3.10.7.2" in en
    zh = "".join(s.run("explain --lang zh").split())
    assert "RFC92933.10.7.2第三步" in zh and "报文段" in zh


def test_explain_names_the_rfc_5961_challenge_ack(s):
    s.lines(*HANDSHAKE, "run", "inject client server RST seq=J+1000", "step")
    assert "RFC 5961 3.2" in " ".join(s.run("explain").split())
    assert s.sock("server", 4).state is State.ESTABLISHED


def test_explain_after_a_drop_and_a_retransmission(s):
    s.lines("connect client server:80", "drop 1")
    out = " ".join(s.run("explain").split())
    assert "You removed #1" in out and "1.000000" in out
    s.run("step")
    assert "RFC 6298" in " ".join(s.run("explain").split())


def test_expect_lines(s):
    s.lines(*HANDSHAKE)
    assert s.run("expect client SYN-SENT") == "ok: client is in SYN-SENT\n"
    assert s.run("expect client ESTABLISHED").startswith("error: expected client in ESTABLISHED")
    s.lines("run", "send client hello")
    assert "ok: server received b'hello'" in s.run("expect recv server hello")
    assert s.run("expect fail send nosuch x").startswith("error: no host")
    assert "error: expected 'step' to fail" in s.run("expect fail step")


def test_empty_line_repeats_step_and_eof_quits():
    out = io.StringIO()
    repl = Repl(stdin=io.StringIO("connect client server:80\n\n\n"), stdout=out)
    try:
        repl.cmdloop()
    finally:
        repl.close()
    text = out.getvalue()
    assert text.count(" arrives") == 2 and "RST,ACK" in text
    assert repl.stopped


def test_quit_leaves_the_loop():
    out = io.StringIO()
    repl = Repl(stdin=io.StringIO("quit\nstep\n"), stdout=out)
    repl.cmdloop()
    repl.close()
    assert " arrives" not in out.getvalue()


def test_help_lists_every_command_with_its_docstring(s):
    text = s.run("help")
    for name in ["host", "listen", "accept", "connect", "send", "recv", "shutdown", "close",
                 "abort", "step", "run", "next", "flight", "drop", "dup", "deliver", "link",
                 "state", "calls", "ladder", "graph", "pcap", "break", "continue", "back", "save",
                 "explain", "expect", "help", "quit"]:
        assert f"    {name} " in text, name
        doc = getattr(s.repl, f"do_{name}").__doc__
        assert s.run(f"help {name}").splitlines()[0] == doc.strip().splitlines()[0]
    assert s.run("help s") == s.run("help step")


def test_completion_of_commands_hosts_and_packet_ids(s):
    s.lines(*HANDSHAKE)
    assert s.repl.completenames("ste") == ["step"]
    assert s.repl.completedefault("se", "accept se", 7, 9) == ["server", "server/3"]
    assert s.repl.complete_drop("", "drop ", 5, 5) == ["1"]
    assert "TIME-WAIT" in s.repl.complete_break("TIME", "break TIME", 6, 10)


def test_shutdown_wr_half_closes(s):
    s.lines(*HANDSHAKE, "run", "shutdown client wr", "run for 1")
    assert s.sock("client", 3).state is State.FIN_WAIT_2
    s.run("send server still talking")
    assert "recv() returned b'still talking'" in s.run("recv client") + s.run("step")


def test_simultaneous_open_with_bind(s):
    s.lines("bind client 5000", "bind server 6000", "connect client server:6000",
            "connect server client:5000", "run for 2")
    for host in ("client", "server"):
        assert State.SYN_RECEIVED in s.sock(host, 3).history
        assert s.sock(host, 3).state is State.ESTABLISHED


def test_pictures_and_captures_are_written(s, tmp_path):
    s.lines(*HANDSHAKE, "run")
    assert "client" in s.run("ladder") and "server" in s.run("ladder relative")
    assert s.run(f"pcap {tmp_path / 'a.pcap'}") == f"wrote 3 packets to {tmp_path / 'a.pcap'}\n"
    s.run(f"graph {tmp_path / 'g.dot'}")
    assert "digraph" in (tmp_path / "g.dot").read_text()
    s.run(f"ladder mermaid {tmp_path / 'l.mmd'}")
    assert "sequenceDiagram" in (tmp_path / "l.mmd").read_text()
    assert s.run(f"pcap {tmp_path / 'missing' / 'x.pcap'}").startswith("error: cannot write")


def test_colour_only_when_asked():
    plain, coloured = Session(), Session(color=True)
    try:
        assert "\033[" not in plain.run("listen server 80")
        assert "\033[" in coloured.run("listen server 80")
    finally:
        plain.repl.close()
        coloured.repl.close()


COMMANDS = ["step", "run", "next", "flight", "drop", "dup", "deliver", "link", "state", "calls",
            "listen", "accept", "connect", "send", "recv", "shutdown", "close", "abort", "back",
            "break", "clear", "continue", "expect", "explain", "host", "bind", "inject", "config",
            "naming", "seed", "sockets", "help", "quit"]
ARGS = st.one_of(
    st.sampled_from(["client", "server", "server/3", "client/4", "server:80", "80", "0", "-1",
                     "1e309", "nan", "inf", str(2**64), "9" * 50, "wr", "RST", "SYN,ACK",
                     "loss=0.5", "delay=1e9", "TIME-WAIT", "until", "for", "--lang", "zh", '"',
                     "\\x", "recv", "error", "fail"]),
    st.integers(min_value=-2**70, max_value=2**70).map(str),
    st.text(string.printable, max_size=12),
)
LINES = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(max_codepoint=0x9F), max_size=20),
    st.tuples(st.sampled_from(COMMANDS), st.lists(ARGS, max_size=4)).map(
        lambda t: " ".join([t[0], *t[1]])),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINES, min_size=1, max_size=8))
def test_random_lines_never_crash_and_the_session_still_works(lines):
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        session = Session()
        try:
            for line in lines:
                out = session.run(line)
                assert "Traceback" not in out and "internal error" not in out, (line, out)
            session.lines("clear", "link client server loss=0", "host zzafter1", "host zzafter2",
                          "listen zzafter2 4321", "accept zzafter2", "connect zzafter1 zzafter2:4321",
                          "run for 10")
            assert session.run("expect zzafter1 ESTABLISHED").startswith("ok"), lines
            assert not Path(tmp, "zzafter1").exists()
        finally:
            session.repl.close()


VALID = ["listen server 80", "accept server", "connect client server:80", "connect client server:81",
         "send client hello", "send server world", "recv server", "recv client", "shutdown client wr",
         "close client", "close server", "abort client", "step", "step 2", "next", "run for 1",
         "drop 1", "drop 2", "drop 3", "dup 1", "dup 2", "deliver 2", "link client server loss=0.3",
         "link client server reorder=0.5 duplicate=0.3", "break ESTABLISHED", "clear", "continue",
         "expect client ESTABLISHED", "inject client server RST seq=J+5", "config msl=2"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(VALID), min_size=1, max_size=14))
def test_back_is_a_replay_of_the_session_without_its_last_command(lines):
    session = Session(seed=3)
    try:
        for line in lines:
            out = session.run(line)
            assert "internal error" not in out
        kept = [line for line, kind in session.repl.history]
        undone = session.run("back")
        after = session.run("state") + session.run("flight") + session.repl.prompt
    finally:
        session.repl.close()
    if undone.startswith("error: nothing to undo"):
        return
    assert "undid" in undone
    while kept and kept.pop() == "expect client ESTABLISHED":
        pass                                   # back skips checks to undo a real command
    fresh = Session(seed=3)
    try:
        for line in kept:
            fresh.run(line)
        assert fresh.run("state") + fresh.run("flight") + fresh.repl.prompt == after
    finally:
        fresh.repl.close()


def test_an_open_ended_run_stops_a_virtual_day_ahead(s):
    # The server never reads: its window closes and the client probes it forever (RFC 9293
    # 3.8.6.1 sets no limit), so 'run' must stop by itself.
    s.lines("config recv_buffer=2000", *HANDSHAKE, "run", "send client --bytes 5000")
    out = s.run("run")
    assert "stopped a virtual day ahead" in out
    assert 86400 - 61 <= s.repl.net.now <= 86401          # probes come at most 60 s apart
    assert "still blocked" in s.run("expect recv server --bytes 5001")


def test_expect_recv_waits_for_a_blocked_accept(s):
    s.lines(*HANDSHAKE, "send client hi")
    assert "ok: server received b'hi'" in s.run("expect recv server hi")


def test_state_table_shows_the_tcb_variables(s):
    s.lines(*HANDSHAKE, "run", "send client hello", "run")
    rows = {line.split()[0] + line.split()[1]: line.split() for line in s.run("state").splitlines()}
    header = rows["hostfd"]
    server, client = dict(zip(header, rows["server4"])), dict(zip(header, rows["client3"]))
    # 5 octets after the SYN: RCV.NXT = J+1+5, acknowledged, unread by the application.
    assert server["RCV.NXT"] == "J+6" and server["Recv-Q"] == "5" and server["RCV.WND"] == "65530"
    assert client["SND.UNA"] == client["SND.NXT"] == "J+6" and client["Send-Q"] == "0"
    assert server["state"] == client["state"] == "ESTABLISHED"
    assert rows["server3"][4] == "LISTEN"


def test_state_in_syn_sent_shows_what_is_not_known_yet_as_a_dash(s):
    # RFC 9293 3.10.7.3: IRS (so RCV.NXT) and the peer's window come with its SYN.
    s.run("connect client server:80")
    lines = s.run("state").splitlines()
    row = dict(zip(lines[0].split(), lines[1].split()))
    assert row["state"] == "SYN-SENT"
    assert row["SND.UNA"] == "J" and row["SND.NXT"] == "J+1" and row["RCV.WND"] == "65535"
    assert row["RCV.NXT"] == "-" and row["SND.WND"] == "-"


# -- the robustness sweep: each of these once printed a traceback, a wrong answer or a riddle --

UNCLEAR = [
    ("recv server 0", "error: the buffer size must be from 1 to 1073741824, not 0"),
    ("recv /4", "error: a socket is HOST or HOST/FD, like server or server/4, not '/4'"),
    ("connect client 10.0.0.9:80",
     "error: no host has address 10.0.0.9; hosts: client (10.0.0.1), server (10.0.0.2)"),
    ("expect recv server", "error: usage: expect recv HOST DATA|--bytes N, "
                           "e.g. 'expect recv server hello'"),
    ("expect error client", "error: usage: expect error HOST EXC, "
                            "e.g. 'expect error client ConnectionRefusedError'"),
    ("break nosuch RST", "error: no host named 'nosuch'; hosts: client, server"),
    ("graph states.bogus", "error: graph writes FILE.dot or FILE.gv (Graphviz source) or "
                           "FILE.svg, .png or .pdf (a picture), not '.bogus'"),
    ("inject client server SYN data=" + "x" * 65496,
     "error: a segment carries at most 65495 octets of data (one IPv4 packet), not 65496"),
]


@pytest.mark.parametrize("line, message", UNCLEAR, ids=[line[:30] for line, _ in UNCLEAR])
def test_a_bad_line_says_what_is_wrong_in_one_line(s, line, message):
    s.lines(*HANDSHAKE, "run")
    before = s.run("state") + s.run("flight")
    assert s.run(line) == message + "\n"
    assert s.run("state") + s.run("flight") == before


def test_closing_twice_names_the_socket_once(s):
    s.lines(*HANDSHAKE, "run", "close server/3")
    assert s.run("close server/3") == "error: server/3 is already closed\n"
    assert s.run("abort server/3") == "error: server/3 is already closed\n"


def test_drop_takes_a_packet_id_as_flight_shows_it(s):
    s.lines(*HANDSHAKE)
    assert s.run("drop #1").startswith("dropped #1 ")
    assert s.run("flight") == "nothing in flight\n"


def test_inject_keeps_the_escapes_in_its_data(s):
    s.lines(*HANDSHAKE, "run")
    s.run(r"inject client server ACK seq=J+1 data=a\r\n\x41")
    assert s.repl.net.in_flight[-1].segment.payload == b"a\r\nA"


def test_bind_on_a_bound_socket_binds_a_new_one(s):
    s.run("bind client 5000")
    assert s.run("bind client 5001") == "client/4 bound to 0.0.0.0:5001\n"


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")
def test_graph_into_a_missing_directory_is_refused(s, tmp_path):
    target = tmp_path / "missing" / "g.svg"
    assert s.run(f"graph {target}") == f"error: cannot write {target}: No such file or directory\n"
    assert not target.parent.exists()
    (tmp_path / "file").write_text("")
    assert s.run(f"graph {tmp_path / 'file' / 'g.svg'}").endswith(": Not a directory\n")


def test_step_stops_a_virtual_day_ahead(s):
    s.lines("config recv_buffer=2000", *HANDSHAKE, "run", "send client --bytes 5000", "run for 10")
    out = s.run("step 5000")              # a day holds about 4300 of them
    assert out.splitlines()[-1].startswith("stopped after ") and "a virtual day ahead" in out
    assert 86400 - 61 <= s.repl.net.now <= 86411


def test_explain_shortens_a_long_command(s):
    s.lines(*HANDSHAKE, "run", "send client --bytes 10")
    s.run("inject client server ACK seq=J+1 data=" + "x" * 500)
    text = s.run("explain")
    assert "x... (538 characters)'." in " ".join(text.split()) and len(text) < 400


class _InterruptOnce(io.StringIO):
    """Standard input whose first read is a Ctrl-C."""

    interrupted = False

    def readline(self, *args) -> str:
        if not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        return super().readline(*args)


def test_ctrl_c_at_the_prompt_drops_the_line_not_the_session():
    out = io.StringIO()
    repl = Repl(stdin=_InterruptOnce("listen server 80\nquit\n"), stdout=out)
    try:
        repl.cmdloop()
    finally:
        repl.close()
    assert "^C (the line is dropped; 'quit' or Ctrl-D leaves)" in out.getvalue()
    assert "server/3 listening on port 80" in out.getvalue()


def test_stepping_names_each_packet_once_not_the_whole_trace_each_step(s, monkeypatch):
    from tcpsim.export.naming import Conversations

    added = []
    real_add = Conversations.add
    monkeypatch.setattr(Conversations, "add", lambda self, pkt: added.append(pkt.id) or real_add(self, pkt))
    s.lines(*HANDSHAKE)
    for _ in range(6):
        s.run("step")
    s.run("send client hello")
    s.run("run for 1")
    s.run("state")                          # names the TCBs: the naming catches up
    packets = [p.id for p in s.repl.net.trace.packets]
    assert len(packets) >= 5 and added == packets
    # after 'back' the session is replayed on a new trace: named afresh, still right
    s.run("back")
    assert "ACK seq=J+1 ack=K+1" in s.run("ladder")


def _ctrl_c_on_call(repl, n: int, monkeypatch) -> None:
    """Press Ctrl-C (a real SIGINT) while the REPL's n-th event of a command runs."""
    advance = repl.advance
    calls = []

    def pressed(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            signal.raise_signal(signal.SIGINT)
        return advance(*args, **kwargs)

    monkeypatch.setattr(repl, "advance", pressed)


def test_ctrl_c_during_a_run_stops_it_between_events_and_the_session_goes_on(s, monkeypatch):
    before = signal.getsignal(signal.SIGINT)
    s.lines(*HANDSHAKE)
    _ctrl_c_on_call(s.repl, 2, monkeypatch)
    text = s.run("run")
    assert "interrupted (Ctrl-C)" in text and "ran 2 events" in text
    assert signal.getsignal(signal.SIGINT) is before        # put back after the command
    monkeypatch.undo()
    # the world stopped between two events: the rest of the handshake runs as usual
    assert "ran 1 event" in s.run("run")
    assert [c.state for c in s.repl.world.net.host("client").connections()] == [State.ESTABLISHED]


def test_ctrl_c_during_step_n_stops_the_steps(s, monkeypatch):
    s.lines(*HANDSHAKE)
    _ctrl_c_on_call(s.repl, 1, monkeypatch)
    text = s.run("step 3")
    assert "interrupted (Ctrl-C)" in text
    assert text.count(" arrives") == 1


def test_a_second_ctrl_c_leaves_a_command_that_does_not_stop(s, monkeypatch):
    def stuck(arg):
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(s.repl, "do_ladder", stuck)
    with pytest.raises(KeyboardInterrupt):
        s.run("ladder")


def test_running_does_not_scan_the_packets_in_flight_at_each_event(s, monkeypatch):
    from tcpsim.network import Network

    s.lines("config mss=1 recv_buffer=100000 send_buffer=100000", *HANDSHAKE, "run",
            "send client --bytes 5000")
    scans = []
    original = Network.in_flight
    monkeypatch.setattr(Network, "in_flight", property(lambda net: scans.append(1) or original.fget(net)))
    start = s.out.tell()
    s.repl.onecmd("run for 0.05")            # thousands of one-octet segments arrive
    ran = re.search(r"ran (\d+) events", s.out.getvalue()[start:])
    assert ran and int(ran.group(1)) >= 5000
    assert scans == []


def test_explain_says_who_sends_a_lost_segment_again(s):
    s.lines(*HANDSHAKE, "run", "send client --bytes 10", "link client server loss=1")
    s.run("step")                             # the data arrives; the server's ACK is lost
    text = " ".join(s.run("explain").split())
    assert "The link lost" in text and "a later ACK makes up for it" in text
    s.run("send client --bytes 10")           # data, lost on the way
    text = " ".join(s.run("explain").split())
    assert "retransmission timer fires, and sends it again" in text


def test_explain_of_a_damaged_forged_segment_says_nobody_sends_it_again(s):
    s.lines(*HANDSHAKE, "run", "link client server corrupt=1", "inject server client RST seq=K+1")
    s.run("step")
    text = " ".join(s.run("explain").split())
    assert "arrived damaged" in text and "nothing sends it again" in text
    zh = "".join(s.run("explain --lang zh").split())
    assert "没有谁会重发它" in zh


CONNECTED = HANDSHAKE + ["run"]


def test_a_call_woken_behind_other_events_due_now_shows_as_woken_not_waiting(s):
    # Two segments arrive at the same instant.  The first wakes the blocked recv(); its
    # wake-up is an event queued behind the second arrival, so recv() runs after both
    # (and reads both).  Until it runs it must not read as "waiting for data".
    s.lines(*CONNECTED, "recv server/4", "send client aaa", "send client bbb")
    first = s.run("step")
    assert "#4" in first and "recv() woken by #4" in first and "returned" not in first
    calls = s.run("calls")
    assert calls.startswith("server fd 4: recv() woken by #4: it runs after the events "
                            "already due at 0.040000")
    second = s.run("step")
    assert "#5" in second and "recv() returned b'aaabbb' (woken by #4" in second
    said = " ".join(s.run("explain").split())
    assert "This event did not wake it: #4 did" in said and "was there to read" not in said
    assert "#4" in " ".join(s.run("explain --lang zh").split())
    assert s.run("calls") == "no blocked calls\n"


def test_a_call_woken_by_a_segment_whose_copy_follows_is_not_credited_to_the_copy(s):
    s.lines(*CONNECTED, "recv server/4", "send client aaa", "dup 4")
    assert "recv() woken by #4" in s.run("step")
    assert "recv() returned b'aaa' (woken by #4" in s.run("step")
    said = " ".join(s.run("explain").split())
    assert "not acceptable" in said and "This event did not wake it: #4 did" in said


def test_a_call_woken_by_the_last_event_due_returns_at_that_step(s):
    s.lines(*CONNECTED, "recv server/4", "send client aaa")
    stepped = s.run("step")
    assert "recv() returned b'aaa'\n" in stepped and "woken" not in stepped
    assert "was there to read" in s.run("explain")


@pytest.mark.parametrize("dport, en, zh", [
    # RFC 9293 3.10.7.2, LISTEN: "first check for an RST ... An incoming RST should be ignored"
    (80, "listener on port 80 ignores an incoming RST (RFC 9293 3.10.7.2, LISTEN, first: check "
         "for an RST)", "RFC 9293 3.10.7.2，LISTEN 状态"),
    # RFC 9293 3.10.7.1, CLOSED: "An incoming segment containing a RST is discarded"
    (81, "in state CLOSED an incoming RST is discarded, and nothing is sent in reply (RFC 9293 "
         "3.10.7.1)", "RFC 9293 3.10.7.1"),
])
def test_explain_of_a_rst_matching_no_connection(s, dport, en, zh):
    s.lines("listen server 80", f"inject client server RST seq=100 sport=1234 dport={dport}", "step")
    said = " ".join(s.run("explain").split())
    assert en in said and "3.10.7.4" not in said and "5961" not in said
    said = "".join(s.run("explain --lang zh").split())
    assert "".join(zh.split()) in said and "3.10.7.4" not in said


def test_explain_of_a_rst_in_syn_sent_that_acks_nothing(s):
    # RFC 9293 3.10.7.3: in SYN-SENT a RST without an acceptable ACK is dropped
    s.lines("connect client server:80", "drop 1", "inject server client RST seq=100", "step")
    said = " ".join(s.run("explain").split())
    assert "RFC 9293 3.10.7.3" in said and "3.10.7.4" not in said


def test_inject_takes_its_ports_from_the_latest_connection_still_open(s):
    s.lines("bind client 5000", "bind server 6000", "connect client server:6000",
            "connect server client:5000", "run for 2", "connect client server:6000", "run")
    assert "ConnectionRefusedError" in s.run("expect error client ECONNREFUSED")
    assert "client:5000 -> server:6000 RST seq=J+1000" in s.run("inject client server RST seq=J+1000")
    s.run("run")
    # with every connection closed, the latest one's ports are still the default
    s.lines("abort client/3", "run")
    assert "client:32768 -> server:6000 RST" in s.run("inject client server RST seq=1")
    assert "open (not CLOSED)" in s.run("help inject")


def test_expect_recv_of_nothing_means_end_of_stream_not_recv_0(s):
    # recv(0) is b'' whatever is buffered; 'expect recv HOST ""' must read as 'recv' does
    s.lines(*CONNECTED, "send client hi", "run")
    assert "error: expected b'' from server, got b'hi'" in s.run('expect recv server ""')
    s.lines("close client", "run")
    assert "ok: server received b''" in s.run('expect recv server ""')


def test_listen_on_port_0_says_the_port_it_was_given(s):
    # as with socket.bind(("", 0)): the kernel picks a free ephemeral port
    out = s.run("listen server 0")
    port = s.sock("server", 3).getsockname()[1]
    assert port != 0 and f"server/3 listening on port {port}\n" in out


def test_an_unterminated_quote_in_the_data_is_refused_not_sent(s):
    s.lines(*CONNECTED)
    for line in ('send client "unterminated', 'send client "', 'send client "ends with \\"'):
        out = s.run(line)
        assert out.startswith("error: the data's opening quote is never closed") and out.count("\n") == 1
    assert s.run("flight") == "nothing in flight\n"
    assert "len=2" in s.run('send client "ok"')
    assert "len=2" in s.run('send client "a\\\\"')         # a and an escaped backslash


def test_a_call_on_a_host_whose_sockets_are_closed_says_they_are_closed(s):
    s.lines(*CONNECTED, "close server/4", "close server/3")
    for line in ("expect recv server hi", "recv server", "send server x"):
        assert s.run(line) == ("error: server has no connected socket: server/4 is closed; "
                               "for a new connection, 'connect server HOST:PORT'\n")


def test_a_port_held_in_time_wait_says_so_and_when_it_frees(s):
    # RFC 9293 3.10.7.4: TIME-WAIT lasts 2*MSL (msl=120 s by default)
    s.lines(*CONNECTED, "close server/4", "close client", "close server/3", "run for 1")
    out = s.run("listen server 80")
    assert "Address already in use" in out and "close the socket holding it" not in out
    assert "10.0.0.2:80 - 10.0.0.1:32768 is in TIME-WAIT, which holds the port for 2*MSL, " \
           "until t=240.050000" in out and "SO_REUSEADDR" in out
    s.run("run")
    assert "listening on port 80" in s.run("listen server 80")


def test_help_expect_names_the_bytes_form_the_scenarios_use(s):
    assert "expect recv server --bytes 20000" in scenarios.load("lossy-transfer").text
    assert "recv HOST DATA|--bytes N" in s.run("help expect")


def test_counts_of_one_are_singular(s):
    s.lines(*CONNECTED, "recv server/4")
    assert "(1 byte handed to TCP)" in s.run("send client x")
    s.run("step")
    said = " ".join(s.run("explain").split())
    assert "took 1 octet of data" in said and "1 octets" not in said
    ladder = s.run("ladder")
    assert "sendall(1 byte)" in ladder and "recv() returns 1 byte " in ladder
    assert "1 bytes" not in ladder
    s.lines("seed 0", "listen server 80", "listen server 81")
    assert "(replayed 1 command from seed 0)" in s.run("back")


def replayed_state(s, tmp_path) -> str:
    """``state`` and ``flight`` after 'tcpsim run' of what 'save' writes for session ``s``."""
    path = tmp_path / "saved.tcpsim"
    assert "wrote" in s.run(f"save {path}")
    out = io.StringIO()
    main(["run", "--no-color", str(path)], out)
    replay = Session()
    try:
        assert replay.repl.run_lines(path.read_text().split("\n"), echo=False) is None
        return replay.run("state") + replay.run("flight")
    finally:
        replay.repl.close()


@pytest.mark.parametrize("lossy", [False, True])
def test_expect_recv_that_ran_the_network_then_failed_is_kept_for_back_and_save(s, tmp_path, lossy):
    # it runs while accept() waits; then the socket named is not there: no fd 9, or (the
    # SYN always lost) no connection at all
    line = "expect recv server hello" if lossy else "expect recv server/9 hello"
    s.lines(*(["link client server loss=1"] if lossy else []), *HANDSHAKE)
    before = s.run("state")
    out = s.run(line)
    assert out.count("error: ") == 1 and out.splitlines()[-1].startswith("error: ")
    assert ("no connected socket" if lossy else "no socket with fd 9") in out
    assert s.repl.net.now > 0 and s.repl.history[-1] == (line, "refused")
    assert replayed_state(s, tmp_path) == s.run("state") + s.run("flight")
    assert f"undid '{line}'" in s.run("back")
    assert s.run("state") == before


def test_naming_is_saved_and_back_keeps_it_but_does_not_undo_it(s, tmp_path):
    s.lines(*HANDSHAKE, "run", "naming relative", "expect client ESTABLISHED")
    table = s.run("state")
    assert "K+1" not in table
    assert replayed_state(s, tmp_path) == table + s.run("flight")
    assert "undid 'run'" in s.run("back")           # naming changes nothing to undo
    assert s.repl.naming.mode == "relative" and s.repl.history[-1] == ("naming relative", "naming")
    assert "seq=0" in s.run("flight")
    s.lines("back", "back", "back")
    assert "nothing to undo" in s.run("back") and s.repl.naming.mode == "relative"


@pytest.mark.parametrize("reseed", [False, True])
def test_a_naming_given_at_the_start_or_before_seed_is_saved(tmp_path, reseed):
    s = Session(naming="absolute") if not reseed else Session()
    try:
        if reseed:
            s.lines("naming absolute", "seed 4")
        s.lines(*HANDSHAKE, "run")
        table = s.run("state")
        assert "J+1" not in table and " 1 " not in table
        assert replayed_state(s, tmp_path) == table + s.run("flight")
        s.run("back")
        assert s.repl.naming.mode == "absolute"
    finally:
        s.repl.close()


@pytest.mark.parametrize("line, n, kept", [
    ("step 5", 2, ["step 2"]),                # Ctrl-C comes during the n-th event
    ("next", 1, ["step 1"]),
    ("run", 2, ["run until 0.020000"]),
    ("continue", 1, ["run until 0.010000"]),
    ("run until 1e9", 7000, None),            # the window stays shut: probes, > a day of them
])
def test_a_command_stopped_by_ctrl_c_is_kept_as_what_it_did(s, monkeypatch, tmp_path, line, n, kept):
    s.lines("config recv_buffer=2000", *HANDSHAKE)
    if line == "run until 1e9":
        s.lines("run", "send client --bytes 5000", "run for 1")
    before = s.run("state") + s.run("flight")
    history = list(s.repl.history)
    _ctrl_c_on_call(s.repl, n, monkeypatch)
    out = s.run(line)
    monkeypatch.undo()
    assert "interrupted (Ctrl-C)" in out and "kept for back and save as" in out
    new = [entry for entry, _ in s.repl.history[len(history):]]
    assert new == kept if kept else len(new) == 1 and new[0].startswith("run until ")
    if line == "run until 1e9":
        assert s.repl.net.now > 86400 * 1.5
    assert replayed_state(s, tmp_path) == s.run("state") + s.run("flight")
    s.run("back")
    assert s.run("state") + s.run("flight") == before and s.repl.history == history


@pytest.mark.parametrize("n, setup", [
    *[(n, ["break ESTABLISHED", "break accept"]) for n in range(1, 5)],     # waiting for accept()
    *[(n, ["run", "drop 5", "break ACK"]) for n in range(1, 4)],    # for 'lo', sent again
])
def test_expect_recv_stopped_by_ctrl_c_is_kept_as_its_steps_and_calls(s, monkeypatch, tmp_path,
                                                                       n, setup):
    # breakpoints (which expect recv runs through, and step stops at) split the steps
    s.lines(*HANDSHAKE, *setup[:-2], "send client hel", "send client lo", *setup[-2:])
    before = s.run("state") + s.run("flight") + s.run("calls")
    history = list(s.repl.history)
    _ctrl_c_on_call(s.repl, n, monkeypatch)
    out = s.run("expect recv server hello")
    monkeypatch.undo()
    assert "interrupted (Ctrl-C)" in out and "ok:" not in out
    kept = s.repl.history[len(history):]
    assert kept and [k for _, k in kept] == ["world"] + ["more"] * (len(kept) - 1)
    assert replayed_state(s, tmp_path) == s.run("state") + s.run("flight")
    s.run("back")
    assert s.run("state") + s.run("flight") + s.run("calls") == before
    assert s.repl.history == history


class _Hung(BaseException):
    pass


@pytest.mark.parametrize("command", ["save {}", "pcap {}", "graph {}.dot", "ladder dot {}",
                                     "ladder mermaid {}", "graph {}.svg"])
@pytest.mark.parametrize("kind", ["fifo", "dir"])
def test_writing_to_a_fifo_or_directory_is_refused_not_blocked_on(s, tmp_path, command, kind):
    import os

    path = tmp_path / "out"
    for p in (path, path.with_name("out.dot"), path.with_name("out.svg")):
        os.mkfifo(p) if kind == "fifo" else p.mkdir()

    def hung(*args):
        raise _Hung

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(5)                  # opening a FIFO to write waits for a reader: forever
    try:
        s.lines(*HANDSHAKE, "run")
        out = s.run(command.format(path))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    want = "a FIFO (named pipe)" if kind == "fifo" else "a directory"
    assert out.startswith("error: cannot write ") and out.count("\n") == 1
    assert f"is {want}, not a regular file" in out


@pytest.mark.parametrize("depth", [2, 3, 300])
def test_expect_fail_of_expect_fail_is_refused(s, depth):
    s.run("listen server 80")
    out = s.run("expect fail " * depth + "naming relative")
    assert out.startswith("error: usage: expect fail COMMAND") and out.count("\n") == 1
    assert s.repl.naming.mode == "symbolic" and len(s.repl.history) == 1
    assert s.run("expect fail expect client ESTABLISHED").endswith(
        "ok: 'expect client ESTABLISHED' failed as expected\n")


def test_a_tab_separates_the_socket_from_the_data_as_a_space_does(s):
    s.lines(*HANDSHAKE, "run")
    assert s.run("send client\thello").startswith("  client sends #4")
    s.run("run")
    assert "recv() returned b'hello'" in s.run("recv server")


def test_a_command_that_sends_thousands_of_segments_prints_a_screenful(s):
    # at MSS 1, 5000 octets are 5000 segments at once: the first and last are shown,
    # the rest counted, and the session keeps every one (ladder, flight, back)
    s.lines("config mss=1", *HANDSHAKE, "run")
    out = s.run("send client --bytes 5000").splitlines()
    assert len(out) <= 102
    assert "  ... 4900 more lines like these ('ladder' shows them all)" in out      # 5000 - 100
    assert "seq=J+1 " in out[0] and "PSH,ACK seq=J+5000 " in out[-2]
    assert len([p for p in s.repl.net.trace.segments() if p.src == "client" and p.payload]) == 5000
