"""JSON as RFC 8259 writes it, read from anything that arrives over the network.

One reader for the callbacks, the platform's answers and the simulator's
requests: UTF-8 only (``json.loads`` would also guess UTF-16/32), no
``NaN``/``Infinity``, numbers too large for a float kept as their text, and
every failure — nesting deep enough to exhaust the stack included — a
``ValueError``.
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
