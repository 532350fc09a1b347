"""Shared by the proof suites (faults, bad input, concurrency, secrets): commands, messages, figures.

Each proof test records what it measured with :func:`figure`; ``bench/reliability.py``
collects those records from the test reports and prints the totals.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError

#: The key under which proof tests record their figures (``record_property``).
FIGURE = "proof"

#: What a clear message is at most: a sentence, not a dump of the input.
MAX_MESSAGE = 300


def figure(record_property: Callable[[str, Any], None], suite: str, **values: Any) -> None:
    """Record what one test measured, for ``bench/reliability.py``.

    Recorded before the test's assertions, so that a failing test still reports its numbers.
    """
    record_property(FIGURE, {"suite": suite, **values})


@dataclass
class CommandRun:
    """What a management command did: the error it ended with (if any) and its output."""

    error: CommandError | None
    out: str
    err: str

    @property
    def text(self) -> str:
        return "\n".join(part for part in (self.out, self.err, str(self.error or "")) if part)


def run_command(name: str, *args: str) -> CommandRun:
    """Run a command in-process as a terminal would (every argument parsed), keeping its output."""
    out, err = StringIO(), StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err)
    except CommandError as error:
        return CommandRun(error, out.getvalue(), err.getvalue())
    return CommandRun(None, out.getvalue(), err.getvalue())


def is_clear(message: Any, *, max_length: int | None = MAX_MESSAGE) -> bool:
    """One short printable line of text: no traceback, no raw control or invisible characters."""
    text = str(message)
    if not text.strip() or "\n" in text or "Traceback" in text:
        return False
    if max_length is not None and len(text) > max_length:
        return False
    return all(ch.isprintable() and unicodedata.category(ch) != "Cf" for ch in text)
