"""Settle the rows a sender abandoned: ``manage.py engagelab_sweep``, or :func:`sweep` from a periodic task.

* A row ``pending`` for longer than any request lasts: its sender stopped
  mid-request (a ``db_worker`` killed, whose task the database backend never
  runs again; a web process killed). The message may have gone: the row is
  settled ``unknown``, as a worker finding it would settle it, and its
  limits stay claimed.
* A background send ``queued`` for longer than ``queued_after`` (only when
  given: a long backlog is not a loss): its task was lost. Nothing was sent:
  the row is settled ``failed``, its limits are given back and
  ``message_failed`` is sent, so that the site can send it again.
* A bulk run's ``queued`` rows are left alone: a rerun of their batch sends
  them. They are counted.

A sender alive after all and settling a row first wins (each move is
conditional); one settling it later writes the true outcome over the sweep's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from ..conf import otp_settings
from ..exceptions import EngageLabError
from ..history import sweep as rows
from ..models import MessageLog, Status
from ..signals import message_failed
from . import claims
from .runner import retry_delay

logger = logging.getLogger("django_engagelab_otp.tasks")

#: What a row settled ``unknown`` by a sweep says.
LEFT_PENDING = "left pending: its sender stopped during the request, which may have sent it"
#: What a background send settled ``failed`` by a sweep says.
NEVER_TAKEN = "not sent: no worker took its task"


@dataclass
class Swept:
    """What one sweep did (or, with ``dry_run``, would do)."""

    #: ``pending`` rows settled ``unknown``.
    unknown: int = 0
    #: ``queued`` background sends settled ``failed``.
    failed: int = 0
    #: A bulk run's ``queued`` rows, left for a rerun of their batch.
    bulk_queued: int = 0
    dry_run: bool = False


class TooYoung(ValueError):
    """An age shorter than ``floor``: a row that young may still be on its way. ``option``: which age."""

    def __init__(self, option: str, floor: timedelta, why: str) -> None:
        super().__init__(f"{option} is shorter than {why} ({floor})")
        self.option, self.floor = option, floor


def longest_request() -> timedelta:
    """The longest one send's request can take: every attempt's timeouts and the waits between them."""
    timeout = otp_settings.TIMEOUT
    seconds = sum(timeout) if isinstance(timeout, (tuple, list)) else float(timeout)
    retries = otp_settings.MAX_RETRIES
    waits = retries * (otp_settings.RETRY_BACKOFF_MAX + otp_settings.RETRY_JITTER)
    return timedelta(seconds=seconds * (retries + 1) + waits)


def longest_retry_wait() -> timedelta:
    """The longest a background send waits ``queued`` for its next attempt (``TASK_RETRY_DELAY``, doubled)."""
    return timedelta(seconds=retry_delay(max(0, otp_settings.TASK_RETRIES - 1)))


def sweep(*, pending_after: timedelta, queued_after: timedelta | None = None, dry_run: bool = False) -> Swept:
    """Settle the rows ``pending`` since longer than ``pending_after`` and, when given, the background sends
    ``queued`` since longer than ``queued_after``.

    :class:`TooYoung` (a ``ValueError``) when ``pending_after`` is shorter than :func:`longest_request` or
    ``queued_after`` shorter than :func:`longest_retry_wait`: a row that young may still be on its way.
    """
    if pending_after < (floor := longest_request()):
        raise TooYoung("pending_after", floor, "a request may last")
    if queued_after is not None and queued_after < (floor := longest_retry_wait()):
        raise TooYoung("queued_after", floor, "a retry may wait")
    now = timezone.now()
    swept = Swept(dry_run=dry_run, bulk_queued=rows.bulk_queued().count())
    pending_before = now - pending_after
    queued_before = now - queued_after if queued_after is not None else None
    if dry_run:
        swept.unknown = rows.left_pending(pending_before).count()
        swept.failed = rows.left_queued(queued_before).count() if queued_before else 0
        return swept
    for chunk in rows.ids(rows.left_pending(pending_before)):
        for log_id in chunk:
            if rows.move(log_id, Status.PENDING, Status.UNKNOWN, pending_before, LEFT_PENDING):
                claims.forget(log_id)  # its message may have gone: the limits stay claimed
                swept.unknown += 1
    if queued_before is not None:
        for chunk in rows.ids(rows.left_queued(queued_before)):
            for log_id in chunk:
                if rows.move(log_id, Status.QUEUED, Status.FAILED, queued_before, NEVER_TAKEN):
                    _never_taken(log_id)
                    swept.failed += 1
    if swept.unknown or swept.failed:
        logger.warning(
            "EngageLab sweep: %d rows left pending settled unknown, %d background sends never taken settled failed",
            swept.unknown,
            swept.failed,
        )
    return swept


def _never_taken(log_id: int) -> None:
    claims.held(log_id).release()
    claims.forget(log_id)
    if message_failed.has_listeners() and (log := rows.row(log_id)) is not None:  # read only for a listener
        error = EngageLabError(NEVER_TAKEN)
        error.log = log
        message_failed.send_robust(sender=MessageLog, log=log, error=error)
