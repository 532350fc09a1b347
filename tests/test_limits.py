"""The abuse limits: resend cooldown, daily cap, client rates; their errors, logs, cache keys and checks."""

from __future__ import annotations

import logging
import pickle
import re
from io import StringIO

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache, caches
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.test import RequestFactory, override_settings
from django.utils.functional import Promise

from django_engagelab_otp import limits, send_code, send_custom_message, send_otp
from django_engagelab_otp.checks import TAG
from django_engagelab_otp.conf import DEFAULTS
from django_engagelab_otp.errors import FAILURES
from django_engagelab_otp.exceptions import (
    ConfigurationError,
    EngageLabError,
    RateLimitError,
    ServerError,
    ThrottledError,
    wait_message,
)
from django_engagelab_otp.forms import SendOTPForm, VerifyOTPForm
from django_engagelab_otp.limits_cache import cache_key, cache_keys
from django_engagelab_otp.management.base import Exit
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.privacy import keyed_hash
from tests.support.answers import accept, requests_to
from tests.support.constants import API, PHONE
from tests.support.local_http import closed_port
from tests.support.settings import configure
from tests.support.threads import run_together

OTHER = "+6591234567"

pytestmark = pytest.mark.django_db


def test_limits_are_on_by_default():
    assert DEFAULTS["LIMITS_CACHE"] == "default"
    assert DEFAULTS["RESEND_COOLDOWN"] == 60
    assert DEFAULTS["DAILY_LIMIT"] == 10
    assert DEFAULTS["IP_RATE"] == "20/h" and DEFAULTS["USER_RATE"] == "10/h"
    assert DEFAULTS["MAX_VERIFY_ATTEMPTS"] == 5
    assert DEFAULTS["DENIED_NUMBER_TYPES"] == ("PREMIUM_RATE", "SHARED_COST", "UNKNOWN")
    assert DEFAULTS["HASH_RECIPIENTS"] is False


# ---------------------------------------------------------------- resend cooldown


def test_a_second_send_within_the_cooldown_is_refused_before_any_request(api):
    accept(api)
    send_otp(PHONE)
    with pytest.raises(ThrottledError) as info:
        send_otp(PHONE)
    error = info.value
    assert isinstance(error, RateLimitError) and error.scope == "cooldown"
    assert 1 <= error.wait_seconds <= 60 and error.code is None and error.log is None
    assert re.fullmatch(
        r"A code was sent a moment ago\. You can ask for another in \d+ seconds\.", str(error.user_message)
    )
    assert requests_to(api) == 1 and MessageLog.objects.count() == 1, "a refusal sends nothing and writes no row"


def test_the_cooldown_is_per_recipient_and_template(api):
    accept(api)
    accept(api, "codes")
    send_otp(PHONE)
    send_otp(OTHER)
    send_otp(PHONE, "signup-otp")
    send_code(PHONE, "482910", "my-code")
    assert requests_to(api) == 3 and requests_to(api, "codes") == 1


@pytest.mark.parametrize("again", ["bob@example.com", "BOB@example.com", "bob+2@Example.com", "Bob+x+y@EXAMPLE.COM"])
def test_variants_of_one_mailbox_share_its_limits(api, again):
    accept(api)
    send_otp("Bob@Example.com")
    with pytest.raises(ThrottledError):
        send_otp(again)
    send_otp("rob@example.com")
    assert requests_to(api) == 2


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ('"bob"@example.com', "bob@example.com"),
        ("bob@EXAMPLE.com", '"bob"@example.com'),
        ("bob@bücher.example", "bob@xn--bcher-kva.example"),
        ("Bob@XN--BCHER-KVA.example", '"bob"@Bücher.Example'),
    ],
)
def test_spellings_of_one_address_share_its_cooldown(api, first, again):
    accept(api)
    send_otp(first)
    with pytest.raises(ThrottledError):
        send_otp(again)
    assert requests_to(api) == 1


