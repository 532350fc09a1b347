"""``manage.py engagelab_purge``: old history deleted in batches, with its events; bad input in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_engagelab_otp.management.base import Exit, parse_age
from django_engagelab_otp.models import MessageEvent, MessageLog
from tests.support.constants import ROOT

pytestmark = pytest.mark.django_db


def log(days_ago: float, n: int = 0) -> MessageLog:
    created = timezone.now() - timedelta(days=days_ago)
    return MessageLog.objects.create(
        kind="otp", to="+8618701235678", template_id="t", status="delivered", message_id=f"m{days_ago}-{n}",
        created_at=created,
    )  # fmt: skip


def event(owner: MessageLog | None, days_ago: float, name: str = "delivered") -> MessageEvent:
    when = timezone.now() - timedelta(days=days_ago)
    return MessageEvent.objects.create(
        log=owner,
        message_id=owner.message_id if owner else f"x{days_ago}-{name}",
        event=name,
        occurred_at=when,
        received_at=when,
    )


@pytest.fixture
def history():
    """7 old messages with 2 events each, 3 recent ones with 1, old and recent orphan events."""
    old = [log(100 + i, i) for i in range(7)]
    recent = [log(10 + i, i) for i in range(3)]
    for item in old:
        event(item, 99, "sent")
        event(item, 99, "delivered")
    for item in recent:
        event(item, 9)
    event(recent[0], 200, "plan")  # an old event of a recent message stays with it
    orphans_old = [event(None, 120, f"o{i}") for i in range(3)]
    orphans_recent = [event(None, 5, "recent")]
    return {"old": old, "recent": recent, "orphans_old": orphans_old, "orphans_recent": orphans_recent}


def purge(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("engagelab_purge", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_old_history_goes_with_its_events_and_old_orphans(history):
    out, _err = purge("--older-than", "90d", "--batch-size", "3")
    assert out.endswith("deleted: messages 7, their callback events 14, callback events for no known message 3.\n"), out
    assert sorted(MessageLog.objects.values_list("pk", flat=True)) == sorted(m.pk for m in history["recent"])
    assert MessageEvent.objects.filter(log__isnull=False).count() == 4
    assert list(MessageEvent.objects.filter(log__isnull=True)) == history["orphans_recent"]


def test_dry_run_counts_and_deletes_nothing(history):
    out, _err = purge("--older-than", "90d", "--dry-run")
    assert out.startswith("Older than ") and out.endswith(
        "would delete: messages 7, their callback events 14, callback events for no known message 3.\n"
    ), out
    assert MessageLog.objects.count() == 10 and MessageEvent.objects.count() == 22


def test_deletes_in_batches_by_primary_key(history):
    with CaptureQueriesContext(connection) as queries:
        purge("--older-than", "90d", "--batch-size", "2")
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE") and "messagelog" in q["sql"]]
    assert len(deletes) == 4, deletes  # 7 rows, 2 at a time
    assert not any("LOCK" in q["sql"].upper() for q in queries.captured_queries)


def test_progress_is_shown_when_asked(history):
    _out, err = purge("--older-than", "90d", "--batch-size", "2", "--verbosity", "2")
    assert "10/10" in err and "100%" in err


def test_no_progress_bar_off_a_terminal(history):
    _out, err = purge("--older-than", "90d")
    assert err == ""


def test_nothing_to_delete():
    log(1)
    out, _err = purge("--older-than", "2d")
    assert "deleted: messages 0," in out and MessageLog.objects.count() == 1


def test_the_cutoff_is_exact():
    keep, drop = log(0.4), log(0.6)
    purge("--older-than", "12h")
    assert list(MessageLog.objects.all()) == [keep] and drop.pk != keep.pk


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90d", 90 * 86400), ("12h", 43200), ("30m", 1800), ("45s", 45), ("2w", 14 * 86400), (" 7D ", 7 * 86400)],
)
def test_ages(text, seconds):
    assert parse_age(text, "--older-than") == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "args",
    [
        ["--older-than", "ninety days"],
        ["--older-than", "90"],
        ["--older-than", "90y"],
        ["--older-than", "0d"],
        ["--older-than=-5d"],
        ["--older-than", "1.5d"],
        ["--older-than", "9" * 12 + "w"],
        ["--older-than", "999999999d"],
        ["--older-than", "90d\x00"],
        ["--older-than", "90d", "--batch-size", "0"],
        ["--older-than", "90d", "--batch-size", "-1"],
        ["--older-than", "90d", "--batch-size", "lots"],
        ["--older-than", "90d", "--batch-size", "100001"],
    ],
)
def test_bad_input_is_one_line_with_exit_2(history, args):
    with pytest.raises(CommandError) as info:
        purge(*args)
    assert info.value.returncode == Exit.USAGE
    assert "\n" not in str(info.value) and "\x00" not in str(info.value) and str(info.value)
    assert MessageLog.objects.count() == 10


def test_from_a_terminal_bad_input_prints_one_line_and_no_traceback():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "django", "engagelab_purge", "--older-than", "soon"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == Exit.USAGE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("CommandError: --older-than") and "Traceback" not in result.stderr


def test_an_unmigrated_database_is_one_line_with_exit_3():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)  # a fresh in-memory SQLite database: no tables
    result = subprocess.run(
        [sys.executable, "-m", "django", "engagelab_purge", "--older-than", "90d"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == Exit.CONFIGURATION
    assert len(result.stderr.strip().splitlines()) == 1 and "migrate" in result.stderr
