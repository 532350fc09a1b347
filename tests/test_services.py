"""The public functions: validation first, the history row around the request, signals, secrets."""

from __future__ import annotations

import base64
import json
import logging

import pytest
import requests
from django.conf import settings
from django.utils import translation

import django_engagelab_otp
from django_engagelab_otp import send_code, send_custom_message, send_otp, verify_otp
from django_engagelab_otp.exceptions import (
    AuthenticationError,
    ConfigurationError,
    InvalidInputError,
    RecipientError,
    RequestError,
    ServerError,
    TransportError,
)
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.signals import message_sent
from tests.support.answers import accept
from tests.support.constants import API, PHONE
from tests.support.local_http import LocalServer, closed_port
from tests.support.settings import engagelab

CODE = "Zq83Xk"  # distinctive, so that finding it anywhere means it leaked
SECRET = settings.ENGAGELAB_OTP["DEV_SECRET"]
TOKEN = base64.b64encode(f"{settings.ENGAGELAB_OTP['DEV_KEY']}:{SECRET}".encode()).decode()

pytestmark = pytest.mark.django_db


def body(api, index=-1):
    return json.loads(api.calls[index].request.body)


# ---------------------------------------------------------------- the row around the request


def test_send_otp_writes_pending_then_accepted(api, received):
    states = []

    def platform(request):
        row = MessageLog.objects.get()
        states.append((row.status, row.message_id, row.to, row.template_id, row.language, row.params))
        return 200, {}, json.dumps({"message_id": "m1", "send_channel": "whatsapp"})

    api.add_callback("POST", API + "messages", callback=platform)
    log = send_otp(PHONE, params={"name": "Bob", "code": CODE}, language="en")
    assert states == [("pending", None, PHONE, "login-otp", "en", {"name": "Bob", "code": "[redacted]"})]
    assert (log.status, log.message_id, log.send_channel, log.kind) == ("accepted", "m1", "whatsapp", "otp")
    stored = MessageLog.objects.get()
    assert (stored.pk, stored.status, stored.message_id, stored.send_channel) == (log.pk, "accepted", "m1", "whatsapp")
    assert stored.error_code is None and stored.error_message == ""
    assert body(api) == {
        "to": PHONE,
        "template": {"id": "login-otp", "language": "en", "params": {"name": "Bob", "code": CODE}},
    }
    assert received == [("sent", {"sender": MessageLog, "log": log})]


@pytest.mark.parametrize("in_transaction", [False, True])
def test_a_repeated_message_id_still_settles_the_row(api, in_transaction, no_cooldown):
    from django.db import transaction

    api.add("POST", API + "messages", json={"message_id": "dup", "send_channel": "sms"})
    first = send_otp(PHONE)
    if in_transaction:
        with transaction.atomic():
            second = send_otp(PHONE)
            assert MessageLog.objects.count() == 2  # the caller's transaction is still usable
    else:
        second = send_otp(PHONE)
    stored = MessageLog.objects.get(pk=second.pk)
    assert (first.message_id, stored.status, stored.message_id) == ("dup", "accepted", None)
    assert "dup" in stored.error_message


def test_send_custom_message_to_several(api):
    accept(api, "custom-messages")
    log = send_custom_message([PHONE, "Bob@Example.COM", "+86 187 0123 5678"], "order-shipped", params={"order": 123})
    assert body(api) == {
        "to": [PHONE, "Bob@example.com"],
        "template": {"id": "order-shipped", "params": {"order": "123"}},
    }
    assert (log.kind, log.to, log.recipients, log.language) == ("custom", PHONE, [PHONE, "Bob@example.com"], "")


def test_send_custom_message_to_one(api):
    accept(api, "custom-messages")
    log = send_custom_message(PHONE, "order-shipped")
    assert body(api) == {"to": PHONE, "template": {"id": "order-shipped"}}
    assert (log.to, log.recipients) == (PHONE, [])


def test_send_code(api):
    accept(api, "codes")
    log = send_code(PHONE, CODE, "my-code", language="ja")
    assert body(api) == {"to": PHONE, "code": CODE, "template": {"id": "my-code", "language": "ja"}}
    assert (log.kind, log.template_id, log.status) == ("code", "my-code", "accepted")


def test_platform_error_settles_failed_and_carries_the_row(api, received):
    api.post(API + "messages", status=400, json={"code": 5013, "message": "number is blocked"})
    with pytest.raises(RecipientError) as info:
        send_otp(PHONE)
    row = MessageLog.objects.get()
    assert info.value.log == row
    assert info.value.log.status == "failed"
    assert (row.status, row.error_code, row.error_message, row.http_status) == (
        "failed",
        5013,
        "number is blocked",
        400,
    )
    assert received == [("failed", {"sender": MessageLog, "log": info.value.log, "error": info.value})]


