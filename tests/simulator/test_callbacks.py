"""Callbacks: lifecycles, batching, signatures, retries, and the app's own callback view."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from django.urls import include, path
from engagelab_otp import WebhookVerifier

from django_engagelab_otp import send_otp, verify_otp
from django_engagelab_otp.models import MessageEvent, MessageLog
from django_engagelab_otp.signing import callback_id
from django_engagelab_otp.simulator import CallbackDispatcher, Simulator
from django_engagelab_otp.simulator.magic import by_name
from tests.support.constants import PHONE
from tests.support.local_http import LocalServer
from tests.support.settings import configure
from tests.support.simulator import otp_body, session, wait_for

urlpatterns = [path("engagelab/", include("django_engagelab_otp.urls"))]

USERNAME, SECRET = "hook-user", "hook-secret-do-not-leak"


@pytest.fixture
def receiver():
    with LocalServer(behaviour=lambda n, seen: (200, {"ok": True})) as server:
        yield server


@pytest.fixture
def sim(receiver):
    options = dict(callback_delay=0, callback_retry_delay=0.01, webhook_username=USERNAME, webhook_secret=SECRET)
    with Simulator(callback_url=receiver.url, **options) as simulator:
        yield simulator


def rows(receiver: LocalServer) -> list[dict]:
    return [row for seen in list(receiver.requests) for row in seen.json()["rows"]]


def statuses(receiver: LocalServer, message_id: str) -> list[tuple[str, str]]:
    return [
        (row["status"]["message_status"], row["status"]["status_data"]["current_send_channel"])
        for row in rows(receiver)
        if row["message_id"] == message_id
    ]


def send(sim: Simulator, to: str = PHONE, template: str = "demo-otp") -> str:
    with session() as http:
        answer = http.post(sim.url + "messages", json=otp_body(to, template))
    assert answer.status_code == 200, answer.text
    return answer.json()["message_id"]


def verify(sim: Simulator, message_id: str, code: str) -> bool:
    with session() as http:
        return http.post(sim.url + "verifications", json={"message_id": message_id, "verify_code": code}).json()[
            "verified"
        ]


def test_ordinary_lifecycle_is_signed_batched_and_documented(sim, receiver):
    message_id = send(sim)
    wait_for(lambda: len(statuses(receiver, message_id)) == 3)
    assert statuses(receiver, message_id) == [("plan", "sms"), ("sent", "sms"), ("delivered", "sms")]
    batch = receiver.requests[0]
    assert batch.method == "POST" and batch.headers["Content-Type"] == "application/json"
    assert batch.json()["total"] == len(batch.json()["rows"]) == 3  # due together: one batch
    verifier = WebhookVerifier(USERNAME, SECRET)
    assert verifier.verify(batch.headers["X-CALLBACK-ID"])
    events = verifier.parse_events(batch.body)
    assert [event.status for event in events] == ["plan", "sent", "delivered"]
    sent = events[1]
    assert sent.billing == {"cost": 0.0065, "currency": "USD"} and sent.error_code == 0
    assert (sent.to, sent.channel, sent.template_key, sent.server) == (PHONE, "sms", "demo-otp", "otp")
    assert "Authorization" not in batch.headers


def test_signature_matches_the_documented_formula():
    header = callback_id(SECRET, USERNAME, timestamp=1700000000, nonce="abc")
    expected = hmac.new(SECRET.encode(), f"1700000000abc{USERNAME}".encode(), hashlib.sha256).hexdigest()
    assert header == f"timestamp=1700000000;nonce=abc;username={USERNAME};signature={expected}"


def test_verification_rows(sim, receiver):
    message_id = send(sim)
    code = sim.platform.last_code(PHONE)
    assert verify(sim, message_id, "x1x1x1") is False
    assert verify(sim, message_id, code) is True
    wait_for(lambda: ("verified", "sms") in statuses(receiver, message_id))
    assert ("verified_failed", "sms") in statuses(receiver, message_id)


def test_unverified_code_times_out(receiver):
    with Simulator(callback_url=receiver.url, callback_delay=0, code_ttl=0.05) as sim:
        message_id = send(sim)
        wait_for(lambda: ("verified_timeout", "sms") in statuses(receiver, message_id))


def test_whatsapp_fallback_lifecycle(sim, receiver):
    message_id = send(sim, by_name("lifecycle-whatsapp-fallback").phone)
    assert sim.platform.message(message_id).channel == "whatsapp"
    wait_for(lambda: len(statuses(receiver, message_id)) == 3)
    assert statuses(receiver, message_id) == [("plan", "whatsapp"), ("sent", "sms"), ("delivered", "sms")]
    sent = [row for row in rows(receiver) if row["status"]["message_status"] == "sent"][0]
    assert sent["channel"] == "sms" and "whatsapp" in sent["status"]["error_detail"]["message"]


def test_stuck_and_undelivered_lifecycles(sim, receiver):
    stuck = send(sim, by_name("lifecycle-stuck").phone)
    failed = send(sim, by_name("lifecycle-undelivered").email)
    wait_for(lambda: len(statuses(receiver, failed)) == 3)
    assert sim.callbacks.wait_idle(timeout=30)
    assert [status for status, _ in statuses(receiver, stuck)] == ["plan", "sent"]
    assert statuses(receiver, failed)[-1] == ("delivered_failed", "email")
    last = [row for row in rows(receiver) if row["message_id"] == failed][-1]
    assert last["status"]["error_code"] == 5018
    assert sim.callbacks.pending() == 1  # the stuck message's code may still time out; the stuck one never


def test_failed_deliveries_are_retried_with_a_fresh_signature():
    answers = iter([(500, {"ok": False}), (503, b""), (200, {"ok": True})])
    with (
        LocalServer(behaviour=lambda n, seen: next(answers, (200, {}))) as receiver,
        Simulator(
            callback_url=receiver.url,
            callback_delay=0,
            callback_retry_delay=0.01,
            webhook_username=USERNAME,
            webhook_secret=SECRET,
            webhook_authorization="Bearer tok",
        ) as sim,
    ):
        message_id = send(sim)
        # The receiver records a request before answering it; the dispatcher records the attempt after the answer.
        wait_for(lambda: len(sim.callbacks.deliveries) == 3)
        first, second, third = receiver.requests
        assert first.body == second.body == third.body
        nonces = {seen.headers["X-CALLBACK-ID"].split(";")[1] for seen in receiver.requests}
        assert len(nonces) == 3
        assert all(seen.headers["Authorization"] == "Bearer tok" for seen in receiver.requests)
        assert [d.attempt for d in sim.callbacks.deliveries] == [1, 2, 3]
        assert [d.ok for d in sim.callbacks.deliveries] == [False, False, True]
        assert message_id in third.body.decode()


def test_deliveries_give_up_after_the_last_attempt():
    with (
        LocalServer(behaviour=lambda n, seen: "reset") as receiver,
        Simulator(callback_url=receiver.url, callback_delay=0, callback_retry_delay=0.01, callback_attempts=2) as sim,
    ):
        send(sim)
        wait_for(lambda: len(sim.callbacks.deliveries) == 2)
        assert sim.callbacks.wait_idle(timeout=30)
        assert not any(d.ok for d in sim.callbacks.deliveries) and sim.callbacks.deliveries[0].error
        assert "X-CALLBACK-ID" not in receiver.requests[0].headers  # unsigned without credentials


def test_held_rows_wait_for_the_end_of_the_block_then_go_out_together(sim, receiver):
    with sim.callbacks.held():
        message_id = send(sim)  # the platform schedules the rows before it answers
        assert not sim.callbacks.wait_idle(timeout=0.2)  # due, yet not posted
        assert not receiver.requests and not sim.callbacks.deliveries
    wait_for(lambda: len(statuses(receiver, message_id)) == 3)
    assert [len(seen.json()["rows"]) for seen in receiver.requests] == [3]


def test_dispatcher_refuses_other_schemes_and_hides_its_secret():
    with pytest.raises(ValueError):
        CallbackDispatcher("ftp://example.test/")
    dispatcher = CallbackDispatcher("http://127.0.0.1:9/", username="u", secret=SECRET)
    assert SECRET not in repr(dispatcher)


# ---------------------------------------------------------------------- into the app


@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
def test_callbacks_reach_the_apps_view_and_move_the_history(live_server, settings, make_engagelab_simulator):
    sim = make_engagelab_simulator(
        callback_url=live_server.url + "/engagelab/callback/", webhook_username=USERNAME, webhook_secret=SECRET
    )
    configure(settings, WEBHOOK_USERNAME=USERNAME, WEBHOOK_SECRET=SECRET)
    with sim.callbacks.held():  # no row may arrive before send_otp has stored the message id it names
        log = send_otp(PHONE)
    wait_for(lambda: MessageLog.objects.get(pk=log.pk).status == "delivered")
    assert verify_otp(log.message_id, sim.platform.last_code(PHONE)) is True
    wait_for(lambda: MessageLog.objects.get(pk=log.pk).status == "verified")
    log.refresh_from_db()
    assert log.cost is not None and log.currency == "USD"
    events = list(MessageEvent.objects.filter(log=log).values_list("event", flat=True))
    assert {"plan", "sent", "delivered", "verified"} <= set(events)
    assert all(delivery.ok for delivery in sim.callbacks.deliveries)
