"""What the background sends' tests share: the simulator configured for tasks, a queue that keeps its jobs."""

from __future__ import annotations

import pytest
from django.test import override_settings

from django_engagelab_otp.tasks import django_tasks
from tests.support.settings import configure

DUMMY = {
    "default": {
        "BACKEND": "django.tasks.backends.dummy.DummyBackend"
        if __import__("importlib.util").util.find_spec("django.tasks")
        else "django_tasks.backends.dummy.DummyBackend"
    }
}


@pytest.fixture
def sim(engagelab_simulator, settings):
    configure(settings, MAX_RETRIES=0, TASK_RETRY_DELAY=0)
    return engagelab_simulator


@pytest.fixture
def dummy():
    """A backend that keeps what is enqueued, unrun: what a queue would hold."""
    with override_settings(TASKS=DUMMY):
        backend = django_tasks.send_message.get_backend()
        backend.clear()
        yield backend