@pytest.mark.parametrize(
    ("answer", "cls"),
    [
        ({"body": requests.ReadTimeout("read timed out")}, TransportError),
        ({"json": {"send_channel": "sms"}}, ServerError),
        ({"status": 502, "body": "<html>bad gateway</html>"}, ServerError),
    ],
    ids=["read-timeout", "no-message-id", "html-502"],
)
def test_outcome_unknown_settles_unknown(api, answer, cls):
    api.post(API + "messages", **answer)
    with pytest.raises(cls) as info:
        send_otp(PHONE)
    row = MessageLog.objects.get()
    assert row.status == "unknown" and info.value.log == row and row.error_message


def test_connection_failure_settles_failed(api):
    url = f"http://127.0.0.1:{closed_port()}/v1/"
    with engagelab(API_URL=url, MAX_RETRIES=0):
        api.add_passthru(url)
        with pytest.raises(TransportError) as info:
            send_otp(PHONE)
    assert not info.value.outcome_unknown
    assert MessageLog.objects.get().status == "failed"


def test_an_unexpected_exception_settles_unknown(api, received):
    api.post(API + "messages", body=RuntimeError("bug in a transport"))
    with pytest.raises(RuntimeError):
        send_otp(PHONE)
    row = MessageLog.objects.get()
    assert (row.status, row.error_message) == ("unknown", "RuntimeError during the request")
    assert received == []


def test_a_broken_receiver_does_not_turn_a_sent_message_into_an_error(api, caplog):
    def broken(**kwargs):
        raise ValueError("receiver bug")

    message_sent.connect(broken, weak=False)
    try:
        accept(api)
        with caplog.at_level(logging.ERROR, logger="django.dispatch"):
            log = send_otp(PHONE)
    finally:
        message_sent.disconnect(broken)
    assert log.status == "accepted"
    assert any("receiver bug" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


# ---------------------------------------------------------------- validation before anything


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: send_otp("12345"), "to"),
        (lambda: send_otp("not an address@"), "to"),
        (lambda: send_otp(PHONE, "x" * 129), "template_id"),
        (lambda: send_otp(PHONE, language="fr"), "language"),
        (lambda: send_otp(PHONE, params={"name": None}), "params"),
        (lambda: send_otp(PHONE, params={"a": ["b"]}), "params"),
        (lambda: send_otp(PHONE, params=["name"]), "params"),
        (lambda: send_custom_message([], "t"), "to"),
        (lambda: send_custom_message([PHONE, "bad"], "t"), "to"),
        (lambda: send_custom_message(PHONE, ""), "template_id"),
        (lambda: send_custom_message(PHONE, "t", params={"n": {"x": 1}}), "params"),
        (lambda: send_code(PHONE, "12", "t"), "code"),
        (lambda: send_code(PHONE, "12 34", "t"), "code"),
        (lambda: send_code("+1", CODE, "t"), "to"),
        (lambda: verify_otp("", "123456"), "message_id"),
        (lambda: verify_otp("m1", "abc"), "code"),
        (lambda: verify_otp("m 1", "123456"), "message_id"),
    ],
)
def test_bad_input_never_reaches_the_network_or_the_database(api, call, field):
    with pytest.raises(InvalidInputError) as info:
        call()
    assert info.value.field == field
    assert info.value.log is None
    assert len(api.calls) == 0
    assert MessageLog.objects.count() == 0


def test_missing_credentials_stop_before_any_request_and_row(api, monkeypatch):
    monkeypatch.delenv("ENGAGELAB_OTP_DEV_KEY", raising=False)
    monkeypatch.delenv("ENGAGELAB_OTP_DEV_SECRET", raising=False)
    with engagelab(DEV_KEY=..., DEV_SECRET=...):
        for call in (lambda: send_otp(PHONE), lambda: send_code(PHONE, CODE), lambda: send_custom_message(PHONE, "t")):
            with pytest.raises(ConfigurationError) as info:
                call()
            assert info.value.operator and SECRET not in str(info.value)
        with pytest.raises(ConfigurationError):
            verify_otp("m1", "123456")
    assert len(api.calls) == 0 and MessageLog.objects.count() == 0


def test_missing_template_id_is_a_configuration_error(api):
    with engagelab(TEMPLATE_ID=None), pytest.raises(ConfigurationError) as info:
        send_otp(PHONE)
    assert "TEMPLATE_ID" in info.value.message
    assert len(api.calls) == 0 and MessageLog.objects.count() == 0


# ---------------------------------------------------------------- settings


