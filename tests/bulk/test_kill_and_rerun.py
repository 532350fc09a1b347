"""A bulk run killed halfway, then run again: the proof that a batch sends each line once.

The run is a real ``manage.py engagelab_send --csv`` process against the
simulator (answering after 50 ms, so that the run lasts), sharing the test's
PostgreSQL database and Redis. It is killed once about a third of the lines
are accepted:

* with SIGTERM (what ``kill`` sends, and systemd, and Docker): it stops
  cleanly, and the rerun sends every other line: each line exactly once;
* with SIGKILL (no chance to clean up): the requests under way are lost with
  it; their rows stay ``pending``, the rerun settles them ``unknown`` and
  sends every other line: no line twice, each line accepted exactly once or
  listed as of unknown outcome, and those are at most the run's window.

And two runs of one batch started together (an overlapping cron job): each
row is taken by one of them, so no line is sent twice, and every row ends
accepted.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys

import pytest
from django.db import connection
from django.test import override_settings

from django_engagelab_otp.models import MessageLog
from tests.support.constants import ROOT
from tests.support.simulator import wait_for
from tests.support.webhooks import redis_cache
from tests.support.workers import World

LINES = 600
CONCURRENCY = 8
#: The most lines a SIGKILL can leave pending: the rows handed to the threads and one step's answers.
WINDOW = 5 * CONCURRENCY

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the run's process shares the test database"),
    pytest.mark.django_db(transaction=True),
]


def phone(number: int) -> str:
    return f"+86187{20_000_000 + number:08d}"


@pytest.fixture
def world(engagelab_simulator, tmp_path):
    engagelab_simulator.platform.configure(latency_ms=50)
    with redis_cache() as config, override_settings(CACHES={"default": config}):
        yield World(engagelab_simulator, config["KEY_PREFIX"], engagelab={"MAX_RETRIES": 0})


@pytest.fixture
def lines(tmp_path):
    path = tmp_path / "campaign.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["to", "name"])
        writer.writerows((phone(n), f"Customer {n}") for n in range(LINES))
    return str(path)


def start(world: World, path: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "django", "engagelab_send", "--csv", path, "--batch", "campaign-1"]
    command += ["--template", "demo-otp", "--concurrency", str(CONCURRENCY)]
    return subprocess.Popen(
        command, cwd=ROOT, env=world.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def accepted() -> int:
    return MessageLog.objects.filter(idempotency_key__startswith="bulk:campaign-1:", status="accepted").count()


def kill_a_third_of_the_way(world, path, signum) -> tuple[int, str]:
    run = start(world, path)
    try:
        wait_for(lambda: accepted() >= LINES // 3, timeout=60)
        os.kill(run.pid, signum)
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert accepted() < LINES, "the run ended before it was killed"
    return run.returncode, out + err


def rerun(world, path) -> tuple[int, str]:
    run = start(world, path)
    out, err = run.communicate(timeout=120)
    return run.returncode, out + err


def received(sim) -> dict[str, int]:
    counts: dict[str, int] = {}
    for message in sim.platform.messages:
        counts[message.to] = counts.get(message.to, 0) + 1
    return counts


def test_stopped_with_sigterm_then_rerun_sends_each_line_exactly_once(world, lines):
    status, output = kill_a_third_of_the_way(world, lines, signal.SIGTERM)
    assert status == 130, output
    assert "stopped cleanly" in output
    assert not MessageLog.objects.filter(status__in=["pending", "unknown"]).exists()
    status, output = rerun(world, lines)
    assert status == 0, output
    assert "done by an earlier run (skipped)" in output
    assert received(world.simulator) == {phone(n): 1 for n in range(LINES)}
    assert accepted() == LINES


def test_killed_with_sigkill_then_rerun_never_sends_a_line_twice(world, lines):
    status, output = kill_a_third_of_the_way(world, lines, signal.SIGKILL)
    assert status == -signal.SIGKILL
    pending = MessageLog.objects.filter(status="pending").count()
    assert pending <= WINDOW
    status, output = rerun(world, lines)
    assert status == (6 if pending else 0), output  # 6: some lines of unknown outcome
    rows = dict(MessageLog.objects.values_list("to", "status"))
    counts = received(world.simulator)
    assert len(rows) == LINES and set(rows.values()) <= {"accepted", "unknown"}
    assert max(counts.values()) == 1  # no line twice
    assert all(counts.get(to) == 1 for to, status in rows.items() if status == "accepted")
    assert sum(status == "unknown" for status in rows.values()) == pending


def test_two_runs_of_one_batch_at_once_never_send_a_line_twice(world, lines):
    runs = [start(world, lines) for _ in range(2)]
    outputs = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        outputs.append((run.returncode, out + err))
    # Each may have counted lines the other had in flight as of unknown outcome (exit status 6).
    assert all(status in (0, 6) for status, _ in outputs), outputs
    sent = [int(re.search(r"^  sent +(\d+)$", output, re.MULTILINE).group(1)) for _, output in outputs]
    assert min(sent) > 0 and sum(sent) == LINES, outputs  # they ran together, and shared the lines
    assert received(world.simulator) == {phone(n): 1 for n in range(LINES)}
    assert accepted() == LINES  # the run that sent a line wrote its outcome, over the other's "unknown"
