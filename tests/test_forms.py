"""SendOTPForm and VerifyOTPForm: every error family lands on the right field, with the table's text."""

import json
import logging

import pytest
import requests
from django.test import override_settings
from responses import matchers

from django_engagelab_otp.errors import ERROR_CODES
from django_engagelab_otp.exceptions import UNAVAILABLE, ServerError, TransportError
from django_engagelab_otp.forms import SendOTPForm, VerifyOTPForm
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.signals import message_failed
from tests.support.constants import API, PHONE

pytestmark = pytest.mark.django_db

SECRET = "test-secret-do-not-leak"
RECIPIENT_CODES = [5011, 5012, 5013, 5017, 5018, 5019, 5020]
NON_FIELD_CODES = [3004, 5001, 5014, 5015]
OPERATOR_CODES = [2001, 2002, 2004, 3001, 3002, 4001]


def send_form(to=PHONE, **kwargs):
    form = SendOTPForm(data={"to": to, "language": kwargs.pop("language", "")}, **kwargs)
    return form, form.is_valid()


def user_text(code):
    return str(ERROR_CODES[code].user_message)


def assert_no_secrets(caplog, *secrets):
    for record in caplog.records:
        text = record.getMessage()
        for secret in (SECRET, *secrets):
            assert secret not in text


# ------------------------------------------------------------------ sending


def test_send_valid_exposes_log_and_normalizes(api):
    call = api.post(
        API + "messages",
        json={"message_id": "m1", "send_channel": "sms"},
        match=[matchers.json_params_matcher({"to": PHONE, "template": {"id": "login-otp", "language": "en"}})],
    )
    form, valid = send_form("+86 187 0123 5678", language="en")
    assert valid, form.errors
    assert form.cleaned_data["to"] == PHONE
    assert isinstance(form.log, MessageLog)
    assert (form.log.message_id, form.log.status, form.log.send_channel) == ("m1", "accepted", "sms")
    assert call.call_count == 1


def test_send_uses_template_id_and_params_given_to_constructor(api):
    call = api.post(API + "messages", json={"message_id": "m2", "send_channel": "email"})
    form, valid = send_form("bob@Example.COM", template_id="signup-otp", params={"name": "Bob"})
    assert valid, form.errors
    body = json.loads(call.calls[0].request.body)
    assert body["to"] == "bob@example.com"
    assert body["template"]["id"] == "signup-otp"
    assert body["template"]["params"] == {"name": "Bob"}
    assert body["template"]["language"] == "en"  # no LANGUAGE setting: the person's language (en-us)
    assert form.log.template_id == "signup-otp"


@override_settings(
    ENGAGELAB_OTP={
        "DEV_KEY": "k",
        "DEV_SECRET": SECRET,
        "API_URL": API,
        "TEMPLATE_ID": "login-otp",
        "DEFAULT_REGION": "GB",
        "RETRY_BACKOFF": 0,
        "RETRY_JITTER": 0,
    }
)
def test_send_reads_national_numbers_in_default_region(api):
    api.post(API + "messages", json={"message_id": "m3", "send_channel": "sms"})
    form, valid = send_form("07911 123456")
    assert valid, form.errors
    assert form.log.to == "+447911123456"


@pytest.mark.parametrize("value", ["12345", "not an address", "bob@", "+99 1234"])
def test_send_invalid_recipient_is_a_to_error_without_request(api, value):
    form, valid = send_form(value)
    assert not valid
    assert list(form.errors) == ["to"]
    assert len(api.calls) == 0
    assert not MessageLog.objects.exists()


def test_send_requires_recipient_and_known_language(api):
    form = SendOTPForm(data={"to": "", "language": "klingon"})
    assert not form.is_valid()
    assert set(form.errors) == {"to", "language"}
    assert len(api.calls) == 0


@pytest.mark.parametrize("code", RECIPIENT_CODES)
def test_recipient_codes_go_under_to(api, code):
    api.post(API + "messages", status=400, json={"code": code, "message": "platform text"})
    form, valid = send_form()
    assert not valid
    assert form.errors == {"to": [user_text(code)]}
    assert form.log is None
    assert MessageLog.objects.get().status == "failed"


@pytest.mark.parametrize("code", NON_FIELD_CODES)
def test_rate_limit_and_delivery_codes_are_non_field(api, code):
    api.post(API + "messages", status=400, json={"code": code, "message": "platform text"})
    form, valid = send_form()
    assert not valid
    assert form.non_field_errors() == [user_text(code)]
    assert list(form.errors) == ["__all__"]
    assert form.non_field_errors().as_data()[0].code == f"engagelab_{code}"


def test_rate_limit_text_is_the_tables(api):
    api.post(API + "messages", status=400, json={"code": 3004, "message": "frequency limit"})
    form, _ = send_form()
    assert "wait" in form.non_field_errors()[0]


@pytest.mark.parametrize(
    ("answer", "error_class"),
    [
        ({"status": 500, "json": {"code": 1000, "message": "internal"}}, ServerError),
        ({"status": 502, "body": "<html><body>Bad Gateway</body></html>", "content_type": "text/html"}, ServerError),
        ({"status": 503, "body": ""}, ServerError),
        ({"body": requests.ConnectionError("connection dropped")}, TransportError),
        ({"body": requests.ReadTimeout("no answer")}, TransportError),
    ],
    ids=["1000", "html-502", "empty-503", "connection", "read-timeout"],
)
def test_outages_are_non_field_with_the_tables_text(api, answer, error_class):
    api.post(API + "messages", **answer)
    raised = []

    def capture(sender, log, error, **kwargs):
        raised.append(error)

    message_failed.connect(capture)
    try:
        form, valid = send_form()
    finally:
        message_failed.disconnect(capture)
    assert not valid
    (error,) = raised
    assert isinstance(error, error_class) and not error.operator
    assert list(form.errors) == ["__all__"]
    assert form.non_field_errors() == [str(error.user_message)]
    assert form.non_field_errors()[0] != str(UNAVAILABLE)


