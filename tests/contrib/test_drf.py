"""The DRF view set: send, verify with a signed request id, refusals as 429/503/400, never a 500."""

from __future__ import annotations

import pytest
from django.core import signing
from django.db import connection
from rest_framework.test import APIClient

from django_engagelab_otp.contrib.drf import refusal_response
from django_engagelab_otp.contrib.drf.request_ids import SALT, issue
from django_engagelab_otp.errors import ERROR_CODES, FAILURES
from django_engagelab_otp.models import MessageLog

from .conftest import OTHER_PHONE, PHONE, REFUSED_TEXT, SEND_REFUSALS, TEMPLATE_GONE, prepare, wrong

pytestmark = pytest.mark.django_db

SEND, VERIFY = "/api/otp/send/", "/api/otp/verify/"


@pytest.fixture
def api():
    return APIClient()


def send(api, to=PHONE, url=SEND):
    return api.post(url, {"to": to}, format="json")


def verify(api, request_id, code, to=PHONE, url=VERIFY):
    return api.post(url, {"to": to, "request_id": request_id, "code": code}, format="json")


def test_send_then_verify(api, outbox):
    response = send(api, "+86 187 0123 5678")
    assert response.status_code == 200
    body = response.json()
    assert body["channel"] == "sms" and set(body) == {"request_id", "channel"}
    assert outbox[-1].message_id not in body["request_id"]  # opaque: compressed and signed
    response = verify(api, body["request_id"], outbox[-1].code)
    assert response.status_code == 200 and response.json() == {"verified": True}
    assert MessageLog.objects.get().verified_at is not None


def test_on_verified_signs_the_person_in(api, outbox):
    request_id = send(api, url="/api/otp-token/send/").json()["request_id"]
    response = verify(api, request_id, outbox[-1].code, url="/api/otp-token/verify/")
    assert response.status_code == 200
    body = response.json()
    assert body["verified"] is True and isinstance(body["user_id"], int)


def test_a_wrong_code_is_a_400_on_code_and_stays_counted(api, outbox):
    request_id = send(api).json()["request_id"]
    response = verify(api, request_id, wrong(outbox[-1].code))
    assert response.status_code == 400
    assert response.json() == {"code": ["This code is not right. You can try 4 more times."]}
    assert MessageLog.objects.get().verify_attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_wrong_code_is_not_rolled_back_under_atomic_requests(api, outbox, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    request_id = send(api).json()["request_id"]
    for expected in (1, 2):
        assert verify(api, request_id, wrong(outbox[-1].code)).status_code == 400
        assert MessageLog.objects.get().verify_attempts == expected


def test_the_code_is_used_once(api, outbox):
    request_id = send(api).json()["request_id"]
    assert verify(api, request_id, outbox[-1].code).status_code == 200
    response = verify(api, request_id, outbox[-1].code)
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["This code has expired or was already used. Please request a new one."]
    }


# ---------------------------------------------------------------- the request id


def test_a_tampered_request_id_is_refused(api, outbox):
    request_id = send(api).json()["request_id"]
    tampered = request_id[:-2] + ("AA" if not request_id.endswith("AA") else "BB")
    response = verify(api, tampered, outbox[-1].code)
    assert response.status_code == 400
    assert response.json() == {"request_id": ["This request id is not valid. Please request a new code."]}
    assert MessageLog.objects.get().verify_attempts == 0


def test_a_request_id_forged_without_the_key_is_refused(api, outbox):
    send(api)
    forged = signing.dumps({"m": outbox[-1].message_id, "r": "x"}, key="not-the-site-key", salt=SALT, compress=True)
    assert verify(api, forged, outbox[-1].code).json() == {
        "request_id": ["This request id is not valid. Please request a new code."]
    }


def test_another_recipients_request_id_is_refused(api, outbox):
    request_id = send(api, OTHER_PHONE).json()["request_id"]
    response = verify(api, request_id, outbox[-1].code, to=PHONE)
    assert response.status_code == 400
    assert response.json() == {"request_id": ["This request id was issued for another recipient."]}
    assert MessageLog.objects.get().verify_attempts == 0


def test_an_expired_request_id_is_refused(api, outbox, monkeypatch):
    from django_engagelab_otp.contrib.drf.views import OTPViewSet

    request_id = send(api).json()["request_id"]
    monkeypatch.setattr(OTPViewSet, "request_id_max_age", -1)
    response = verify(api, request_id, outbox[-1].code)
    assert response.json() == {"request_id": ["This request id has expired. Please request a new code."]}


