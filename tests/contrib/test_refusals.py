"""The one reading of an EngageLabError that every sign-in flow shares."""

from __future__ import annotations

import logging

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from django_engagelab_otp.contrib.refusals import UNAVAILABLE, current_request, refusal_for, tell
from django_engagelab_otp.errors import FAILURES
from django_engagelab_otp.models import MessageLog


def error(code: int, message: str = "platform text", **kwargs):
    from django_engagelab_otp.errors import ERROR_CODES

    return ERROR_CODES[code].exception(message, **kwargs)


@pytest.mark.parametrize(
    ("make", "status", "retry_after", "field", "text"),
    [
        (lambda: FAILURES["throttled"].exception(wait_seconds=41.2, scope="cooldown"), 429, 42, None, "42 seconds"),
        (lambda: FAILURES["throttled"].exception(wait_seconds=7200, scope="daily"), 429, 7200, None, "2 hours"),
        (lambda: error(3004), 429, None, None, "a moment ago"),
        (lambda: error(2001), 503, None, None, str(UNAVAILABLE)),
        (lambda: error(4001), 503, None, None, str(UNAVAILABLE)),
        (lambda: FAILURES["configuration"].exception(), 503, None, None, str(UNAVAILABLE)),
        (lambda: FAILURES["outage"].exception(), 503, None, None, "having trouble"),
        (lambda: FAILURES["unreachable"].exception(), 503, None, None, "could not be reached"),
        (lambda: FAILURES["timeout"].exception(), 503, None, None, "could not confirm"),
        (lambda: error(1000), 503, None, None, "having trouble"),
        (lambda: error(5016), 503, None, None, "try again"),
        (lambda: error(5013), 400, None, "to", "could not be sent to this recipient"),
        (lambda: error(3003), 400, None, None, "expired or was already used"),
        (lambda: FAILURES["wrong_code"].exception(attempts_left=2), 400, None, "code", "not right"),
        (lambda: FAILURES["verify_locked"].exception(), 400, None, None, "Too many wrong codes"),
    ],
)
def test_every_kind_of_refusal_has_its_status_sentence_and_wait(make, status, retry_after, field, text):
    refusal = refusal_for(make())
    assert (refusal.status, refusal.retry_after, refusal.field) == (status, retry_after, field)
    assert text in refusal.text
    assert refusal.too_many is (status == 429)


def test_an_operators_problem_never_shows_the_platforms_text():
    refusal = refusal_for(error(2001, "key abc123 expired for account 42"))
    assert refusal.text == str(UNAVAILABLE)
    assert "abc123" not in refusal.text and refusal.key == "engagelab_2001"


@pytest.mark.django_db
def test_a_failure_the_core_logged_is_not_logged_again(caplog):
    failed = error(5013, log=MessageLog(kind="otp", to="+8618701235678", template_id="t"))
    with caplog.at_level(logging.DEBUG, logger="django_engagelab_otp.contrib"):
        refusal_for(failed)
        refusal_for(FAILURES["throttled"].exception(wait_seconds=3))
        refusal_for(FAILURES["wrong_code"].exception())
    assert caplog.records == []


def test_an_operators_problem_without_a_row_is_logged_at_error_without_secrets(caplog, settings):
    with caplog.at_level(logging.DEBUG, logger="django_engagelab_otp.contrib"):
        refusal_for(FAILURES["configuration"].exception("ENGAGELAB_OTP['VOICE_TEMPLATE_ID'] is not set"))
        refusal_for(error(3003, "code expired"))
    assert [record.levelno for record in caplog.records] == [logging.ERROR, logging.WARNING]
    assert "VOICE_TEMPLATE_ID" in caplog.records[0].getMessage()
    assert settings.ENGAGELAB_OTP["DEV_SECRET"] not in caplog.text


def test_tell_shows_the_sentence_where_there_is_a_request():
    request = RequestFactory().get("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    refusal = refusal_for(error(5013))
    assert tell(request, refusal) is True
    assert [str(m) for m in get_messages(request)] == ["The message could not be sent to this recipient."]
    assert tell(None, refusal) is False


def test_the_current_request_is_the_one_two_factors_middleware_keeps():
    from two_factor.middleware.threadlocals import ThreadLocals

    request = RequestFactory().get("/")
    seen = []
    ThreadLocals(lambda r: seen.append(current_request()))(request)
    assert seen == [request]


@pytest.mark.parametrize(
    "module",
    [
        "django_engagelab_otp.contrib.two_factor",
        "django_engagelab_otp.contrib.allauth",
        "django_engagelab_otp.contrib.drf",
    ],
)
def test_the_packages_export_their_names_lazily_and_nothing_else(module):
    import importlib

    package = importlib.import_module(module)
    for name in package.__all__:
        assert getattr(package, name).__name__ == name
    with pytest.raises(AttributeError):
        package.NotThere  # noqa: B018
