"""The platform's rate (``SEND_RATE``), shared by every process that sends through ``LIMITS_CACHE``.

A rate of N requests per period is cut into slots of ``period / (0.97 N)``
seconds, numbered from the epoch. A sender claims the next free slot with one atomic
``cache.add`` of that slot's key, then waits for the slot's time to come:
each slot is held by one sender in the whole cluster, so the requests start
a slot apart. The 3 % spared is what keeps every period (any period, not
only those that start on a slot) within N requests although a sender wakes
a little after its slot's time: up to 1.5 % of the period (later, it takes
another slot), the other half of the margin being for the request's own way
to the platform. With enough senders waiting, nearly every slot is used:
about 97 % of the rate is reached.

Threads of one process remember the last slot they claimed, so that they do
not compete for the same keys; processes and machines meet in the cache and
step past each other's slots. A slot's key expires soon after its time, and
only slots not yet begun are ever claimed. The cache is the one the abuse
limits use: with a per-process cache (``LocMemCache``) the rate holds only
within each process.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from .conf import otp_settings
from .limits_cache import PREFIX, cache_errors, limits_cache

#: Seconds a slot's key outlives the slot's time.
_MARGIN = 2
#: The share of ``SEND_RATE`` the slots allow (see above).
USED = 0.97

_lock = threading.Lock()
#: The next slot this process would claim, per slot length (the rate may change).
_next: dict[float, int] = {}


def take(*, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> float:
    """Wait for a slot of ``SEND_RATE``; the seconds waited (0 at once without a rate).

    A sender that wakes too late for its slot (a busy machine) lets it go and
    takes another: sent late, it would come too close to the next slot's.
    Raises ``ConfigurationError`` (the ``limits_cache`` row) when the cache fails.
    """
    rate = otp_settings.SEND_RATE
    if rate is None:
        return 0.0
    count, period = rate
    interval = period / (count * USED)
    # N slots last 3 % longer than the period: that much lateness, all told, keeps any period within N;
    # half of it for the sender's waking, half for the request's way to the platform.
    late = (count * interval - period) * 0.5
    began = clock()
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
                return clock() - began


def _first(interval: float, now: float, after: int) -> int:
    """The slot to try: not begun yet, not one this process claimed or saw taken; remembered as taken.

    Not the slot under way: a request sent late in its slot would follow the
    previous one closely, and precede the next one closely.
    """
    with _lock:
        slot = max(_next.get(interval, 0), math.ceil(now / interval), after + 1)
        _next[interval] = slot + 1
    return slot
