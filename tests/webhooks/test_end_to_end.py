"""End to end over real HTTP: send_otp → simulator → its signed callbacks → this site's view → history."""

from __future__ import annotations

import pytest
from django.db.models.signals import pre_save
from engagelab_otp import WebhookVerifier

from django_engagelab_otp import send_otp
from django_engagelab_otp.models import MessageEvent, MessageLog
from django_engagelab_otp.simulator.magic import by_name
from tests.support.constants import PHONE
from tests.support.settings import configure
from tests.support.simulator import wait_for
from tests.support.webhooks import SECRET, URL, USERNAME, redis_cache

pytestmark = [pytest.mark.urls("tests.support.webhooks"), pytest.mark.django_db(transaction=True)]

BEARER = "Bearer e2e-callback-token"


@pytest.fixture
def signed_site(settings):
    """This site's callback settings: signature, Authorization, nonces in Redis."""
    with redis_cache() as nonces:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "nonces": nonces}
        yield settings


def _configure(settings, **values):
    configure(
        settings,
        WEBHOOK_USERNAME=USERNAME,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_AUTHORIZATION=BEARER,
        WEBHOOK_NONCE_CACHE="nonces",
        **values,
    )


def _simulator(make_engagelab_simulator, live_server, **options):
    options = {"webhook_username": USERNAME, "webhook_secret": SECRET, "webhook_authorization": BEARER, **options}
    return make_engagelab_simulator(callback_url=live_server.url + URL, **options)


def test_a_message_goes_from_send_otp_to_delivered(live_server, signed_site, make_engagelab_simulator):
    sim = _simulator(make_engagelab_simulator, live_server)
    _configure(signed_site)
    with sim.callbacks.held():  # no row may arrive before send_otp has stored the message id it names
        log = send_otp(PHONE)
    assert log.status == "accepted"
    wait_for(lambda: MessageLog.objects.get(pk=log.pk).status == "delivered")
    log.refresh_from_db()
    assert (log.send_channel, log.currency) == ("sms", "USD") and log.cost > 0
    assert list(log.events.order_by("occurred_at", "id").values_list("event", flat=True)) == [
        "plan",
        "sent",
        "delivered",
    ]
    assert sim.callbacks.wait_idle(timeout=30)
    assert sim.callbacks.deliveries and all(delivery.ok for delivery in sim.callbacks.deliveries)
    # Every callback the view accepted also satisfies the vendor SDK's verifier.
    verifier = WebhookVerifier(USERNAME, SECRET)
    assert all(verifier.verify(delivery.headers["X-CALLBACK-ID"]) for delivery in sim.callbacks.deliveries)


def test_whatsapp_fallback_ends_delivered_by_sms(live_server, signed_site, make_engagelab_simulator):
    sim = _simulator(make_engagelab_simulator, live_server)
    _configure(signed_site)
    with sim.callbacks.held():
        log = send_otp(by_name("lifecycle-whatsapp-fallback").phone)
    assert log.send_channel == "whatsapp"
    wait_for(lambda: MessageLog.objects.get(pk=log.pk).status == "delivered")
    log.refresh_from_db()
    assert log.send_channel == "sms"


def test_callbacks_signed_with_another_secret_change_nothing(live_server, signed_site, make_engagelab_simulator):
    sim = _simulator(make_engagelab_simulator, live_server, webhook_secret="not-the-secret", callback_attempts=1)
    _configure(signed_site)
    log = send_otp(PHONE)
    wait_for(lambda: sum(len(delivery.rows) for delivery in sim.callbacks.deliveries) >= 3)
    assert sim.callbacks.wait_idle(timeout=30)
    assert {delivery.status for delivery in sim.callbacks.deliveries} == {401}
    assert MessageLog.objects.get(pk=log.pk).status == "accepted"
    assert not MessageEvent.objects.exists()


def test_callbacks_that_arrive_before_the_send_answer_is_saved_still_deliver_it(
    live_server, signed_site, make_engagelab_simulator
):
    sim = _simulator(make_engagelab_simulator, live_server)
    _configure(signed_site)

    def answer_late(sender, instance, update_fields=None, **kwargs):
        # The settle of send_otp: wait here until the platform has told this site everything.
        if update_fields and "message_id" in update_fields:
            assert sim.callbacks.wait_idle(timeout=30)

    pre_save.connect(answer_late, sender=MessageLog, weak=False)
    try:
        log = send_otp(PHONE)
    finally:
        pre_save.disconnect(answer_late, sender=MessageLog)

    assert sim.callbacks.deliveries and all(delivery.ok for delivery in sim.callbacks.deliveries)
    assert log.status == "delivered"  # replayed before send_otp returned
    assert list(log.events.order_by("occurred_at", "id").values_list("event", flat=True)) == [
        "plan",
        "sent",
        "delivered",
    ]
