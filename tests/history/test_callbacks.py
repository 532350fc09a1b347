"""What callbacks do to the history: lifecycle moves, deduplication, unknown messages, signals, queries."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings

from django_engagelab_otp import signals
from django_engagelab_otp.history.events import MessageStatusEvent, NotificationEvent, SystemEvent, UplinkEvent
from django_engagelab_otp.models import MessageEvent, MessageLog
from tests.support.webhooks import T0, make_log, notification_row, post, status_row, system_row, uplink_row

pytestmark = [pytest.mark.urls("tests.support.webhooks"), pytest.mark.django_db]


class Recorder:
    """Connects to a signal for the test and keeps what it was sent."""

    def __init__(self, signal):
        self.signal, self.calls = signal, []

    def __call__(self, sender, **kwargs):
        self.calls.append(kwargs)

    def __enter__(self):
        self.signal.connect(self, weak=False)
        return self

    def __exit__(self, *exc):
        self.signal.disconnect(self)


def fallback_rows(message_id: str) -> list[dict]:
    return [
        status_row(message_id, "plan", T0, channel="whatsapp"),
        status_row(message_id, "sent", T0 + 1, channel="whatsapp"),
        status_row(message_id, "sent_failed", T0 + 4, channel="whatsapp", error_code=5012, error_message="unreachable"),
        status_row(message_id, "plan", T0 + 5),
        status_row(message_id, "sent", T0 + 6, cost="0.0420", currency="USD"),
        status_row(message_id, "delivered", T0 + 9),
    ]


def test_a_message_lives_to_delivered(client):
    log = make_log("m-1")
    rows = [
        status_row("m-1", "plan"),
        status_row("m-1", "sent", T0 + 1, cost=0.0123),
        status_row("m-1", "delivered", T0 + 3),
    ]
    assert post(client, rows).json() == {"ok": True, "rows": 3, "skipped": 0}
    log.refresh_from_db()
    assert (log.status, log.send_channel, log.cost, log.currency) == ("delivered", "sms", Decimal("0.0123"), "USD")
    events = list(log.events.order_by("occurred_at"))
    assert [event.event for event in events] == ["plan", "sent", "delivered"]
    assert events[1].cost == Decimal("0.0123") and events[1].raw == rows[1]
    assert events[2].occurred_at == datetime.fromtimestamp(T0 + 3, tz=timezone.utc)


@pytest.mark.parametrize(
    "order",
    [
        [[0, 1, 2, 3, 4, 5]],  # one orderly batch
        [[0], [1], [2], [3], [4], [5]],  # one row per callback
        [[5], [2], [0, 4], [1, 3]],  # delivery first, failure late
        [[3, 4, 5], [0, 1, 2]],  # the whole SMS attempt before the WhatsApp one
        [[0, 1], [3, 4], [2], [5]],  # SMS under way when the WhatsApp failure arrives
        [[2, 2, 5, 5], [0, 1, 3, 4, 2, 5]],  # duplicates everywhere
    ],
)
def test_whatsapp_failure_then_sms_delivery_ends_delivered_by_sms(client, order):
    log = make_log("m-fb", channel="whatsapp")
    rows = fallback_rows("m-fb")
    for batch in order:
        assert post(client, [rows[i] for i in batch]).status_code == 200
    log.refresh_from_db()
    assert (log.status, log.send_channel) == ("delivered", "sms")
    assert (log.error_code, log.error_message) == (None, "")
    assert (log.cost, log.currency) == (Decimal("0.042"), "USD")
    assert MessageEvent.objects.filter(log=log).count() == 6


def test_fallback_shows_each_step(client):
    log = make_log("m-steps", channel="whatsapp")
    rows = fallback_rows("m-steps")
    seen = []
    for row in rows:
        post(client, [row])
        log.refresh_from_db()
        seen.append((log.status, log.send_channel))
    assert seen == [
        ("plan", "whatsapp"),
        ("sent", "whatsapp"),
        ("sent_failed", "whatsapp"),
        ("plan", "sms"),
        ("sent", "sms"),
        ("delivered", "sms"),
    ]
    assert MessageLog.objects.filter(pk=log.pk, error_code=None).exists()


def test_failure_records_its_error_and_stays_final(client):
    log = make_log("m-fail")
    post(client, [status_row("m-fail", "sent_fail", T0 + 2, error_code=5018, error_message="handset off")])
    post(client, [status_row("m-fail", "sent", T0 + 1), status_row("m-fail", "plan", T0 + 3)])
    log.refresh_from_db()
    assert (log.status, log.error_code, log.error_message) == ("sent_failed", 5018, "handset off")


def test_late_sent_never_overwrites_delivered(client, django_capture_on_commit_callbacks):
    log = make_log("m-late")
    with Recorder(signals.message_status_changed) as changes, django_capture_on_commit_callbacks(execute=True):
        post(client, [status_row("m-late", "delivered", T0 + 5)])
        post(client, [status_row("m-late", "sent", T0 + 2), status_row("m-late", "plan", T0)])
    log.refresh_from_db()
    assert log.status == "delivered"
    assert [call["log"].status for call in changes.calls] == ["delivered"]
    assert log.events.count() == 3


def test_verification_is_reflected(client):
    log = make_log("m-v")
    post(client, [status_row("m-v", "delivered", T0), status_row("m-v", "verified_failed", T0 + 30)])
    log.refresh_from_db()
    assert (log.status, log.verified_at) == ("verified_failed", None)
    post(client, [status_row("m-v", "verified", T0 + 60)])
    log.refresh_from_db()
    assert (log.status, log.verified_at) == ("verified", datetime.fromtimestamp(T0 + 60, tz=timezone.utc))
    post(client, [status_row("m-v", "verified_timeout", T0 + 600)])
    log.refresh_from_db()
    assert log.status == "verified"


def test_duplicates_are_stored_once(client):
    log = make_log("m-dup")
    rows = [status_row("m-dup", "sent"), status_row("m-dup", "sent"), notification_row(), notification_row()]
    assert post(client, rows).json()["rows"] == 2
    assert post(client, rows).status_code == 200
    assert MessageEvent.objects.count() == 2
    # sent_fail and sent_failed at the same second are the same report.
    post(client, [status_row("m-dup", "sent_fail", T0 + 1), status_row("m-dup", "sent_failed", T0 + 1)])
    assert MessageEvent.objects.filter(log=log).count() == 2


def test_rows_alike_but_for_their_recipient_channel_or_data_are_all_kept(client):
    # One message to two numbers, delivered to both in the same second; a
    # fallback planned in the same second as the first channel; two template
    # reviews in one second. None is a duplicate of another.
    make_log("m-many")
    rows = [
        status_row("m-many", "delivered", to="+8618701235678"),
        status_row("m-many", "delivered", to="+8618701235679"),
        status_row("m-many", "plan", channel="whatsapp"),
        status_row("m-many", "plan", channel="sms"),
        notification_row("template_audit_result", template_id="login-otp", status=2),
        notification_row("template_audit_result", template_id="signup-otp", status=2),
    ]
    assert post(client, rows).json()["rows"] == 6
    assert post(client, rows).json()["rows"] == 6  # the platform retries the whole batch
    assert MessageEvent.objects.count() == 6
    assert MessageEvent.objects.filter(message_id="m-many", event="delivered").count() == 2


def test_the_discriminator_is_a_keyed_hash_not_the_number(client, settings):
    post(client, [status_row("m-key", "sent", to="+8618701235678")])
    first = MessageEvent.objects.get().discriminator
    assert len(first) == 32 and "8618701235678" not in first
    settings.SECRET_KEY = "another-site-" + "x" * 40
    post(client, [status_row("m-key", "sent", T0 + 1, to="+8618701235678")])
    second = MessageEvent.objects.get(occurred_at__gt=MessageEvent.objects.get(discriminator=first).occurred_at)
    assert second.discriminator != first  # another site's key: nothing to compare across sites


def test_rows_for_unknown_messages_are_kept(client):
    assert post(client, [status_row("elsewhere", "delivered"), uplink_row("elsewhere")]).status_code == 200
    assert MessageEvent.objects.filter(message_id="elsewhere", log=None).count() == 2
    assert not MessageLog.objects.exists()


def test_callback_that_overtook_the_send_answer_is_linked_later(client):
    # The platform reported delivery before this site had saved the message id.
    post(client, [status_row("m-race", "delivered", T0 + 3)])
    log = make_log("m-race")
    post(client, [status_row("m-race", "sent", T0 + 1)])
    log.refresh_from_db()
    assert log.status == "delivered"
    assert MessageEvent.objects.filter(log=log).count() == 2


def test_other_row_kinds_are_stored_logged_and_signalled(client, caplog, django_capture_on_commit_callbacks):
    log = make_log("m-up")
    rows = [
        notification_row("insufficient_balance", balance="0.10"),
        notification_row("template_audit_result", T0 + 1, template_id="login-otp", status=2),
        uplink_row("m-up", "STOP"),
        system_row("key_manage", T0 + 2, action="create"),
    ]
    caplog.set_level(logging.INFO, "django_engagelab_otp")
    with (
        Recorder(signals.notification_received) as notices,
        Recorder(signals.uplink_received) as replies,
        Recorder(signals.system_event_received) as system,
    ):
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client, rows).status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            post(client, rows)  # a repeat: stored and signalled once
    assert [call["event"].event for call in notices.calls] == ["insufficient_balance", "template_audit_result"]
    assert isinstance(notices.calls[0]["event"], NotificationEvent)
    assert notices.calls[0]["event"].data == {"balance": "0.10"} and notices.calls[0]["event"].raw == rows[0]
    (reply,) = replies.calls
    assert isinstance(reply["event"], UplinkEvent) and reply["log"] == log
    assert (reply["event"].body, reply["event"].message_id, reply["event"].raw) == ("STOP", "m-up", rows[2])
    (event,) = system.calls
    assert isinstance(event["event"], SystemEvent) and event["event"].data == {"action": "create"}
    kinds = sorted(MessageEvent.objects.values_list("kind", "event"))
    assert kinds == [
        ("notification", "insufficient_balance"),
        ("notification", "template_audit_result"),
        ("system_event", "key_manage"),
        ("uplink", "uplink_message"),
    ]
    assert MessageEvent.objects.get(kind="uplink").log == log
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "EngageLab notification: insufficient_balance" in warnings
    assert "+8618701235678" not in caplog.text  # the replying number is masked
    assert any("reply (uplink_message)" in r.getMessage() for r in caplog.records)


def test_status_signal_after_commit_once_per_change(client, django_capture_on_commit_callbacks):
    log = make_log("m-sig")
    with Recorder(signals.message_status_changed) as changes:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            post(client, [status_row("m-sig", "plan"), status_row("m-sig", "sent", T0 + 1)])
        assert changes.calls == []  # nothing before the commit
        for callback in callbacks:
            callback()
        with django_capture_on_commit_callbacks(execute=True):
            post(client, [status_row("m-sig", "plan")])  # a late row: no change, no signal
            post(client, [status_row("m-sig", "delivered", T0 + 2)])
    assert [(call["previous_status"], call["log"].status) for call in changes.calls] == [
        ("accepted", "sent"),
        ("sent", "delivered"),
    ]
    first = changes.calls[0]
    assert isinstance(first["event"], MessageStatusEvent) and first["event"].status == "sent"
    assert first["log"].pk == log.pk and first["event"].raw["itime"] == T0 + 1


def test_a_failing_receiver_does_not_stop_the_others(client, caplog, django_capture_on_commit_callbacks):
    make_log("m-rx")

    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    signals.message_status_changed.connect(broken, weak=False)
    try:
        with Recorder(signals.notification_received) as notices, django_capture_on_commit_callbacks(execute=True):
            response = post(client, [status_row("m-rx", "sent"), notification_row()])
    finally:
        signals.message_status_changed.disconnect(broken)
    assert response.status_code == 200
    assert len(notices.calls) == 1
    assert "receiver bug" in caplog.text


def test_database_failure_answers_503_and_signals_nothing(client, django_capture_on_commit_callbacks):
    make_log("m-db")
    table = MessageEvent._meta.db_table
    with Recorder(signals.message_status_changed) as changes, django_capture_on_commit_callbacks(execute=True):
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_away"')
        try:
            response = post(client, [status_row("m-db", "sent")])
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f'ALTER TABLE "{table}_away" RENAME TO "{table}"')
    assert response.status_code == 503
    assert changes.calls == []
    assert MessageLog.objects.get().status == "accepted"


@override_settings(USE_TZ=False)
def test_works_without_time_zones(client):
    log = make_log("m-naive")
    assert post(client, [status_row("m-naive", "delivered")]).status_code == 200
    log.refresh_from_db()
    assert log.status == "delivered"
    assert MessageEvent.objects.get().occurred_at.tzinfo is None


# Statements for a batch: read logs, read their history, read known non-status
# rows, insert events, update logs, link orphans; plus savepoint and release.
MAX_QUERIES = 7


def _batch(size: int) -> list[dict]:
    MessageLog.objects.bulk_create(
        MessageLog(
            kind="otp", to="+8618701235678", template_id="t", message_id=f"q-{i}", status="accepted", send_channel="sms"
        )
        for i in range(size)
    )
    rows = [status_row(f"q-{i}", "delivered", T0 + 3, cost="0.01") for i in range(size)]
    return [*rows, notification_row(itime=T0 + 1), uplink_row("q-0", itime=T0 + 2)]


@pytest.mark.parametrize("size", [1, 1000])
def test_queries_do_not_grow_with_the_batch(client, django_assert_max_num_queries, size):
    rows = _batch(size)
    post(client, [status_row("q-0", "sent", T0 + 1)])  # some history to replay
    with django_assert_max_num_queries(MAX_QUERIES):
        response = post(client, rows)
    assert response.json() == {"ok": True, "rows": size + 2, "skipped": 0}
    assert MessageLog.objects.filter(status="delivered").count() == size
    assert MessageEvent.objects.count() == size + 3


def test_update_many_writes_each_rows_own_values(django_assert_num_queries):
    from django_engagelab_otp.history.bulk import update_many
    from django_engagelab_otp.history.callbacks import LOG_FIELDS

    logs = [make_log(f"u-{i}") for i in range(5)]
    moment = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=timezone.utc)
    for i, log in enumerate(logs):
        log.status = ["sent", "delivered", "sent", "sent_failed", "verified"][i]
        log.send_channel = "whatsapp" if i % 2 else "sms"
        log.cost = Decimal("0.000001") * i if i else None
        log.currency = "USD" if i else ""
        log.error_code = 5012 if i == 3 else None
        log.error_message = 'it\'s "quoted"; DROP TABLE x; --' if i == 3 else ""
        log.verified_at = moment if i == 4 else None
        log.updated_at = moment  # the same in every row: a plain value
    untouched = make_log("u-other")
    with django_assert_num_queries(3):  # 2 + 2 + 1 rows, 17 parameters each
        update_many(logs, LOG_FIELDS, using="default", limit=2 * 17)
    for log in logs:
        stored = MessageLog.objects.get(pk=log.pk)
        assert [getattr(stored, name) for name in LOG_FIELDS] == [getattr(log, name) for name in LOG_FIELDS]
    assert MessageLog.objects.get(pk=untouched.pk).status == "accepted"
