"""Background sends, in this process: the Tasks API's immediate and dummy backends against the simulator.

What a worker process adds (a real queue, a second process, a killed worker)
is in test_workers.py; the rules are proven here, where they are quick.
"""

from __future__ import annotations

import json

import pytest
from django.core.signals import request_finished
from django.db import connection, transaction

from django_engagelab_otp.exceptions import ThrottledError
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.simulator.magic import by_name
from django_engagelab_otp.tasks import django_tasks, runner
from django_engagelab_otp.tasks.django_tasks import enqueue_code, enqueue_custom_message, enqueue_otp
from tests.support.constants import PHONE
from tests.support.settings import configure

CODE = "Zq83Xk"

pytestmark = pytest.mark.django_db(transaction=True)


def sent_to(sim, to):
    return [message for message in sim.platform.messages if to in (message.recipients or [message.to])]


def test_an_enqueued_otp_is_sent_by_its_task(sim):
    log = enqueue_otp(PHONE, "demo-otp")
    log.refresh_from_db()
    assert log.status == "accepted" and log.message_id == sim.platform.last_message(PHONE).message_id


def test_the_row_is_queued_until_a_worker_runs_the_task(sim, dummy):
    log = enqueue_otp(PHONE, "demo-otp")
    assert MessageLog.objects.get(pk=log.pk).status == "queued"
    assert sim.platform.request_count == 0
    (result,) = dummy.results
    assert result.args[0] == log.pk
    assert django_tasks.send_message.call(*result.args) == "accepted"
    assert len(sent_to(sim, PHONE)) == 1


def test_a_task_run_twice_sends_once(sim, dummy):
    log = enqueue_custom_message(PHONE, "demo-notice", params={"order": "12"})
    (result,) = dummy.results
    assert django_tasks.send_message.call(*result.args) == "accepted"
    assert django_tasks.send_message.call(*result.args) == "accepted"  # delivered again: nothing to do
    assert len(sent_to(sim, PHONE)) == 1
    assert MessageLog.objects.get(pk=log.pk).status == "accepted"


def test_a_row_left_pending_is_settled_unknown_and_never_sent(sim, dummy):
    log = enqueue_otp(PHONE, "demo-otp")
    (result,) = dummy.results
    MessageLog.objects.filter(pk=log.pk).update(status="pending")  # a worker died mid-request
    assert django_tasks.send_message.call(*result.args) == "unknown"
    assert sim.platform.request_count == 0
    assert "earlier attempt" in MessageLog.objects.get(pk=log.pk).error_message


def test_no_code_or_recipient_sits_in_clear_in_the_queue(sim, dummy, settings):
    configure(settings, HASH_RECIPIENTS=True, MAX_RETRIES=0)
    log = enqueue_code(PHONE, CODE, "demo-code", params={"pin": "8812", "name": "Bob"})
    (result,) = dummy.results
    queued = json.dumps([result.args, result.kwargs])
    for secret in (CODE, "8812", PHONE, PHONE[1:]):
        assert secret not in queued
    row = MessageLog.objects.get(pk=log.pk)
    assert row.to.startswith("hmac:") and row.params == {"pin": "[redacted]", "name": "Bob"}
    assert django_tasks.send_message.call(*result.args) == "accepted"
    message = sim.platform.last_message(PHONE)
    assert (message.code, message.params["pin"]) == (CODE, "8812")


def test_sealed_secrets_open_after_a_key_rotation_and_not_on_another_row(sim, dummy, settings):
    enqueue_code(PHONE, CODE, "demo-code")
    (result,) = dummy.results
    log_id, sealed = result.args[:2]
    assert runner.run(runner.Job(log_id + 1000, sealed), may_retry=False) == ""  # no such row
    other = enqueue_code("+8618701235679", "Other1", "demo-code")
    assert django_tasks.send_message.call(other.pk, sealed) == "failed"  # another row's seal does not open
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key", [settings.SECRET_KEY]
    assert django_tasks.send_message.call(*result.args) == "accepted"
    assert sim.platform.last_message(PHONE).code == CODE


def test_limits_are_claimed_at_enqueue_and_given_back_when_the_send_fails(sim, dummy):
    refused = by_name("error-5013").phone
    enqueue_otp(refused, "demo-otp")
    with pytest.raises(ThrottledError):
        enqueue_otp(refused, "demo-otp")  # the caller learns it at once
    (result,) = dummy.results
    assert django_tasks.send_message.call(*result.args) == "failed"
    enqueue_otp(refused, "demo-otp")  # the failure gave the cooldown back
    assert MessageLog.objects.count() == 2


def test_an_idempotency_key_enqueues_once(sim, dummy):
    first = enqueue_custom_message(PHONE, "demo-notice", params={"order": "1"}, key="order-1-shipped")
    again = enqueue_custom_message(PHONE, "demo-notice", params={"order": "1"}, key="order-1-shipped")
    assert first.pk == again.pk and len(dummy.results) == 1
    assert first.idempotency_key == "task:order-1-shipped"


def test_a_rollback_enqueues_nothing(sim, dummy):
    with pytest.raises(RuntimeError), transaction.atomic():
        log = enqueue_otp(PHONE, "demo-otp")
        raise RuntimeError("the view failed")
    assert dummy.results == []
    # PostgreSQL keeps the row (written on the history's own connection), queued: evidence, never sent.
    # SQLite writes in the caller's transaction: the row went with the rollback.
    kept = MessageLog.objects.filter(pk=log.pk).values_list("status", flat=True)
    assert list(kept) == ([] if connection.vendor == "sqlite" else ["queued"])
    request_finished.send(sender=None)  # closes the history's own connection, as the end of a request does


# ---------------------------------------------------------------- retries, as the error table says


def test_a_failure_safe_to_repeat_is_retried_then_settled_failed(sim, settings):
    configure(settings, MAX_RETRIES=0, TASK_RETRIES=2, TASK_RETRY_DELAY=0)
    outage = by_name("fault-empty-503").phone  # nothing was sent: safe to repeat
    log = enqueue_custom_message(outage, "demo-notice")
    log.refresh_from_db()
    assert log.status == "failed" and log.http_status == 503
    assert sim.platform.path_counts["/v1/custom-messages"] == 3  # the first attempt and two retries


def test_a_retry_that_succeeds_settles_accepted(sim, settings, dummy):
    configure(settings, MAX_RETRIES=0, TASK_RETRIES=1, TASK_RETRY_DELAY=0)
    log = enqueue_custom_message(PHONE, "demo-notice")
    (result,) = dummy.results
    sim.platform.configure(error_rate=1.0)  # 1000 or 5016: both retryable
    assert django_tasks.send_message.call(*result.args) == "queued"
    assert MessageLog.objects.get(pk=log.pk).status == "queued"
    sim.platform.configure(error_rate=0.0)
    retry = dummy.results[-1]
    assert retry.args[2] == 1  # the attempt's number travels with the job
    assert django_tasks.send_message.call(*retry.args) == "accepted"


@pytest.mark.parametrize(
    ("magic", "status"),
    [("fault-drop", "unknown"), ("fault-html-502", "unknown"), ("error-5013", "failed"), ("error-3004", "failed")],
)
def test_nothing_else_is_retried(sim, settings, magic, status):
    configure(settings, MAX_RETRIES=0, TASK_RETRIES=3, TASK_RETRY_DELAY=0)
    log = enqueue_custom_message(by_name(magic).phone, "demo-notice")
    log.refresh_from_db()
    assert log.status == status
    assert sim.platform.path_counts["/v1/custom-messages"] == 1
