"""Reading the REPL's arguments: numbers, host names, socket references, data.

Every parser here either returns a value or raises ``UsageError`` whose text
is one line saying what was wrong and what would be right, so that a bad line
never costs the session anything.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import stat
import unicodedata

MAX_DATA = 1_000_000          # octets one `send` may queue (keeps a typo from eating memory)
DEFAULT_RECV = 4096           # what `recv HOST` asks for when no size is given
MAX_TIME = 1e9                # virtual seconds; beyond this `run until` is surely a typo
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,31}\Z")


class UsageError(Exception):
    """A line the REPL could not carry out; ``str()`` is the one line to print."""


def words(arg: str) -> list[str]:
    """Split an argument string like a shell would (quotes group words).

    Unlike a shell, a backslash stays as typed, so ``data=a\\r\\n`` reaches
    ``parse_data`` with its escapes intact.
    """
    lexer = shlex.shlex(arg, posix=True)
    lexer.whitespace_split = True
    lexer.escape = ""
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError as exc:
        raise UsageError(f"cannot split the line into words ({exc}); close the quote") from None


def check_plain(line: str) -> None:
    """Refuse control characters (other than tab), the line and paragraph separators
    U+2028 and U+2029 (a saved script would break its line there) and lone surrogates
    (bytes that were not UTF-8, which no file could save): never part of a command."""
    for ch in line:
        if ch != "\t" and (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0):
            raise UsageError(f"the line holds a control character {ch!r}; "
                             "type the command as plain text (see 'help')")
        if 0xD800 <= ord(ch) <= 0xDFFF:      # what bytes that are not UTF-8 decode to
            raise UsageError(f"the line is not UTF-8 text (it holds {ch!r}, from the byte "
                             f"{ord(ch) - 0xDC00:#04x})" if 0xDC80 <= ord(ch) <= 0xDCFF else
                             f"the line holds a lone surrogate {ch!r}, which is not text")
        if unicodedata.category(ch) in ("Zl", "Zp"):
            raise UsageError(f"the line holds a {unicodedata.name(ch).lower()} {ch!r}; "
                             "type the command as plain text on one line (see 'help')")


def script_lines(text: str) -> list[str]:
    """A script's lines, as the REPL reads them: split at "\\n" only, one "\\r" before it
    dropped.  (str.splitlines would split at \\f, \\v, \\x85, U+2028 ... too: a line
    would run otherwise than typed, and every later line number would be off.)"""
    return [line.removesuffix("\r") for line in text.split("\n")]


def printable(line: str) -> str:
    """The line with control characters (other than tab) written as escapes, safe to echo."""
    return "".join(ch if ch.isprintable() or ch == "\t" else ascii(ch)[1:-1] for ch in line)


def parse_int(text: str, what: str, lo: int = 0, hi: int | None = None) -> int:
    """An integer in [lo, hi]; the message names ``what`` and the range."""
    rng = f"from {lo}" + (f" to {hi}" if hi is not None else " up")
    text = text.strip()
    if not re.fullmatch(r"[+-]?\d+", text):
        raise UsageError(f"{what} must be a whole number {rng}, not {text!r}")
    if len(text) > 30:
        raise UsageError(f"{what} must be {rng}, not a {len(text)}-digit number")
    value = int(text)
    if value < lo or (hi is not None and value > hi):
        raise UsageError(f"{what} must be {rng}, not {value}")
    return value


def parse_seed(text: str) -> int:
    """A network seed, for the REPL's 'seed' and the command line's --seed."""
    return parse_int(text, "the seed", 0, 2**64 - 1)


def parse_float(text: str, what: str, lo: float = 0.0, hi: float = MAX_TIME) -> float:
    """A finite number in [lo, hi]."""
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what} must be a number like 0.5, not {text!r}") from None
    if not math.isfinite(value) or value < lo or value > hi:
        raise UsageError(f"{what} must be a number from {lo:g} to {hi:g}, not {text}")
    return value


def parse_packet_id(text: str) -> int:
    """``7`` or ``#7``."""
    return parse_int(text.lstrip("#"), "a packet id (see 'flight')", 1)


