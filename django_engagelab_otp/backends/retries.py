"""The one retry schedule of the HTTP backends, sync and async: which failures are tried again, and when.

Each backend's loop is the same four lines, with its own way of waiting::

    for attempt in attempts(call, self.max_retries, self.backoff):
        with attempt:
            return self._request_once(call)  # or: await self._arequest_once(call)
        self._sleep(attempt.wait)  # or: await self._asleep(attempt.wait)

What is tried again is what the error table marks ``retryable`` (nothing
can have been sent: a failure to connect, a 503 without a body, codes 1000
and 5016; or any failure of a call that changes nothing), and only while
retries are left. Everything else, a cancellation included, goes through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from types import TracebackType

from ..exceptions import EngageLabError
from .protocol import Call

logger = logging.getLogger("django_engagelab_otp.backends.http")


class Attempt:
    """One try of a call, as a context manager around its request.

    It swallows a failure that the schedule repeats, and :attr:`wait` then
    says how long to wait before the next try; it lets anything else through.
    """

    def __init__(self, call: Call, number: int, retries: int, backoff: Callable[[int], float]) -> None:
        self.call = call
        self.number = number  # 0 for the first try
        self.retries = retries
        self._backoff = backoff
        self.wait = 0.0

    def __enter__(self) -> Attempt:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> bool:
        if not isinstance(error, EngageLabError) or not error.retryable or self.number >= self.retries:
            return False
        retry = self.number + 1
        self.wait = self._backoff(retry)
        logger.warning(
            "EngageLab %s /%s failed (%s); retry %d of %d in %.2fs",
            self.call.method,
            self.call.path,
            error.code or type(error).__name__,
            retry,
            self.retries,
            self.wait,
        )
        return True


def attempts(call: Call, retries: int, backoff: Callable[[int], float]) -> Iterator[Attempt]:
    """The tries of ``call``: the first and up to ``retries`` more; the last lets every failure through.

    ``backoff(n)`` is the wait before retry ``n`` (1, 2, …).
    """
    for number in range(retries + 1):
        yield Attempt(call, number, retries, backoff)
