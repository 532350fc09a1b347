"""How a rate is judged, by the rate test and by bench_bulk.py alike."""

from __future__ import annotations


def busiest_second(moments: list[float]) -> int:
    """The most moments in any one-second window (sliding, not only those that start on a second)."""
    moments = sorted(moments)
    most, first = 0, 0
    for last, moment in enumerate(moments):
        while moment - moments[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most
