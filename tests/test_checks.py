"""``manage.py check`` names every wrong or missing setting, with its id and a hint."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_engagelab_otp.checks import TAG
from tests.support.settings import engagelab

SECRET = settings.ENGAGELAB_OTP["DEV_SECRET"]


def ids(**changes) -> dict[str, object]:
    with engagelab(**changes):
        return {message.id: message for message in run_checks(tags=[TAG])}


def test_the_test_settings_pass():
    assert ids() == {}


@pytest.fixture
def no_env_credentials(monkeypatch):
    monkeypatch.delenv("ENGAGELAB_OTP_DEV_KEY", raising=False)
    monkeypatch.delenv("ENGAGELAB_OTP_DEV_SECRET", raising=False)


@pytest.mark.parametrize(
    ("changes", "check_id", "words"),
    [
        ({"DEV_KEY": ..., "DEV_SECRET": ...}, "E001", ["DEV_KEY, DEV_SECRET"]),
        ({"DEV_SECRET": ""}, "E001", ["DEV_SECRET"]),
        ({"API_URL": "otp.api.engagelab.cc/v1/"}, "E002", ["API_URL"]),
        ({"API_URL": "ftp://otp.api.engagelab.cc/v1/"}, "E002", ["API_URL"]),
        ({"API_URL": "https:///v1/"}, "E002", ["API_URL"]),
        ({"API_URL": 42}, "E002", ["API_URL"]),
        ({"TIMEOUT": 0}, "E003", ["TIMEOUT", "0"]),
        ({"TIMEOUT": -5}, "E003", ["TIMEOUT"]),
        ({"TIMEOUT": "ten"}, "E003", ["TIMEOUT"]),
        ({"TIMEOUT": (3, 0)}, "E003", ["TIMEOUT"]),
        ({"TIMEOUT": (3, 10, 1)}, "E003", ["TIMEOUT"]),
        ({"TIMEOUT": [None, 10]}, "E003", ["TIMEOUT"]),
        ({"MAX_RETRIES": -1}, "E004", ["MAX_RETRIES"]),
        ({"MAX_RETRIES": 1.5}, "E004", ["MAX_RETRIES"]),
        ({"MAX_RETRIES": True}, "E004", ["MAX_RETRIES"]),
        ({"LANGUAGE": "fr"}, "E005", ["'fr'"]),
        ({"DEFAULT_REGION": "gb"}, "E006", ["'gb'"]),
        ({"DEFAULT_REGION": "XX"}, "E006", ["'XX'"]),
        ({"RETRY_BACKOFF": -1}, "E007", ["RETRY_BACKOFF"]),
        ({"RETRY_JITTER": "a little"}, "E007", ["RETRY_JITTER"]),
        ({"BACKEND": "no.such.Backend"}, "E008", ["no.such.Backend"]),
        ({"TEMPLATE_ID": "x" * 129}, "E009", ["TEMPLATE_ID", "128"]),
        ({"TEMPLATE_ID": 12}, "E009", ["TEMPLATE_ID"]),
        ({"TEMPLTE_ID": "otp"}, "W001", ["'TEMPLTE_ID'"]),
        ({"TEMPLATE_ID": ...}, "W002", ["TEMPLATE_ID"]),
        ({"API_URL": "http://otp.api.engagelab.cc/v1/"}, "W003", ["plain http", "otp.api.engagelab.cc"]),
    ],
)
def test_each_problem_is_reported(no_env_credentials, changes, check_id, words):
    found = ids(**changes)
    assert list(found) == [f"django_engagelab_otp.{check_id}"]
    message = found[f"django_engagelab_otp.{check_id}"]
    for word in words:
        assert word in message.msg
    assert message.hint
    assert message.is_serious() is check_id.startswith("E")
    assert SECRET not in f"{message.msg} {message.hint}"


def test_unknown_key_suggests_the_right_one():
    hint = ids(TIMEOUTS=3)["django_engagelab_otp.W001"].hint
    assert hint == "Did you mean 'TIMEOUT'?"
    assert "API_URL" in ids(ZZZ=1)["django_engagelab_otp.W001"].hint


@pytest.mark.parametrize(
    "changes",
    [
        {"TIMEOUT": (3.05, 10)},
        {"TIMEOUT": [3, 10]},
        {"TIMEOUT": 0.5},
        {"MAX_RETRIES": 0},
        {"DEFAULT_REGION": "GB"},
        {"API_URL": "http://127.0.0.1:8025/v1/"},
        {"API_URL": "http://localhost:8025/v1/"},
        {"API_URL": "http://[::1]:8025/v1/"},
        {"RETRY_BACKOFF": 0, "RETRY_JITTER": 0.0},
    ],
)
def test_good_values_pass(changes):
    assert ids(**changes) == {}


def test_credentials_from_the_environment_pass(monkeypatch):
    monkeypatch.setenv("ENGAGELAB_OTP_DEV_KEY", "k")
    monkeypatch.setenv("ENGAGELAB_OTP_DEV_SECRET", "s")
    assert ids(DEV_KEY=..., DEV_SECRET=...) == {}


def test_setting_that_is_not_a_dict():
    with override_settings(ENGAGELAB_OTP=["DEV_KEY", "x"]):
        (message,) = run_checks(tags=[TAG])
    assert message.id == "django_engagelab_otp.E000" and "list" in message.msg and message.hint


def test_several_problems_at_once(no_env_credentials):
    found = ids(DEV_KEY=..., DEV_SECRET=..., TIMEOUT=0, LANGUAGE="xx", TEMPLATE_ID=...)
    assert sorted(found) == [f"django_engagelab_otp.{i}" for i in ("E001", "E003", "E005", "W002")]


def test_manage_py_check_fails_with_id_and_hint(no_env_credentials):
    with engagelab(DEV_KEY=..., DEV_SECRET=...), pytest.raises(SystemCheckError) as info:
        call_command("check", stdout=StringIO(), stderr=StringIO())
    text = str(info.value)
    assert "django_engagelab_otp.E001" in text and "HINT: Set ENGAGELAB_OTP['DEV_KEY']" in text
    assert "ENGAGELAB_OTP_DEV_SECRET" in text


def test_manage_py_check_shows_warnings():
    out, err = StringIO(), StringIO()
    with engagelab(TEMPLATE_ID=...):
        call_command("check", stdout=out, stderr=err)
    assert "django_engagelab_otp.W002" in err.getvalue() and "HINT:" in err.getvalue()


def test_the_checks_can_run_alone():
    out = StringIO()
    call_command("check", "--tag", TAG, stdout=out, stderr=StringIO())
    assert "no issues" in out.getvalue()
