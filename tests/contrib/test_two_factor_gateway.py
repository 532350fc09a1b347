"""django-two-factor-auth's gateway: its TOTP tokens through /v1/codes, refusals never a 500."""

from __future__ import annotations

import logging

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone
from two_factor.plugins.phonenumber.models import PhoneDevice

from django_engagelab_otp.contrib.two_factor import EngageLabGateway
from django_engagelab_otp.models import MessageLog

from .conftest import PHONE, REFUSED_TEXT, SEND_REFUSALS, TEMPLATE_GONE, prepare, two_factor_log_in, two_factor_token

pytestmark = pytest.mark.django_db


def phone_device(user, number=PHONE, method="sms"):
    return PhoneDevice.objects.create(user=user, name="default", number=number, method=method)


def test_send_sms_delivers_two_factors_token_with_the_code_template(user, outbox):
    device = phone_device(user)
    EngageLabGateway().send_sms(device, "012345")
    sent = outbox[-1]
    assert (sent.endpoint, sent.to, sent.code, sent.template_id) == ("codes", PHONE, "012345", "login-code")
    log = MessageLog.objects.get()
    assert (log.kind, log.status, log.template_id) == ("code", "accepted", "login-code")


def test_make_call_uses_the_voice_template(user, outbox):
    EngageLabGateway().make_call(phone_device(user, method="call"), "654321")
    assert (outbox[-1].template_id, outbox[-1].code) == ("login-voice", "654321")


def test_without_a_code_template_text_messages_use_the_default_template(user, outbox, otp_config):
    otp_config(CODE_TEMPLATE_ID=None)
    EngageLabGateway().send_sms(phone_device(user), "012345")
    assert outbox[-1].template_id == "login-otp"


def test_without_a_voice_template_a_call_is_refused_and_logged_not_sent_as_text(user, outbox, otp_config, caplog):
    otp_config(VOICE_TEMPLATE_ID=None)
    gateway = EngageLabGateway()
    with caplog.at_level(logging.ERROR):
        gateway.make_call(phone_device(user, method="call"), "654321")
    assert outbox == [] and MessageLog.objects.count() == 0
    assert gateway.refusal.status == 503
    assert "VOICE_TEMPLATE_ID" in caplog.text and "654321" not in caplog.text


@pytest.mark.parametrize("refusal", SEND_REFUSALS)
def test_every_refusal_is_kept_and_never_raised(refusal, user, outbox, otp_config):
    gateway = EngageLabGateway()
    recipient = prepare(refusal, otp_config, lambda to: gateway.send_sms(phone_device(user, to), "111111"))
    gateway.send_sms(phone_device(user, recipient), "222222")
    assert gateway.refusal is not None and gateway.refusal.text.startswith(REFUSED_TEXT[refusal])


def test_an_operators_problem_reads_as_unavailable(user, outbox):
    gateway = EngageLabGateway()
    gateway.send_sms(phone_device(user, TEMPLATE_GONE), "222222")
    assert gateway.refusal.text == "Sending codes is temporarily unavailable. Please try again later."


def test_a_successful_send_clears_the_last_refusal(user, outbox, otp_config):
    otp_config(RESEND_COOLDOWN=0)
    gateway = EngageLabGateway()
    gateway.send_sms(phone_device(user, TEMPLATE_GONE), "222222")
    gateway.send_sms(phone_device(user), "333333")
    assert gateway.refusal is None


# ---------------------------------------------------------------- two-factor's login, over HTTP


@pytest.mark.parametrize("method", ["sms", "call"])
def test_two_factor_login_sends_the_token_and_signs_in(method, user, outbox):
    phone_device(user, method=method)
    client = Client()
    response = two_factor_log_in(client)
    assert response.status_code == 200 and response.context["wizard"]["steps"].current == "token"
    token = outbox[-1].code
    assert outbox[-1].template_id == {"sms": "login-code", "call": "login-voice"}[method]
    response = two_factor_token(client, token)
    assert response.status_code == 302 and response["Location"] == "/welcome/"
    assert client.get("/welcome/").content == b"welcome ada"


@pytest.mark.parametrize("refusal", SEND_REFUSALS)
def test_two_factor_login_shows_every_refusal_as_a_message_not_a_500(refusal, user, outbox, otp_config):
    recipient = prepare(refusal, otp_config, lambda to: EngageLabGateway().send_sms(phone_device(user, to), "111111"))
    PhoneDevice.objects.filter(user=user).delete()
    phone_device(user, recipient)
    response = two_factor_log_in(Client())
    assert response.status_code == 200 and response.context["wizard"]["steps"].current == "token"
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert len(shown) == 1 and shown[0].startswith(REFUSED_TEXT[refusal])


def test_two_factor_login_of_a_throttled_device_is_answered_without_a_500(user, outbox):
    # "Locked": two-factor verifies its own TOTP tokens, and throttles the device after wrong ones.
    device = phone_device(user)
    device.throttling_failure_count = 5
    device.throttling_failure_timestamp = timezone.now()
    device.save()
    client = Client()
    response = two_factor_log_in(client)
    assert response.status_code == 200 and outbox == []  # two-factor sends nothing to a throttled device
    response = two_factor_token(client, "123456")
    assert response.status_code == 200
    assert "Verification temporarily disabled because of 5 failed attempts" in response.content.decode()


def test_asking_again_at_once_meets_the_cooldown_as_a_message(user, outbox):
    device = phone_device(user)
    client = Client()
    two_factor_log_in(client)
    # Choosing the device on the token page challenges it again.
    response = client.post("/account/login/", {"challenge_device": device.persistent_id})
    assert response.status_code == 200 and len(outbox) == 1
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert shown[0].startswith("A code was sent a moment ago. You can ask for another in")
    response = two_factor_token(client, outbox[-1].code)  # the first token still works
    assert response.status_code == 302


def setup_wizard_at_sms(user) -> tuple[Client, str]:
    """A signed-in client in two-factor's setup wizard, past its welcome and with text messages chosen."""
    client = Client()
    client.force_login(user)
    url = "/account/two_factor/setup/"
    client.post(url, {"setup_view-current_step": "welcome"})
    client.post(url, {"setup_view-current_step": "method", "method-method": "sms"})
    return client, url


def test_two_factors_setup_wizard_validates_the_number_through_the_gateway(user, outbox):
    client, url = setup_wizard_at_sms(user)
    response = client.post(url, {"setup_view-current_step": "sms", "sms-number": PHONE})
    assert response.status_code == 200 and response.context["challenge_succeeded"] is True
    response = client.post(url, {"setup_view-current_step": "validation", "validation-token": outbox[-1].code})
    assert response.status_code == 302
    assert PhoneDevice.objects.get(user=user).confirmed


def test_two_factors_setup_wizard_shows_a_refused_number(user, outbox):
    client, url = setup_wizard_at_sms(user)
    response = client.post(url, {"setup_view-current_step": "sms", "sms-number": "+442079460513"})
    assert response.status_code == 200 and outbox == []
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert shown == ["The message could not be sent to this recipient."]


def test_over_http_against_the_simulator(user, engagelab_simulator, settings):
    engagelab_simulator.platform.ensure_template("login-code")
    phone_device(user)
    client = Client()
    two_factor_log_in(client)
    token = engagelab_simulator.platform.last_code(PHONE)
    assert two_factor_token(client, token).status_code == 302
