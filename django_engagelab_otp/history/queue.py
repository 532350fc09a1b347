"""A queued send's row between its enqueue and its worker: only one attempt ever makes the request.

The row is the task's identity. A worker moves it ``queued`` → ``pending``
with one conditional ``UPDATE`` (:func:`take`): of two workers running the
same task, one wins and the other finds the row taken. A row found
``pending`` by an attempt that did not take it means an earlier attempt
(a worker killed mid-request, a task delivered twice) may have sent the
message: it is settled ``unknown`` and never sent again (:func:`abandoned`).
"""

from __future__ import annotations

from django.utils import timezone

from ..exceptions import EngageLabError
from ..models import MessageLog, Status
from .database import history_db, reset_state
from .sends import save_status


def find(idempotency_key: str) -> MessageLog | None:
    """The row written for ``idempotency_key``, if any."""
    log = MessageLog.objects.using(history_db()).filter(idempotency_key=idempotency_key).first()
    return reset_state(log) if log is not None else None


def take(log_id: int) -> tuple[MessageLog | None, bool]:
    """``queued`` → ``pending`` if the row is still queued: (the row, whether this call moved it)."""
    database = history_db()
    rows = MessageLog.objects.using(database)
    moved = rows.filter(pk=log_id, status=Status.QUEUED).update(status=Status.PENDING, updated_at=timezone.now())
    log = rows.filter(pk=log_id).first()
    return (reset_state(log) if log is not None else None), bool(moved)


def abandoned(log: MessageLog) -> None:
    """A row left ``pending`` by an earlier attempt: it may have been sent, so it is not sent again."""
    save_status(log, Status.UNKNOWN, error_message="left pending by an earlier attempt, which may have sent it")


def requeue(log: MessageLog, error: EngageLabError) -> None:
    """A failure safe to repeat: the row waits for the next attempt (``pending`` → ``queued``)."""
    save_status(log, Status.QUEUED, error_message=f"to be tried again after: {error}"[:2000])