def test_override_settings_takes_effect_at_once(api, no_cooldown):
    api.post(API + "messages", json={"message_id": "m1", "send_channel": "sms"})
    api.post("https://other.engagelab.test/v2/messages", json={"message_id": "m2", "send_channel": "sms"})
    api.post(API + "messages", json={"message_id": "m3", "send_channel": "sms"})
    send_otp(PHONE)
    with engagelab(API_URL="https://other.engagelab.test/v2/", DEV_KEY="k2", DEV_SECRET="s2", TEMPLATE_ID="t2"):
        assert send_otp(PHONE).message_id == "m2"
    assert send_otp(PHONE).message_id == "m3"
    first, second, third = (call.request for call in api.calls)
    assert second.url == "https://other.engagelab.test/v2/messages"
    assert second.headers["Authorization"] == "Basic " + base64.b64encode(b"k2:s2").decode()
    assert json.loads(second.body)["template"]["id"] == "t2"
    assert first.headers["Authorization"] == third.headers["Authorization"] == f"Basic {TOKEN}"


def test_credentials_from_the_environment(api, monkeypatch):
    monkeypatch.setenv("ENGAGELAB_OTP_DEV_KEY", "env-key")
    monkeypatch.setenv("ENGAGELAB_OTP_DEV_SECRET", "env-secret")
    accept(api)
    with engagelab(DEV_KEY=..., DEV_SECRET=""):
        send_otp(PHONE)
    assert api.calls[0].request.headers["Authorization"] == "Basic " + base64.b64encode(b"env-key:env-secret").decode()


def test_default_region_reads_national_numbers(api):
    accept(api)
    with pytest.raises(InvalidInputError):
        send_otp("187 0123 5678")
    with engagelab(DEFAULT_REGION="CN"):
        log = send_otp("187 0123 5678")
    assert body(api)["to"] == PHONE and log.to == PHONE


def test_default_language_comes_from_settings(api):
    accept(api)
    with engagelab(LANGUAGE="zh_HK"):
        send_otp(PHONE)
    assert body(api)["template"]["language"] == "zh_HK"


# ---------------------------------------------------------------- verification


def sent_row(message_id="m1", status="accepted"):
    return MessageLog.objects.create(
        kind="otp", to=PHONE, template_id="login-otp", message_id=message_id, status=status
    )


def test_verify_right_code(api, received):
    row = sent_row()
    api.post(API + "verifications", json={"message_id": "m1", "verify_code": "123456", "verified": True})
    assert verify_otp("m1", "123456") is True
    row.refresh_from_db()
    assert (row.verify_attempts, row.status) == (1, "accepted") and row.verified_at
    assert body(api) == {"message_id": "m1", "verify_code": "123456"}
    assert received == [("verified", {"sender": MessageLog, "message_id": "m1", "verified": True, "log": row})]


def test_verify_wrong_code(api, received):
    row = sent_row()
    api.post(API + "verifications", json={"message_id": "m1", "verified": False})
    assert verify_otp("m1", "654321") is False
    row.refresh_from_db()
    assert (row.verify_attempts, row.status, row.verified_at) == (1, "accepted", None)
    assert received[0][1]["verified"] is False


def test_verify_leaves_the_status_to_the_callbacks(api):
    row = sent_row(status="delivered")
    api.post(API + "verifications", json={"message_id": "m1", "verified": True})
    verify_otp("m1", "123456")
    row.refresh_from_db()
    assert row.status == "delivered" and row.verify_attempts == 1 and row.verified_at


def test_verify_a_message_sent_elsewhere(api, received):
    api.post(API + "verifications", json={"message_id": "m9", "verified": True})
    assert verify_otp("m9", "123456") is True
    assert received == [("verified", {"sender": MessageLog, "message_id": "m9", "verified": True, "log": None})]


def test_verify_refused_counts(api, caplog):
    row = sent_row()
    api.post(API + "verifications", status=400, json={"code": 3003, "message": "already verified"})
    with caplog.at_level(logging.DEBUG, logger="django_engagelab_otp"), pytest.raises(RequestError) as info:
        verify_otp("m1", "123456")
    assert info.value.log is None  # no send was settled: the caller logs it if it wants
    assert not [r for r in caplog.records if r.name == "django_engagelab_otp"]
    row.refresh_from_db()
    assert row.verify_attempts == 1


def test_verify_unreachable_does_not_count(api):
    row = sent_row()
    api.post(API + "verifications", body=requests.ConnectTimeout("no route"))
    with pytest.raises(TransportError):
        verify_otp("m1", "123456")
    row.refresh_from_db()
    assert row.verify_attempts == 0


# ---------------------------------------------------------------- secrets


def all_stored_text() -> str:
    columns = [f.attname for f in MessageLog._meta.concrete_fields]
    return json.dumps(list(MessageLog.objects.values_list(*columns)), default=str)


