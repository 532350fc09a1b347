"""A visitor that walks a running demo over plain HTTP, as a person in a browser would.

No browser: a cookie jar, the CSRF token read from each form, and redirects
followed. Used by the tests that run the real demo processes.
"""

from __future__ import annotations

import http.cookiejar
import re
import sqlite3
import time
import urllib.parse
import urllib.request
from pathlib import Path

from .demo import DemoRun

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Visitor:
    """One browser session on the demo site."""

    def __init__(self, demo: DemoRun) -> None:
        self.demo = demo
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[str, str]:
        """(final URL, page) after redirects."""
        with self.opener.open(self.demo.site + path.lstrip("/"), timeout=15) as answer:
            return answer.geturl(), answer.read().decode()

    def submit(self, path: str, fields: dict[str, str]) -> tuple[str, str]:
        """Fill the form at ``path`` and post it (with the page's CSRF token)."""
        _url, page = self.get(path)
        token = _CSRF.search(page)
        assert token, f"no form on {path}"
        body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token.group(1)}).encode()
        request = urllib.request.Request(
            self.demo.site + path.lstrip("/"), data=body, headers={"Referer": self.demo.site}
        )
        with self.opener.open(request, timeout=15) as answer:
            return answer.geturl(), answer.read().decode()

    def request_and_verify(self, to: str) -> str:
        """Sign in with a code sent to ``to`` (a new account the first time); returns the message id."""
        url, page = self.submit("/", {"to": to, "language": ""})
        assert url.endswith("/verify/"), f"the send failed: {url}\n{page[:2000]}"
        sent = self.demo.last_code(to)
        url, page = self.submit("/verify/", {"code": sent["code"]})
        assert url.endswith("/account/"), f"the code was refused: {url}\n{page[:2000]}"
        return sent["message_id"]

    def sign_in_to_admin(self) -> None:
        """As the demo's admin (admin / admin, demo only)."""
        fields = {"username": "admin", "password": "admin", "next": "/admin/"}
        url, _page = self.submit("/admin/login/", fields)
        assert not url.rstrip("/").endswith("/login"), "the demo admin could not sign in"


#: The callbacks the simulator plays for an ordinary recipient whose code was verified.
FULL_LIFE = frozenset({"plan", "sent", "delivered", "verified"})


def wait_for_timelines(database: Path, message_ids: list[str], timeout: float = 30) -> dict[str, set[str]]:
    """Wait until each message's timeline in the demo's SQLite file holds ``FULL_LIFE``; returns what it holds."""
    deadline = time.monotonic() + timeout
    marks = ",".join("?" * len(message_ids))
    query = (
        "SELECT l.message_id, e.event FROM django_engagelab_otp_messagelog l "  # noqa: S608 - placeholders only
        f"JOIN django_engagelab_otp_messageevent e ON e.log_id = l.id WHERE l.message_id IN ({marks})"
    )
    while True:
        timelines: dict[str, set[str]] = {message_id: set() for message_id in message_ids}
        with sqlite3.connect(database, timeout=10) as db:
            for message_id, event in db.execute(query, message_ids):
                timelines[message_id].add(event)
        if all(events >= FULL_LIFE for events in timelines.values()) or time.monotonic() > deadline:
            return timelines
        time.sleep(0.2)


def problems(output: str) -> list[str]:
    """Lines of the demo's output that report a failure: ERROR logs, locked databases, 5xx answers."""
    bad = re.compile(r"\bERROR\b|OperationalError|database is locked|Traceback|\" 5\d\d \d")
    return [line for line in output.splitlines() if bad.search(line)]
