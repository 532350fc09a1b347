"""Where the abuse limits and the attempt counter keep their state (``LIMITS_CACHE``), and how they count there.

Every limit is counted with ``cache.add`` alone, the one write that is atomic
on every cache backend Django ships that can hold a limit:

* the local-memory cache adds under a lock (atomic within its process, which
  is all it serves), Redis with ``SET NX``, memcached with ``add``, and the
  database cache with an ``INSERT`` that a second, simultaneous one cannot
  repeat (the key is the table's primary key);
* ``incr`` is not: on the database and file caches it reads the count and
  writes it back (two simultaneous sends both read 9 and write 10), with the
  cache's default timeout (a daily count forgotten after five quiet minutes);
* the database cache's ``add`` over a row that has *expired* is a plain
  ``UPDATE``, which two requests both win. So no key here is ever added again
  once it may have expired: each key carries the number of its window or
  bucket of time, which the clock leaves behind for good;
* the file cache's ``add`` looks for the file, then writes it: it cannot hold
  a limit. It is refused (``ConfigurationError``; ``manage.py check`` E017).

Keys hold keyed hashes, never a recipient; a cache that fails refuses the
send as an operator's problem (``ConfigurationError``), since nothing would
guard it.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.cache import BaseCache, caches
from django.core.cache.backends.filebased import FileBasedCache

from .conf import otp_settings
from .errors import failure
from .exceptions import EngageLabError
from .privacy import keyed_hash, keyed_hashes

PREFIX = "engagelab_otp:"

#: Cache backends whose ``add`` is not atomic: a limit kept there does not hold.
NOT_ATOMIC: tuple[type[BaseCache], ...] = (FileBasedCache,)
#: Cache backends (and their subclasses) whose ``add`` is atomic; of any other this app cannot tell.
ATOMIC = frozenset(
    {
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.redis.RedisCache",
        "django.core.cache.backends.db.DatabaseCache",
        "django.core.cache.backends.memcached.PyMemcacheCache",
        "django.core.cache.backends.memcached.PyLibMCCache",
        "django.core.cache.backends.dummy.DummyCache",  # keeps nothing: a check of its own says so
        "django_redis.cache.RedisCache",
    }
)

#: Units looked at in one round trip (one ``get_many``) when looking for a free one.
_CHUNK = 100
#: Seconds a key outlives the last moment it is read: the clocks of several machines differ a little.
_MARGIN = 60
#: Claims made again when a key seen taken is gone a moment later (given back meanwhile).
_TRIES = 3
#: Seconds since the epoch; the tests move it to a window's edge.
clock = time.time


def limits_cache() -> BaseCache:
    """The cache of ``LIMITS_CACHE``; ``ConfigurationError`` when it cannot hold a limit."""
    cache = caches[otp_settings.LIMITS_CACHE]
    if isinstance(cache, NOT_ATOMIC):
        raise failure(
            "limits_cache",
            f"the cache {otp_settings.LIMITS_CACHE!r} cannot hold the limits: "
            f"{type(cache).__name__}.add() is not atomic",
        )
    return cache


def adds_atomically(backend: type[BaseCache]) -> bool | None:
    """Whether a cache backend's ``add`` is atomic: ``None`` when this app does not know the backend."""
    if issubclass(backend, NOT_ATOMIC):
        return False
    return any(f"{cls.__module__}.{cls.__qualname__}" in ATOMIC for cls in backend.__mro__) or None


def cache_key(kind: str, value: str) -> str:
    """The cache key of ``kind`` for ``value`` (hashed: a cache dump must not list phone numbers)."""
    return _key(kind, keyed_hash(value, "limits"))


def cache_keys(kind: str, value: str) -> list[str]:
    """:func:`cache_key`, then the keys ``value`` had under ``SECRET_KEY_FALLBACKS``.

    A cooldown or a count started before ``SECRET_KEY`` was rotated is kept
    under an old key until it expires; it must still hold.
    """
    return [_key(kind, digest) for digest in keyed_hashes(value, "limits")]


def _key(kind: str, digest: str) -> str:
    return f"{PREFIX}{kind}:{digest[:40]}"


@contextmanager
def cache_errors() -> Iterator[None]:
    """Any failure of the cache, as the ``limits_cache`` row of the error table."""
    try:
        yield
    except EngageLabError:
        raise
    except Exception as error:
        raise failure(
            "limits_cache",
            f"the cache {otp_settings.LIMITS_CACHE!r} holding the limits failed: {type(error).__name__}",
        ) from error


