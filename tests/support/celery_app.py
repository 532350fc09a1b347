"""The Celery application of the task tests' workers (``celery -A tests.support.celery_app worker``)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.support.worker_settings")
django.setup()

from celery import Celery  # noqa: E402
from django.conf import settings  # noqa: E402

app = Celery("engagelab_tests", broker=getattr(settings, "CELERY_BROKER_URL", ""))
app.conf.update(
    imports=["django_engagelab_otp.tasks.celery"],
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    # A Redis broker hands an unacknowledged task to another worker after this long.
    broker_transport_options={"visibility_timeout": 5},
    worker_prefetch_multiplier=1,
)
