"""Sends under load on PostgreSQL: 8 threads × 250 sends → 2,000 settled rows, none lost or doubled.

Each thread sends to 250 recipients of its own and, every tenth send, to a
recipient of its neighbour, racing the neighbour's own send. Of the two, the
resend cooldown lets exactly one through, before the platform is called:
the simulator sees 2,000 requests and the history holds 2,000 settled rows
whose message ids are exactly the simulator's.

Threads write with connections of their own, so the test commits
(``transactional_db``); SQLite in memory cannot share one database between
threads, so this runs on PostgreSQL only.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.db import connection, connections

from django_engagelab_otp import send_otp
from django_engagelab_otp.exceptions import EngageLabError, ThrottledError
from django_engagelab_otp.models import MessageLog
from tests.support.proof import figure
from tests.support.settings import configure

THREADS = 8
PER_THREAD = 250
#: Every this many sends a thread also sends to its neighbour's recipient.
REPEAT_EVERY = 10

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (threads share the database)"),
]


def recipient(thread: int, number: int) -> str:
    """A distinct valid mobile number per (thread, number)."""
    return f"+86187{thread:04d}{number:04d}"


@dataclass
class Outcome:
    accepted: list[tuple[str, int, str]] = field(default_factory=list)  # (recipient, row pk, message id)
    throttled: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _worker(thread: int, start: threading.Barrier, outcome: Outcome) -> None:
    neighbour = (thread + 1) % THREADS
    plan = []
    for number in range(PER_THREAD):
        plan.append(recipient(thread, number))
        if number % REPEAT_EVERY == 0:
            plan.append(recipient(neighbour, number))
    try:
        start.wait(timeout=30)
        for to in plan:
            try:
                log = send_otp(to)
            except ThrottledError:
                with outcome.lock:
                    outcome.throttled.append(to)
            except EngageLabError as error:
                with outcome.lock:
                    outcome.errors.append(f"{to}: {error!r}")
            else:
                with outcome.lock:
                    outcome.accepted.append((to, log.pk, log.message_id))
    except Exception as error:  # a bug must fail the test, not vanish with the thread
        with outcome.lock:
            outcome.errors.append(repr(error))
    finally:
        connections.close_all()  # this thread's connection, before the test database goes


@pytest.fixture
def sim(make_engagelab_simulator, settings):
    simulator = make_engagelab_simulator()
    configure(settings, TIMEOUT=30, RESEND_COOLDOWN=600)
    return simulator


def test_2000_concurrent_sends_settle_once_each_and_the_cooldown_holds(sim, transactional_db, record_property):
    outcome = Outcome()
    start = threading.Barrier(THREADS)
    workers = [threading.Thread(target=_worker, args=(n, start, outcome)) for n in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers), "a sending thread never finished"

    rows = list(MessageLog.objects.values_list("pk", "to", "status", "message_id"))
    platform_ids = {message.message_id for message in sim.platform.messages}
    row_ids = [message_id for _pk, _to, _status, message_id in rows]
    per_recipient = Counter(to for _pk, to, _status, _id in rows)
    repeats = THREADS * len(range(0, PER_THREAD, REPEAT_EVERY))
    figure(
        record_property,
        "concurrency",
        threads=THREADS,
        sends=THREADS * PER_THREAD,
        attempts=THREADS * PER_THREAD + repeats,
        rows=len(rows),
        settled=sum(1 for row in rows if row[2] != MessageLog.Status.PENDING),
        pending=sum(1 for row in rows if row[2] == MessageLog.Status.PENDING),
        lost=len(platform_ids - set(row_ids)),
        duplicates=(len(row_ids) - len(set(row_ids))) + sum(count - 1 for count in per_recipient.values()),
        refused=len(outcome.throttled),
        repeats=repeats,
        requests=sim.platform.path_counts["/v1/messages"],
        errors=len(outcome.errors),
    )
    assert outcome.errors == []
    assert len(rows) == THREADS * PER_THREAD == len(outcome.accepted)
    assert {status for _pk, _to, status, _id in rows} == {MessageLog.Status.ACCEPTED}
    # None lost, none doubled: the rows' message ids are exactly the simulator's, once each.
    assert len(set(row_ids)) == len(row_ids) and set(row_ids) == platform_ids
    assert {pk for _to, pk, _id in outcome.accepted} == {pk for pk, *_rest in rows}
    # Exactly one accepted send per recipient; every repeat was refused before the platform was called.
    assert max(per_recipient.values()) == 1 and len(per_recipient) == THREADS * PER_THREAD
    assert len(outcome.throttled) == repeats
    assert sim.platform.path_counts["/v1/messages"] == THREADS * PER_THREAD
