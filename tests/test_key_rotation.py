"""A rotated ``SECRET_KEY``: what was keyed with the old one (``SECRET_KEY_FALLBACKS``) is still found.

Keyed hashes are written with ``SECRET_KEY`` alone and looked up under every
key: hashed history rows, the limits' cache keys, callback discriminators.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.test import override_settings
from django.urls import reverse

from django_engagelab_otp import privacy, send_otp, signals
from django_engagelab_otp.exceptions import ThrottledError
from django_engagelab_otp.history.callbacks import apply
from django_engagelab_otp.history.rows import parse_row
from django_engagelab_otp.models import MessageEvent
from django_engagelab_otp.privacy import hash_recipient, keyed_hash
from tests.support.answers import accept, requests_to
from tests.support.constants import PHONE
from tests.support.settings import configure
from tests.support.webhooks import T0, make_log, notification_row, status_row

OLD = django_settings.SECRET_KEY
NEW = "rotated-" + "n" * 50

pytestmark = pytest.mark.django_db


def rotated() -> override_settings:
    """The site after its key was rotated the way Django documents it."""
    return override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD])


def test_writes_use_the_new_key_and_lookups_try_every_key():
    before = keyed_hash(PHONE, "recipient")
    assert privacy.keyed_hashes(PHONE, "recipient") == [before]
    with rotated():
        now = keyed_hash(PHONE, "recipient")
        assert now != before
        assert privacy.keyed_hashes(PHONE, "recipient") == [now, before], "the current key first"
    with override_settings(SECRET_KEY_FALLBACKS=[OLD, OLD]):
        assert privacy.keyed_hashes(PHONE, "recipient") == [before], "a key is tried once"


# ---------------------------------------------------------------- hashed history rows


def test_a_hashed_row_written_before_the_rotation_is_found(api, settings, admin_client):
    configure(settings, HASH_RECIPIENTS=True, RESEND_COOLDOWN=0)
    accept(api, message_id="m1")
    accept(api, message_id="m2")
    before = send_otp(PHONE)
    with rotated():
        after = send_otp(PHONE)
        assert after.to == hash_recipient(PHONE) != before.to, "written with the new key"
        response = admin_client.get(reverse("admin:django_engagelab_otp_messagelog_changelist"), {"q": PHONE})
        assert response.status_code == 200
        assert {log.pk for log in response.context["cl"].result_list} == {before.pk, after.pk}
        assert privacy.recipient_lookups("+86 187 0123 5678") == [after.to, before.to]


# ---------------------------------------------------------------- limits


def test_a_cooldown_started_before_the_rotation_still_holds(api):
    accept(api)
    send_otp(PHONE)
    with rotated(), pytest.raises(ThrottledError) as info:
        send_otp(PHONE)
    assert info.value.scope == "cooldown" and 1 <= info.value.wait_seconds <= 60
    assert requests_to(api) == 1


def test_messages_counted_before_the_rotation_still_count(api, settings):
    configure(settings, RESEND_COOLDOWN=0, DAILY_LIMIT=2)
    accept(api, message_id="m1")
    accept(api, message_id="m2")
    send_otp(PHONE)
    with rotated():
        send_otp(PHONE)
        with pytest.raises(ThrottledError) as info:
            send_otp(PHONE)
    assert info.value.scope == "daily" and requests_to(api) == 2


# ---------------------------------------------------------------- callback rows


def test_a_status_row_retried_after_the_rotation_is_stored_once():
    log = make_log("m-rot")
    sent = status_row("m-rot", "sent", cost="0.05")
    elsewhere = status_row("m-elsewhere", "delivered")  # a message this site has no log for
    apply([parse_row(sent), parse_row(elsewhere)])
    with rotated():
        apply([parse_row(sent), parse_row(elsewhere)])  # the platform retries the batch
        apply([parse_row(sent), parse_row(status_row("m-rot", "delivered", T0 + 1))])
    assert MessageEvent.objects.filter(message_id="m-rot").count() == 2
    assert MessageEvent.objects.filter(message_id="m-elsewhere").count() == 1
    log.refresh_from_db()
    assert log.status == "delivered" and log.cost == Decimal("0.05"), "billed once"


def test_a_notice_retried_after_the_rotation_is_announced_once(django_capture_on_commit_callbacks):
    heard = []

    def receiver(sender, event, **kwargs):
        heard.append(event.event)

    row = notification_row("insufficient_balance", balance="0.10")
    signals.notification_received.connect(receiver, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            apply([parse_row(row)])
        with rotated(), django_capture_on_commit_callbacks(execute=True):
            apply([parse_row(row)])
    finally:
        signals.notification_received.disconnect(receiver)
    assert heard == ["insufficient_balance"] and MessageEvent.objects.count() == 1


def test_rows_new_after_the_rotation_get_the_new_key():
    make_log("m-new")
    with rotated():
        apply([parse_row(status_row("m-new", "sent"))])
        assert MessageEvent.objects.get().discriminator == parse_row(status_row("m-new", "sent")).discriminator
    assert MessageEvent.objects.get().discriminator != parse_row(status_row("m-new", "sent")).discriminator
