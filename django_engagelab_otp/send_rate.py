"""The platform's rate (``SEND_RATE``), shared by every process that sends through ``LIMITS_CACHE``.

A rate of N requests per period is cut into slots of ``period / (0.97 N)``
seconds, numbered from the epoch. A sender claims the next free slot with one atomic
``cache.add`` of that slot's key, then waits for the slot's time to come:
each slot is held by one sender in the whole cluster, so the requests start
a slot apart. The 3 % spared is what keeps every period (any period, not
only those that start on a slot) within N requests although a sender wakes
a little after its slot's time: up to 1 % of the period (later, it takes
another slot), the other two thirds of the margin being for the request's
way to the platform, which a busy sender can slow by as much again. With
enough senders waiting, nearly every slot is used: about 97 % of the rate
is reached.

Threads of one process remember the last slot they claimed, so that they do
not compete for the same keys; processes and machines meet in the cache and
step past each other's slots. A slot's key expires soon after its time, and
only slots not yet begun are ever claimed. The cache is the one the abuse
limits use: with a per-process cache (``LocMemCache``) the rate holds only
within each process.

A slot is kept by the moment the request leaves, not the moment its wait
ends: between the two a thread may be held up (other threads' turns on the
interpreter lock, a busy machine) and its request would leave late, close
to the next slot's. So a sender paces its sends with :func:`paced`: the slot
is taken on entry (whatever the backend), and the HTTP backend checks it
again as the last step before the bytes leave (:mod:`.backends.pacing`):
late by then, the request waits for another slot. Each further request
inside (a retry of the backend's) takes a slot of its own.

A thread whose slot has come must get the interpreter lock at once to be on
time. Two things keep it waiting past the 1 % a sender may be late, and the
slot is then lost. Python hands the lock over only every 5 ms, which other
threads' work stretches. And a full pass of the garbage collector holds it
throughout: 80 to 140 ms in a bulk run, every waiting thread's slot lost at
once. So a bulk run that paces many threads asks, for its duration, for a
1 ms hand-over, and for the objects that exist when it starts (Django's own,
by far the most) to be left out of the collector's passes (``gc.freeze``):
see :func:`punctual`.
"""

from __future__ import annotations

import gc
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .backends import pacing
from .conf import otp_settings
from .limits_cache import PREFIX, cache_errors, limits_cache

#: Seconds a slot's key outlives the slot's time.
_MARGIN = 2
#: The share of ``SEND_RATE`` the slots allow (see above).
USED = 0.97
#: The share of the spared 3 % a sender may wake late; the rest is for the request's way.
LATE_SHARE = 1 / 3
#: Seconds between two hand-overs of the interpreter lock while a run paces its threads (Python's default: 0.005).
PUNCTUAL_SWITCH = 0.001

_lock = threading.Lock()
#: The next slot this process would claim, per slot length (the rate may change).
_next: dict[float, int] = {}


@dataclass(frozen=True)
class Slot:
    """A slot claimed: when it begins, and how late after that its request may still leave."""

    start: float
    late: float


def take(*, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> float:
    """Wait for a slot of ``SEND_RATE``; the seconds waited (0 at once without a rate).

    A sender that wakes too late for its slot (a busy machine) lets it go and
    takes another: sent late, it would come too close to the next slot's.
    Raises ``ConfigurationError`` (the ``limits_cache`` row) when the cache fails.
    """
    began = clock()
    return 0.0 if _claim(clock, sleep) is None else clock() - began


@contextmanager
def paced(*, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> Iterator[None]:
    """The requests made within leave each in a slot of ``SEND_RATE`` of its own (at once without a rate).

    The first slot is taken on entry; the HTTP backend checks it again just
    before the request leaves, and takes another if it has become too late.
    A further request (a retry) takes a new slot there. Other backends are
    paced by the slot taken on entry alone.
    """
    held = [_claim(clock, sleep)]
    if held[0] is None:
        yield
        return

    def at_the_wire() -> None:
        slot = held.pop() if held else None  # a slot serves one request
        if slot is None or clock() - slot.start > slot.late:
            _claim(clock, sleep)

    with pacing.gate(at_the_wire):
        yield


_punctual_lock = threading.Lock()
_punctual_runs = 0
_usual_switch = 0.0
_froze = False


@contextmanager
def punctual() -> Iterator[None]:
    """While ``SEND_RATE`` is set, the interpreter lock changes hands every millisecond and the objects that
    exist at the start stay out of the garbage collector's passes (see the module's text).

    For the length of a run that paces many threads; nested and concurrent
    runs share it, and the last to end restores the interval it found and
    gives the collector back the objects it froze (``gc.unfreeze``); a host
    that had frozen objects of its own keeps its freeze as it was.
    """
    global _punctual_runs, _usual_switch, _froze
    if otp_settings.SEND_RATE is None:
        yield
        return
    with _punctual_lock:
        if _punctual_runs == 0:
            _usual_switch = sys.getswitchinterval()
            sys.setswitchinterval(min(_usual_switch, PUNCTUAL_SWITCH))
            # A host that froze its objects already (a pre-forking server) keeps its own freeze, untouched.
            _froze = gc.get_freeze_count() == 0
            if _froze:
                gc.freeze()
        _punctual_runs += 1
    try:
        yield
    finally:
        with _punctual_lock:
            _punctual_runs -= 1
            if _punctual_runs == 0:
                sys.setswitchinterval(_usual_switch)
                if _froze:
                    gc.unfreeze()


def _claim(clock: Callable[[], float], sleep: Callable[[float], None]) -> Slot | None:
    """Claim the next free slot and wait for its time; None without a rate."""
    rate = otp_settings.SEND_RATE
    if rate is None:
        return None
    count, period = rate
    interval = period / (count * USED)
    # N slots last 3 % longer than the period: that much lateness, all told, keeps any period within N;
    # a third of it for the sender's waking, the rest for the request's way to the platform.
    late = (count * interval - period) * LATE_SHARE
    with cache_errors():
        cache = limits_cache()
        slot = -1
        while True:
            slot = _first(interval, clock(), after=slot)
            start = slot * interval
            timeout = max(1, math.ceil(start - clock()) + _MARGIN)
            if not cache.add(f"{PREFIX}rate:{interval!r}:{slot}", 1, timeout=timeout):
                continue
            wait = start - clock()
            if wait > 0:
                sleep(wait)
            if clock() - start <= late:
                return Slot(start, late)


def _first(interval: float, now: float, after: int) -> int:
    """The slot to try: not begun yet, not one this process claimed or saw taken; remembered as taken.

    Not the slot under way: a request sent late in its slot would follow the
    previous one closely, and precede the next one closely.
    """
    with _lock:
        slot = max(_next.get(interval, 0), math.ceil(now / interval), after + 1)
        _next[interval] = slot + 1
    return slot