def parse_port(text: str) -> int:
    return parse_int(text, "a port", 0, 65535)


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise UsageError(f"a host name is a short word of letters, digits, '_' or '-' "
                         f"starting with a letter, not {name!r}")
    return name


def split_sockref(text: str) -> tuple[str, int | None]:
    """``server`` -> ("server", None); ``server/4`` -> ("server", 4)."""
    name, sep, fd = text.partition("/")
    if not name:
        raise UsageError(f"a socket is HOST or HOST/FD, like server or server/4, not {text!r}")
    if not sep:
        return name, None
    return name, parse_int(fd, "the descriptor after '/' (as in server/4)", 0, 2**31)


def split_address(text: str) -> tuple[str, int]:
    """``server:80`` -> ("server", 80)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise UsageError(f"an address is HOST:PORT, like server:80, not {text!r}")
    return host, parse_port(port)


def parse_data(text: str) -> bytes:
    """Data to send: the rest of the line, with \\n, \\r, \\t, \\\\ and \\xNN escapes.

    Surrounding double quotes are removed, so ``"  padded  "`` keeps its spaces; an
    opening quote that is never closed is refused, not sent.
    """
    if text[:1] == '"':
        closing = len(text) >= 2 and text[-1] == '"' and \
            (len(text[1:-1]) - len(text[1:-1].rstrip("\\"))) % 2 == 0     # not \" escaped
        if not closing:
            raise UsageError(f"the data's opening quote is never closed ({text}); end the "
                             'data with a quote too: "like this"')
        text = text[1:-1]
    out = bytearray()
    i = 0
    simple = {"n": b"\n", "r": b"\r", "t": b"\t", "0": b"\0", "\\": b"\\", '"': b'"'}
    while i < len(text):
        ch = text[i]
        if ch != "\\":
            out += ch.encode()
            i += 1
            continue
        nxt = text[i + 1:i + 2]
        if nxt in simple:
            out += simple[nxt]
            i += 2
        elif nxt == "x" and re.fullmatch(r"[0-9A-Fa-f]{2}", text[i + 2:i + 4]):
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        else:
            raise UsageError(f"unknown escape '\\{nxt}' in the data; use \\n, \\r, \\t, \\\\ or \\xNN")
    if len(out) > MAX_DATA:
        raise UsageError(f"at most {MAX_DATA} octets per send, not {len(out)}")
    return bytes(out)


def parse_keywords(items: list[str], allowed: dict[str, str]) -> dict[str, str]:
    """``["loss=0.1", "delay=0.05"]`` -> {"loss": "0.1", "delay": "0.05"}; names checked."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise UsageError(f"expected NAME=VALUE (one of {', '.join(allowed)}), not {item!r}")
        key = key.lower()
        if key not in allowed:
            raise UsageError(f"unknown setting {key!r}; one of {', '.join(allowed)}")
        out[key] = value
    return out


def strip_comment(line: str) -> str:
    """Drop a ``#`` comment: at the start of the line, or after a space outside quotes.

    After a space, ``#`` and a digit is a packet id as 'flight' shows it (``drop #3``).
    """
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"' and (i == 0 or line[i - 1] != "\\"):
            quoted = not quoted
        elif ch == "#" and not quoted and (i == 0 or line[i - 1] in " \t"
                                          and not line[i + 1:i + 2].isdigit()):
            return line[:i].rstrip()
    return line.strip()


def not_a_file(path: str) -> str | None:
    """Why ``path`` must not be written, as ``it is a FIFO (named pipe), not a regular
    file``: it exists and is not a regular file (writing to a FIFO blocks until someone
    reads it; a device or directory is no place for a save).  None when it is a regular
    file or does not exist yet."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None                    # missing (or unreadable): opening it says why
    if stat.S_ISREG(mode):
        return None
    kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket"
            if stat.S_ISSOCK(mode) else "not a file")
    return f"it is {kind}, not a regular file"
