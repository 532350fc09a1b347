"""Rows their sender abandoned: found by age, moved on by one conditional ``UPDATE`` each.

A row is ``pending`` only while its request is under way, and ``queued``
only until a worker or a bulk run takes it. A process killed at the wrong
moment (a ``db_worker`` killed mid-request, whose task the database backend
never runs again; a task its queue lost) leaves the row there for good.
:mod:`..tasks.sweep` settles such rows; this module finds and moves them.

Each move is conditional on the status the row was found in, so a sender
that is alive after all and settles the row first wins, and of two sweeps
only one moves a row. A sender that settles the row later still writes the
true outcome over the sweep's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from ..models import MessageLog, Status
from .batches import BULK
from .database import history_db


def left_pending(before: datetime) -> QuerySet[MessageLog]:
    """Rows ``pending`` since before ``before`` (a request lasts far less)."""
    return MessageLog.objects.using(history_db()).filter(status=Status.PENDING, updated_at__lt=before)


def left_queued(before: datetime) -> QuerySet[MessageLog]:
    """Background sends ``queued`` since before ``before``: no worker has taken them."""
    rows = MessageLog.objects.using(history_db()).filter(status=Status.QUEUED, updated_at__lt=before)
    return rows.exclude(idempotency_key__startswith=BULK)


def bulk_queued() -> QuerySet[MessageLog]:
    """A bulk run's rows ``queued``: they wait for a rerun of their batch, which sends them."""
    return MessageLog.objects.using(history_db()).filter(status=Status.QUEUED, idempotency_key__startswith=BULK)


def ids(rows: QuerySet[MessageLog], size: int = 1000) -> Iterator[list[int]]:
    """The rows' ids, ``size`` at a time, lowest first (constant memory on a large history)."""
    last = 0
    while True:
        chunk = list(rows.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not chunk:
            return
        yield chunk
        last = chunk[-1]


def move(log_id: int, found: str, status: str, before: datetime, error_message: str) -> bool:
    """Row ``log_id`` from ``found`` to ``status`` if it is still as found; whether this call moved it."""
    rows = MessageLog.objects.using(history_db()).filter(pk=log_id, status=found, updated_at__lt=before)
    return bool(rows.update(status=status, error_message=error_message, updated_at=timezone.now()))


def row(log_id: int) -> MessageLog | None:
    return MessageLog.objects.using(history_db()).filter(pk=log_id).first()
