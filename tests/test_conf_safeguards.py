"""Settings that could weaken a safeguard: every limit and callback key given text, negative, float, ``None`` …

What is in force must be the given value where it is a valid choice (``"60"``
is 60, as environment variables write it; ``False`` or ``0`` turns off only
the keys documented so), and the default otherwise, reported by
``manage.py check`` under the key's id and logged once.
"""

from __future__ import annotations

import logging

import pytest
from django.core.checks import Tags, run_checks
from django.test import RequestFactory

from django_engagelab_otp import send_otp
from django_engagelab_otp.checks import TAG
from django_engagelab_otp.conf import DEFAULTS, otp_settings
from django_engagelab_otp.exceptions import ThrottledError
from django_engagelab_otp.limits import check_client
from tests.support.answers import accept, requests_to
from tests.support.constants import PHONE
from tests.support.settings import configure

pytestmark = pytest.mark.django_db

#: The check id that reports each key.
CHECK_IDS = {
    "RESEND_COOLDOWN": "E010",
    "DAILY_LIMIT": "E010",
    "MAX_VERIFY_ATTEMPTS": "E010",
    "IP_RATE": "E011",
    "USER_RATE": "E011",
    "WEBHOOK_TOLERANCE": "E102",
    "WEBHOOK_MAX_BODY": "E102",
}
VALUES = ["60", "ten", -1, 2.5, None, True, [], False, 0, "5/0m"]
DEFAULT = object()  # the key's default is in force
OFF = 0

#: What is in force for each value given (in the order of VALUES); DEFAULT after a wrong one.
IN_FORCE = {
    # Seconds may be fractional; False or 0 turns the cooldown off.
    "RESEND_COOLDOWN": [60, DEFAULT, DEFAULT, 2.5, DEFAULT, DEFAULT, DEFAULT, OFF, OFF, DEFAULT],
    # Whole numbers of messages; False or 0 turns the cap (the lock) off.
    "DAILY_LIMIT": [60, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, OFF, OFF, DEFAULT],
    "MAX_VERIFY_ATTEMPTS": [60, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, OFF, OFF, DEFAULT],
    # Rates are "N/period"; only False turns one off, and a period of no time is no rate.
    "IP_RATE": [DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, False, DEFAULT, DEFAULT],
    "USER_RATE": [DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, False, DEFAULT, DEFAULT],
    # Callback checks cannot be turned off: at least one second, one byte.
    "WEBHOOK_TOLERANCE": [60, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT],
    "WEBHOOK_MAX_BODY": [60, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT],
}
CASES = [
    pytest.param(key, value, in_force, id=f"{key}={value!r}")
    for key, column in IN_FORCE.items()
    for value, in_force in zip(VALUES, column, strict=True)
]


def reported(key: str) -> list[str]:
    """What ``manage.py check`` says about ``key``, by message."""
    messages = run_checks(tags=[TAG, Tags.security])
    return [m.msg for m in messages if m.id.endswith(CHECK_IDS[key]) and f"[{key!r}]" in m.msg]


@pytest.mark.parametrize(("key", "value", "in_force"), CASES)
def test_a_value_is_used_when_valid_and_else_the_default_reported_and_logged_once(
    settings, caplog, key, value, in_force
):
    configure(settings, **{key: value})
    with caplog.at_level(logging.ERROR, logger="django_engagelab_otp"):
        used = [getattr(otp_settings, key) for _ in range(3)][-1]  # read on every send
    wrong = in_force is DEFAULT and value is not None  # None means "not set": the default, silently
    expected = DEFAULTS[key] if in_force is DEFAULT else in_force
    assert used == expected and isinstance(used, bool) == isinstance(expected, bool)
    assert bool(reported(key)) == wrong
    logged = [r for r in caplog.records if f"[{key!r}]" in r.getMessage()]
    assert len(logged) == (1 if wrong else 0)
    if wrong:
        assert f"Using {DEFAULTS[key]!r} instead" in logged[0].getMessage()


def test_a_limit_written_as_text_holds_end_to_end(api, settings):
    configure(settings, DAILY_LIMIT="3", RESEND_COOLDOWN="0")
    accept(api)
    for _ in range(3):
        send_otp(PHONE)
    with pytest.raises(ThrottledError) as info:
        send_otp(PHONE)
    assert info.value.scope == "daily" and requests_to(api) == 3


def test_a_rate_of_no_time_keeps_the_default_rate_at_work(settings):
    configure(settings, IP_RATE="1/0m")
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.8")
    for _ in range(20):  # the default, 20 an hour: not an error page, nor no limit
        check_client(request, "send")
    with pytest.raises(ThrottledError) as info:
        check_client(request, "send")
    assert info.value.scope == "ip"
