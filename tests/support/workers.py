"""Real worker processes for the task tests: a db_worker, an rqworker, a celery worker.

Each runs in its own session (so that it and its children stop together),
shares the test's database, simulator, Redis key prefix and queue through
the environment (``tests.support.worker_settings``), writes its output to a
file the failing test shows, and is stopped with SIGTERM (then SIGKILL) when
the test ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection

from tests.support.constants import ROOT
from tests.support.webhooks import REDIS_URL

#: Seconds a worker may take to start, and to stop once asked.
START_TIMEOUT = 60
STOP_TIMEOUT = 15


@dataclass
class World:
    """What the test and its workers share."""

    simulator: Any
    redis_prefix: str
    queue: str = field(default_factory=lambda: f"engagelab-test-{uuid.uuid4().hex[:10]}")
    tasks: dict[str, Any] | None = None
    engagelab: dict[str, Any] = field(default_factory=dict)
    broker: str = ""

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.support.worker_settings",
            "WORKER_DATABASE": connection.settings_dict["NAME"],
            "SIM_URL": self.simulator.url,
            "SIM_KEY": self.simulator.dev_key,
            "SIM_SECRET": self.simulator.dev_secret,
            "REDIS_URL": REDIS_URL,
            "REDIS_PREFIX": self.redis_prefix,
            "RQ_URL": REDIS_URL,
            "TASK_QUEUE": self.queue,
            "WORKER_ENGAGELAB": json.dumps(self.engagelab),
            "CELERY_BROKER_URL": self.broker,
        }
        if self.tasks is not None:
            env["WORKER_TASKS"] = json.dumps(self.tasks)
        return env


class Worker:
    """One worker process and the file its output goes to."""

    def __init__(self, command: list[str], env: dict[str, str], ready: str) -> None:
        self.log = Path(tempfile.mkstemp(prefix="engagelab-worker-", suffix=".log")[1])
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_for(ready)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def _wait_for(self, text: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while text not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the worker did not start ({text!r} never came):\n{self.output()[-4000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL to the worker and its children at once: what a crash or an OOM kill does."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):  # children that outlived their parent
            os.killpg(self.process.pid, signal.SIGKILL)


@contextlib.contextmanager
def running(command: list[str], world: World, ready: str) -> Iterator[Worker]:
    worker = Worker(command, world.env(), ready)
    try:
        yield worker
    except BaseException:
        print(f"--- worker output ({' '.join(command[:4])} …):\n{worker.output()[-6000:]}")
        raise
    finally:
        worker.stop()
        worker.log.unlink(missing_ok=True)


def manage(*args: str) -> list[str]:
    return [sys.executable, "-m", "django", *args]


def db_worker(world: World) -> contextlib.AbstractContextManager[Worker]:
    """``manage.py db_worker`` (django-tasks-db) on the test's queue, polling every 0.1 s."""
    command = manage("db_worker", "--queue-name", world.queue, "--interval", "0.1", "--no-startup-delay", "-v", "2")
    return running(command, world, ready="Starting worker")


def rq_worker(world: World) -> contextlib.AbstractContextManager[Worker]:
    """``manage.py rqworker`` (django-rq) with django-tasks-rq's job class, and its scheduler for deferred retries."""
    command = manage("rqworker", world.queue, "--job-class", "django_tasks_rq.backend.Job", "--with-scheduler")
    return running(command, world, ready="Listening on")


def celery_worker(world: World) -> contextlib.AbstractContextManager[Worker]:
    """``celery worker``: one prefork child, the test's queue only, nothing chatty."""
    name = f"{world.queue}@%h"
    command = [sys.executable, "-m", "celery", "-A", "tests.support.celery_app", "worker", "-l", "INFO"]
    command += ["-P", "prefork", "-c", "1", "-Q", world.queue, "-n", name]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return running(command, world, ready="ready.")