@pytest.mark.parametrize("code", OPERATOR_CODES)
def test_operator_codes_show_generic_text_and_log_error(api, caplog, code):
    api.post(API + "messages", status=ERROR_CODES[code].http_status, json={"code": code, "message": f"detail {code}"})
    with caplog.at_level(logging.INFO, logger="django_engagelab_otp"):
        form, valid = send_form()
    assert not valid
    assert form.errors == {"__all__": [str(UNAVAILABLE)]}
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors, "operator problems are logged at ERROR"
    assert any(str(code) in r.getMessage() and f"detail {code}" in r.getMessage() for r in errors)
    assert len(errors) == 1, "one ERROR line per failure"
    assert_no_secrets(caplog)


def test_missing_credentials_show_generic_text_and_log_error(api, caplog, monkeypatch):
    monkeypatch.delenv("ENGAGELAB_OTP_DEV_SECRET", raising=False)
    settings = override_settings(ENGAGELAB_OTP={"DEV_KEY": "k", "API_URL": API, "TEMPLATE_ID": "login-otp"})
    with settings, caplog.at_level(logging.INFO, logger="django_engagelab_otp"):
        form, valid = send_form()
    assert not valid
    assert form.errors == {"__all__": [str(UNAVAILABLE)]}
    assert len(api.calls) == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "credentials" in errors[0].getMessage()
    assert errors[0].name == "django_engagelab_otp.forms"


def test_missing_template_id_is_an_operator_problem(api, caplog):
    settings = override_settings(ENGAGELAB_OTP={"DEV_KEY": "k", "DEV_SECRET": SECRET, "API_URL": API})
    with settings, caplog.at_level(logging.ERROR, logger="django_engagelab_otp"):
        form, valid = send_form()
    assert not valid
    assert form.errors == {"__all__": [str(UNAVAILABLE)]}
    assert len(api.calls) == 0
    assert any("TEMPLATE_ID" in r.getMessage() for r in caplog.records)


def test_bad_params_from_the_developer_do_not_crash(api):
    form, valid = send_form(params={"name": None})
    assert not valid
    assert list(form.errors) == ["__all__"]
    assert len(api.calls) == 0


# ------------------------------------------------------------------ verifying


def verify_form(code="123456", message_id="m1"):
    form = VerifyOTPForm(message_id, data={"code": code})
    return form, form.is_valid()


def test_verify_right_code(api):
    log = MessageLog.objects.create(kind="otp", to=PHONE, template_id="login-otp", message_id="m1", status="accepted")
    api.post(
        API + "verifications",
        json={"message_id": "m1", "verify_code": "123456", "verified": True},
        match=[matchers.json_params_matcher({"message_id": "m1", "verify_code": "123456"})],
    )
    form, valid = verify_form(" 123456 ")
    assert valid, form.errors
    assert form.verified is True
    log.refresh_from_db()
    assert log.verified_at is not None


def test_verify_wrong_code_is_a_code_error(api):
    api.post(API + "verifications", json={"message_id": "m1", "verify_code": "000000", "verified": False})
    form, valid = verify_form("000000")
    assert not valid
    assert form.verified is False
    assert form.errors == {"code": ["This code is not right. You can try 4 more times."]}


@pytest.mark.parametrize("value", ["", "12", "12345678901", "12 34", "12-34"])
def test_verify_malformed_code_is_a_code_error_without_request(api, value):
    form, valid = verify_form(value)
    assert not valid
    assert list(form.errors) == ["code"]
    assert len(api.calls) == 0


def test_the_typed_code_is_never_written_back_into_the_page(api):
    api.post(API + "verifications", json={"message_id": "m1", "verify_code": "Zq83Xk", "verified": False})
    form, valid = verify_form("Zq83Xk")
    assert not valid and "Zq83Xk" not in str(form) and 'autocomplete="one-time-code"' in str(form)


def test_an_unknown_language_is_refused_without_echoing_it(api):
    form, valid = send_form(language="en\x00<b>")
    assert not valid and form.errors == {"language": ["Select one of the languages offered."]}
    assert not api.calls


def test_verify_expired_or_used_code_is_non_field(api):
    api.post(API + "verifications", status=400, json={"code": 3003, "message": "code already verified"})
    form, valid = verify_form()
    assert not valid
    assert form.errors == {"__all__": [user_text(3003)]}


def test_verify_outage_is_non_field(api):
    api.post(API + "verifications", status=502, body="<html>Bad Gateway</html>", content_type="text/html")
    form, valid = verify_form()
    assert not valid
    assert form.non_field_errors() == [str(ServerError.default_user_message)]


def test_verify_operator_problem_is_generic_and_logged_once(api, caplog):
    api.post(API + "verifications", status=401, json={"code": 2001, "message": "bad credentials"})
    with caplog.at_level(logging.INFO, logger="django_engagelab_otp"):
        form, valid = verify_form("482910")
    assert not valid
    assert form.errors == {"__all__": [str(UNAVAILABLE)]}
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "2001" in errors[0].getMessage()
    assert_no_secrets(caplog, "482910")


def test_verify_bad_message_id_is_non_field(api):
    form, valid = verify_form(message_id="not a valid id!")
    assert not valid
    assert list(form.errors) == ["__all__"]
    assert len(api.calls) == 0