def test_an_accepted_send_keeps_the_cooldown_also_across_kinds_of_one_template(api):
    accept(api)
    accept(api, "codes")
    send_otp(PHONE, "shared")
    with pytest.raises(ThrottledError):
        send_code(PHONE, "482910", "shared")
    assert requests_to(api, "codes") == 0


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 400, "json": {"code": 5012, "message": "target unreachable"}},
        {"status": 400, "json": {"code": 3004, "message": "frequency limit"}},
        {"status": 401, "json": {"code": 2001, "message": "bad key"}},
        {"status": 503, "body": ""},
    ],
    ids=["recipient", "platform-rate", "credentials", "outage"],
)
def test_a_failed_send_gives_the_cooldown_back(api, settings, answer):
    configure(settings, MAX_RETRIES=0)
    api.post(API + "messages", **answer)
    with pytest.raises(EngageLabError) as info:
        send_otp(PHONE)
    assert not isinstance(info.value, ThrottledError) and info.value.log.status == "failed"
    api.replace("POST", API + "messages", json={"message_id": "m2", "send_channel": "sms"})
    assert send_otp(PHONE).message_id == "m2", "a failure must not lock a person out"


def test_a_send_whose_outcome_is_unknown_keeps_the_cooldown(api):
    api.post(API + "messages", status=200, body='{"message_id": "m1", "send_ch')
    with pytest.raises(ServerError) as info:
        send_otp(PHONE)
    assert info.value.outcome_unknown and info.value.log.status == "unknown"
    with pytest.raises(ThrottledError):
        send_otp(PHONE)  # the first message may have gone
    assert requests_to(api) == 1


def test_a_cut_connection_keeps_the_cooldown(api):
    api.post(API + "messages", body=requests.ConnectionError("reset by peer"))
    with pytest.raises(EngageLabError):
        send_otp(PHONE)
    with pytest.raises(ThrottledError):
        send_otp(PHONE)


def test_custom_messages_are_not_throttled(api):
    accept(api, "custom-messages")
    for _ in range(3):
        send_custom_message(PHONE, "order-shipped", params={"order": "1"})
    assert requests_to(api, "custom-messages") == 3


def test_zero_turns_the_cooldown_off(api, settings):
    configure(settings, RESEND_COOLDOWN=0)
    accept(api)
    send_otp(PHONE)
    send_otp(PHONE)
    assert requests_to(api) == 2


def test_the_cooldown_ends(api, settings, clock):
    configure(settings, RESEND_COOLDOWN=0.2)
    accept(api)
    send_otp(PHONE)
    with pytest.raises(ThrottledError) as info:
        send_otp(PHONE)
    assert info.value.wait_seconds == 1
    clock.now += 0.25  # the claim's own time says it is over, whatever the cache still keeps
    send_otp(PHONE)
    assert requests_to(api) == 2


# ---------------------------------------------------------------- daily cap


def test_the_daily_cap_counts_sends_to_one_recipient(api, settings):
    configure(settings, RESEND_COOLDOWN=0, DAILY_LIMIT=3)
    accept(api)
    accept(api, "codes")
    send_otp(PHONE)
    send_code(PHONE, "482910", "my-code")
    send_otp(PHONE, "other")
    with pytest.raises(ThrottledError) as info:
        send_otp(PHONE, "yet-another")
    assert info.value.scope == "daily" and 1 <= info.value.wait_seconds <= 86400
    assert requests_to(api) + requests_to(api, "codes") == 3
    send_otp(OTHER)  # another recipient has its own count


