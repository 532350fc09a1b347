"""What every engine's task does; the engines only carry a :class:`Job` and say when to try again.

**Enqueue** (the caller's process, :meth:`Engine.enqueue`):

1. the send is checked as ``send_otp`` & co. check it (``InvalidInputError``
   at once), and its abuse limits are claimed (``ThrottledError`` at once);
2. its row is written ``queued`` and committed (on the history's own
   connection inside a transaction): nothing is lost between enqueue and send;
3. what the row cannot give back (an own code, a sensitive parameter,
   recipients stored hashed) is sealed for the task (:mod:`.sealing`);
4. the engine is handed the job when the caller's transaction commits (at
   once outside one): a rollback enqueues nothing and leaves the row ``queued``.

**Run** (a worker, :func:`run`): the job carries the row's id, not the
recipient. The row moves ``queued`` → ``pending`` with a conditional UPDATE
(one attempt wins); a row found ``pending`` is settled ``unknown`` and never
sent again (an earlier attempt may have sent it); any other status means
there is nothing left to do. A failure the error table marks retryable (and
not of unknown outcome), once the backend's own retries are spent, puts the
row back to ``queued`` and raises :class:`Retry` while ``TASK_RETRIES`` allows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import IntegrityError, router, transaction

from .. import send_rate, services
from ..conf import otp_settings
from ..errors import failure
from ..exceptions import EngageLabError
from ..history import queue, sends
from ..models import MessageLog, Status
from ..privacy import SENSITIVE_PARAMS, is_hashed
from . import claims, sealing

logger = logging.getLogger("django_engagelab_otp.tasks")

#: Longest wait between two attempts, in seconds.
MAX_RETRY_DELAY = 3600


@dataclass(frozen=True)
class Job:
    """What a task carries: JSON values only (the row's id, the sealed secrets), never a recipient in clear."""

    log_id: int
    sealed: str = ""


class Retry(Exception):
    """The engine should run the job again, after :func:`retry_delay` (the row is ``queued`` again)."""


def retry_delay(attempt: int) -> float:
    """Seconds before retry number ``attempt + 1``: ``TASK_RETRY_DELAY``, doubled each time, capped."""
    return min(MAX_RETRY_DELAY, otp_settings.TASK_RETRY_DELAY * 2**attempt)


class Engine:
    """The public enqueue functions of one engine, given how that engine takes a job."""

    def __init__(self, hand_over: Callable[[Job], Any]) -> None:
        self._hand_over = hand_over

    def enqueue_otp(
        self,
        to: str,
        template_id: str | None = None,
        *,
        language: str | None = None,
        params: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> MessageLog:
        """``send_otp`` in the background: the ``queued`` row now, the request in a worker.

        ``key``: an idempotency key of the caller's; enqueueing it again
        returns the first row and enqueues nothing.
        """
        return self.enqueue(MessageLog.Kind.OTP, to, template_id, language=language, params=params, key=key)

    def enqueue_code(
        self,
        to: str,
        code: str,
        template_id: str | None = None,
        *,
        language: str | None = None,
        params: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> MessageLog:
        """``send_code`` in the background; the code travels sealed, never in clear."""
        return self.enqueue(MessageLog.Kind.CODE, to, template_id, language=language, params=params, code=code, key=key)

    def enqueue_custom_message(
        self,
        to: str | list[str],
        template_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> MessageLog:
        """``send_custom_message`` in the background."""
        return self.enqueue(MessageLog.Kind.CUSTOM, to, template_id, params=params, key=key)

    def enqueue(
        self, kind: str, to: Any, template_id: str | None = None, *, key: str | None = None, **options: Any
    ) -> MessageLog:
        """Any kind of send (``MessageLog.Kind``) in the background; the three functions above call this."""
        send = services.prepare(kind, to, template_id, **options)
        idempotency_key = f"task:{key}" if key is not None else None
        if idempotency_key is not None and (known := queue.find(idempotency_key)) is not None:
            return known
        claim = services.claim_limits(send)
        try:
            log = sends.insert(send.row(status=Status.QUEUED, idempotency_key=idempotency_key))
        except IntegrityError:  # the same key, enqueued at the same moment elsewhere
            claim.release()
            known = queue.find(idempotency_key or "")
            if known is None:
                raise
            return known
        except BaseException:
            claim.release()
            raise
        try:
            claims.hold(log.pk, claim)
            job = Job(log.pk, sealing.seal(_secrets(send, log), row=log.pk))
        except BaseException as error:
            services.settle_failed(log, _not_enqueued(error), claim)
            raise
        transaction.on_commit(partial(self._enqueue_job, job, log, claim), using=router.db_for_write(MessageLog))
        return log

    def _enqueue_job(self, job: Job, log: MessageLog, claim: Any) -> None:
        try:
            self._hand_over(job)
        except Exception as error:
            # Nothing will send it: the row says so, and the limits are given back.
            services.settle_failed(log, _not_enqueued(error), claim)
            claims.forget(log.pk)
            raise


def _not_enqueued(error: BaseException) -> EngageLabError:
    if isinstance(error, EngageLabError):
        return error
    return failure("configuration", f"the send could not be enqueued: {type(error).__name__}")


def _secrets(send: services.Send, log: MessageLog) -> dict[str, Any]:
    """What the row cannot give back to the worker."""
    secrets: dict[str, Any] = {}
    if send.code:
        secrets["code"] = send.code
    hidden = {name: value for name, value in send.params.items() if name.lower() in SENSITIVE_PARAMS}
    if hidden:
        secrets["params"] = hidden
    if is_hashed(log.to):
        secrets["to"] = send.to
    return secrets


# ---------------------------------------------------------------------- the worker


def run(job: Job, *, may_retry: bool) -> str:
    """One attempt at the job's send; the row's status after it.

    ``may_retry``: the engine will run the job again if this raises
    :class:`Retry` (attempts are left).
    """
    log, taken = queue.take(job.log_id)
    if log is None:
        logger.error("EngageLab task for history row %s: no such row", job.log_id)
        return ""
    if not taken:
        if log.status == Status.PENDING:
            queue.abandoned(log)
            claims.forget(log.pk)  # its message may have gone: the limits stay claimed
            logger.error("EngageLab row %s was left pending by an earlier attempt: settled unknown", log.pk)
        return log.status
    claim = claims.held(log.pk)
    try:
        send = _rebuild(log, sealing.unseal(job.sealed, row=log.pk))
        with send_rate.paced():
            services.deliver(send, log, claim, hand_back_retryable=may_retry)
    except EngageLabError as error:
        if log.status != Status.PENDING:  # settled by the send: failed or unknown
            claims.forget(log.pk)
            return log.status
        if may_retry and error.retryable and not error.outcome_unknown:
            queue.requeue(log, error)
            raise Retry(str(error)) from error
        services.settle_failed(log, error, claim)
    claims.forget(log.pk)
    return log.status


def _rebuild(log: MessageLog, secrets: dict[str, Any]) -> services.Send:
    """The send again, from its row and what was sealed; checked again (the settings may have changed)."""
    to: Any = secrets.get("to")
    if to is None:
        to = log.recipients or log.to if log.kind == MessageLog.Kind.CUSTOM else log.to
    params = {**log.params, **secrets.get("params", {})}
    language = log.language or None
    return services.prepare(log.kind, to, log.template_id, language=language, params=params, code=secrets.get("code"))
