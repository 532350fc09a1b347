"""django-otp's device: the platform's own OTP through send_otp / verify_otp, with django-otp's reasons."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django_otp.forms import OTPTokenForm
from django_otp.models import GenerateNotAllowed, VerifyNotAllowed

from django_engagelab_otp.backends import locmem
from django_engagelab_otp.contrib.otp.models import EngageLabDevice
from django_engagelab_otp.models import MessageLog

from .conftest import (
    BLOCKED,
    OTHER_PHONE,
    PHONE,
    REFUSED_TEXT,
    SEND_REFUSALS,
    TEMPLATE_GONE,
    prepare,
    two_factor_log_in,
    two_factor_token,
    wrong,
)

pytestmark = pytest.mark.django_db


def device_for(user, recipient=PHONE, name="default"):
    return EngageLabDevice.objects.create(user=user, name=name, recipient=recipient)


def test_a_challenge_sends_the_platforms_otp_and_keeps_only_its_message_id(user, outbox):
    device = device_for(user)
    assert device.generate_challenge() == "sent by text message"
    sent = outbox[-1]
    device.refresh_from_db()
    assert (sent.endpoint, sent.to, device.message_id) == ("messages", PHONE, sent.message_id)
    assert device.last_generated_timestamp is not None
    # No code anywhere on the device's row.
    values = EngageLabDevice.objects.filter(pk=device.pk).values().get()
    assert not any(sent.code in str(value) for value in values.values())


def test_the_right_code_verifies_once(user, outbox):
    device = device_for(user)
    device.generate_challenge()
    code = outbox[-1].code
    assert device.verify_token(code) is True
    device.refresh_from_db()
    assert device.message_id == "" and device.last_used_at is not None
    assert MessageLog.objects.get().verified_at is not None
    requests_before = len(outbox)
    assert device.verify_token(code) is False  # a replay is not even asked
    assert len(outbox) == requests_before


def test_a_wrong_code_is_counted_and_refused(user, outbox):
    device = device_for(user)
    device.generate_challenge()
    assert device.verify_token(wrong(outbox[-1].code)) is False
    assert MessageLog.objects.get().verify_attempts == 1
    assert device.refusal.field == "code"


def test_without_a_challenge_nothing_verifies(user, outbox):
    assert device_for(user).verify_token("123456") is False


def test_a_token_that_is_no_code_at_all_is_just_wrong(user, outbox):
    device = device_for(user)
    device.generate_challenge()
    assert device.verify_token("12 34!") is False
    assert MessageLog.objects.get().verify_attempts == 0  # refused before the platform


def test_an_email_device_says_so(user, outbox):
    device = device_for(user, recipient="Ada@Example.COM")
    assert device.generate_challenge() == "sent by e-mail"
    assert outbox[-1].to == "ada@example.com"


def test_the_cooldown_is_reported_with_django_otps_reason(user, outbox):
    device = device_for(user)
    device.generate_challenge()
    allowed, data = device.generate_is_allowed()
    assert allowed is False and data["reason"] is GenerateNotAllowed.COOLDOWN_DURATION_PENDING
    assert "A code was sent a moment ago. You can ask for another in" in device.generate_challenge()
    assert len(outbox) == 1


def test_no_cooldown_when_it_is_off(user, outbox, otp_config):
    otp_config(RESEND_COOLDOWN=0)
    device = device_for(user)
    device.generate_challenge()
    assert device.generate_is_allowed() == (True, None)


def test_a_wrong_code_starts_django_otps_back_off(user, outbox):
    device = device_for(user)
    device.generate_challenge()
    device.verify_token(wrong(outbox[-1].code))
    allowed, data = device.verify_is_allowed()
    assert allowed is False
    assert (data["reason"], data["failure_count"]) == (VerifyNotAllowed.N_FAILED_ATTEMPTS, 1)
    assert device.verify_token(outbox[-1].code) is False  # not even asked during the back-off
    assert device.refusal.text == "Too many attempts. Please try again in 1 second."  # not the wrong code's text
    assert device.refusal.too_many
    assert MessageLog.objects.get().verify_attempts == 1
    device.throttling_failure_timestamp -= timedelta(seconds=2)
    assert device.verify_token(outbox[-1].code) is True
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_a_locked_message_is_reported_with_django_otps_reason(user, outbox, otp_config):
    otp_config(MAX_VERIFY_ATTEMPTS=2)
    device = device_for(user)
    device.throttle_factor = 0  # the lock alone, without django-otp's back-off in between
    device.generate_challenge()
    assert device.verify_is_allowed() == (True, None)
    for _ in range(2):
        assert device.verify_token("0000") is False
    allowed, data = device.verify_is_allowed()
    assert allowed is False
    assert (data["reason"], data["failure_count"]) == (VerifyNotAllowed.N_FAILED_ATTEMPTS, 2)
    assert "Too many wrong codes" in str(data["error_message"])
    assert device.verify_token(outbox[-1].code) is False  # the right code no longer helps
    assert device.refusal.text == str(data["error_message"])
    assert MessageLog.objects.get().verify_attempts == 2
    # A new code unlocks (once the old one expired: the platform answers 3004 while it is valid).
    locmem.platform.message(device.message_id).expires_at = 0
    otp_config(RESEND_COOLDOWN=0)
    assert device.generate_challenge() == "sent by text message"
    assert device.verify_is_allowed() == (True, None)


@pytest.mark.parametrize("refusal", SEND_REFUSALS)
def test_every_refusal_of_a_challenge_is_returned_as_the_persons_text(refusal, user, outbox, otp_config):
    recipient = prepare(refusal, otp_config, lambda to: device_for(user, to, name="other").generate_challenge())
    device = device_for(user, recipient)
    text = device.generate_challenge()  # never raises: two-factor calls it without a try
    assert text.startswith(REFUSED_TEXT[refusal])
    assert device.refusal.text == text
    device.refresh_from_db()
    assert device.message_id == "" and device.last_generated_timestamp is None


def test_an_operators_problem_reads_as_unavailable(user, outbox, caplog):
    device = device_for(user, TEMPLATE_GONE)
    with caplog.at_level(logging.ERROR):
        assert device.generate_challenge() == "Sending codes is temporarily unavailable. Please try again later."
    assert "4001" in caplog.text


def test_an_expired_code_is_told_to_the_person(user, outbox):
    device = device_for(user)
    device.generate_challenge()
    locmem.platform.message(device.message_id).expires_at = 0  # the code's lifetime is over
    assert device.verify_token(outbox[-1].code) is False
    assert device.refusal.text == "This code has expired or was already used. Please request a new one."


def test_the_recipient_is_stored_as_it_is_sent_to(user):
    device = EngageLabDevice(user=user, name="x", recipient="+86 187 0123 5678")
    device.full_clean()
    assert device.recipient == PHONE
    bad = EngageLabDevice(user=user, name="x", recipient="+1 900 555 0100")  # premium rate
    with pytest.raises(Exception) as raised:
        bad.full_clean()
    assert "recipient" in raised.value.message_dict


# ---------------------------------------------------------------- django-otp's OTPTokenForm


def token_form(user, **data):
    return OTPTokenForm(user, None, data={"otp_device": device_for_form(user).persistent_id, **data})


def device_for_form(user):
    return EngageLabDevice.objects.get(user=user)


def test_otp_token_form_challenges_then_verifies(user, outbox):
    device_for(user)
    form = token_form(user, otp_challenge="1")
    assert not form.is_valid()
    assert form.non_field_errors() == ["OTP Challenge: sent by text message"]
    form = token_form(user, otp_token=outbox[-1].code)
    assert form.is_valid(), form.errors
    assert user.otp_device == device_for_form(user)


def test_otp_token_form_shows_a_refused_challenge_as_the_persons_text(user, outbox):
    device_for(user, BLOCKED)
    form = token_form(user, otp_challenge="1")
    assert not form.is_valid()
    assert form.non_field_errors() == ["OTP Challenge: The message could not be sent to this recipient."]


def test_otp_token_form_reports_a_locked_message(user, outbox, otp_config):
    otp_config(MAX_VERIFY_ATTEMPTS=1)
    device_for(user)
    token_form(user, otp_challenge="1").is_valid()
    assert not token_form(user, otp_token="0000").is_valid()
    form = token_form(user, otp_token=outbox[-1].code)
    assert not form.is_valid()
    assert "Verification temporarily disabled because of 1 failed attempt" in form.non_field_errors()[0]
    assert MessageLog.objects.get().verify_attempts == 1  # the wrong code stayed counted (no rollback)


# ---------------------------------------------------------------- two-factor's device selection


def test_two_factor_login_challenges_the_default_device_and_signs_in(user, outbox):
    device_for(user)
    response = two_factor_log_in(Client())
    assert response.status_code == 200 and response.context["wizard"]["steps"].current == "token"
    client = response.client
    assert outbox[-1].to == PHONE
    response = two_factor_token(client, outbox[-1].code)
    assert response.status_code == 302 and response["Location"] == "/welcome/"
    assert client.get("/welcome/").content == b"welcome ada"
    device = device_for_form(user)
    assert device.last_used_at is not None and device.message_id == ""


def test_two_factor_picks_it_only_as_the_default_device(user, outbox):
    device_for(user, name="backup")  # two-factor's login challenges the device named "default"
    response = two_factor_log_in(Client())
    assert response.status_code == 302  # no second factor: signed in on the password alone
    assert outbox == []


@pytest.mark.parametrize("refusal", [*SEND_REFUSALS, "locked"])
def test_two_factor_login_answers_every_refusal_without_a_500(refusal, user, outbox, otp_config):
    client = Client()
    if refusal == "locked":
        otp_config(MAX_VERIFY_ATTEMPTS=1)
        device_for(user)
        two_factor_log_in(client)
        two_factor_token(client, wrong(outbox[-1].code))
        response = two_factor_token(client, outbox[-1].code)
        assert response.status_code == 200
        assert "Verification temporarily disabled" in response.content.decode()
        return
    recipient = prepare(refusal, otp_config, lambda to: device_for(user, to, name="earlier").generate_challenge())
    EngageLabDevice.objects.filter(user=user).delete()
    device_for(user, recipient)
    response = two_factor_log_in(client)
    assert response.status_code == 200 and response.context["wizard"]["steps"].current == "token"
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert len(shown) == 1 and shown[0].startswith(REFUSED_TEXT[refusal])


def test_two_factor_with_two_devices_challenges_the_default_one(user, outbox):
    device_for(user)
    device_for(user, OTHER_PHONE, name="spare")
    two_factor_log_in(Client())
    assert [sent.to for sent in outbox] == [PHONE]


# ---------------------------------------------------------------- admin


def test_the_admin_lists_and_edits_devices_without_any_code(user, outbox, admin_client):
    device = device_for(user)
    device.generate_challenge()
    code = outbox[-1].code
    listing = admin_client.get("/admin/otp_engagelab/engagelabdevice/")
    page = admin_client.get(f"/admin/otp_engagelab/engagelabdevice/{device.pk}/change/")
    assert listing.status_code == page.status_code == 200
    assert PHONE in listing.content.decode() and code not in page.content.decode()
    response = admin_client.post(
        f"/admin/otp_engagelab/engagelabdevice/{device.pk}/change/",
        {"user": user.pk, "name": "default", "confirmed": "on", "recipient": "+65 9123 4567"},
    )
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.recipient == OTHER_PHONE


def test_the_cooldown_follows_the_setting(user, outbox, otp_config):
    otp_config(RESEND_COOLDOWN=30)
    device = device_for(user)
    device.generate_challenge()
    device.last_generated_timestamp -= timedelta(seconds=31)
    assert device.generate_is_allowed() == (True, None)