def test_failed_sends_do_not_count_for_the_day(api, settings):
    configure(settings, RESEND_COOLDOWN=0, DAILY_LIMIT=2)
    api.post(API + "messages", status=400, json={"code": 5001, "message": "sending failed"})
    for _ in range(4):
        with pytest.raises(EngageLabError) as info:
            send_otp(PHONE)
        assert not isinstance(info.value, ThrottledError)
    api.replace("POST", API + "messages", json={"message_id": "m1", "send_channel": "sms"})
    send_otp(PHONE)
    api.replace("POST", API + "messages", json={"message_id": "m2", "send_channel": "sms"})
    send_otp(PHONE)
    with pytest.raises(ThrottledError):
        send_otp(PHONE)


def test_a_daily_refusal_gives_the_cooldown_back(api, settings):
    configure(settings, DAILY_LIMIT=1)
    accept(api)
    send_otp(PHONE, "a")
    with pytest.raises(ThrottledError) as info:
        send_otp(PHONE, "b")
    assert info.value.scope == "daily"
    configure(settings, DAILY_LIMIT=2)
    send_otp(PHONE, "b")  # not refused by a cooldown the daily refusal claimed


# ---------------------------------------------------------------- simultaneous requests


@pytest.mark.django_db(transaction=True)
def test_twelve_simultaneous_requests_send_exactly_one_message(engagelab_simulator):
    results = run_together(12, lambda _i: send_otp(PHONE))
    sent = [r for r in results if isinstance(r, MessageLog)]
    refused = [r for r in results if isinstance(r, ThrottledError)]
    assert len(sent) == 1 and len(refused) == 11, results
    assert len(engagelab_simulator.platform.messages) == 1
    assert engagelab_simulator.platform.path_counts["/v1/messages"] == 1
    assert MessageLog.objects.count() == 1 and MessageLog.objects.get().status == "accepted"


# ---------------------------------------------------------------- errors, logs, keys


def test_the_refusal_is_a_non_field_form_error_that_says_how_long(api):
    accept(api)
    send_otp(PHONE)
    form = SendOTPForm({"to": PHONE})
    assert not form.is_valid()
    assert list(form.errors) == ["__all__"]
    (message,) = form.non_field_errors()
    assert re.fullmatch(r"A code was sent a moment ago\. You can ask for another in \d+ seconds\.", message)
    assert form.errors.as_data()["__all__"][0].code == "engagelab_ThrottledError"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1 second"),
        (42, "42 seconds"),
        (119, "119 seconds"),
        (120, "2 minutes"),
        (3599, "60 minutes"),
        (7200, "2 hours"),
        (86399, "24 hours"),
    ],
)
def test_the_wait_is_said_in_whole_units(seconds, text):
    assert str(wait_message(seconds)) == f"Too many attempts. Please try again in {text}."
    assert ThrottledError(wait_seconds=seconds - 0.5).wait_seconds == seconds


def test_the_wait_is_translated_when_shown_not_when_raised():
    assert isinstance(wait_message(42), Promise)
    assert isinstance(ThrottledError(wait_seconds=42).user_message, Promise)


def test_throttled_error_without_a_wait_reads_the_tables_text():
    error = limits._refuse("ip", -1)
    assert error.wait_seconds is None and error.user_message == FAILURES["throttled"].user_message
    assert error.retryable and not error.operator and error.field is None


def test_throttled_error_pickles_with_its_wait():
    error = limits._refuse("cooldown", 42)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (type(copy), copy.wait_seconds, copy.scope, str(copy.user_message)) == (
        ThrottledError,
        42,
        "cooldown",
        "A code was sent a moment ago. You can ask for another in 42 seconds.",
    )


def test_a_refusal_is_logged_at_warning_with_the_recipient_masked(api, caplog):
    accept(api)
    send_otp(PHONE)
    with caplog.at_level(logging.INFO, logger="django_engagelab_otp"), pytest.raises(ThrottledError):
        send_otp(PHONE)
    (record,) = [r for r in caplog.records if r.name == "django_engagelab_otp.limits"]
    assert record.levelno == logging.WARNING
    assert "+86 187****5678" in record.getMessage() and PHONE not in record.getMessage()
    assert "cooldown" in record.getMessage()


