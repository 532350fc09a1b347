"""Async views through Django's ASGI handler (``AsyncClient``): the async services and the forms' ``ais_valid``."""

from __future__ import annotations

import pytest
from django.test import AsyncClient

from django_engagelab_otp.forms import SendOTPForm, VerifyOTPForm
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.simulator.magic import by_name
from tests.support.aio import run
from tests.support.constants import PHONE
from tests.support.settings import configure

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.async_views")]


@pytest.fixture
def client():
    return AsyncClient()


def test_send_and_verify_from_async_views(client, engagelab_simulator):
    sent = run(client.post, "/send/", {"to": PHONE})
    assert sent.status_code == 200
    message_id = sent.json()["message_id"]
    code = engagelab_simulator.platform.last_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    assert run(client.post, "/verify/", {"message_id": message_id, "code": wrong}).json() == {"verified": False}
    assert run(client.post, "/verify/", {"message_id": message_id, "code": code}).json() == {"verified": True}
    row = MessageLog.objects.get()
    assert (row.status, row.message_id, row.verify_attempts) == ("accepted", message_id, 2) and row.verified_at


def test_a_platform_refusal_reaches_the_async_view(client, engagelab_simulator):
    answer = run(client.post, "/send/", {"to": by_name("error-5011").phone})
    assert answer.status_code == 400 and answer.json() == {"error": "Enter a valid phone number."}
    assert MessageLog.objects.get().status == "failed"


def test_the_forms_validate_and_call_the_platform_awaited(client, engagelab_simulator):
    sent = run(client.post, "/form/send/", {"to": PHONE, "language": "en"})
    assert sent.status_code == 200
    message_id = sent.json()["message_id"]
    wrong = run(client.post, f"/form/verify/{message_id}/", {"code": "999999"})
    assert wrong.status_code == 400 and "code" in wrong.json()["errors"]
    code = engagelab_simulator.platform.last_code(PHONE)
    assert run(client.post, f"/form/verify/{message_id}/", {"code": code}).json() == {"verified": True}


def test_the_forms_errors_land_where_the_sync_ones_do(client, engagelab_simulator):
    bad = run(client.post, "/form/send/", {"to": "12345"})
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["to"]
    refused = run(client.post, "/form/send/", {"to": by_name("error-5013").phone})
    assert list(refused.json()["errors"]) == ["to"]
    assert MessageLog.objects.count() == 1  # the bad number reached neither the platform nor the history


def test_the_client_rates_count_async_submissions(client, engagelab_simulator, settings):
    configure(settings, IP_RATE="1/h", RESEND_COOLDOWN=0)
    assert run(client.post, "/form/send/", {"to": PHONE}).status_code == 200
    second = run(client.post, "/form/send/", {"to": "+8618701235679"})
    assert second.status_code == 400 and "__all__" in second.json()["errors"]
    assert MessageLog.objects.count() == 1


@pytest.mark.parametrize("form", ["send", "verify"])
def test_ais_valid_gives_what_is_valid_gives(engagelab_outbox, form):
    def make(n: int):
        if form == "send":
            return SendOTPForm({"to": f"+861870123567{n}"})
        return VerifyOTPForm(log.message_id, {"code": "000000"})

    log = SendOTPForm({"to": PHONE}) if form == "verify" else None
    if log is not None:
        assert log.is_valid()
        log = log.log
    sync, awaited = make(1), make(2)
    assert sync.is_valid() == run(awaited.ais_valid)
    # The same fields in error ("4 more times" and "3 more times" for the two wrong codes).
    assert list(sync.errors) == list(awaited.errors) and awaited.is_valid() == sync.is_valid()
