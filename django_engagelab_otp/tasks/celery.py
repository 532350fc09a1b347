"""Background sends as a Celery task, for sites that already run Celery.

The task acknowledges its message only once it ran (``acks_late``) and asks
the broker for it again when its worker process dies (``reject_on_worker_lost``):
a send is never lost with a worker. Delivered twice, it still sends once: the
history row is the idempotency key (see :mod:`.runner`). ``TASK_QUEUE`` names
the queue (Celery's default one otherwise); retries use Celery's own, with
``TASK_RETRIES`` and ``TASK_RETRY_DELAY``.

    from django_engagelab_otp.tasks.celery import enqueue_otp

    log = enqueue_otp("+8618701235678")  # log.status == "queued"; a worker sends it

The worker must import this module (``app.autodiscover_tasks()`` does not:
name it in ``CELERY_IMPORTS``, or ``include=[...]`` of your app).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from ..conf import otp_settings
from . import runner


@shared_task(bind=True, name="django_engagelab_otp.send_message", acks_late=True, reject_on_worker_lost=True)
def send_message(self: Any, log_id: int, sealed: str = "") -> str:
    """One attempt at a queued send (the worker's side); returns the row's status."""
    attempt = self.request.retries
    try:
        return runner.run(runner.Job(log_id, sealed), may_retry=attempt < otp_settings.TASK_RETRIES)
    except runner.Retry as retry:
        raise self.retry(countdown=runner.retry_delay(attempt), max_retries=None, exc=retry) from retry


def _enqueue(job: runner.Job) -> None:
    send_message.apply_async(args=(job.log_id, job.sealed), queue=otp_settings.TASK_QUEUE)


_engine = runner.Engine(_enqueue)
enqueue_otp = _engine.enqueue_otp
enqueue_code = _engine.enqueue_code
enqueue_custom_message = _engine.enqueue_custom_message

__all__ = ["enqueue_code", "enqueue_custom_message", "enqueue_otp", "send_message"]
