"""Settings of the worker processes the task tests start: the test settings, joined to the test's own world.

The test passes, in the environment, what the worker must share with it:
the test database (``WORKER_DATABASE``), the simulator (``SIM_URL``), the
Redis key prefix of the limits (``REDIS_PREFIX``), the Tasks API backends
(``WORKER_TASKS``, JSON), the RQ queues' Redis database (``RQ_URL``), the
Celery broker (``CELERY_BROKER_URL``) and the queue name (``TASK_QUEUE``).
"""

import json
import os

from tests.settings import *  # noqa: F403

DATABASES["default"]["NAME"] = os.environ["WORKER_DATABASE"]  # noqa: F405
DATABASES["default"].pop("TEST", None)  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "django_rq"]  # noqa: F405

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "KEY_PREFIX": os.environ["REDIS_PREFIX"],
    }
}
TASKS = json.loads(os.environ.get("WORKER_TASKS", json.dumps(TASKS)))  # noqa: F405
RQ_QUEUES = {os.environ["TASK_QUEUE"]: {"URL": os.environ.get("RQ_URL", "redis://127.0.0.1:6379/0")}}
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")

ENGAGELAB_OTP = {
    **ENGAGELAB_OTP,  # noqa: F405
    "API_URL": os.environ["SIM_URL"],
    "DEV_KEY": os.environ["SIM_KEY"],
    "DEV_SECRET": os.environ["SIM_SECRET"],
    "BACKEND": "django_engagelab_otp.backends.http.HTTPBackend",
    "TASK_QUEUE": os.environ["TASK_QUEUE"],
    **json.loads(os.environ.get("WORKER_ENGAGELAB", "{}")),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
}
