"""HASH_RECIPIENTS: the history keeps a keyed hash of each recipient, never the recipient."""

from __future__ import annotations

import json
import logging
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.serializers import serialize

from django_engagelab_otp import send_custom_message, send_otp
from django_engagelab_otp.exceptions import RecipientError, ThrottledError
from django_engagelab_otp.history.callbacks import apply
from django_engagelab_otp.history.rows import parse_row
from django_engagelab_otp.models import MessageEvent, MessageLog
from django_engagelab_otp.privacy import (
    HASH_PREFIX,
    hash_recipient,
    keyed_hash,
    mask_recipient,
    recipient_lookup,
    stored_recipient,
)
from tests.support.answers import accept
from tests.support.constants import API, PHONE
from tests.support.settings import configure
from tests.support.webhooks import status_row

EMAIL = "bob@example.com"
HASHED = re.compile(rf"{re.escape(HASH_PREFIX)}[0-9a-f]{{64}}")

pytestmark = pytest.mark.django_db


@pytest.fixture
def hashing(settings):
    configure(settings, HASH_RECIPIENTS=True, RESEND_COOLDOWN=0)


def everything_stored() -> str:
    return serialize("json", MessageLog.objects.all())


def test_the_history_keeps_only_the_hash(api, hashing):
    accept(api)
    log = send_otp(PHONE)
    assert HASHED.fullmatch(log.to) and log.to == hash_recipient(PHONE)
    assert PHONE.lstrip("+") not in everything_stored()
    assert json.loads(api.calls[0].request.body)["to"] == PHONE, "the platform still gets the number"


def test_every_recipient_of_a_custom_message_is_hashed(api, hashing):
    accept(api, "custom-messages")
    log = send_custom_message([PHONE, "Bob@Example.COM"], "order-shipped")
    assert log.recipients == [hash_recipient(PHONE), hash_recipient(EMAIL)]
    assert log.to == log.recipients[0]
    stored = everything_stored()
    assert PHONE.lstrip("+") not in stored and "bob@" not in stored.lower()


def test_failed_sends_are_hashed_too(api, hashing):
    api.post(API + "messages", status=400, json={"code": 5013, "message": "number is on the block list"})
    with pytest.raises(RecipientError) as info:
        send_otp(PHONE)
    assert info.value.log.to == hash_recipient(PHONE)
    assert PHONE.lstrip("+") not in everything_stored()


def test_the_hash_is_stable_and_keyed_with_the_secret_key(settings):
    first = hash_recipient(PHONE)
    assert hash_recipient(PHONE) == first and hash_recipient("+6591234567") != first
    settings.SECRET_KEY = "another-site-entirely"
    assert hash_recipient(PHONE) != first, "without the site's key the hash cannot be rebuilt"
    assert keyed_hash(PHONE, "limits") != keyed_hash(PHONE, "recipient"), "each purpose has its own key"


def test_masks_show_a_short_hash(api, hashing):
    accept(api)
    log = send_otp(PHONE)
    assert log.masked_to == log.to[: len(HASH_PREFIX) + 8] + "…"
    assert mask_recipient(log.to) == log.masked_to
    assert PHONE not in str(log) and PHONE not in repr(log) and log.masked_to in str(log)


def test_logs_show_the_hash_not_the_number(api, settings, caplog):
    configure(settings, HASH_RECIPIENTS=True)
    accept(api)
    with caplog.at_level(logging.DEBUG, logger="django_engagelab_otp"):
        log = send_otp(PHONE)
        with pytest.raises(ThrottledError):
            send_otp(PHONE)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("django_engagelab_otp")]
    assert sum(log.masked_to in message for message in messages) == 2, messages  # accepted, then refused
    assert not any("187****" in message or PHONE in message for message in messages)


def test_the_send_command_prints_the_masked_hash(api, hashing):
    accept(api)
    out = StringIO()
    call_command("engagelab_send", "--to", PHONE, "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["to"].startswith(HASH_PREFIX) and PHONE not in out.getvalue()


# ---------------------------------------------------------------- recipient_lookup (the admin's search)


@pytest.mark.parametrize("typed", [PHONE, "+86 187 0123 5678", "0086 187-0123-5678", " +86 (187) 0123 5678 "])
def test_lookup_finds_what_was_stored_however_it_is_typed(api, hashing, typed):
    accept(api)
    log = send_otp(PHONE)
    assert recipient_lookup(typed) == log.to
    assert MessageLog.objects.filter(to=recipient_lookup(typed)).get() == log


def test_lookup_of_an_email_address_ignores_case(api, hashing):
    accept(api)
    log = send_otp("Bob@Example.COM")
    assert recipient_lookup("Bob@EXAMPLE.com") == recipient_lookup(EMAIL) == log.to == hash_recipient(EMAIL)


def test_lookup_reads_national_numbers_in_the_default_region(settings):
    configure(settings, HASH_RECIPIENTS=True, DEFAULT_REGION="GB")
    assert recipient_lookup("020 7946 0123") == hash_recipient("+442079460123")


def test_lookup_without_hashing_is_the_normalized_recipient(settings):
    assert recipient_lookup("+86 187 0123 5678") == PHONE
    assert recipient_lookup("Bob@Example.COM") == "Bob@example.com"


@pytest.mark.parametrize("typed", ["", "   ", "+86187", "alice", "12ab", "bob@", None, 42, "\u202e+8618701235678"])
def test_lookup_of_something_that_is_not_a_whole_recipient_is_none(hashing, typed):
    assert recipient_lookup(typed) is None


def test_lookup_ignores_the_destination_rules(settings):
    configure(settings, HASH_RECIPIENTS=True, DENIED_COUNTRIES=["CN"])
    assert recipient_lookup(PHONE) == hash_recipient(PHONE)


def test_stored_recipient_follows_the_setting(settings):
    assert stored_recipient(PHONE) == PHONE
    configure(settings, HASH_RECIPIENTS=True)
    assert stored_recipient(PHONE) == hash_recipient(PHONE)


# ---------------------------------------------------------------- callback rows


def test_callback_rows_keep_no_number_either(api, hashing):
    accept(api)
    log = send_otp(PHONE)
    reply = {
        "server": "otp",
        "itime": 1_700_000_100,
        "message_id": "m1",
        "business_id": "b",
        "response": {"event": "uplink_message", "response_data": {"from": PHONE.lstrip("+"), "to": "+6591234567"}},
    }
    apply([parse_row(status_row("m1", "delivered", to=PHONE)), parse_row(reply)])
    status, answer = MessageEvent.objects.order_by("kind")
    assert status.raw["to"] == log.to, "the same hash as the history row"
    assert answer.raw["response"]["response_data"]["from"] == log.to
    assert answer.raw["response"]["response_data"]["to"] == hash_recipient("+6591234567")
    stored = serialize("json", MessageEvent.objects.all())
    assert PHONE.lstrip("+") not in stored and "6591234567" not in stored
    log.refresh_from_db()
    assert log.status == "delivered"


def test_without_hashing_callback_rows_are_kept_as_they_came(api):
    apply([parse_row(status_row("m9", "delivered", to=PHONE))])
    assert MessageEvent.objects.get().raw["to"] == PHONE
