"""The lines of a bulk file: a CSV read as it streams, one line at a time.

The header names the columns. ``to`` is required; ``template`` (or
``template_id``) and ``language`` are optional, per line; ``code`` is the
code of ``--kind code`` (for other kinds, a parameter like any other). Every
other column is a template parameter; empty cells are left out.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TextIO

from ..exceptions import InvalidInputError
from ..models import MessageLog

_TEMPLATE = ("template", "template_id")


@dataclass(frozen=True)
class Line:
    """One line of the file, as given (checked later)."""

    #: 1 for the first line after the header.
    number: int
    to: str
    template_id: str | None = None
    language: str | None = None
    code: str | None = field(default=None, repr=False)
    params: dict[str, str] = field(default_factory=dict, repr=False)


def read(file: TextIO, kind: str) -> Iterator[Line]:
    """The file's lines; ``InvalidInputError`` at once when the header has no ``to`` column."""
    reader = csv.reader(file)
    header = [name.strip() for name in next(reader, [])]
    names = [name.lower() for name in header]
    if "to" not in names:
        raise InvalidInputError("The CSV file needs a header line with a 'to' column.", field="csv")
    own = {"to", "language", *_TEMPLATE} | ({"code"} if kind == MessageLog.Kind.CODE else set())
    for number, cells in enumerate(reader, start=1):
        values = dict(zip(names, cells, strict=False))
        params = {
            name: cell
            for name, lower, cell in zip(header, names, cells, strict=False)
            if lower not in own and name and cell != ""
        }
        yield Line(
            number=number,
            to=values.get("to", ""),
            template_id=next((values[name] for name in _TEMPLATE if values.get(name)), None),
            language=values.get("language") or None,
            code=values.get("code") if kind == MessageLog.Kind.CODE else None,
            params=params,
        )


def count(file: TextIO) -> int:
    """How many lines follow the header (read through once, in constant memory; the file is rewound)."""
    start = file.tell()
    lines = sum(1 for _ in csv.reader(file)) - 1
    file.seek(start)
    return max(0, lines)
