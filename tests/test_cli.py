"""The tcpsim command: subcommands, options, exit codes and one-line errors."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tcpsim import scenarios
from tcpsim.cli import main, use_colour


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


def test_demo_defaults_to_the_lifecycle():
    code, text = run("demo")
    assert code == 0
    assert text.startswith("lifecycle: ")
    assert scenarios.load("lifecycle").explanation["en"].split()[0] in text
    assert "TIME-WAIT" in text


def test_demo_list_gives_one_line_per_scenario():
    code, text = run("demo", "--list")
    assert code == 0
    lines = text.splitlines()
    assert [line.split()[0] for line in lines] == scenarios.names()
    assert all(len(line.split(None, 1)) == 2 for line in lines)


def test_demo_in_chinese():
    code, text = run("demo", "handshake", "--lang", "zh")
    zh = scenarios.load("handshake").explanation["zh"]
    assert code == 0 and "握手" in zh and zh.replace(" ", "") in text.replace("\n", "").replace(" ", "")


def test_an_unknown_scenario_is_one_line_on_stderr(capsys):
    assert main(["demo", "nosuch"], io.StringIO()) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no scenario 'nosuch'" in err and "lifecycle" in err


@pytest.mark.parametrize("argv", [["bogus"], ["demo", "--seed", "x"], ["run"],
                                  ["diagram"], ["--naming", "sideways", "demo"],
                                  ["demo", "--list", "extra"], ["demo", "handshake", "--list"]])
def test_bad_usage_is_one_line_and_exit_2(capsys, argv):
    assert main(argv, io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.startswith("tcpsim: error: ") and err.count("\n") == 1


def test_run_prints_the_transcript(tmp_path):
    script = tmp_path / "ok.tcpsim"
    script.write_text("# a comment\nlisten server 80\n\naccept server\nconnect client server:80\n"
                      "run   # the handshake\nexpect client ESTABLISHED\n")
    code, text = run("run", str(script))
    assert code == 0
    assert ") listen server 80\n" in text and ") run\n" in text
    assert "ok: client is in ESTABLISHED" in text and "a comment" not in text


@pytest.mark.parametrize("body, line", [
    ("listen server 80\nconnect client server:80\nstep\nexpect client ESTABLISHED\n", 4),
    ("listen server 80\n# comment\nlisten server 80\nstep\n", 3),
    ("stepp\n", 1),
    ("connect client server:80\nrun\nexpect recv client hello\n", 3),
])
def test_run_stops_at_the_first_failure_with_its_line_number(tmp_path, capsys, body, line):
    script = tmp_path / "bad.tcpsim"
    script.write_text(body)
    assert main(["run", str(script)], io.StringIO()) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tcpsim: error: {script}:{line}: ") and err.count("\n") == 1


@pytest.mark.parametrize("body, line, message", [
    ("step\x0c\nstep\nbogus\n", 1, "control character '\\x0c'"),
    ("step\nsend client a\u2028b\nbogus\n", 2, "line separator '\\u2028'"),
    ("step\x0bstep\x1cstep\x85\nbogus\n", 1, "control character '\\x0b'"),
    ("step\r\nstep\r\nbogus\r\n", 3, "unknown command 'bogus'"),
])
def test_a_script_breaks_lines_at_newlines_only(tmp_path, capsys, body, line, message):
    # as the REPL reads a line: a form feed or U+2028 is a bad character in its line,
    # not a line break that would shift every later line number
    script = tmp_path / "odd.tcpsim"
    script.write_bytes(body.encode())
    assert main(["run", str(script)], io.StringIO()) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tcpsim: error: {script}:{line}: ") and message in err, err


def test_run_a_missing_or_binary_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope")], io.StringIO()) == 1
    assert "cannot read" in capsys.readouterr().err
    binary = tmp_path / "bin"
    binary.write_bytes(b"\xff\xfe\x00step")
    assert main(["run", str(binary)], io.StringIO()) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_run_from_standard_input_that_is_not_utf8_is_refused_as_a_file_is(capsys, monkeypatch):
    # a C.UTF-8 locale decodes stdin with surrogateescape: the bad byte must not get through
    stdin = io.TextIOWrapper(io.BytesIO(b"send client \xff\n"), encoding="utf-8",
                             errors="surrogateescape")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["run", "-"], io.StringIO()) == 1
    assert capsys.readouterr().err == "tcpsim: error: standard input is not a UTF-8 text file\n"


def test_seed_changes_the_isns_but_not_the_story():
    a, b = run("demo", "handshake", "--naming", "absolute"), run("--seed", "5", "demo",
                                                                    "handshake", "--naming", "absolute")
    assert a[0] == b[0] == 0 and a[1] != b[1]
    assert run("demo", "handshake") == run("demo", "handshake")


def test_exports_are_written(tmp_path):
    pcap, mmd, dot = tmp_path / "a.pcap", tmp_path / "a.mmd", tmp_path / "a.dot"
    code, text = run("demo", "handshake", "--pcap", str(pcap), "--mermaid", str(mmd),
                     "--dot", str(dot))
    assert code == 0
    assert f"wrote 3 packets to {pcap}" in text
    assert pcap.stat().st_size > 24 and "sequenceDiagram" in mmd.read_text()
    assert "digraph" in dot.read_text()


def test_an_unwritable_export_is_one_line(tmp_path, capsys):
    assert main(["demo", "handshake", "--pcap", str(tmp_path / "no" / "a.pcap")],
                io.StringIO()) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_diagram_writes_files(tmp_path):
    code, text = run("diagram", "--out", str(tmp_path / "d"))
    assert code == 0
    written = [line.split(" ", 1)[1] for line in text.splitlines()]
    assert written and all(Path(p).exists() for p in written)


def test_repl_subcommand_reads_commands_from_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("connect client server:81\nstep 2\nquit\n"))
    code, text = run("repl", "--no-color")
    assert code == 0 and "ConnectionRefusedError" in text


def test_colour_rules(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_colour(None, Tty()) is True
    assert use_colour(None, io.StringIO()) is False
    assert use_colour(False, Tty()) is False
    assert use_colour(True, io.StringIO()) is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(None, Tty()) is False


def test_help_starts_without_graphviz_or_hypothesis():
    code = ("import io, sys, tcpsim.cli; tcpsim.cli.main(['--help'], io.StringIO()); "
            "print('graphviz' in sys.modules, 'hypothesis' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "False"]


def test_the_drop_in_module_is_an_attribute_after_a_bare_import():
    # SPEC writes tcpsim.socket.socket(AF_INET, SOCK_STREAM); a fresh interpreter, so no
    # earlier test has imported the submodule already
    code = ("import tcpsim; print(tcpsim.socket.socket.__name__, tcpsim.socket.AF_INET == 2, "
            "'hypothesis' in __import__('sys').modules, tcpsim.strategies.__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["socket", "True", "False", "tcpsim.strategies"], done.stderr


def test_help_goes_to_the_given_stream():
    code, text = run("--help")
    assert code == 0 and text.startswith("usage: tcpsim") and "demo" in text
    code, text = run("demo", "--help")
    assert code == 0 and "--list" in text


def test_python_dash_m_runs_the_demo():
    done = subprocess.run([sys.executable, "-m", "tcpsim", "demo", "refused"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""
    assert "ConnectionRefusedError" in done.stdout


def test_a_failing_script_line_is_reported_once_and_without_colour(tmp_path, capsys):
    script = tmp_path / "bad.tcpsim"
    script.write_text("listen server 80\nrecv server\n")
    assert main(["run", str(script), "--color"], io.StringIO()) == 1
    assert capsys.readouterr().err == (f"tcpsim: error: {script}:2: server has no connected "
                                       "socket yet; first 'accept server'\n")


def test_a_script_may_start_with_a_byte_order_mark(tmp_path):
    script = tmp_path / "bom.tcpsim"
    script.write_bytes("\ufefflisten server 80\n".encode())
    code, text = run("run", str(script))
    assert code == 0 and "server/3 listening on port 80" in text


def test_the_transcript_shows_control_characters_as_escapes(tmp_path):
    script = tmp_path / "esc.tcpsim"
    script.write_text("\x1b[A\n")
    code, text = run("run", str(script))
    assert code == 1 and "\x1b" not in text and ") \\x1b[A\n" in text


@pytest.mark.parametrize("command", [["run", "-"], ["repl"], ["demo"]])
def test_an_unwritable_export_is_refused_before_the_run(tmp_path, capsys, monkeypatch, command):
    monkeypatch.setattr(sys, "stdin", io.StringIO("listen server 80\n"))
    target = tmp_path / "missing" / "a.pcap"
    code, text = run(*command, "--pcap", str(target))
    assert code == 1 and text == ""
    assert capsys.readouterr().err == (f"tcpsim: error: cannot write --pcap {target}: "
                                       f"there is no directory {target.parent}\n")


def test_diagram_out_must_not_be_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("")
    assert main(["diagram", "--out", str(tmp_path / "f")], io.StringIO()) == 1
    assert capsys.readouterr().err == (f"tcpsim: error: --out {tmp_path / 'f'} is a file; "
                                       "give a directory to write into\n")


@pytest.mark.parametrize("argv", [
    ["diagram", "--out", "d", "--pcap", "x.pcap"], ["diagram", "--out", "d", "--seed", "3"],
    ["diagram", "--out", "d", "--naming", "relative"], ["diagram", "--out", "d", "--mermaid", "m"],
    ["diagram", "--out", "d", "--dot", "x.dot"], ["diagram", "--out", "d", "--color"],
    ["diagram", "--out", "d", "--lang", "zh"], ["--pcap", "x.pcap", "diagram", "--out", "d"],
    ["--seed", "3", "diagram", "--out", "d"], ["--no-color", "diagram", "--out", "d"]])
def test_diagram_refuses_the_options_it_would_ignore(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    assert main(argv, io.StringIO()) == 2
    err = capsys.readouterr().err
    option = next(a for a in argv if a.startswith("--") and a != "--out")
    assert err.startswith(f"tcpsim: error: {option} does not apply to 'diagram'")
    assert err.count("\n") == 1
    assert not list(tmp_path.iterdir())             # nothing written, no pcap either


def test_a_negative_seed_is_refused_as_the_repl_refuses_it(capsys):
    from tcpsim.repl import Repl

    out = io.StringIO()
    repl = Repl(stdin=io.StringIO(), stdout=out)
    repl.onecmd("seed -1")
    repl.close()
    message = out.getvalue().strip().removeprefix("error: ")
    for argv in (["--seed", "-1", "demo"], ["demo", "--seed", "-1"], ["run", "--seed", "-1", "x"]):
        assert main(argv, io.StringIO()) == 2
        assert message in capsys.readouterr().err


def test_color_colours_the_demo_ladder_and_only_its_state_names():
    code, plain = run("demo", "handshake", "--no-color")
    code, coloured = run("demo", "handshake", "--color")
    assert code == 0 and "\033[" not in plain
    ladder = coloured.split("\n\n")[1]
    assert "\033[32mESTABLISHED\033[0m" in ladder and "\033[36mLISTEN\033[0m" in ladder
    assert re.sub(r"\033\[\d+m", "", coloured) == plain


@pytest.mark.parametrize("option", ["--pcap", "--mermaid", "--dot"])
def test_an_export_to_a_fifo_is_refused_before_the_run(tmp_path, capsys, option):
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    out = io.StringIO()
    assert main(["demo", "handshake", option, str(fifo)], out) == 1
    assert capsys.readouterr().err == (f"tcpsim: error: cannot write {option} {fifo}: it is a "
                                       "FIFO (named pipe), not a regular file\n")
    assert out.getvalue() == ""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_demo_says_what_j_and_k_are_in_the_naming_shown(lang):
    code, symbolic = run("demo", "handshake", "--lang", lang)
    assert code == 0 and "--naming" not in symbolic
    code, relative = run("demo", "handshake", "--naming", "relative", "--lang", lang)
    flat = relative.replace("\n", " ") if lang == "en" else relative.replace("\n", "")
    assert ("J (the client's ISN) is 0 and K (the server's ISN) is 0" if lang == "en" else
            "J（client 的 ISN）显示为 0，K（server 的 ISN）显示为 0") in flat
    code, absolute = run("demo", "handshake", "--naming", "absolute", "--lang", lang)
    isn = re.search(r"SYN seq=(\d+)", absolute).group(1)          # the client's, in the ladder
    flat = absolute.replace("\n", " ") if lang == "en" else absolute.replace("\n", "")
    assert (f"J (the client's ISN) is {isn}" if lang == "en" else f"J（client 的 ISN）显示为 {isn}") in flat


def test_no_command_is_bad_usage_with_the_help_on_stderr(capsys):
    out = io.StringIO()
    assert main([], out) == 2
    err = capsys.readouterr().err
    assert out.getvalue() == "" and err.startswith("usage: tcpsim") and "demo" in err
    assert err.endswith("tcpsim: error: give a COMMAND: demo, repl, run or diagram\n")
    done = subprocess.run([sys.executable, "-m", "tcpsim"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and done.stdout == "" and "give a COMMAND" in done.stderr


@pytest.mark.parametrize("target", ["/proc/tcpsim-test.pcap", "plain/a.pcap"])
def test_an_export_the_system_refuses_is_refused_before_the_demo(tmp_path, capsys, monkeypatch,
                                                                 target):
    # paths no one can write, root included: in /proc, and under a regular file
    monkeypatch.chdir(tmp_path)
    Path("plain").write_bytes(b"old")
    out = io.StringIO()
    assert main(["demo", "--pcap", target], out) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tcpsim: error: cannot write --pcap {target}: ") and err.count("\n") == 1
    assert out.getvalue() == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]
    assert Path("plain").read_bytes() == b"old"


def test_checking_an_export_leaves_no_file_and_changes_none(tmp_path, capsys):
    new, old = tmp_path / "new.mmd", tmp_path / "old.pcap"
    old.write_bytes(b"old")
    assert main(["demo", "--pcap", str(old), "--mermaid", str(new), "nosuch"], io.StringIO()) == 1
    assert "no scenario" in capsys.readouterr().err
    assert not new.exists() and old.read_bytes() == b"old"


@pytest.mark.parametrize("stop", ["quit", "EOF", "exit"])
def test_quit_in_a_script_ends_it_and_says_so(tmp_path, stop):
    script = tmp_path / "q.tcpsim"
    script.write_text(f"listen server 80\n{stop}\n# a comment\nbogus\nlisten server 81\n")
    code, text = run("run", str(script))
    assert code == 0 and "server/3 listening on port 80" in text and "port 81" not in text
    assert text.endswith(f"'{stop}' at line 2 ends the script: the 2 lines after it are not run\n")
    script.write_text(f"listen server 80\n{stop}\n\n")
    code, text = run("run", str(script))
    assert code == 0 and "ends the script" not in text
