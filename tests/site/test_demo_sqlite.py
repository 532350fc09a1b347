"""Issue 10, point 9: on the example project's SQLite settings, a walk through the demo logs no error.

In every walk a send and the simulator's callbacks write at once: the
``plan`` row is posted the moment the platform accepts, while the site is
still saving the answer. With SQLite's defaults the callback view met
"database is locked" and answered 503. Real processes (``demo.py``: the
simulator and runserver), a visitor over HTTP, and the demo's whole output read.
"""

from __future__ import annotations

import sqlite3

import pytest

from tests.support.demo import DemoRun
from tests.support.demo_walk import FULL_LIFE, Visitor, problems, wait_for_timelines

pytestmark = pytest.mark.slow

#: Codes requested and verified in one walk; each send races its own callbacks.
SENDS = 3
CALLBACK_ANSWERED = '"POST /engagelab/callback/ HTTP/1.1" 200'


def test_a_demo_walk_logs_no_error(tmp_path):
    database = tmp_path / "demo.sqlite3"
    demo = DemoRun(database)
    try:
        demo.wait_ready()
        visitor = Visitor(demo)
        message_ids = [visitor.request_and_verify(f"+86187012356{number:02d}") for number in range(SENDS)]
        visitor.sign_in_to_admin()
        visitor.get("/admin/django_engagelab_otp/messagelog/")
        timelines = wait_for_timelines(database, message_ids)
        assert all(events >= FULL_LIFE for events in timelines.values()), timelines
        assert demo.interrupt() == 0
    finally:
        demo.stop()
    assert not problems(demo.output), "\n".join(problems(demo.output))
    assert demo.output.count(CALLBACK_ANSWERED) >= SENDS * 2, "the callbacks reached the site"
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
