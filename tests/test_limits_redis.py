"""The limits in the real Redis of this machine (127.0.0.1:6379): across OS processes, keys hashed and expiring."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory, override_settings

from django_engagelab_otp import send_otp, verify_otp
from django_engagelab_otp.exceptions import EngageLabError, ThrottledError, VerificationLockedError
from django_engagelab_otp.forms import SendOTPForm
from django_engagelab_otp.models import MessageLog
from tests.support.constants import API, PHONE, ROOT
from tests.support.processes import race
from tests.support.settings import configure
from tests.support.webhooks import REDIS_URL, redis_cache, redis_keys

PROCESSES = 6

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis():
    """Redis as the default cache (limits and client rates), with a key prefix of its own."""
    with redis_cache() as config, override_settings(CACHES={"default": config}):
        yield config


def start_sender(simulator, config, recipient):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "SIM_URL": simulator.url,
        "SIM_KEY": simulator.dev_key,
        "SIM_SECRET": simulator.dev_secret,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": config["KEY_PREFIX"],
        "RECIPIENT": recipient,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.redis_sender"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_processes_racing_for_one_recipient_send_exactly_one_message(engagelab_simulator, redis):
    results = race([start_sender(engagelab_simulator, redis, PHONE) for _ in range(PROCESSES)])
    outcomes = sorted(result["outcome"] for result in results)
    assert outcomes == ["sent"] + ["throttled"] * (PROCESSES - 1), results
    assert {r["scope"] for r in results if r["outcome"] == "throttled"} == {"cooldown"}
    assert len(engagelab_simulator.platform.messages) == 1
    assert engagelab_simulator.platform.path_counts["/v1/messages"] == 1

    # This process shares the limits with them.
    with pytest.raises(ThrottledError):
        send_otp(PHONE)
    keys = redis_keys(redis)
    assert len(keys) == 3  # the cooldown's two buckets of time and one of the day's units
    assert all(0 < ttl <= 86400 + 60 for ttl in keys.values())
    assert sorted(keys.values())[1] <= 3 * 60, "the cooldown's keys expire on their own, within two cooldowns"
    assert not any(PHONE.lstrip("+")[-8:].encode() in key for key in keys)


def test_a_failed_send_gives_back_the_cooldown_and_the_count_in_redis(api, redis, settings):
    configure(settings, DAILY_LIMIT=1, MAX_RETRIES=0)
    api.post(API + "messages", status=400, json={"code": 5012, "message": "target unreachable"})
    with pytest.raises(EngageLabError):
        send_otp(PHONE)
    assert redis_keys(redis) == {}, "the day's unit and the cooldown given back"
    api.replace("POST", API + "messages", json={"message_id": "m1", "send_channel": "sms"})
    send_otp(PHONE)
    with pytest.raises(ThrottledError) as info:
        send_otp(PHONE)
    assert info.value.scope == "cooldown"
    configure(settings, RESEND_COOLDOWN=0)
    with pytest.raises(ThrottledError) as info:
        send_otp(PHONE)
    assert info.value.scope == "daily"


def test_verification_counts_of_unknown_messages_in_redis(api, redis):
    api.post(API + "verifications", json={"message_id": "elsewhere", "verify_code": "0000", "verified": False})
    for _ in range(5):
        assert verify_otp("elsewhere", "000000") is False
    with pytest.raises(VerificationLockedError):
        verify_otp("elsewhere", "000000")
    assert len(api.calls) == 5 and not MessageLog.objects.exists()


def test_client_rates_in_redis(api, redis, settings):
    configure(settings, IP_RATE="1/h", RESEND_COOLDOWN=0)
    api.post(API + "messages", json={"message_id": "m1", "send_channel": "sms"})

    def form():
        request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
        request.user = AnonymousUser()
        sent = SendOTPForm({"to": PHONE}, request=request)
        sent.is_valid()
        return sent

    assert form().log is not None
    assert form().non_field_errors()
    assert not any(b"203.0.113" in key for key in redis_keys(redis))
