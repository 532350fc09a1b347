"""A bulk run's rows: written many at a time, one commit for many messages, never two per message.

Each line of a bulk file (or each group of lines sent as one custom message)
has a row whose ``idempotency_key`` is ``bulk:<batch>:<line or group>``.
Rows are written ``queued`` a chunk at a time before any request; a few at a
time move to ``pending`` just before their requests (:func:`take`, in the
same transaction as the settling of those that came back, :func:`settle`).
So after a crash, what is ``pending`` is what may have been sent: a rerun of
the batch settles it ``unknown`` and never sends it again
(:func:`abandon`); what is ``queued`` or ``failed`` it sends.

A run chooses its database alias once (``database.history_db()``) and
passes it to each call: inside its own step's transaction, asking again
would take that transaction for a caller's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import MessageLog, Status
from .bulk import update_many
from .sends import without_duplicate_id

#: How every bulk run's idempotency keys begin.
BULK = "bulk:"

#: What may be sent on a rerun: nothing was sent, or the platform refused it.
SENDABLE = (Status.QUEUED, Status.FAILED)

#: The columns a request's outcome sets.
OUTCOME_FIELDS = ["status", "message_id", "send_channel", "error_code", "http_status", "error_message", "updated_at"]


def key(batch: str, unit: str) -> str:
    return f"{prefix(batch)}{unit}"


def prefix(batch: str) -> str:
    return f"{BULK}{batch}:"


def known(keys: Sequence[str], *, using: str) -> dict[str, tuple[int, str]]:
    """``{key: (row id, status)}`` of the rows that exist for ``keys`` (one query on the unique index)."""
    rows = MessageLog.objects.using(using).filter(idempotency_key__in=list(keys))
    return {key: (pk, status) for pk, key, status in rows.values_list("pk", "idempotency_key", "status")}


def write(logs: Sequence[MessageLog], *, using: str) -> None:
    """Insert ``queued`` rows (built with ``sends.build``), one statement and one commit.

    A row another run of the same batch wrote meanwhile is skipped: its key is taken.
    """
    if logs:
        MessageLog.objects.using(using).bulk_create(logs, ignore_conflicts=True)


def take(ids: Iterable[int], *, using: str) -> set[int]:
    """Move the rows among ``ids`` that may be sent to ``pending``; the ids this call moved.

    Locks them first, so that two runs of one batch never take the same row.
    Call inside :func:`tick`'s transaction.
    """
    rows = MessageLog.objects.using(using).filter(pk__in=list(ids), status__in=SENDABLE)
    taken = set(rows.select_for_update().values_list("pk", flat=True))
    if taken:
        MessageLog.objects.using(using).filter(pk__in=taken).update(status=Status.PENDING, updated_at=timezone.now())
    return taken


def give_back(ids: Iterable[int], *, using: str) -> None:
    """Rows taken but never sent (a run stopped before their turn): ``queued`` again."""
    MessageLog.objects.using(using).filter(pk__in=list(ids), status=Status.PENDING).update(
        status=Status.QUEUED, updated_at=timezone.now()
    )


def settle(logs: Sequence[MessageLog], *, using: str, one_by_one: bool = False) -> None:
    """Write the outcome of requests that came back (:data:`OUTCOME_FIELDS`), a few statements for all.

    The platform's ids are unique. Should it repeat one, the whole statement
    fails (``IntegrityError``): the caller settles them again ``one_by_one``,
    and the row whose id is taken keeps none (as a send does).
    """
    now = timezone.now()
    for log in logs:
        log.updated_at = now
    if not one_by_one:
        update_many(logs, OUTCOME_FIELDS, using=using)
        return
    for log in logs:
        try:
            with transaction.atomic(using=using):
                update_many([log], OUTCOME_FIELDS, using=using)
        except IntegrityError:
            log.error_message = without_duplicate_id(log)
            update_many([log], OUTCOME_FIELDS, using=using)


def abandon(ids: Iterable[int], *, using: str) -> None:
    """Rows an earlier run left ``pending``: they may have been sent, so they are settled ``unknown``."""
    MessageLog.objects.using(using).filter(pk__in=list(ids), status=Status.PENDING).update(
        status=Status.UNKNOWN,
        error_message="left pending by an earlier run of its batch, which may have sent it",
        updated_at=timezone.now(),
    )


def tick(using: str) -> transaction.Atomic:
    """The transaction of one step of a run: outcomes settled and the next rows taken, one commit."""
    return transaction.atomic(using=using)
