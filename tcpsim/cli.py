"""The ``tcpsim`` command: argparse over the REPL and the library (thin; no protocol logic).

    tcpsim demo [SCENARIO]      run a textbook scenario, print its ladder and what to notice
    tcpsim demo --list          the scenarios, one line each
    tcpsim repl                 the step-through REPL
    tcpsim run SCRIPT           a file of REPL commands, as a transcript; exit 1 on a failure
    tcpsim diagram --out DIR    the state graph and the textbook ladders

Errors are one line on stderr and a non-zero exit.  Only argparse is imported
up front, so ``tcpsim --help`` is quick; graphviz loads when a picture is drawn.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Sequence, TextIO

NAMINGS = ("symbolic", "relative", "absolute")


class CliError(Exception):
    """A one-line error for stderr."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line and writes help to the injected stream."""

    out: TextIO | None = None

    def error(self, message: str) -> None:    # type: ignore[override]
        raise CliError(f"{message} (see '{self.prog} --help')")

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            (self.out or sys.stdout).write(message)


# What the options of demo, repl and run are when not given.
DEFAULTS = {"seed": 0, "naming": "symbolic", "pcap": None, "mermaid": None, "dot": None,
            "color": None, "lang": "en"}


def _common() -> argparse.ArgumentParser:
    """The options of demo, repl and run (and of tcpsim itself, before the subcommand).
    None has a default here, so that main() can tell which were given."""
    p = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    p.add_argument("--seed", type=_seed, metavar="N", help="the network's seed (default 0)")
    p.add_argument("--naming", choices=NAMINGS, help="sequence numbers: J+1, 1 or raw")
    p.add_argument("--pcap", metavar="FILE", help="also write the run as a pcap capture")
    p.add_argument("--mermaid", metavar="FILE", help="also write the ladder as Mermaid")
    p.add_argument("--dot", metavar="FILE", help="also write the ladder as Graphviz DOT")
    colour = p.add_mutually_exclusive_group()
    colour.add_argument("--color", dest="color", action="store_true",
                        help="colour the state names in the ladder, the REPL's lines and "
                             "tables, and the --transcript (default: on a terminal, unless "
                             "NO_COLOR is set)")
    colour.add_argument("--no-color", dest="color", action="store_false", help="no colour")
    p.add_argument("--lang", choices=("en", "zh"), help="language of explanations")
    return p