def test_cache_keys_never_hold_a_recipient(api, settings):
    configure(settings, DAILY_LIMIT=5)
    accept(api)
    send_otp(PHONE)
    send_otp("Bob@Example.com")
    keys = list(cache._cache)  # the local-memory cache's own store
    assert len(keys) == 6  # per recipient: the cooldown's two buckets of time and one of the day's units
    digits = PHONE.lstrip("+")
    for key in keys:
        assert "engagelab_otp:" in key
        assert digits[-8:] not in key and "bob" not in key.lower() and "example" not in key.lower()


def test_the_limits_use_the_cache_the_setting_names(api, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "a"},
        "limits": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "limits-test"},
    }
    configure(settings, LIMITS_CACHE="limits")
    caches["limits"].clear()
    accept(api)
    send_otp(PHONE)
    assert list(caches["limits"]._cache) and not list(caches["default"]._cache)
    caches["limits"].clear()
    send_otp(PHONE)
    assert requests_to(api) == 2


def test_a_failing_limits_cache_refuses_before_any_request(api, settings, caplog):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "limits": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        },
    }
    configure(settings, LIMITS_CACHE="limits")
    accept(api)
    with pytest.raises(ConfigurationError) as info:
        send_otp(PHONE)
    assert info.value.operator and "'limits'" in info.value.message and "failed" in info.value.message
    assert not api.calls and not MessageLog.objects.exists()
    form = SendOTPForm({"to": PHONE})
    with caplog.at_level(logging.ERROR, logger="django_engagelab_otp"):
        assert not form.is_valid()
    assert form.non_field_errors() == ["Sending codes is temporarily unavailable. Please try again later."]
    assert any("limits" in r.getMessage() for r in caplog.records)


