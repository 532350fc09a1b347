"""``engagelab_sweep``: rows a sender abandoned are settled; live ones, fresh ones and a bulk run's are not.

A ``db_worker`` killed mid-request, leaving its row for the sweep, is in
test_workers.py (a real worker process on PostgreSQL).
"""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from django_engagelab_otp import send_otp
from django_engagelab_otp.exceptions import ThrottledError
from django_engagelab_otp.history import sweep as rows
from django_engagelab_otp.management.base import Exit
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.signals import message_failed
from django_engagelab_otp.tasks import claims
from django_engagelab_otp.tasks.django_tasks import enqueue_otp
from django_engagelab_otp.tasks.sweep import LEFT_PENDING, NEVER_TAKEN, longest_request, sweep
from tests.support.constants import PHONE
from tests.support.settings import engagelab

pytestmark = pytest.mark.django_db(transaction=True)

#: The defaults a request's longest life is read from.
REQUEST = {"TIMEOUT": 10, "MAX_RETRIES": 2, "RETRY_BACKOFF_MAX": 8.0, "RETRY_JITTER": 0.25}


def aged(log: MessageLog, minutes: float, status: str | None = None) -> MessageLog:
    """The row as if its last change were ``minutes`` ago."""
    changes = {"updated_at": timezone.now() - timedelta(minutes=minutes)}
    if status:
        changes["status"] = status
    MessageLog.objects.filter(pk=log.pk).update(**changes)
    return MessageLog.objects.get(pk=log.pk)


def row(status: str, minutes: float, key: str | None = None, to: str = PHONE) -> MessageLog:
    log = MessageLog.objects.create(kind="otp", to=to, template_id="demo-otp", status=status, idempotency_key=key)
    return aged(log, minutes)


def run(*args: str) -> str:
    out = StringIO()
    call_command("engagelab_sweep", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def status(log: MessageLog) -> str:
    return MessageLog.objects.get(pk=log.pk).status


def test_a_row_left_pending_is_settled_unknown_and_the_others_are_left_alone():
    stuck = row("pending", 20)
    fresh = row("pending", 1)
    accepted = row("accepted", 60)
    queued = row("queued", 60, key="task:mine")
    out = run()
    assert "as unknown 1" in out and "as failed 0" in out
    swept = MessageLog.objects.get(pk=stuck.pk)
    assert (swept.status, swept.error_message) == ("unknown", LEFT_PENDING)
    assert [status(log) for log in (fresh, accepted, queued)] == ["pending", "accepted", "queued"]
    assert run().count("as unknown 0") == 1  # a second sweep finds nothing left


def test_background_sends_never_taken_fail_only_when_asked_and_give_their_limits_back(sim, dummy):
    log = enqueue_otp(PHONE, "demo-otp")
    with pytest.raises(ThrottledError):
        send_otp(PHONE, "demo-otp")  # the cooldown was claimed at enqueue
    aged(log, 3 * 60)
    assert "as failed 0" in run()  # a long backlog is not a loss: nothing by default
    assert status(log) == "queued"

    told = []
    message_failed.connect(receiver := lambda sender, log, error, **kwargs: told.append((log.pk, str(error))))
    try:
        out = run("--queued-after", "2h")
    finally:
        message_failed.disconnect(receiver)
    assert "as failed 1" in out
    swept = MessageLog.objects.get(pk=log.pk)
    assert (swept.status, swept.error_message) == ("failed", NEVER_TAKEN)
    assert told == [(log.pk, NEVER_TAKEN)]
    assert claims.held(log.pk) == claims.limits.NO_CLAIM
    assert send_otp(PHONE, "demo-otp").status == "accepted"  # the cooldown was given back
    assert sim.platform.request_count == 1


def test_the_task_of_a_swept_row_sends_nothing(sim, dummy):
    from django_engagelab_otp.tasks import django_tasks

    log = aged(enqueue_otp(PHONE, "demo-otp"), 3 * 60)
    run("--queued-after", "2h")
    (result,) = dummy.results
    assert django_tasks.send_message.call(*result.args) == "failed"  # the queue found it after all: nothing to do
    assert sim.platform.request_count == 0 and status(log) == "failed"


def test_a_bulk_runs_queued_lines_wait_for_its_rerun():
    line = row("queued", 10 * 24 * 60, key="bulk:spring:17")
    out = run("--queued-after", "1d")
    assert "as failed 0" in out and "queued for a rerun: 1" in out
    assert status(line) == "queued"


def test_a_sender_that_settles_first_wins():
    stuck = row("pending", 20)
    before = timezone.now() - timedelta(minutes=15)
    MessageLog.objects.filter(pk=stuck.pk).update(status="accepted")  # its sender answered after all
    assert rows.move(stuck.pk, "pending", "unknown", before, LEFT_PENDING) is False
    assert status(stuck) == "accepted"


def test_dry_run_counts_and_changes_nothing():
    stuck = row("pending", 20)
    queued = row("queued", 5 * 60)
    out = run("--dry-run", "--queued-after", "3h")
    assert out.startswith("Would settle") and "as unknown 1" in out and "as failed 1" in out
    assert [status(stuck), status(queued)] == ["pending", "queued"]


def test_json_for_machines():
    row("pending", 30)
    assert json.loads(run("--json")) == {"unknown": 1, "failed": 0, "bulk_queued": 0, "dry_run": False}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--pending-after", "30s"], "--pending-after must be at least 47 seconds"),
        (["--queued-after", "1m"], "--queued-after must be at least 120 seconds"),
        (["--pending-after", "soon"], "--pending-after takes a whole number and a unit"),
        (["--queued-after", "0h"], "--queued-after must be more than zero"),
    ],
)
def test_an_age_too_short_or_unreadable_is_one_line_with_exit_2(args, says):
    stuck = row("pending", 20)
    with engagelab(**REQUEST, TASK_RETRIES=3, TASK_RETRY_DELAY=30), pytest.raises(CommandError) as info:
        run(*args)
    assert info.value.returncode == Exit.USAGE and says in str(info.value) and "\n" not in str(info.value)
    assert status(stuck) == "pending"


def test_the_function_refuses_an_age_a_request_may_still_be_under_way():
    with engagelab(**REQUEST):
        assert longest_request() == timedelta(seconds=10 * 3 + 2 * (8.0 + 0.25))  # every attempt, every wait
        with pytest.raises(ValueError, match="shorter than a request may last"):
            sweep(pending_after=longest_request() - timedelta(seconds=1))
        with engagelab(**{**REQUEST, "TIMEOUT": (3.05, 10)}):
            assert longest_request() == timedelta(seconds=13.05 * 3 + 2 * (8.0 + 0.25))