class _NotHere(argparse.Action):
    """An option of demo/repl/run given to a subcommand it does not apply to."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        parser.error(_not_here(option_string, parser.prog.split()[-1]))


def _not_here(option: str, command: str) -> str:
    return (f"{option} does not apply to '{command}', which always writes the same diagrams "
            "(it takes --out DIR only)")


def _refused() -> argparse.ArgumentParser:
    """The options of demo/repl/run, hidden and refused with a clear message (for diagram)."""
    p = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    for option in ("--seed", "--naming", "--pcap", "--mermaid", "--dot", "--lang"):
        p.add_argument(option, action=_NotHere, help=argparse.SUPPRESS)
    for option in ("--color", "--no-color"):
        p.add_argument(option, action=_NotHere, nargs=0, help=argparse.SUPPRESS)
    return p


def _seed(text: str) -> int:
    """--seed N: the REPL's 'seed' rule (a whole number from 0 to 2**64-1)."""
    from .repl_parse import UsageError, parse_seed

    try:
        return parse_seed(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser(out: TextIO | None = None) -> argparse.ArgumentParser:
    _Parser.out = out
    parser = _Parser(prog="tcpsim", parents=[_common()],
                     description="A deterministic TCP simulator: see TCP, step through it, test "
                                 "with it.  The options below apply to demo, repl and run, "
                                 "given before or after the COMMAND; diagram takes --out only.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    demo = sub.add_parser("demo", parents=[_common()], help="run a textbook scenario and show it",
                          description="Run a scenario (default: lifecycle); print its ladder "
                                      "and what to notice.")
    demo.add_argument("scenario", nargs="?", help="which scenario (default: lifecycle)")
    demo.add_argument("--list", action="store_true", help="list the scenarios")
    demo.add_argument("--transcript", action="store_true",
                      help="also print the script's transcript")
    demo.set_defaults(func=cmd_demo)
    repl = sub.add_parser("repl", parents=[_common()], help="the step-through REPL")
    repl.set_defaults(func=cmd_repl)
    run = sub.add_parser("run", parents=[_common()], help="run a script of REPL commands",
                         description="Run a file of REPL commands, printing the transcript; "
                                     "exit 1 at the first failing command or expect line.  "
                                     "A 'quit' line ends the script there (the transcript "
                                     "says so).")
    run.add_argument("script", help="the script file ('-' for standard input)")
    run.set_defaults(func=cmd_run)
    diagram = sub.add_parser("diagram", parents=[_refused()],
                             help="write the state graph and textbook ladders",
                             description="Write diagrams/: the state graph and the textbook "
                                         "ladders, from fixed runs (no other options apply).")
    diagram.add_argument("--out", required=True, metavar="DIR", help="the directory to write")
    diagram.set_defaults(func=cmd_diagram)
    return parser


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, refuse the options given before a subcommand they do not apply to, and fill
    in the defaults of those not given."""
    args = parser.parse_args(argv)
    if getattr(args, "command", None) == "diagram":
        given = [name for name in DEFAULTS if name in vars(args)]
        if given:
            option = f"--{given[0]}"
            if given[0] == "color":
                option = "--color" if args.color else "--no-color"
            parser.error(_not_here(option, "diagram"))
    if getattr(args, "command", None) == "demo" and args.list and args.scenario is not None:
        parser.error(f"demo --list takes no SCENARIO, not {args.scenario!r}")
    for name, value in DEFAULTS.items():
        if name not in vars(args):
            setattr(args, name, value)
    return args


def use_colour(choice: bool | None, stream: TextIO) -> bool:
    """--color/--no-color win; otherwise colour only on a terminal and without NO_COLOR."""
    if choice is not None:
        return choice
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _repl(args: argparse.Namespace, out: TextIO, stdin: TextIO | None = None) -> Any:
    from .repl import Repl

    return Repl(seed=args.seed, naming=args.naming, lang=args.lang,
                color=use_colour(args.color, out), stdin=stdin, stdout=out)


def _check_exports(args: argparse.Namespace) -> None:
    """Refuse an export file that cannot be written before the run, not after it."""
    from .repl_parse import not_a_file

    for option in ("pcap", "mermaid", "dot"):
        path = getattr(args, option, None)
        if not path:
            continue
        folder = os.path.dirname(path) or "."
        why = not_a_file(path)
        if why is not None:
            raise CliError(f"cannot write --{option} {path}: {why}")
        if not os.path.isdir(folder):
            raise CliError(f"cannot write --{option} {path}: there is no directory {folder}")
        _try_open(option, path)


def _try_open(option: str, path: str) -> None:
    """Open ``path`` to write as the export will, without changing it: an existing file
    for appending nothing, a new one created and removed again (no file is left)."""
    new = not os.path.exists(path)
    try:
        with open(path, "xb" if new else "ab"):
            pass
        if new:
            os.remove(path)
    except OSError as exc:
        raise CliError(f"cannot write --{option} {path}: {exc.strerror or exc}") from None


def _exports(args: argparse.Namespace, net: Any, out: TextIO) -> None:
    """--pcap, --mermaid and --dot, for the run that just ended."""
    try:
        if args.pcap:
            from .export.pcap import write_pcap

            n = write_pcap(net.trace, args.pcap)
            from .trace import plural

            out.write(f"wrote {plural(n, 'packet')} to {args.pcap}\n")
        for fmt in ("mermaid", "dot"):
            path = getattr(args, fmt)
            if path:
                from .export.ladder import ladder_diagram

                with open(path, "w", encoding="utf-8") as f:
                    f.write(ladder_diagram(net.trace, format=fmt, naming=args.naming))
                out.write(f"wrote {path}\n")
    except OSError as exc:
        raise CliError(f"cannot write {exc.filename}: {exc.strerror}") from None


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from . import scenarios

    if args.list:
        width = max(len(n) for n in scenarios.names())
        for name in scenarios.names():
            out.write(f"{name:<{width}}  {scenarios.load(name).summary}\n")
        return 0
    try:
        scenario = scenarios.load(args.scenario or scenarios.DEFAULT)
    except KeyError as exc:
        raise CliError(exc.args[0]) from None
    import io

    transcript = out if args.transcript else io.StringIO()
    repl = _repl(args, transcript)
    try:
        failure = repl.run_lines(scenario.lines)
        if failure is not None:
            raise CliError(f"scenario {scenario.name}, line {failure[0]}: {failure[1]}")
        out.write(f"{scenario.name}: {scenario.summary}\n\n")
        from .repl_view import paint_states, painter, wrap

        ladder = repl.net.trace.ladder(args.naming).rstrip("\n")
        out.write(paint_states(ladder, painter(use_colour(args.color, out))) + "\n\n")

        text = scenario.explanation.get(args.lang) or scenario.explanation["en"]
        note = _isn_note(repl.naming, args.naming, args.lang, text)
        out.write(wrap(text + (" " if args.lang != "zh" else "") + note if note else text,
                       args.lang) + "\n")
        _exports(args, repl.net, out)
    finally:
        repl.close()
    return 0


def _isn_note(naming: Any, mode: str, lang: str, text: str) -> str:
    """The explanations name ISNs as textbooks do (J, K+1); with --naming relative or
    absolute the ladder shows numbers instead: say which number each letter is."""
    if mode == "symbolic":
        return ""
    import re

    sides = {side.letter: side for conv in naming.conversations().all
             for side in conv.sides.values() if side.isn is not None}
    named = [letter for letter in dict.fromkeys(re.findall(
        r"(?<![A-Za-z0-9])([A-Z]\d*)(?:[+-]\d+)?(?![A-Za-z0-9])", text)) if letter in sides]
    if not named:
        return ""
    shown = {letter: sides[letter].relative(sides[letter].isn) if mode == "relative"
             else str(sides[letter].isn) for letter in named}
    if lang == "zh":
        return (f"（梯形图用 --naming {mode}：" + "，".join(
            f"{letter}（{sides[letter].host} 的 ISN）显示为 {shown[letter]}" for letter in named)
            + f"；{named[0]}+1 即 {named[0]} 加一，依此类推。）")
    items = [f"{letter} (the {sides[letter].host}'s ISN) is {shown[letter]}" for letter in named]
    listed = ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else items[0]
    return (f"(With --naming {mode} the ladder shows numbers: {listed} there; "
            f"{named[0]}+1 is one more, and so on.)")


def cmd_repl(args: argparse.Namespace, out: TextIO) -> int:
    repl = _repl(args, out)
    try:
        repl.cmdloop()
    except KeyboardInterrupt:
        out.write("\n")
    finally:
        repl.close()
    _exports(args, repl.net, out)
    return 0


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    try:
        if args.script == "-":
            stdin = getattr(sys.stdin, "buffer", None)    # bytes: not the locale's decoding
            text = stdin.read().decode("utf-8") if stdin is not None else sys.stdin.read()
            text.encode("utf-8")                          # no lone surrogates either
        else:
            with open(args.script, encoding="utf-8") as f:
                text = f.read()
    except OSError as exc:
        raise CliError(f"cannot read {args.script}: {exc.strerror}") from None
    except UnicodeError:
        name = "standard input" if args.script == "-" else args.script
        raise CliError(f"{name} is not a UTF-8 text file") from None
    text = text.removeprefix("\ufeff")           # a byte-order mark some editors write
    from .repl_parse import script_lines

    repl = _repl(args, out)
    try:
        failure = repl.run_lines(script_lines(text))
        if failure is not None:
            raise CliError(f"{args.script}:{failure[0]}: {failure[1]}")
        _exports(args, repl.net, out)
    finally:
        repl.close()
    return 0


def cmd_diagram(args: argparse.Namespace, out: TextIO) -> int:
    from .export.diagrams import write_diagrams

    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise CliError(f"--out {args.out} is a file; give a directory to write into")
    try:
        paths = write_diagrams(args.out, err=sys.stderr)
    except OSError as exc:
        raise CliError(f"cannot write to {args.out}: {exc.strerror or exc}") from None
    for path in paths:
        out.write(f"wrote {path}\n")
    return 0


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """The ``tcpsim`` command; returns the exit status (0 fine, 1 failed, 2 bad usage)."""
    out = out or sys.stdout
    parser = build_parser(out)
    try:
        args = parse(parser, argv)
    except CliError as exc:
        sys.stderr.write(f"tcpsim: error: {exc}\n")
        return 2
    except SystemExit as exc:     # --help
        return int(exc.code or 0)
    if not getattr(args, "func", None):     # no COMMAND: bad usage, as argparse has it
        sys.stderr.write(parser.format_help())
        sys.stderr.write("tcpsim: error: give a COMMAND: demo, repl, run or diagram\n")
        return 2
    try:
        _check_exports(args)
        return args.func(args, out)
    except CliError as exc:
        sys.stderr.write(f"tcpsim: error: {exc}\n")
        return 1
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        return 130
