"""Proving callbacks genuine: the documented signature, the vendor SDK, refusals, nonces (also across processes)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import subprocess
import sys
import time

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import RequestFactory, override_settings
from engagelab_otp import WebhookSignatureError, WebhookVerifier
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_engagelab_otp.models import MessageEvent, MessageLog
from django_engagelab_otp.signing import callback_id, sign
from django_engagelab_otp.webhooks.signature import (
    Claim,
    Rejected,
    authenticate,
    claim_nonce,
    parse_callback_id,
    verify_callback_id,
)
from tests.support.constants import ROOT
from tests.support.processes import race
from tests.support.settings import engagelab
from tests.support.webhooks import (
    SECRET,
    URL,
    USERNAME,
    make_log,
    notification_row,
    post,
    redis_cache,
    redis_keys,
    signed_headers,
    signed_settings,
    status_row,
)
from tests.support.webhooks import (
    body as body_of,
)

pytestmark = pytest.mark.urls("tests.support.webhooks")

NOW = 1_700_000_000


def documented(secret: str, ts: str, nonce: str, username: str) -> str:
    """The formula as the documentation writes it."""
    return hmac.new(secret.encode(), f"{ts}{nonce}{username}".encode(), hashlib.sha256).hexdigest()


# ------------------------------------------------------------------ the header


def test_signature_is_the_documented_formula():
    assert sign(SECRET, NOW, "n-1", USERNAME) == documented(SECRET, str(NOW), "n-1", USERNAME)
    header = callback_id(SECRET, USERNAME, timestamp=NOW, nonce="n-1")
    assert (
        header
        == f"timestamp={NOW};nonce=n-1;username={USERNAME};signature={documented(SECRET, str(NOW), 'n-1', USERNAME)}"
    )


def test_header_parts_in_any_order_with_spaces():
    sig = documented(SECRET, str(NOW), "abc", USERNAME)
    parsed = parse_callback_id(f" signature={sig} ; username={USERNAME};nonce=abc ;timestamp={NOW};")
    assert (parsed.timestamp, parsed.nonce, parsed.username, parsed.signature) == (str(NOW), "abc", USERNAME, sig)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        f"timestamp={NOW};nonce=a;username=u",  # no signature
        f"timestamp={NOW};nonce=a;username=u;signature={'0' * 64};extra=1",
        f"timestamp={NOW};timestamp={NOW};nonce=a;username=u;signature={'0' * 64}",
        f"timestamp=+{NOW};nonce=a;username=u;signature={'0' * 64}",
        f"timestamp={NOW}.5;nonce=a;username=u;signature={'0' * 64}",
        f"timestamp={NOW};nonce=;username=u;signature={'0' * 64}",
        f"timestamp={NOW};nonce=a;username=u;signature={'A' * 64}",
        f"timestamp={NOW};nonce=a;username=u;signature={'0' * 63}",
        f"timestamp={NOW};nonce=ü;username=u;signature={'0' * 64}",
    ],
)
def test_malformed_headers_are_refused(header):
    with pytest.raises(Rejected) as info:
        verify_callback_id(header, username=USERNAME, secret=SECRET, now=NOW)
    assert info.value.status == 401


def test_refusal_reasons():
    def refusal(header, now=NOW):
        with pytest.raises(Rejected) as info:
            verify_callback_id(header, username=USERNAME, secret=SECRET, now=now)
        return info.value.status, info.value.reason

    assert refusal(callback_id("other-secret", USERNAME, timestamp=NOW)) == (401, "invalid signature")
    assert refusal(callback_id(SECRET, "someone-else", timestamp=NOW)) == (401, "invalid signature")
    assert refusal(callback_id(SECRET, USERNAME, timestamp=NOW - 301)) == (403, "stale timestamp")
    assert refusal(callback_id(SECRET, USERNAME, timestamp=NOW + 301)) == (403, "stale timestamp")
    verify_callback_id(callback_id(SECRET, USERNAME, timestamp=NOW - 300), username=USERNAME, secret=SECRET, now=NOW)


def test_malformed_headers_say_so():
    with pytest.raises(Rejected) as info:
        verify_callback_id("", username=USERNAME, secret=SECRET, now=NOW)
    assert (info.value.status, info.value.reason, str(info.value)) == (
        401,
        "missing X-CALLBACK-ID",
        "missing X-CALLBACK-ID",
    )
    for header in (
        "garbage",
        f"timestamp={NOW};nonce=a;username=u",
        f"timestamp=x;nonce=a;username=u;signature={'0' * 64}",
    ):
        with pytest.raises(Rejected) as info:
            parse_callback_id(header)
        assert (info.value.status, info.value.reason) == (401, "malformed X-CALLBACK-ID")


def test_empty_segments_are_skipped_and_a_nonce_may_hold_an_equals_sign():
    header = callback_id(SECRET, USERNAME, timestamp=NOW, nonce="a=b")
    parsed = verify_callback_id(f";{header.replace(';', '; ;')};", username=USERNAME, secret=SECRET, now=NOW)
    assert (parsed.nonce, parsed.username) == ("a=b", USERNAME)


def test_a_fresh_nonce_is_32_hex_digits_each_time():
    nonces = {parse_callback_id(callback_id(SECRET, USERNAME)).nonce for _ in range(3)}
    assert len(nonces) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", nonce) for nonce in nonces)


# ------------------------------------------------------------------ authenticate: the settings, the nonce


def callback_request(**headers):
    return RequestFactory().post(URL, b"{}", content_type="application/json", **headers)


def authenticated(header, *, now=NOW):
    return authenticate(callback_request(HTTP_X_CALLBACK_ID=header), now=now)


def refusal(call, *args, **kwargs):
    with pytest.raises(Rejected) as info:
        call(*args, **kwargs)
    return info.value.status, info.value.reason


def test_authenticate_reads_the_tolerance_and_the_clock_it_is_given():
    with signed_settings(WEBHOOK_TOLERANCE=100):
        authenticated(callback_id(SECRET, USERNAME, timestamp=NOW - 100))
        assert refusal(authenticated, callback_id(SECRET, USERNAME, timestamp=NOW - 101)) == (403, "stale timestamp")
        assert refusal(authenticate, callback_request()) == (401, "missing X-CALLBACK-ID")


def nonce_expiry(claim):
    """When the local-memory cache forgets a claimed nonce (seconds since the epoch)."""
    cache = caches[claim.cache_alias]
    return cache._expire_info[cache.make_key(claim.key)]


def test_a_nonce_is_kept_for_twice_the_tolerance_and_a_minute_under_a_key_of_username_and_nonce():
    with signed_settings(WEBHOOK_TOLERANCE=100):
        claim = authenticated(callback_id(SECRET, USERNAME, timestamp=NOW, nonce="n-ttl"))
    assert nonce_expiry(claim) == pytest.approx(time.time() + 260, abs=5)
    digest = hashlib.sha256(f"{USERNAME}\nn-ttl".encode()).hexdigest()
    assert claim.key == f"engagelab_otp:callback-nonce:{digest}"
    assert nonce_expiry(claim_nonce("u", "short", ttl=-5)) == pytest.approx(time.time() + 1, abs=0.5)


def test_one_nonce_of_two_usernames_is_two_claims():
    claim_nonce("one", "n-1", ttl=60)
    claim_nonce("two", "n-1", ttl=60)
    assert refusal(claim_nonce, "two", "n-1", ttl=60) == (403, "replayed nonce")


def test_the_nonce_is_claimed_in_the_cache_the_setting_names():
    caches_setting = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "d"},
        "nonces": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "nonces-test"},
    }
    with override_settings(CACHES=caches_setting), signed_settings(WEBHOOK_NONCE_CACHE="nonces"):
        claim = claim_nonce(USERNAME, "n-alias", ttl=60)
        assert claim.cache_alias == "nonces" and caches["nonces"].get(claim.key) is not None
        claim.release()
        assert caches["nonces"].get(claim.key) is None


def test_a_release_gives_back_once_and_never_another_requests_claim():
    first = claim_nonce(USERNAME, "n-again", ttl=60)
    first.release()
    second = claim_nonce(USERNAME, "n-again", ttl=60)  # the platform's retry
    first.release()
    assert refusal(claim_nonce, USERNAME, "n-again", ttl=60) == (403, "replayed nonce")
    second.release()
    Claim().release()  # nothing claimed: nothing to give back
    Claim("k", "no-such-cache").release()  # the store gone: the key expires on its own


def test_settings_refusals_say_why():
    request = callback_request(HTTP_X_CALLBACK_ID=callback_id(SECRET, USERNAME, timestamp=NOW))
    with engagelab(WEBHOOK_AUTHORIZATION="Bearer t"):
        assert refusal(authenticate, request, now=NOW) == (401, "invalid Authorization")
    with engagelab(WEBHOOK_USERNAME=USERNAME):
        assert refusal(authenticate, request, now=NOW) == (503, "callback signature half configured")
    with engagelab(WEBHOOK_SECRET=SECRET):
        assert refusal(authenticate, request, now=NOW) == (503, "callback signature half configured")
    with override_settings(CACHES=UNREACHABLE_NONCES), signed_settings(WEBHOOK_NONCE_CACHE="nowhere"):
        assert refusal(authenticate, request, now=NOW) == (503, "nonce store unavailable")


UNREACHABLE_NONCES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "nowhere": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"},
}


# ------------------------------------------------------------------ the vendor SDK

_nonce = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=";="), min_size=1, max_size=40
)


@settings(max_examples=200, deadline=None)
@given(nonce=_nonce, skew=st.integers(-300, 300))
def test_headers_made_with_the_sdk_formula_are_accepted(nonce, skew):
    ts = str(NOW + skew)
    header = f"timestamp={ts};nonce={nonce};username={USERNAME};signature={documented(SECRET, ts, nonce, USERNAME)}"
    assert WebhookVerifier(USERNAME, SECRET).verify(header, now=NOW)
    assert verify_callback_id(header, username=USERNAME, secret=SECRET, now=NOW).nonce == nonce


_fragment = st.sampled_from(
    [";", "=", " ", "timestamp", "nonce", "username", "signature", "+", "0", "A", "x", "extra=1", USERNAME, str(NOW)]
)


@settings(max_examples=400, deadline=None)
@given(
    nonce=_nonce,
    skew=st.integers(-400, 400),
    cut=st.integers(0, 200),
    insert=st.lists(_fragment, max_size=3),
    secret=st.sampled_from([SECRET, "other"]),
    user=st.sampled_from([USERNAME, "other"]),
)
def test_whatever_we_accept_the_sdk_accepts(nonce, skew, cut, insert, secret, user):
    # Start from a genuine header, then damage it: whatever we still accept must satisfy the SDK too.
    header = callback_id(secret, user, timestamp=NOW + skew, nonce=nonce)
    header = header[:cut] + "".join(insert) + header[cut:]
    try:
        verify_callback_id(header, username=USERNAME, secret=SECRET, now=NOW)
    except Rejected:
        return
    assert WebhookVerifier(USERNAME, SECRET).verify(header, now=NOW)


def test_sdk_and_view_agree_on_a_live_request(client, db):
    header = signed_headers()["HTTP_X_CALLBACK_ID"]
    assert WebhookVerifier(USERNAME, SECRET).verify(header)
    with signed_settings():
        assert post(client, [notification_row()], HTTP_X_CALLBACK_ID=header).status_code == 200
    with pytest.raises(WebhookSignatureError):
        WebhookVerifier(USERNAME, "other").verify(header)


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.text(max_size=120)
    | st.builds(
        lambda n, c, i: callback_id(SECRET, USERNAME, nonce=n)[:c] + i, _nonce, st.integers(0, 200), st.text(max_size=5)
    ),
    authorization=st.none() | st.text(max_size=20),
)
def test_arbitrary_credentials_are_refused_cleanly(client, header, authorization):
    MessageEvent.objects.all().delete()  # examples share the test's database
    headers = {"HTTP_X_CALLBACK_ID": header}
    if authorization is not None:
        headers["HTTP_AUTHORIZATION"] = authorization
    with signed_settings():
        response = post(client, [notification_row()], **headers)
    assert response.status_code in (200, 401, 403), response.content
    assert SECRET not in response.content.decode()
    assert MessageEvent.objects.exists() == (response.status_code == 200)


# ------------------------------------------------------------------ through the view


def _nothing_written():
    return not MessageEvent.objects.exists() and MessageLog.objects.filter(status="accepted").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),  # unsigned
        ({"HTTP_X_CALLBACK_ID": "timestamp=1;nonce=2"}, 401),  # malformed
        (signed_headers(secret="forged"), 401),
        (signed_headers(username="someone-else"), 401),
        (signed_headers(timestamp=int(time.time()) - 3600), 403),  # stale
        (signed_headers(timestamp=int(time.time()) + 3600), 403),  # from the future
    ],
)
def test_refused_callbacks_change_nothing(client, caplog, headers, status):
    make_log("m-sec")
    caplog.set_level(logging.DEBUG)
    with signed_settings():
        response = post(client, [status_row("m-sec", "delivered")], **headers)
    assert response.status_code == status
    assert _nothing_written()
    assert SECRET not in response.content.decode() and SECRET not in caplog.text
    if status == 401:
        assert response["WWW-Authenticate"]


@pytest.mark.django_db
def test_a_replayed_callback_is_refused(client, caplog):
    make_log("m-replay")
    headers = signed_headers(timestamp=int(time.time()))
    with signed_settings():
        assert post(client, [status_row("m-replay", "sent")], **headers).status_code == 200
        replay = post(client, [status_row("m-replay", "delivered")], **headers)
    assert (replay.status_code, replay.json()["error"]) == (403, "replayed nonce")
    assert MessageLog.objects.get().status == "sent"
    assert MessageEvent.objects.count() == 1
    assert SECRET not in caplog.text


@pytest.mark.django_db
def test_a_retry_after_a_failed_delivery_gets_through(client):
    # The first delivery fails inside the database; the platform retries with the same header.
    make_log("m-retry")
    headers = signed_headers(timestamp=int(time.time()))
    rows = [status_row("m-retry", "delivered")]
    table = MessageEvent._meta.db_table
    with signed_settings():
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_away"')
        try:
            assert post(client, rows, **headers).status_code == 503
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f'ALTER TABLE "{table}_away" RENAME TO "{table}"')
        assert post(client, rows, **headers).status_code == 200
        assert post(client, rows, **headers).status_code == 403  # stored now: a replay
    assert MessageLog.objects.get().status == "delivered"


@pytest.mark.django_db
def test_an_unusable_body_does_not_spend_the_nonce(client):
    headers = signed_headers(timestamp=int(time.time()))
    with signed_settings():
        assert post(client, b"[not json", **headers).status_code == 400
        assert post(client, [notification_row()], **headers).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("configured", "sent", "status"),
    [
        ("Bearer s3cret-token", None, 401),
        ("Bearer s3cret-token", "Bearer wrong", 401),
        ("Bearer s3cret-token", "Bearer s3cret-token", 200),
        ("Basic dTpw", "Basic dTpw", 200),
    ],
)
def test_authorization_header(client, configured, sent, status):
    headers = {"HTTP_AUTHORIZATION": sent} if sent else {}
    with engagelab(WEBHOOK_AUTHORIZATION=configured):
        response = post(client, [notification_row()], **headers)
    assert response.status_code == status
    assert MessageEvent.objects.count() == (1 if status == 200 else 0)
    assert configured not in response.content.decode()


@pytest.mark.django_db
def test_authorization_and_signature_together(client):
    with signed_settings(WEBHOOK_AUTHORIZATION="Bearer t"):
        assert post(client, [notification_row()], signed=True).status_code == 401
        assert post(client, [notification_row()], HTTP_AUTHORIZATION="Bearer t").status_code == 401
        assert post(client, [notification_row()], signed=True, HTTP_AUTHORIZATION="Bearer t").status_code == 200


def unsigned(client, payload):
    """A POST without credentials, under the settings in force (``post()`` opts into unsigned callbacks)."""
    data = payload if isinstance(payload, bytes) else body_of(payload)
    return client.generic("POST", URL, data, content_type="application/json")


@pytest.mark.django_db
def test_without_credentials_callbacks_are_refused_and_change_nothing(client, caplog):
    make_log("m-1")
    forged = [status_row("m-1", "verified", NOW), *[status_row(f"x-{i}", "sent", NOW) for i in range(50)]]
    response = unsigned(client, forged)
    assert response.status_code == 503 and response.json()["error"] == "callback credentials not configured"
    assert MessageLog.objects.get().status == "accepted" and not MessageEvent.objects.exists()
    assert "callback credentials not configured" in caplog.text
    # The platform's configuration probe still gets its 200.
    assert unsigned(client, b"{}").status_code == 200


@pytest.mark.django_db
def test_the_opt_out_accepts_unsigned_callbacks(client):
    make_log("m-1")
    with engagelab(WEBHOOK_ALLOW_UNSIGNED=True):
        response = client.generic(
            "POST",
            "/engagelab/callback/",
            body_of([status_row("m-1", "delivered", NOW)]),
            content_type="application/json",
        )
    assert response.status_code == 200 and MessageLog.objects.get().status == "delivered"


@pytest.mark.django_db
def test_the_opt_out_does_not_lift_configured_credentials(client):
    with signed_settings(WEBHOOK_ALLOW_UNSIGNED=True):
        response = client.generic(
            "POST", "/engagelab/callback/", body_of([notification_row()]), content_type="application/json"
        )
    assert response.status_code == 401


@pytest.mark.django_db
def test_half_configured_signature_refuses_everything(client):
    with engagelab(WEBHOOK_USERNAME=USERNAME):
        response = post(client, [notification_row()], signed=True)
    assert response.status_code == 503
    assert not MessageEvent.objects.exists()


@pytest.mark.django_db
def test_unreachable_nonce_store_refuses_with_503(client):
    caches_setting = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "nowhere": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"},
    }
    with override_settings(CACHES=caches_setting), signed_settings(WEBHOOK_NONCE_CACHE="nowhere"):
        response = post(client, [notification_row()], signed=True)
    assert response.status_code == 503
    assert not MessageEvent.objects.exists()


# ------------------------------------------------------------------ Redis, across processes


@pytest.fixture
def redis_nonces():
    """A Redis cache alias of its own (unique key prefix) used for nonces."""
    with redis_cache() as cache:
        caches_setting = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "nonces": cache}
        with override_settings(CACHES=caches_setting), signed_settings(WEBHOOK_NONCE_CACHE="nonces"):
            yield cache


@pytest.mark.django_db
def test_nonces_kept_in_redis(client, redis_nonces):
    headers = signed_headers(timestamp=int(time.time()))
    assert post(client, [notification_row()], **headers).status_code == 200
    (ttl,) = redis_keys(redis_nonces).values()  # one nonce, in Redis, expiring on its own
    assert 0 < ttl <= 2 * 300 + 60
    assert post(client, [notification_row()], **headers).status_code == 403
    assert MessageEvent.objects.count() == 1


RACER = """
import json, sys
import django
from django.conf import settings