class Full(Exception):
    """Every unit of a limit is taken; ``wait`` is how many seconds until one may be free."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"taken for {wait:.0f} s")
        self.wait = wait


@dataclass(frozen=True)
class Claim:
    """The cache keys one claim holds; deleting them gives the claim back.

    They are this claim's alone: a key is added once, and never again after it expires.
    """

    keys: tuple[str, ...] = ()

    def give_back(self) -> None:
        if self.keys:
            limits_cache().delete_many(list(self.keys))


@dataclass(frozen=True)
class Window:
    """Fixed windows of ``seconds``, the first starting ``offset`` seconds after the epoch (UTC days: ``DAY``)."""

    seconds: float
    offset: float = 0

    def number(self, now: float) -> int:
        return math.floor((now - self.offset) / self.seconds)

    def end(self, number: int) -> float:
        return (number + 1) * self.seconds + self.offset


DAY = Window(86400)


def take_unit(key: str, limit: int, window: Window, *, carry_over: bool = False, former: Sequence[str] = ()) -> Claim:
    """One of the ``limit`` units of ``key`` in the current window, or ``Full``.

    Unit ``i`` of window ``w`` is the key ``<key>:<w>:<i>``, taken with
    ``cache.add``: each unit goes to one taker, so of any number of
    simultaneous takers exactly ``limit`` get one. A look at which units are
    taken (``get_many``) spares the adds that would fail. With ``carry_over``
    the units still taken in the window before count too, so that a count
    does not start afresh at a window's edge. Units taken under the ``former``
    keys (before a ``SECRET_KEY`` rotation) count too.
    """
    cache = limits_cache()
    now = clock()
    number = window.number(now)
    # Read until the window ends, or the next one when it carries over.
    timeout = math.ceil(window.end(number + carry_over) - now) + _MARGIN
    room = limit - (_taken(cache, key, number - 1, limit) if carry_over else 0)
    room -= sum(_taken(cache, name, number, limit) for name in former)
    for units in _units(key, number, room):
        taken = cache.get_many(units)
        free = [unit for unit in units if unit not in taken]
        # In a burst every taker sees the same free units: tried in an order of its own,
        # most first adds succeed, rather than all takers queueing for the lowest unit.
        random.shuffle(free)
        for unit in free:
            if cache.add(unit, now, timeout=timeout):
                return Claim((unit,))
    raise Full(window.end(number) - now)


def units_taken(key: str, limit: int, window: Window, *, carry_over: bool = False) -> int:
    """How many units of ``key`` are taken now (with the window before, with ``carry_over``)."""
    cache = limits_cache()
    number = window.number(clock())
    return _taken(cache, key, number, limit) + (_taken(cache, key, number - 1, limit) if carry_over else 0)


def _taken(cache: BaseCache, key: str, number: int, limit: int) -> int:
    return sum(len(cache.get_many(units)) for units in _units(key, number, limit))


def _units(key: str, number: int, count: int) -> Iterator[list[str]]:
    """The keys of units 1 to ``count`` of window ``number``, a round trip's worth at a time."""
    for first in range(1, count + 1, _CHUNK):
        yield [f"{key}:{number}:{i}" for i in range(first, min(first + _CHUNK, count + 1))]


def take_alone(key: str, seconds: float, *, former: Sequence[str] = ()) -> Claim:
    """The one claim of ``key`` in any ``seconds``, or ``Full``.

    Time is cut into buckets of ``seconds``. A claim at ``t``, in bucket
    ``b``, adds the key of ``b`` and, before it, the key of ``b - 1`` (unless a
    claim at least ``seconds`` older holds that one). Two claims less than
    ``seconds`` apart fall in one bucket or in two neighbouring ones, so both
    need one key, which only one of them can add. Keys are added in order, as
    locks are taken, so that of two racing claims one wins rather than both
    losing. Each key holds the time of its claim: what a refused one waits for.
    A claim held under one of the ``former`` keys (before a ``SECRET_KEY``
    rotation) refuses too.
    """
    cache = limits_cache()
    for _try in range(_TRIES):
        now = clock()
        bucket = math.floor(now / seconds)
        earlier = [
            time for time in cache.get_many([f"{name}:{n}" for name in former for n in (bucket - 1, bucket)]).values()
        ]
        recent = [at for at in earlier if now - at < seconds]
        if recent:
            raise Full(max(recent) + seconds - now)
        timeout = math.ceil((bucket + 2) * seconds - now) + _MARGIN  # read by claims until bucket b + 1 ends
        held: list[str] = []
        for number in (bucket - 1, bucket):
            name = f"{key}:{number}"
            if cache.add(name, now, timeout=timeout):
                held.append(name)
                continue
            other = cache.get(name)
            if other is not None and number < bucket and now - other >= seconds:
                continue  # a claim long enough ago: its bucket stands in no one's way
            if held:
                cache.delete_many(held)
            if other is not None:
                raise Full(other + seconds - now)
            break  # given back since the add failed: claim again
        else:
            return Claim(tuple(held))
    raise Full(seconds)
