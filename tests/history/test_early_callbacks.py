"""Callbacks that overtake the send's answer: stored unlinked, then replayed as soon as the id is known.

The platform may call back (``plan``, even ``delivered``) before ``send_otp``
has saved the message id it answered with. Whichever side commits last finds
the other: the send looks for unlinked rows once its id is committed, and a
callback batch with unknown ids looks again once it has committed.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from django_engagelab_otp import send_otp, signals
from django_engagelab_otp.history import callbacks as processing
from django_engagelab_otp.models import MessageEvent, MessageLog
from tests.support.constants import API, PHONE
from tests.support.webhooks import T0, make_log, post, status_row

pytestmark = [pytest.mark.urls("tests.support.webhooks"), pytest.mark.django_db]


@pytest.fixture
def changes():
    calls = []

    def receiver(sender, **kwargs):
        calls.append((kwargs["previous_status"], kwargs["log"].status, kwargs["event"].status))

    signals.message_status_changed.connect(receiver, weak=False)
    yield calls
    signals.message_status_changed.disconnect(receiver)


def answer(api, message_id):
    api.post(API + "messages", json={"message_id": message_id, "send_channel": "sms"})


def early_rows(message_id):
    return [status_row(message_id, "plan", T0), status_row(message_id, "delivered", T0 + 3, cost="0.02")]


def test_the_send_replays_callbacks_that_arrived_before_its_answer(
    client, api, changes, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, early_rows("m-early")).status_code == 200
    assert MessageEvent.objects.filter(message_id="m-early", log=None).count() == 2
    answer(api, "m-early")

    with django_capture_on_commit_callbacks(execute=True):
        log = send_otp(PHONE, "login-otp")

    assert (log.status, log.cost) == ("delivered", Decimal("0.02"))  # the returned object too
    stored = MessageLog.objects.get()
    assert (stored.status, stored.message_id) == ("delivered", "m-early")
    assert MessageEvent.objects.filter(log=stored).count() == 2
    assert not MessageEvent.objects.filter(log=None).exists()
    assert changes == [("accepted", "delivered", "delivered")]


def test_a_send_with_nothing_early_costs_one_query_more_and_changes_nothing(
    api, changes, django_capture_on_commit_callbacks, django_assert_num_queries
):
    answer(api, "m-plain")
    with django_capture_on_commit_callbacks() as pending:
        log = send_otp(PHONE, "login-otp")
    assert log.status == "accepted"
    with django_assert_num_queries(1):  # does any status row wait for this id?
        for callback in pending:
            callback()
    assert MessageLog.objects.get().status == "accepted"
    assert changes == []


def test_inside_a_transaction_the_replay_waits_for_the_commit(client, api, django_capture_on_commit_callbacks):
    post(client, early_rows("m-atomic"))
    answer(api, "m-atomic")
    with django_capture_on_commit_callbacks() as pending, transaction.atomic():
        log = send_otp(PHONE, "login-otp")
        assert log.status == "accepted"  # not visible to the callback view yet
    assert len(pending) == 1
    pending[0]()
    assert MessageLog.objects.get().status == "delivered"


def test_a_batch_sees_a_send_that_committed_while_it_was_applied(
    client, monkeypatch, changes, django_capture_on_commit_callbacks
):
    # The batch reads the logs and finds no "m-mid"; before it commits, the
    # send commits that id and finds nothing unlinked yet. The batch's second
    # look, after its own commit, must catch it.
    first_look = processing._lock_logs
    state = {"looks": 0}

    def lock_logs(message_ids, database):
        found = first_look(message_ids, database)
        state["looks"] += 1
        if state["looks"] == 1:
            make_log("m-mid")  # the send settling in between
        return found

    monkeypatch.setattr(processing, "_lock_logs", lock_logs)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, early_rows("m-mid")).status_code == 200

    log = MessageLog.objects.get(message_id="m-mid")
    assert log.status == "delivered"
    assert MessageEvent.objects.filter(log=log).count() == 2
    assert state["looks"] == 2
    assert [status for _previous, status, _cause in changes] == ["delivered"]


def test_a_batch_about_messages_sent_elsewhere_stays_unlinked(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(9):  # the batch, then one more look for its unknown ids
        assert post(client, early_rows("elsewhere")).status_code == 200
    assert MessageEvent.objects.filter(message_id="elsewhere", log=None).count() == 2


def test_late_rows_after_the_replay_are_duplicates_and_change_nothing(client, api, django_capture_on_commit_callbacks):
    post(client, early_rows("m-twice"))
    answer(api, "m-twice")
    with django_capture_on_commit_callbacks(execute=True):
        send_otp(PHONE, "login-otp")
    post(client, early_rows("m-twice"))  # the platform retries the same rows
    log = MessageLog.objects.get()
    assert (log.status, MessageEvent.objects.filter(log=log).count()) == ("delivered", 2)


def test_a_database_failure_in_the_replay_does_not_fail_the_send(
    client, api, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    post(client, early_rows("m-down"))
    answer(api, "m-down")

    def broken(log, using):
        raise DatabaseError("connection lost")

    monkeypatch.setattr("django_engagelab_otp.history.callbacks.catch_up", broken)
    caplog.set_level(logging.ERROR, "django_engagelab_otp")
    with django_capture_on_commit_callbacks(execute=True):
        log = send_otp(PHONE, "login-otp")
    assert log.status == "accepted"
    assert "m-down: early callbacks not replayed yet (DatabaseError)" in caplog.text
    # Nothing is lost: the message's next callback links and replays everything.
    post(client, [status_row("m-down", "sent", T0 + 1)])
    assert MessageLog.objects.get().status == "delivered"