cache, secret, username = json.loads(sys.argv[1])
settings.configure(
    CACHES={"default": cache},
    ENGAGELAB_OTP={"WEBHOOK_USERNAME": username, "WEBHOOK_SECRET": secret},
    INSTALLED_APPS=[],
)
django.setup()
from django.test import RequestFactory
from django_engagelab_otp.webhooks.signature import Rejected, authenticate

headers = json.loads(sys.stdin.readline())
print("ready", flush=True)
sys.stdin.readline()  # the starting gun
results = []
for header in headers:
    try:
        authenticate(RequestFactory().post("/", HTTP_X_CALLBACK_ID=header))
        results.append("won")
    except Rejected as rejection:
        results.append(rejection.reason)
print(json.dumps(results), flush=True)
"""


@pytest.mark.slow
def test_two_processes_race_for_the_same_nonces_and_exactly_one_wins(redis_nonces):
    now = int(time.time())
    headers = [callback_id(SECRET, USERNAME, timestamp=now, nonce=f"race-{i}") for i in range(200)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-c", RACER, json.dumps([redis_nonces, SECRET, USERNAME])]
    racers = [
        subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)
    ]
    for racer in racers:
        racer.stdin.write(json.dumps(headers) + "\n")
        racer.stdin.flush()
    results = race(racers)
    assert {outcome for result in results for outcome in result} <= {"won", "replayed nonce"}
    for first, second in zip(*results, strict=True):
        assert sorted([first, second]) == ["replayed nonce", "won"]
