"""Background sends run by real workers in other processes, on each engine's real queue.

* the Tasks API's database backend (django-tasks-db's ``db_worker``) on PostgreSQL;
* the Tasks API's RQ backend (django-tasks-rq, ``rqworker``) on the local Redis;
* Celery, with RabbitMQ (127.0.0.1:5672) and with Redis as the broker.

Each test enqueues from this process, lets a worker of its own (its own
queue, stopped when the test ends) run the jobs against the simulator, and
checks the history rows, what the platform received, and what the queue
stored: never a code or a recipient in clear. The history is PostgreSQL's:
the workers share the test database, which SQLite in memory cannot.
"""

from __future__ import annotations

import json
import zlib
from datetime import timedelta
from io import StringIO

import pytest
import redis as redis_lib
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from kombu import Connection

from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.simulator.magic import by_name
from django_engagelab_otp.tasks import celery as celery_engine
from django_engagelab_otp.tasks import django_tasks as tasks_engine
from django_engagelab_otp.tasks import runner
from tests.support.constants import PHONE
from tests.support.settings import configure
from tests.support.simulator import wait_for
from tests.support.webhooks import REDIS_URL, redis_cache
from tests.support.workers import World, celery_worker, db_worker, rq_worker

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
CODE = "Qv71Tr"
OTHER = "+8618701235679"
THIRD = "+6591234567"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="workers share the test database: PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def redis():
    """Redis as this process's cache, where the limits (and the claims a worker gives back) live."""
    with redis_cache() as config, override_settings(CACHES={"default": config}):
        yield config


@pytest.fixture
def world(engagelab_simulator, redis, settings):
    world = World(engagelab_simulator, redis["KEY_PREFIX"])
    engine = {"MAX_RETRIES": 0, "TASK_RETRY_DELAY": 0}
    world.engagelab = engine
    configure(settings, TASK_QUEUE=world.queue, **engine)
    return world


def settled(*logs):
    """Wait until no row is queued or pending; the rows, fresh."""

    def done():
        rows = list(MessageLog.objects.filter(pk__in=[log.pk for log in logs]).order_by("pk"))
        return rows if all(row.status not in ("queued", "pending") for row in rows) else None

    return wait_for(done, timeout=60)


def received(sim, to):
    return [message for message in sim.platform.messages if to in (message.recipients or [message.to])]


def enqueue_the_lot(engine):
    """Three kinds of send, and the first one's job enqueued a second time (a queue that delivers twice)."""
    otp = engine.enqueue_otp(PHONE, "demo-otp")
    code = engine.enqueue_code(OTHER, CODE, "demo-code")
    custom = engine.enqueue_custom_message([THIRD, "bob@example.com"], "demo-notice", params={"order": "7"})
    engine._enqueue(runner.Job(otp.pk))
    return otp, code, custom


def check_the_lot(sim, logs):
    assert [row.status for row in settled(*logs)] == ["accepted"] * 3
    for to in (PHONE, OTHER, THIRD, "bob@example.com"):
        assert len(received(sim, to)) == 1, to
    assert received(sim, OTHER)[0].code == CODE
    assert sim.platform.request_count == 3


def assert_nothing_in_clear(stored: bytes | str):
    text = stored if isinstance(stored, str) else stored.decode("utf-8", "replace")
    for secret in (CODE, PHONE, PHONE[1:], OTHER[1:], THIRD[1:]):
        assert secret not in text


# ---------------------------------------------------------------- the Tasks API


def test_the_database_backend_with_a_db_worker(world):
    from django_tasks_db.models import DBTaskResult

    tasks = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": [world.queue]}}
    world.tasks = tasks
    with override_settings(TASKS=tasks):
        logs = enqueue_the_lot(tasks_engine)
        stale = tasks_engine.enqueue_otp("+8618701230000", "demo-otp")
        MessageLog.objects.filter(pk=stale.pk).update(status="pending")  # as a worker killed mid-request leaves it
        stored = json.dumps(list(DBTaskResult.objects.values_list("args_kwargs", flat=True)))
        assert stored.count('"args"') == 5
        assert_nothing_in_clear(stored)
        with db_worker(world):
            check_the_lot(world.simulator, logs)
            assert settled(stale)[0].status == "unknown"
    assert received(world.simulator, "+8618701230000") == []


