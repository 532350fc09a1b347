"""A send's row: written ``pending`` before the request, settled after it.

A crash between the two leaves a ``pending`` row behind: evidence that a
message may have gone. Settled means ``accepted`` (with the platform's
message id and channel), ``failed`` (the platform refused, or nothing was
sent), or ``unknown`` (the request may have been acted on). OTP codes are
never stored: ``code`` parameters are redacted, ``/v1/codes`` codes are not
written at all.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import Any

from django.db import IntegrityError, connections, transaction

from ..exceptions import EngageLabError
from ..models import MessageLog, Status
from ..privacy import redact_params, stored_recipient
from .database import history_db, reset_state

logger = logging.getLogger("django_engagelab_otp")

_CHANNEL_LENGTH = MessageLog._meta.get_field("send_channel").max_length
_ERROR_LENGTH = 2000


def record(
    kind: str, to: str | list[str], template_id: str, language: str, params: dict[str, str], **options: Any
) -> MessageLog:
    """The ``pending`` row of a send about to be made (``to``: one recipient or several, normalized).

    ``options``: those of :func:`build`.
    """
    return insert(build(kind, to, template_id, language, params, **options))


def insert(log: MessageLog) -> MessageLog:
    """Save a row :func:`build` made, on the history's connection (committed at once)."""
    log.save(using=history_db(), force_insert=True)
    return reset_state(log)


def build(
    kind: str,
    to: str | list[str],
    template_id: str,
    language: str,
    params: dict[str, str],
    *,
    status: str = Status.PENDING,
    idempotency_key: str | None = None,
) -> MessageLog:
    """The row of a send, not saved: what it stores of the recipients (perhaps hashed) and parameters (redacted).

    ``queued`` for a send a worker or a bulk run will make; ``idempotency_key``
    makes a second enqueue of the same send meet this row (``IntegrityError``).
    """
    many = isinstance(to, list)
    log = MessageLog(
        kind=kind,
        to=stored_recipient(to[0] if many else to),
        recipients=[stored_recipient(value) for value in to] if many and len(to) > 1 else [],
        template_id=template_id,
        language=language,
        params=redact_params(params),
        status=status,
        idempotency_key=idempotency_key,
    )
    # Whom it went to, in clear, for the caller (the row may keep only a hash).
    log.recipient = to[0] if many else to
    return log


def accepted(log: MessageLog, message_id: str, send_channel: str) -> str:
    """The platform accepted the message: record its id and channel; the alias it was written with.

    The platform's ids are unique, but a restarted simulator or a platform bug
    can repeat one. The message was accepted all the same, so the row is
    settled without the id and says why: a duplicate must not leave it pending.
    """
    log.message_id = message_id
    log.send_channel = send_channel[:_CHANNEL_LENGTH]  # a channel newer than this code must not crash
    database = history_db()
    # In autocommit mode a failed UPDATE harms nothing; inside the caller's
    # transaction only a savepoint keeps that transaction usable.
    guard = transaction.atomic(using=database) if connections[database].in_atomic_block else nullcontext()
    try:
        with guard:
            _save(log, Status.ACCEPTED, "message_id", "send_channel", using=database)
    except IntegrityError:
        _save(
            log, Status.ACCEPTED, "message_id", "send_channel", error_message=without_duplicate_id(log), using=database
        )
    return database


def without_duplicate_id(log: MessageLog) -> str:
    """The platform answered with an id another row holds: the row keeps none; the text that says why."""
    duplicate, log.message_id = log.message_id, None
    logger.error("EngageLab answered with message id %s, which another history row already holds", duplicate)
    return f"accepted, but the platform's message id {duplicate} is already held by another row"


def failed(log: MessageLog, error: EngageLabError) -> str:
    """The send raised ``error``: ``failed``, or ``unknown`` when it may have been acted on. Returns the status."""
    status = Status.UNKNOWN if error.outcome_unknown else Status.FAILED
    log.error_code = error.code
    log.http_status = error.http_status
    _save(log, status, "error_code", "http_status", error_message=error.message[:_ERROR_LENGTH])
    error.log = log
    return status


def interrupted(log: MessageLog, error: BaseException) -> None:
    """A bug or an interrupt after the row was written: the outcome is unknown."""
    _save(log, Status.UNKNOWN, error_message=f"{type(error).__name__} during the request")


def save_status(log: MessageLog, status: str, *, error_message: str | None = None) -> None:
    """Set the row's status (and error text) alone, as the send's other steps do."""
    _save(log, status, error_message=error_message)


def _save(
    log: MessageLog, status: str, *fields: str, error_message: str | None = None, using: str | None = None
) -> None:
    log.status = status
    update = ["status", "updated_at", *fields]
    if error_message is not None:
        log.error_message = error_message
        update.append("error_message")
    log.save(using=using or history_db(), update_fields=update)
    reset_state(log)
