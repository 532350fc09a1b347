"""Sync steps (the database, the cache) run from async code, each to its end.

The async services run their history and limits steps with
``sync_to_async(thread_sensitive=True)``: in the thread Django keeps for
sync code (the request's, under ASGI), where the ORM and its connections
live. A step is never stopped halfway by a cancellation of the caller (a
client that went away, a timeout): a row half written or a limit claimed
and not given back would outlive it. The step runs to its end, then the
cancellation is raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async

T = TypeVar("T")


async def to_the_end(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in Django's thread for sync code; a cancellation meanwhile is raised once it returns."""
    step = asyncio.ensure_future(sync_to_async(function, thread_sensitive=True)(*args))
    cancelled = False
    while not step.done():
        try:
            # Unlike awaiting the step, waiting for it does not cancel it when this task is cancelled.
            await asyncio.wait({step})
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        if not step.cancelled():
            step.exception()  # looked at: what the caller gets is the cancellation
        raise asyncio.CancelledError
    return step.result()
