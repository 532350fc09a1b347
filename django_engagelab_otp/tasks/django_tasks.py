"""Background sends through Django's Tasks API: ``django.tasks`` on Django 6, the ``django-tasks`` backport on 5.2.

Any backend of ``TASKS`` runs them; the database (``django-tasks-db``,
``manage.py db_worker``) and RQ (``django-tasks-rq``, ``manage.py rqworker
--job-class django_tasks_rq.backend.Job``) are tested. ``TASK_BACKEND`` names
the alias, ``TASK_QUEUE`` the queue. The Tasks API has no retries of its own:
a retry is the same job enqueued again with ``run_after`` (when the backend
can defer) and the attempt's number.

    from django_engagelab_otp.tasks.django_tasks import enqueue_otp

    log = enqueue_otp("+8618701235678")  # log.status == "queued"; a worker sends it
"""

from __future__ import annotations

from datetime import timedelta
from importlib.util import find_spec

from django.utils import timezone

from ..conf import otp_settings
from . import runner

if find_spec("django.tasks"):  # Django 6
    from django.tasks import DEFAULT_TASK_QUEUE_NAME, task
else:  # Django 5.2 and the backport
    from django_tasks import DEFAULT_TASK_QUEUE_NAME, task


def _queue() -> str:
    return otp_settings.TASK_QUEUE or DEFAULT_TASK_QUEUE_NAME


# The backend checks a task's queue when it is defined: the site's own, not the default one.
@task(backend=otp_settings.TASK_BACKEND, queue_name=_queue())
def send_message(log_id: int, sealed: str = "", attempt: int = 0) -> str:
    """One attempt at a queued send (the worker's side); returns the row's status."""
    job = runner.Job(log_id, sealed)
    try:
        return runner.run(job, may_retry=attempt < otp_settings.TASK_RETRIES)
    except runner.Retry:
        _enqueue(job, attempt + 1, delay=runner.retry_delay(attempt))
        return "queued"


def _enqueue(job: runner.Job, attempt: int = 0, *, delay: float = 0) -> None:
    chosen = send_message.using(backend=otp_settings.TASK_BACKEND, queue_name=_queue())
    if delay and chosen.get_backend().supports_defer:
        chosen = chosen.using(run_after=timezone.now() + timedelta(seconds=delay))
    chosen.enqueue(job.log_id, job.sealed, attempt)


_engine = runner.Engine(_enqueue)
enqueue_otp = _engine.enqueue_otp
enqueue_code = _engine.enqueue_code
enqueue_custom_message = _engine.enqueue_custom_message

__all__ = ["enqueue_code", "enqueue_custom_message", "enqueue_otp", "send_message"]
