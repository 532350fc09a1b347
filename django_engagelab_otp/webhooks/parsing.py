"""Callback body → typed events.

The body is ``{"total": N, "rows": [...]}``. A body that is not JSON, not an
object or has no ``rows`` list is unusable (:class:`InvalidBody`, answered
400). Within a usable body each row stands alone (:func:`history.rows.parse_row`):
a row of an unknown kind or missing what its kind needs is skipped (and
counted by reason), the others are kept.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .. import strict_json
from ..history.events import CallbackEvent
from ..history.rows import RowError, parse_row

# Only a \u escape can put a NUL or a surrogate into a decoded JSON string.
_NEEDS_CLEANING = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


class InvalidBody(ValueError):
    """The body cannot be used at all."""


@dataclass
class Batch:
    events: list[CallbackEvent] = field(default_factory=list)
    #: How many rows were skipped, by reason.
    skipped: Counter[str] = field(default_factory=Counter)


def load(body: bytes) -> Any:
    """The body's JSON (:func:`strict_json.loads`); :class:`InvalidBody` when it is not JSON."""
    try:
        return strict_json.loads(body)
    except ValueError as error:
        raise InvalidBody("body is not JSON") from error


def is_probe(body: bytes) -> bool:
    """The platform's configuration check: an empty body or ``{}``."""
    stripped = body.strip()
    if not stripped:
        return True
    if len(stripped) > 32 or not stripped.startswith(b"{"):
        return False
    try:
        return load(stripped) == {}
    except InvalidBody:
        return False


def parse_body(body: bytes) -> Batch:
    """The events of a callback body; raises :class:`InvalidBody` when it is unusable."""
    document = load(body)
    if not isinstance(document, dict):
        raise InvalidBody("body is not a JSON object")
    rows = document.get("rows")
    if not isinstance(rows, list):
        raise InvalidBody('body has no "rows" list')
    clean = bool(_NEEDS_CLEANING.search(body))
    batch = Batch()
    for row in rows:
        try:
            batch.events.append(parse_row(row, clean=clean))
        except RowError as error:
            batch.skipped[str(error)] += 1
    return batch
