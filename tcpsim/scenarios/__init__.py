"""The demo scenarios: short scripts in the REPL's own language, one file each.

Each ``NAME.tcpsim`` file opens with comment lines: ``# NAME: summary``, then
a paragraph of what to notice in English (``# en:``) and in Chinese
(``# zh:``).  ``tcpsim demo NAME`` runs the script, then prints the ladder and
the paragraph; a user can copy a file, change it and ``tcpsim run`` it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

from ..repl_parse import script_lines

DEFAULT = "lifecycle"
ORDER = ("lifecycle", "handshake", "close", "simultaneous-open", "simultaneous-close",
         "half-close", "refused", "reset", "lost-syn", "lost-synack", "lossy-transfer",
         "zero-window", "time-wait", "syn-flood-backlog", "blind-rst")


@dataclass(frozen=True)
class Scenario:
    """One demo: its name, one-line summary, script text and explanations by language."""

    name: str
    summary: str
    text: str
    explanation: dict[str, str] = field(default_factory=dict)

    @property
    def lines(self) -> list[str]:
        return script_lines(self.text)


def names() -> list[str]:
    """Every scenario's name, in teaching order."""
    return list(ORDER)


def load(name: str) -> Scenario:
    """The scenario called ``name`` (KeyError naming the choices if there is none)."""
    if name not in ORDER:
        raise KeyError(f"no scenario {name!r}; choose one of: {', '.join(ORDER)}")
    text = resources.files(__package__).joinpath(f"{name}.tcpsim").read_text(encoding="utf-8")
    return parse(name, text)


def parse(name: str, text: str) -> Scenario:
    """Read the header comments: ``# NAME: summary``, ``# en: ...``, ``# zh: ...``."""
    summary = ""
    paragraphs: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line[1:].strip()
        if not summary and body.startswith(name + ":"):
            summary = body[len(name) + 1:].strip()
            continue
        key, sep, rest = body.partition(":")
        if sep and key in ("en", "zh"):
            current = paragraphs.setdefault(key, [])
            body = rest.strip()
        if current is not None and body:
            current.append(body)
        elif not body:
            current = None
    joiner = {"en": " ", "zh": ""}
    return Scenario(name, summary, text,
                    {k: joiner[k].join(v) for k, v in paragraphs.items()})
