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
from typing import Any


def loads(data: bytes | str) -> Any:
    """The document in ``data``; ``ValueError`` when it is not strict JSON."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


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