def test_codes_are_never_stored(api, no_cooldown):
    accept(api, "codes", "m1")
    accept(api, "custom-messages", "m2")
    accept(api, "messages", "m3")
    api.post(API + "verifications", json={"message_id": "m3", "verify_code": CODE, "verified": True})
    api.post(API + "codes", status=400, json={"code": 3002, "message": f"code {CODE} rejected"})
    send_code(PHONE, CODE, "my-code")
    send_custom_message(PHONE, "verify-tpl", params={"code": CODE, "name": "Bob"})
    send_otp(PHONE, params={"CODE": CODE})
    verify_otp("m3", CODE)
    with pytest.raises(RequestError):
        send_code(PHONE, CODE, "my-code")
    assert MessageLog.objects.count() == 4
    stored = all_stored_text()
    assert CODE not in stored and SECRET not in stored and TOKEN not in stored
    assert "Bob" in stored  # the scan does see the parameters


def test_codes_and_secrets_are_never_logged(caplog, no_cooldown):
    answers = {
        1: (200, {"message_id": "m1", "send_channel": "sms"}),
        2: (200, {"message_id": "m1", "verify_code": CODE, "verified": True}),
        3: (400, {"code": 3003, "message": f"verify_code {CODE} already used"}),
        4: (401, {"code": 2001, "message": f"bad secret {SECRET}"}),
        5: (500, {"code": 1000, "message": "internal"}),
        6: (500, {"code": 1000, "message": "internal"}),
        7: (500, {"code": 1000, "message": "internal"}),
    }
    caplog.set_level(logging.DEBUG)
    with LocalServer(behaviour=lambda n, seen: answers[n]) as server, engagelab(API_URL=server.url):
        send_code(PHONE, CODE, "my-code", params={"code": CODE})
        verify_otp("m1", CODE)
        with pytest.raises(RequestError):
            verify_otp("m1", CODE)
        with pytest.raises(AuthenticationError):
            send_otp(PHONE, params={"code": CODE})
        with pytest.raises(ServerError):
            send_code(PHONE, CODE, "my-code")
    records = caplog.records
    assert any(r.name.startswith("urllib3") for r in records)  # the scan covers the HTTP library too
    assert any(r.levelno == logging.ERROR and r.name == "django_engagelab_otp" for r in records)
    text = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in records)
    assert CODE not in text and SECRET not in text and TOKEN not in text
    assert CODE not in all_stored_text()


def test_log_levels(api, caplog):
    api.post(API + "messages", status=400, json={"code": 5011, "message": "bad number"})
    api.post(API + "messages", status=403, json={"code": 2004, "message": "no permission"})
    with caplog.at_level(logging.INFO, logger="django_engagelab_otp"):
        with pytest.raises(RecipientError):
            send_otp(PHONE)
        with pytest.raises(AuthenticationError):
            send_otp(PHONE)
    levels = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "django_engagelab_otp"]
    assert levels[0][0] == logging.WARNING and "+86 187****5678" in levels[0][1] and PHONE not in levels[0][1]
    assert levels[1][0] == logging.ERROR and "2004" in levels[1][1]


def test_the_package_exports_lazily():
    assert django_engagelab_otp.send_otp is send_otp
    with pytest.raises(AttributeError):
        django_engagelab_otp.no_such_function  # noqa: B018


def test_an_unknown_channel_is_kept_within_its_column(api):
    api.post(API + "messages", json={"message_id": "m1", "send_channel": "a-channel-from-the-future"})
    log = send_otp(PHONE)
    log.refresh_from_db()
    assert log.send_channel == "a-channel-from-t" and log.status == "accepted"


# ---------------------------------------------------------------- the template language


@pytest.mark.parametrize(
    ("django_language", "template"),
    [
        ("zh-hans", "zh_CN"),
        ("zh-hant", "zh_HK"),
        ("zh-tw", "zh_HK"),
        ("ja", "ja"),
        ("th", "th"),
        ("es", "es"),
        ("es-ar", "es"),
        ("en-us", "en"),
        ("de", "default"),
        (None, "default"),
    ],
)
def test_without_a_language_setting_the_persons_language_decides(api, django_language, template):
    accept(api)
    with engagelab(LANGUAGE=...), translation.override(django_language):
        log = send_otp(PHONE)
    assert log.language == template
    sent = body(api)["template"]
    assert sent.get("language", "default") == template


def test_the_setting_and_the_argument_win_over_the_persons_language(api, no_cooldown):
    accept(api)
    with engagelab(LANGUAGE="th"), translation.override("ja"):
        assert send_otp(PHONE).language == "th"
        assert send_otp(PHONE, language="es").language == "es"