def test_a_dummy_cache_keeps_no_limit_and_does_not_crash(api, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "none": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    configure(settings, LIMITS_CACHE="none")
    accept(api)
    send_otp(PHONE)
    send_otp(PHONE)
    assert requests_to(api) == 2


def test_the_send_command_refuses_with_one_line_and_exit_4(api):
    accept(api)
    call_command("engagelab_send", "--to", PHONE, stdout=StringIO())
    with pytest.raises(CommandError) as info:
        call_command("engagelab_send", "--to", PHONE, stdout=StringIO())
    assert info.value.returncode == Exit.REFUSED
    assert "ThrottledError" in str(info.value) and "\n" not in str(info.value) and PHONE not in str(info.value)


# ---------------------------------------------------------------- client rates (forms given a request)


def post(ip="203.0.113.7", user=None, **meta):
    request = RequestFactory().post("/", REMOTE_ADDR=ip, **meta)
    request.user = user or AnonymousUser()
    return request


def send_form(request, to):
    form = SendOTPForm({"to": to}, request=request)
    form.is_valid()
    return form


def refused(form):
    return form.errors.as_data().get("__all__", [None])[0]


def test_the_ip_rate_limits_sends_from_one_address(api, settings):
    configure(settings, IP_RATE="2/h", RESEND_COOLDOWN=0)
    accept(api)
    assert send_form(post(), PHONE).log and send_form(post(), OTHER).log
    form = send_form(post(), "+8618701235600")
    error = refused(form)
    assert error is not None and error.code == "engagelab_ThrottledError"
    assert re.fullmatch(r"Too many attempts\. Please try again in \d+ (seconds|minutes)\.", form.non_field_errors()[0])
    assert requests_to(api) == 2
    assert send_form(post("198.51.100.1"), "+8618701235600").log, "another address has its own count"


def test_ipv6_addresses_count_by_their_64_bit_prefix():
    request = post("2001:db8:1:2:aaaa::1")
    assert limits.client_ip(request) == "2001:db8:1:2::"
    assert limits.client_ip(post("2001:db8:1:2:ffff::9")) == limits.client_ip(request)
    assert limits.client_ip(post("192.0.2.10")) == "192.0.2.10"


def forwarded_for(request):
    return request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()


def test_client_ip_setting_reads_the_address_behind_a_proxy(api, settings):
    configure(settings, IP_RATE="1/h", CLIENT_IP=forwarded_for, RESEND_COOLDOWN=0)
    accept(api)
    proxy = "10.0.0.1"
    assert send_form(post(proxy, HTTP_X_FORWARDED_FOR="198.51.100.1"), PHONE).log
    assert send_form(post(proxy, HTTP_X_FORWARDED_FOR="198.51.100.2"), PHONE).log
    assert refused(send_form(post(proxy, HTTP_X_FORWARDED_FOR="198.51.100.2"), PHONE)) is not None
    configure(settings, CLIENT_IP="tests.test_limits.forwarded_for")
    assert limits.client_ip(post(proxy, HTTP_X_FORWARDED_FOR="x, 198.51.100.3")) == "198.51.100.3"


def test_the_user_rate_limits_a_signed_in_user_from_any_address(api, settings):
    configure(settings, USER_RATE="1/h", RESEND_COOLDOWN=0)
    accept(api)
    user = User.objects.create_user("alice")
    assert send_form(post("198.51.100.1", user), PHONE).log
    assert refused(send_form(post("198.51.100.2", user), PHONE)) is not None
    assert send_form(post("198.51.100.3"), PHONE).log, "anonymous visitors have no user rate"


def test_sending_and_verifying_are_counted_apart(api, settings):
    configure(settings, IP_RATE="1/h")
    accept(api)
    api.post(API + "verifications", json={"message_id": "m1", "verify_code": "000000", "verified": False})
    assert send_form(post(), PHONE).log
    form = VerifyOTPForm("m1", {"code": "000000"}, request=post())
    assert not form.is_valid() and list(form.errors) == ["code"]  # the wrong code, not a refusal
    form = VerifyOTPForm("m1", {"code": "000000"}, request=post())
    assert not form.is_valid() and refused(form) is not None
    assert requests_to(api, "verifications") == 1


def test_rates_set_to_false_are_off_and_a_form_without_request_has_none(api, settings):
    configure(settings, IP_RATE=False, USER_RATE=False, RESEND_COOLDOWN=0)
    accept(api)
    for _ in range(3):
        assert send_form(post(), PHONE).log
    configure(settings, IP_RATE="1/h")
    for _ in range(2):
        assert SendOTPForm({"to": PHONE}).is_valid()


def test_no_client_address_means_no_ip_rate_and_a_warning(api, settings, caplog):
    configure(settings, IP_RATE="1/h", RESEND_COOLDOWN=0)
    accept(api)
    with caplog.at_level(logging.WARNING, logger="django_engagelab_otp"):
        assert send_form(post(""), PHONE).log and send_form(post(""), PHONE).log
    assert any("CLIENT_IP" in r.getMessage() for r in caplog.records)


def test_the_rate_keys_hold_no_address(api, settings):
    configure(settings, IP_RATE="5/h")
    accept(api)
    send_form(post("203.0.113.77"), PHONE)
    assert not any("203.0.113" in key for key in cache._cache)


# ---------------------------------------------------------------- checks


def ids(**changes):
    values = {**django_settings.ENGAGELAB_OTP, **changes}
    with override_settings(ENGAGELAB_OTP=values):
        return {message.id.split(".")[1]: message for message in run_checks(tags=[TAG])}


@pytest.mark.parametrize(
    ("changes", "check_id"),
    [
        ({"RESEND_COOLDOWN": -1}, "E010"),
        ({"RESEND_COOLDOWN": "a minute"}, "E010"),
        ({"DAILY_LIMIT": 2.5}, "E010"),
        ({"MAX_VERIFY_ATTEMPTS": True}, "E010"),
        ({"IP_RATE": "20 per hour"}, "E011"),
        ({"USER_RATE": 10}, "E011"),
        ({"CLIENT_IP": "no.such.function"}, "E012"),
        ({"CLIENT_IP": "tests.test_limits.PHONE"}, "E012"),
        ({"CLIENT_IP": 42}, "E012"),
        ({"LIMITS_CACHE": "nope"}, "E013"),
    ],
)
def test_wrong_limit_settings_are_reported(changes, check_id):
    found = ids(**changes)
    assert list(found) == [check_id]
    assert found[check_id].hint and str(next(iter(changes))) in found[check_id].msg


@pytest.mark.parametrize(
    "changes",
    [
        {"RESEND_COOLDOWN": 0, "DAILY_LIMIT": 0, "MAX_VERIFY_ATTEMPTS": 0},
        {"RESEND_COOLDOWN": 30.5, "DAILY_LIMIT": False},
        {"IP_RATE": False, "USER_RATE": "5/10m"},
        {"IP_RATE": "100/d", "CLIENT_IP": "tests.test_limits.forwarded_for"},
        {"CLIENT_IP": forwarded_for},
    ],
)
def test_good_limit_settings_pass(changes):
    assert ids(**changes) == {}


def test_a_dummy_limits_cache_is_warned_about(settings):
    settings.CACHES = {**settings.CACHES, "none": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    found = ids(LIMITS_CACHE="none")
    assert list(found) == ["W004"] and not found["W004"].is_serious()


def test_deploy_check_warns_about_a_per_process_limits_cache():
    assert [m.id for m in run_checks(tags=[TAG], include_deployment_checks=True)] == ["django_engagelab_otp.W005"]
    redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/0"}
    with override_settings(CACHES={**django_settings.CACHES, "default": redis}):
        assert run_checks(tags=[TAG], include_deployment_checks=True) == []


@pytest.mark.parametrize(
    ("scope", "text"),
    [
        ("cooldown", "A code was sent a moment ago. You can ask for another in 42 seconds."),
        ("daily", "No more codes can be sent to this recipient today. Please try again in 42 seconds."),
        ("ip", "Too many attempts. Please try again in 42 seconds."),
        ("user", "Too many attempts. Please try again in 42 seconds."),
    ],
)
def test_each_limit_says_what_it_is_and_how_long_to_wait(scope, text):
    assert str(limits._refuse(scope, 41.2).user_message) == text


# ---------------------------------------------------------------- what a refusal holds, exactly


def test_a_refused_send_reports_the_time_left_of_the_cooldown(api, clock):
    accept(api)
    send_otp(PHONE)
    clock.now += 15
    with pytest.raises(ThrottledError) as info:
        send_otp(PHONE)
    error = info.value
    assert (error.scope, error.wait_seconds) == ("cooldown", 45)
    assert error.message == "refused by the cooldown limit; try again in 45 s"


def test_a_refusal_is_logged_with_its_scope_and_wait(caplog):
    with caplog.at_level(logging.WARNING, logger="django_engagelab_otp.limits"):
        limits._refuse("cooldown", 44.2, PHONE)
        limits._refuse("ip", 12, action="verify")
        limits._refuse("user", 3)
    assert [r.getMessage() for r in caplog.records] == [
        "EngageLab send to +86 187****5678 refused by the cooldown limit (45 s to wait)",
        "EngageLab verify from a client refused by the ip limit (12 s to wait)",
        "EngageLab send from a client refused by the user limit (3 s to wait)",
    ]


def test_a_claim_given_back_twice_gives_back_nothing_more(api):
    claim = limits.claim_send(PHONE, "t")
    claim.release()
    claim.release()
    other = limits.claim_send(PHONE, "t")  # another send's cooldown, taken meanwhile
    claim.release()
    with pytest.raises(ThrottledError):
        limits.claim_send(PHONE, "t")
    other.release()


def test_a_claim_the_cache_cannot_give_back_is_logged_not_raised(settings, caplog):
    claim = limits.claim_send(PHONE, "t")
    settings.CACHES = {**settings.CACHES, "gone": UNREACHABLE_REDIS}
    configure(settings, LIMITS_CACHE="gone")
    with caplog.at_level(logging.ERROR, logger="django_engagelab_otp.limits"):
        claim.release()
    (record,) = caplog.records
    assert re.fullmatch(r"EngageLab limits could not be given back: \w*Error", record.getMessage())


UNREACHABLE_REDIS = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
    "OPTIONS": {"socket_connect_timeout": 1},
}


# ---------------------------------------------------------------- client rates: whose count is whose


def test_each_signed_in_user_has_a_count_of_their_own(api, settings):
    configure(settings, USER_RATE="1/h", IP_RATE=False, RESEND_COOLDOWN=0)
    accept(api)
    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    assert send_form(post(user=alice), PHONE).log
    assert send_form(post(user=bob), PHONE).log, "bob is not counted in alice's bucket"
    error = refused(send_form(post(user=alice), PHONE))
    assert error is not None


def test_anonymous_visitors_share_no_user_count(api, settings):
    configure(settings, USER_RATE="1/h", IP_RATE=False, RESEND_COOLDOWN=0)
    accept(api)
    for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        assert send_form(post(ip), PHONE).log


def test_a_request_without_a_user_is_counted_by_its_address_only(api, settings):
    configure(settings, USER_RATE="1/h", IP_RATE="1/h", RESEND_COOLDOWN=0)
    accept(api)
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")  # no authentication middleware
    limits.check_client(request, "send")
    with pytest.raises(ThrottledError) as info:
        limits.check_client(request, "send")
    assert info.value.scope == "ip"


def test_without_an_address_the_user_rate_still_applies(api, settings, caplog):
    configure(settings, USER_RATE="1/h", IP_RATE="1/h", RESEND_COOLDOWN=0)
    user = User.objects.create_user("carol")
    limits.check_client(post("", user), "verify")
    with pytest.raises(ThrottledError) as info:
        limits.check_client(post("", user), "verify")
    assert info.value.scope == "user"
    assert "EngageLab verify from a client refused by the user limit" in caplog.text
    assert "EngageLab client rate not applied: no client address (see CLIENT_IP)" in [
        r.getMessage() for r in caplog.records
    ]


def test_each_client_s_window_starts_at_a_moment_of_its_own_within_the_window():
    keys = [cache_key("send:ip", f"203.0.113.{n}") for n in range(20)]
    offsets = {limits._window(key, 3600).offset for key in keys}
    assert len(offsets) > 10, "the counts do not all start afresh at once"
    assert all(0 <= offset < 3600 and offset == int(offset) for offset in offsets)


def test_an_address_that_is_no_ip_is_counted_as_written_up_to_100_characters():
    assert limits.client_ip(post("unix-socket")) == "unix-socket"
    assert limits.client_ip(post("x" * 150)) == "x" * 100


def test_zero_turns_the_daily_cap_off(api, settings):
    configure(settings, RESEND_COOLDOWN=0, DAILY_LIMIT=0)
    accept(api)
    for _ in range(12):
        send_otp(PHONE)
    assert requests_to(api) == 12


def test_a_send_claims_the_keys_of_its_template_and_recipient(settings):
    claim = limits.claim_send(PHONE, "t")
    cooldown, daily = claim.claims
    assert all(key.startswith(cache_key("cooldown", f"t\n{PHONE}") + ":") for key in cooldown.keys)
    assert all(key.startswith(cache_key("daily", PHONE) + ":") for key in daily.keys)
    settings.SECRET_KEY_FALLBACKS = ["old-key"]
    assert cache_keys("daily", PHONE) == [
        cache_key("daily", PHONE),
        "engagelab_otp:daily:" + keyed_hash(PHONE, "limits", secret="old-key")[:40],
    ]
