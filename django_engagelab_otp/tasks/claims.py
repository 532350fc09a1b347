"""The abuse limits an enqueue claimed, kept where its worker can give them back.

The cooldown and the day's count are claimed when the send is enqueued, so
that the caller learns at once that it is refused. The worker, perhaps on
another machine, gives them back when the send fails: the claim waits for it
in ``LIMITS_CACHE`` (the cache the limits live in, so it reaches the worker
whenever the limits themselves do), under the row's id.
"""

from __future__ import annotations

import logging

from .. import limits
from ..limits_cache import cache_key, limits_cache

logger = logging.getLogger("django_engagelab_otp.limits")

#: How long a claim waits for its worker: past a day, the count it holds is gone anyway.
KEEP = 86400 + 60


def hold(log_id: int, claim: limits.SendClaim) -> None:
    """Keep ``claim`` for the worker of row ``log_id`` (nothing for a send that claimed nothing)."""
    if claim == limits.NO_CLAIM:
        return
    limits_cache().set(_key(log_id), claim, timeout=KEEP)


def held(log_id: int) -> limits.SendClaim:
    """The claim kept for row ``log_id``; none when there is none, or the cache fails (the limits then expire)."""
    try:
        claim = limits_cache().get(_key(log_id))
    except Exception as error:
        logger.error("EngageLab limits of row %s could not be read: %s", log_id, type(error).__name__)
        return limits.NO_CLAIM
    return claim if isinstance(claim, limits.SendClaim) else limits.NO_CLAIM


def forget(log_id: int) -> None:
    """The send is settled: its claim is given back (by then) or kept for good."""
    try:
        limits_cache().delete(_key(log_id))
    except Exception as error:  # it expires on its own
        logger.error("EngageLab limits of row %s could not be forgotten: %s", log_id, type(error).__name__)


def _key(log_id: int) -> str:
    return cache_key("task-claim", str(log_id))
