"""No flow lets a code or the dev secret reach a log line, a row, a repr, a message or a page."""

from __future__ import annotations

import logging

import pytest
from django.apps import apps
from django.test import Client
from rest_framework.test import APIClient
from two_factor.plugins.phonenumber.models import PhoneDevice

from django_engagelab_otp.contrib.otp.models import EngageLabDevice
from django_engagelab_otp.contrib.two_factor import EngageLabGateway

from .conftest import BLOCKED, OUTAGE, PHONE, two_factor_log_in, wrong

pytestmark = pytest.mark.django_db


def every_row() -> str:
    """Every value of every row the app and the integrations keep."""
    models = [
        *apps.get_app_config("django_engagelab_otp").get_models(),
        *apps.get_app_config("otp_engagelab").get_models(),
        *apps.get_app_config("engagelab_allauth").get_models(),
    ]
    return repr([list(model.objects.values()) for model in models])


@pytest.fixture
def secrets_seen(caplog, settings):
    """Checks, after the test, that none of the codes collected appear anywhere it looked."""
    caplog.set_level(logging.DEBUG)
    codes: list[str] = []
    texts: list[str] = []
    yield codes, texts
    secret = settings.ENGAGELAB_OTP["DEV_SECRET"]
    # At teardown caplog.text holds only the teardown's records: read the test's own.
    logged = [f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.get_records("call")]
    haystack = "\n".join([*logged, every_row(), *texts])
    assert codes, "the test collected no code"
    for needle in [*codes, secret]:
        assert needle not in haystack


def test_the_django_otp_device(secrets_seen, outbox, user):
    codes, texts = secrets_seen
    device = EngageLabDevice.objects.create(user=user, name="default", recipient=PHONE)
    device.throttle_factor = 0  # the right code at once after a wrong one
    texts.append(device.generate_challenge())
    codes.append(outbox[-1].code)
    texts += [repr(device), str(device), repr(device.refusal)]
    device.verify_token(wrong(codes[-1]))
    texts.append(repr(device.refusal))
    assert device.verify_token(codes[-1])
    blocked = EngageLabDevice.objects.create(user=user, name="blocked", recipient=BLOCKED)
    texts += [blocked.generate_challenge(), repr(blocked.refusal)]


def test_the_two_factor_gateway(secrets_seen, outbox, user):
    codes, texts = secrets_seen
    PhoneDevice.objects.create(user=user, name="default", number=PHONE, method="sms")
    page = two_factor_log_in(Client())
    codes.append(outbox[-1].code)
    texts.append(page.content.decode())
    gateway = EngageLabGateway()
    gateway.send_sms(PhoneDevice(user=user, number=OUTAGE, method="sms"), "482910")
    codes.append("482910")
    texts.append(repr(gateway.refusal))


def test_allauth(secrets_seen, outbox):
    codes, texts = secrets_seen
    client = Client()
    client.post("/accounts/signup/", {"phone": PHONE})
    codes.append(outbox[-1].code)
    texts.append(client.get("/accounts/phone/verify/").content.decode())
    texts.append(client.post("/accounts/phone/verify/", {"code": "WRONG000"}).content.decode())


def test_drf(secrets_seen, outbox):
    codes, texts = secrets_seen
    api = APIClient()
    sent = api.post("/api/otp/send/", {"to": PHONE}, format="json")
    codes.append(outbox[-1].code)
    texts.append(sent.content.decode())
    body = {"to": PHONE, "request_id": sent.json()["request_id"], "code": wrong(codes[-1])}
    texts.append(api.post("/api/otp/verify/", body, format="json").content.decode())
    body["code"] = codes[-1]
    texts.append(api.post("/api/otp/verify/", body, format="json").content.decode())
    texts.append(api.get("/api/schema/").content.decode())
