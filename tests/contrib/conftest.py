"""Fixtures shared by the sign-in integrations' tests (run with ``--ds tests.contrib.settings``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings

if "django_engagelab_otp.contrib.otp" not in django_settings.INSTALLED_APPS:
    raise pytest.UsageError(
        "tests/contrib need their own settings: pytest tests/contrib --ds tests.contrib.settings (make test runs them)"
    )

#: An ordinary number, and the simulator's magic recipients for each refusal (docs/testing.md, "Magic recipients").
PHONE = "+8618701235678"
OTHER_PHONE = "+6591234567"
BLOCKED = "+442079460513"  # error-5013: number is on the block list
FREQUENT = "+442079460304"  # error-3004: the platform's frequency limit
OUTAGE = "+442079460903"  # fault-empty-503: HTTP 503, nothing sent
TEMPLATE_GONE = "+442079460401"  # error-4001: an operator's problem

#: Every refusal the issue names. "locked" is driven by each flow in its own way.
SEND_REFUSALS = ["cooldown", "daily_cap", "blocked_5013", "frequency_3004", "outage"]

#: How each refusal of a send begins, as the person reads it.
REFUSED_TEXT = {
    "cooldown": "A code was sent a moment ago. You can ask for another in",
    "daily_cap": "No more codes can be sent to this recipient today. Please try again in",
    "blocked_5013": "The message could not be sent to this recipient.",
    "frequency_3004": "A code was sent to this recipient a moment ago.",
    "outage": "The message service is having trouble.",
}

PASSWORD = "pw-ada-123"


def wrong(code: str) -> str:
    """A code of the same shape that is not ``code``."""
    return "000000" if code != "000000" else "111111"


def two_factor_log_in(client: Any) -> Any:
    """The first step of django-two-factor-auth's login, as user "ada"."""
    data = {"auth-username": "ada", "auth-password": PASSWORD, "login_view-current_step": "auth"}
    return client.post("/account/login/", data)


def two_factor_token(client: Any, token: str) -> Any:
    """The token step of django-two-factor-auth's login."""
    return client.post("/account/login/", {"token-otp_token": token, "login_view-current_step": "token"})


@pytest.fixture
def otp_config(settings: Any) -> Callable[..., None]:
    """``otp_config(DAILY_LIMIT=1)``: change ENGAGELAB_OTP keys for one test."""

    def configure(**values: Any) -> None:
        settings.ENGAGELAB_OTP = {**settings.ENGAGELAB_OTP, **values}

    return configure


@pytest.fixture
def user(db: None) -> Any:
    """ "ada", who signs in with a password first where a flow asks for one."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("ada", password=PASSWORD)


@pytest.fixture
def outbox(engagelab_outbox: list[Any]) -> Iterator[list[Any]]:
    """The in-memory platform's outbox (the backend the integrations' tests use)."""
    yield engagelab_outbox


def prepare(refusal: str, otp_config: Callable[..., None], send_once: Callable[[str], Any]) -> str:
    """Set up ``refusal`` for the next send and return the recipient to send to.

    ``send_once(recipient)`` is the flow's own way of sending (so a cooldown or
    a day's cap is spent the way the flow spends it).
    """
    if refusal == "cooldown":
        send_once(PHONE)
        return PHONE
    if refusal == "daily_cap":
        otp_config(DAILY_LIMIT=1, RESEND_COOLDOWN=0)
        send_once(PHONE)
        return PHONE
    return {"blocked_5013": BLOCKED, "frequency_3004": FREQUENT, "outage": OUTAGE}[refusal]
