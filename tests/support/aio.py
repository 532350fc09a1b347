"""Running the async API from the (sync) tests.

``async_to_sync`` runs the coroutine in an event loop of its own thread and
the async services' database steps (``thread_sensitive``) back in the test's
thread, on the test's connection and inside its transaction: as Django's
own test client does for async views.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import async_to_sync

T = TypeVar("T")


def run(function: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """``await function(*args, **kwargs)``, from sync code."""
    return async_to_sync(function)(*args, **kwargs)


class AsyncSleeps(list):
    """An ``asleep`` that records the waits instead of waiting."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)
