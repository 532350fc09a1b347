"""What the proofs of the limits try at once: one limit, many simultaneous attempts, how many must pass.

Used by the threads of a test (``tests/proofs/test_limit_backends.py``) and by
the worker processes (``tests/support/limits_worker.py``) alike, so that both
try the same thing. Threads of the test send for real (``send_otp`` through
the in-memory platform: row, request, limits); a worker process claims the
limits as ``send_otp`` does (``limits.claim_send``), needing no database of
its own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.test import RequestFactory

from django_engagelab_otp import limits, send_otp
from django_engagelab_otp.exceptions import EngageLabError, ThrottledError
from tests.support.constants import PHONE

CLIENT_IP = "203.0.113.7"
GRANTED = "granted"


@dataclass(frozen=True)
class Scenario:
    """One limit under a burst: its settings, how many threads try at once and how often, how many must pass.

    Each thread makes ``per_thread`` attempts one after the other: with a
    database cache each thread holds a connection, and PostgreSQL takes 100.
    """

    name: str
    changes: dict[str, Any]
    threads: int
    granted: int
    #: The throttle scope a refusal must name.
    scope: str
    per_thread: int = 1

    @property
    def attempts(self) -> int:
        return self.threads * self.per_thread

    def attempts_of(self, thread: int, *, send: bool) -> list[str]:
        """The outcomes of one thread's attempts."""
        first = thread * self.per_thread
        return [self.attempt(first + i, send=send) for i in range(self.per_thread)]

    def attempt(self, index: int, *, send: bool) -> str:
        """One attempt: ``"granted"``, ``"refused:<scope>"`` or ``"error:<what>"``.

        ``send``: through ``send_otp`` (a database is needed), else by claiming the limits alone.
        """
        try:
            if self.name in ("cooldown", "daily"):
                # The daily cap counts across templates: each attempt its own template, so that
                # only the cap can refuse it (the cooldown is off in that scenario anyway).
                template = "login-otp" if self.name == "cooldown" else f"daily-{index}"
                if send:
                    send_otp(PHONE, template)
                else:
                    limits.claim_send(PHONE, template)
            else:
                limits.check_client(client_request(), "send")
        except ThrottledError as error:
            return f"refused:{error.scope}"
        except EngageLabError as error:
            return f"error:{error!r}"
        return GRANTED


SCENARIOS = (
    Scenario("cooldown", {"RESEND_COOLDOWN": 3600, "DAILY_LIMIT": 0}, threads=32, granted=1, scope="cooldown"),
    Scenario("daily", {"RESEND_COOLDOWN": 0, "DAILY_LIMIT": 10}, threads=32, granted=10, scope="daily"),
    Scenario("ip", {"IP_RATE": "20/h", "USER_RATE": False}, threads=32, per_thread=2, granted=20, scope="ip"),
    Scenario("user", {"IP_RATE": False, "USER_RATE": "10/h"}, threads=32, granted=10, scope="user"),
)
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


def client_request() -> Any:
    """A form post from one client address by one signed-in user (a stand-in: no database needed)."""
    request = RequestFactory().post("/", REMOTE_ADDR=CLIENT_IP)
    request.user = SimpleNamespace(pk=7, is_authenticated=True)
    return request


@dataclass
class Tally:
    """What a burst of attempts came to."""

    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def granted(self) -> int:
        return self.outcomes[GRANTED]

    @property
    def attempted(self) -> int:
        return sum(self.outcomes.values())

    def add(self, outcomes: Any) -> None:
        self.outcomes.update(outcomes)