def test_a_request_id_holds_no_recipient():
    payload = signing.loads(issue("123", PHONE), salt=SALT)
    assert PHONE not in str(payload) and "8618701235678" not in str(payload)


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("refusal", SEND_REFUSALS)
def test_every_refusal_of_a_send(refusal, api, outbox, otp_config):
    recipient = prepare(refusal, otp_config, lambda to: send(APIClient(), to))
    response = send(api, recipient)
    body = response.json()
    if refusal in ("cooldown", "daily_cap"):
        assert response.status_code == 429 and int(response["Retry-After"]) > 0
        assert body["detail"].startswith(REFUSED_TEXT[refusal]) and body["code"] == "engagelab_ThrottledError"
    elif refusal == "frequency_3004":
        assert response.status_code == 429 and not response.has_header("Retry-After")
        assert body == {
            "detail": "A code was sent to this recipient a moment ago. Please wait before asking for another.",
            "code": "engagelab_3004",
        }
    elif refusal == "blocked_5013":
        assert response.status_code == 400
        assert body == {"to": ["The message could not be sent to this recipient."]}
    else:
        assert response.status_code == 503
        assert body["detail"] == "The message service is having trouble. Please try again in a moment."


def test_an_operators_problem_is_a_503_with_generic_text(api, outbox):
    response = send(api, TEMPLATE_GONE)
    assert response.status_code == 503
    assert response.json() == {
        "detail": "Sending codes is temporarily unavailable. Please try again later.",
        "code": "engagelab_4001",
    }


def test_a_locked_message(api, outbox, otp_config):
    otp_config(MAX_VERIFY_ATTEMPTS=2)
    request_id = send(api).json()["request_id"]
    for _ in range(2):
        assert verify(api, request_id, wrong(outbox[-1].code)).status_code == 400
    response = verify(api, request_id, outbox[-1].code)
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Too many wrong codes were entered for this message. Please request a new code."]
    }
    assert MessageLog.objects.get().verify_attempts == 2


def test_the_client_rates_apply(api, outbox, otp_config):
    otp_config(IP_RATE="1/h", RESEND_COOLDOWN=0)
    assert send(api).status_code == 200
    response = send(api, OTHER_PHONE)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert len(outbox) == 1


def test_bad_input_is_a_400_keyed_by_field(api, outbox):
    assert send(api, "+1 900 555 0100").json() == {"to": ["Messages cannot be sent to premium-rate numbers."]}
    assert api.post(SEND, {}, format="json").json() == {"to": ["This field is required."]}
    response = api.post(SEND, "{not json", content_type="application/json")
    assert response.status_code == 400 and "detail" in response.json()
    assert outbox == []


def test_a_code_that_is_no_code_is_a_400_on_code(api, outbox):
    request_id = send(api).json()["request_id"]
    response = verify(api, request_id, "12!")
    assert response.status_code == 400 and list(response.json()) == ["code"]


def test_refusal_response_keys_a_400_by_the_callers_names():
    blocked = ERROR_CODES[5013].exception()
    assert refusal_response(blocked, rename={"to": "phone"}).data == {
        "phone": ["The message could not be sent to this recipient."]
    }
    assert refusal_response(blocked, ["to"]).data == {"to": ["The message could not be sent to this recipient."]}
    assert refusal_response(blocked).data == {"non_field_errors": ["The message could not be sent to this recipient."]}
    throttled = refusal_response(FAILURES["throttled"].exception(wait_seconds=5))
    assert (throttled.status_code, throttled["Retry-After"]) == (429, "5")


def test_over_http_against_the_simulator(api, engagelab_simulator):
    request_id = send(api).json()["request_id"]
    code = engagelab_simulator.platform.last_code(PHONE)
    assert verify(api, request_id, code).json() == {"verified": True}


# ---------------------------------------------------------------- OpenAPI


def test_the_schema_documents_every_answer(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    for path in ("/api/otp/send/", "/api/otp/verify/"):
        answers = schema["paths"][path]["post"]["responses"]
        assert set(answers) == {"200", "400", "415", "429", "503"}
        assert "Retry-After" in answers["429"]["headers"]


def test_a_signed_payload_of_another_shape_is_refused(api, outbox):
    not_ours = signing.dumps(["7533", "x"], salt=SALT)  # signed with the site's key, but not a request id
    assert verify(api, not_ours, "123456").json() == {
        "request_id": ["This request id is not valid. Please request a new code."]
    }
