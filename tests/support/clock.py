"""A clock the tests move by hand (``limits_cache.clock``), to the edges of windows and buckets."""

from __future__ import annotations

#: Midnight UTC, 1 June 2025: where the moved clock starts.
T0 = 1_748_736_000.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
