"""Lines into units of work: each a checked send with its idempotency key, or a line refused.

An OTP or an own code is one request per line, keyed by its line number.
Custom messages that share their template and parameters go together, up
to the platform's 100 recipients, in one request to ``/v1/custom-messages``
(its ``to`` takes a list): lines are grouped within fixed blocks of 100, so
that the same file always forms the same groups, keyed by their block and
a digest of what they share, and a rerun finds them again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import Any

from .. import limits, services
from ..exceptions import InvalidInputError
from ..models import MessageLog
from ..validation import MAX_RECIPIENTS
from .source import Line

#: Lines per block within which custom messages are grouped (the platform's most recipients per message).
BLOCK = MAX_RECIPIENTS


@dataclass
class Unit:
    """One request to make: its lines, its checked send, and what the run learns of it."""

    key: str
    lines: list[Line]
    send: services.Send
    #: The history row (once written).
    log: MessageLog | None = None
    claim: limits.SendClaim = field(default_factory=lambda: limits.NO_CLAIM)


@dataclass(frozen=True)
class Refused:
    """A line refused before any request (no history row)."""

    line: Line
    error: InvalidInputError


@dataclass(frozen=True)
class Defaults:
    """What lines take when their own columns say nothing."""

    kind: str
    template_id: str | None = None
    language: str | None = None
    params: dict[str, str] = field(default_factory=dict)


def plan(lines: Iterable[Line], defaults: Defaults) -> Iterator[Unit | Refused]:
    if defaults.kind != MessageLog.Kind.CUSTOM:
        for line in lines:
            checked = _check(line, defaults)
            yield checked if isinstance(checked, Refused) else Unit(str(line.number), [line], checked)
        return
    for block, members in groupby(lines, key=lambda line: (line.number - 1) // BLOCK):
        yield from _grouped(block, list(members), defaults)


def _check(line: Line, defaults: Defaults) -> services.Send | Refused:
    try:
        return services.prepare(
            defaults.kind,
            line.to,
            line.template_id or defaults.template_id,
            language=line.language or defaults.language,
            params={**defaults.params, **line.params},
            code=line.code,
        )
    except InvalidInputError as error:
        return Refused(line, error)


def _grouped(block: int, lines: list[Line], defaults: Defaults) -> Iterator[Unit | Refused]:
    groups: dict[str, tuple[services.Send, list[Line], dict[str, None]]] = {}
    for line in lines:
        checked = _check(line, defaults)
        if isinstance(checked, Refused):
            yield checked
            continue
        shared = _digest(checked.template_id, checked.params)
        send, members, recipients = groups.setdefault(shared, (checked, [], {}))
        members.append(line)
        recipients.setdefault(str(checked.to))  # in order, without repeats
    for shared, (send, members, recipients) in groups.items():
        to: Any = list(recipients) if len(recipients) > 1 else next(iter(recipients))
        yield Unit(f"g{block}-{shared}", members, replace(send, to=to))


def _digest(template_id: str, params: dict[str, str]) -> str:
    shared = json.dumps([template_id, sorted(params.items())], ensure_ascii=False)
    return hashlib.sha256(shared.encode()).hexdigest()[:16]