def test_a_db_worker_killed_mid_request_leaves_a_row_the_sweep_settles(world):
    """The database backend never runs a task again once its worker died: the sweep settles the row instead."""
    from django_tasks_db.models import DBTaskResult

    tasks = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": [world.queue]}}
    world.tasks = tasks
    world.simulator.platform.hang_seconds = 20
    hanging = by_name("fault-hang").phone  # the platform acts, then never answers
    with override_settings(TASKS=tasks):
        log = tasks_engine.enqueue_custom_message(hanging, "demo-notice")
        with db_worker(world) as worker:
            wait_for(lambda: MessageLog.objects.get(pk=log.pk).status == "pending")
            wait_for(lambda: received(world.simulator, hanging))
            worker.kill()
        with db_worker(world):  # a new worker does not take the dead one's task
            (task,) = DBTaskResult.objects.filter(queue_name=world.queue)
            assert task.status == "RUNNING"
            MessageLog.objects.filter(pk=log.pk).update(updated_at=timezone.now() - timedelta(minutes=20))
            out = StringIO()
            call_command("engagelab_sweep", stdout=out)
            assert "as unknown 1" in out.getvalue()
            row = MessageLog.objects.get(pk=log.pk)
            assert row.status == "unknown" and "may have sent it" in row.error_message
            assert len(received(world.simulator, hanging)) == 1


def test_the_rq_backend_with_an_rqworker(world, settings):
    tasks = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [world.queue]}}
    world.tasks = tasks
    settings.RQ_QUEUES = {world.queue: {"URL": REDIS_URL}}
    server = redis_lib.Redis.from_url(REDIS_URL)
    with override_settings(TASKS=tasks):
        logs = enqueue_the_lot(tasks_engine)
        jobs = [key for key in server.scan_iter(match="rq:job:*") if server.hget(key, "origin") == world.queue.encode()]
        try:
            assert len(jobs) == 4
            for key in jobs:
                assert_nothing_in_clear(zlib.decompress(server.hget(key, "data")))
            with rq_worker(world):
                check_the_lot(world.simulator, logs)
        finally:
            server.delete(*jobs, f"rq:queue:{world.queue}")
            server.close()


# ---------------------------------------------------------------- Celery


@pytest.fixture
def celery(world):
    """A Celery app in this process to publish with; the test sets its broker."""
    from celery import Celery

    app = Celery("engagelab_tests_client", set_as_current=True)
    app.conf.update(task_ignore_result=True, broker_connection_retry_on_startup=True)
    app.set_default()
    yield app
    app.close()


def test_celery_on_rabbitmq_with_a_worker_killed_mid_request(world, celery):
    world.broker = RABBITMQ_URL
    celery.conf.broker_url = RABBITMQ_URL
    logs = enqueue_the_lot(celery_engine)
    with Connection(RABBITMQ_URL) as broker:
        channel = broker.default_channel
        try:
            # What the broker keeps, as a worker would receive it: no code, no recipient.
            message = channel.basic_get(world.queue, no_ack=False)
            assert_nothing_in_clear(message.body)
            channel.basic_reject(message.delivery_tag, requeue=True)
            with celery_worker(world):
                check_the_lot(world.simulator, logs)

            world.simulator.platform.hang_seconds = 20
            hanging = by_name("fault-hang").phone  # the platform acts, then never answers
            log = celery_engine.enqueue_custom_message(hanging, "demo-notice")
            with celery_worker(world) as worker:
                wait_for(lambda: MessageLog.objects.get(pk=log.pk).status == "pending")
                wait_for(lambda: received(world.simulator, hanging))
                worker.kill()  # mid-request: the message is not acknowledged (acks_late)
            with celery_worker(world):  # the broker hands it over again
                (row,) = settled(log)
            assert row.status == "unknown" and "earlier attempt" in row.error_message
            assert len(received(world.simulator, hanging)) == 1
        finally:
            channel.queue_delete(world.queue)


def test_celery_on_redis(world, celery):
    broker = REDIS_URL.rsplit("/", 1)[0] + "/3"
    world.broker = broker
    celery.conf.broker_url = broker
    server = redis_lib.Redis.from_url(broker)
    try:
        logs = enqueue_the_lot(celery_engine)
        queued = server.lrange(world.queue, 0, -1)
        assert len(queued) == 4
        for raw in queued:
            assert_nothing_in_clear(raw)
            assert_nothing_in_clear(__import__("base64").b64decode(json.loads(raw)["body"]))
        with celery_worker(world):
            check_the_lot(world.simulator, logs)
    finally:
        server.delete(world.queue)
        server.close()
