"""The moment just before a request's bytes leave: where a shared rate (``SEND_RATE``) is kept.

A rate is kept by the time each request leaves, and a thread that took its
slot may still be held up before its bytes go (other threads' turns on the
interpreter lock, a busy machine): it would then leave late, close to the
next slot's request. So the caller that paces (:func:`..send_rate.paced`)
installs a gate here, and the HTTP backend calls :func:`before_request` as
the last step before each request, the retries included: the gate checks
that the slot is still on time, or waits for another.

No Django here: a backend is usable without settings, and without a gate
this does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_gate: ContextVar[Callable[[], None] | None] = ContextVar("engagelab_pacing_gate", default=None)


@contextmanager
def gate(check: Callable[[], None]) -> Iterator[None]:
    """Within the block, ``check()`` runs just before each request of this thread (or task) leaves."""
    token = _gate.set(check)
    try:
        yield
    finally:
        _gate.reset(token)


def before_request() -> None:
    """Called by a backend as the last step before a request's bytes leave."""
    check = _gate.get()
    if check is not None:
        check()
