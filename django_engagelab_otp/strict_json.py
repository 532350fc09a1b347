"""JSON as RFC 8259 writes it, read from anything that arrives over the network.

One reader for the callbacks, the platform's answers and the simulator's
requests: UTF-8 only (``json.loads`` would also guess UTF-16/32), no
``NaN``/``Infinity``, numbers too large for a float kept as their text, and
every failure — nesting deep enough to exhaust the stack included — a
``ValueError``. :func:`whole_number` reads the integers such documents send,
as numbers or as text.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: Deepest nesting read. The platform's documents are three levels deep; the limit is
#: checked before parsing because a parse that runs into Python's recursion limit can
#: leave the interpreter without stack for the garbage collector's finalizers.
MAX_DEPTH = 64

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def loads(data: bytes | str) -> Any:
    """The document in ``data``; ``ValueError`` when it is not strict JSON."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    _check_depth(text)
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _check_depth(text: str) -> None:
    # Brackets inside strings do not nest; an unbalanced text is left for json to refuse.
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            raise ValueError("JSON nested too deeply")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float | str:
    number = float(text)
    return number if math.isfinite(number) else text


#: Digits a whole number sent as text may have: more than any column holds, far fewer than
#: ``int()`` refuses (4,300) with an error of its own.
MAX_DIGITS = 20


def whole_number(value: Any) -> int | None:
    """``value`` as an ``int`` when it is one: a JSON integer, or ASCII digits as text (``"5011"``); else None.

    ``str.isdigit()`` is true for ``"²"`` and ``"①"``, which ``int()``
    refuses, and ``int()`` also reads ``"٣"``, ``"1_000"`` and ``"+5"``:
    digits from elsewhere are not numbers here. Booleans are not numbers either.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if 0 < len(text) <= MAX_DIGITS and text.isascii() and text.isdigit():
            return int(text)
    return None
