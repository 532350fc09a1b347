"""A clock the tests move by hand (``limits_cache.clock``), to the edges of windows and buckets."""

from __future__ import annotations


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
