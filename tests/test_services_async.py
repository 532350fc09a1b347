"""The async services: the sync ones' checks, limits, rows, signals, logs and errors, with the request awaited.

Run from sync tests through ``async_to_sync`` (tests/support/aio.py): the
database steps come back to the test's thread, inside its transaction.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from decimal import Decimal

import httpx
import pytest
from asgiref.sync import sync_to_async

import django_engagelab_otp
from django_engagelab_otp import (
    acheck_otp,
    asend_code,
    asend_custom_message,
    asend_otp,
    averify_otp,
    send_otp,
)
from django_engagelab_otp.backends.locmem import LocmemBackend
from django_engagelab_otp.exceptions import (
    EngageLabError,
    InvalidInputError,
    RecipientError,
    RequestError,
    ServerError,
    ThrottledError,
    TransportError,
    VerificationLockedError,
    WrongCodeError,
)
from django_engagelab_otp.models import MessageEvent, MessageLog
from django_engagelab_otp.simulator.magic import MAGIC, Family
from tests.support.aio import run
from tests.support.constants import API, PHONE
from tests.support.local_http import LocalServer
from tests.support.settings import configure, engagelab
from tests.support.webhooks import T0, post, status_row

CODE = "Zq83Xk"

pytestmark = pytest.mark.django_db


def accept(aapi, path: str = "messages", message_id: str = "m1", **answer) -> None:
    aapi.post(API + path).mock(
        return_value=httpx.Response(200, json={"message_id": message_id, "send_channel": "sms", **answer})
    )


def sent_body(aapi) -> dict:
    return json.loads(aapi.calls.last.request.content)


# ---------------------------------------------------------------- the row around the request


def test_asend_otp_writes_pending_then_accepted(aapi, received):
    states = []

    async def platform(request: httpx.Request) -> httpx.Response:
        row = await sync_to_async(MessageLog.objects.get)()
        states.append((row.status, row.message_id, row.to, row.params))
        return httpx.Response(200, json={"message_id": "m1", "send_channel": "whatsapp"})

    aapi.post(API + "messages").mock(side_effect=platform)
    log = run(asend_otp, PHONE, params={"name": "Bob", "code": CODE}, language="en")
    assert states == [("pending", None, PHONE, {"name": "Bob", "code": "[redacted]"})]
    assert (log.status, log.message_id, log.send_channel, log.kind) == ("accepted", "m1", "whatsapp", "otp")
    assert MessageLog.objects.get().status == "accepted"
    assert sent_body(aapi) == {
        "to": PHONE,
        "template": {"id": "login-otp", "language": "en", "params": {"name": "Bob", "code": CODE}},
    }
    assert received == [("sent", {"sender": MessageLog, "log": log})]


def test_custom_messages_and_own_codes(aapi):
    accept(aapi, "custom-messages")
    accept(aapi, "codes", "m2")
    log = run(asend_custom_message, [PHONE, "Bob@Example.COM"], "order-shipped", params={"order": 123})
    template = {"id": "order-shipped", "params": {"order": "123"}}
    assert sent_body(aapi) == {"to": [PHONE, "Bob@example.com"], "template": template}
    assert (log.kind, log.recipients, log.status) == ("custom", [PHONE, "Bob@example.com"], "accepted")
    log = run(asend_code, PHONE, CODE, "my-code", language="ja")
    assert sent_body(aapi) == {"to": PHONE, "code": CODE, "template": {"id": "my-code", "language": "ja"}}
    assert (log.kind, log.message_id) == ("code", "m2")
    assert CODE not in json.dumps(list(MessageLog.objects.values()), default=str)


def test_a_platform_error_settles_failed_and_gives_the_cooldown_back(aapi, received):
    aapi.post(API + "messages").mock(
        side_effect=[
            httpx.Response(400, json={"code": 5013, "message": "number is blocked"}),
            httpx.Response(200, json={"message_id": "m2", "send_channel": "sms"}),
        ]
    )
    with pytest.raises(RecipientError) as info:
        run(asend_otp, PHONE)
    row = MessageLog.objects.get()
    assert info.value.log == row and (row.status, row.error_code, row.http_status) == ("failed", 5013, 400)
    assert received == [("failed", {"sender": MessageLog, "log": info.value.log, "error": info.value})]
    assert run(asend_otp, PHONE).message_id == "m2"  # refused: nothing sent, nobody kept waiting


@pytest.mark.parametrize(
    "answer",
    [
        {"side_effect": httpx.ReadTimeout("read timed out")},
        {"return_value": httpx.Response(200, json={"send_channel": "sms"})},
        {"return_value": httpx.Response(502, text="<html>bad gateway</html>")},
    ],
    ids=["read-timeout", "no-message-id", "html-502"],
)
def test_an_unknown_outcome_settles_unknown_and_keeps_the_cooldown(aapi, answer):
    aapi.post(API + "messages").mock(**answer)
    with pytest.raises((TransportError, ServerError)) as info:
        run(asend_otp, PHONE)
    row = MessageLog.objects.get()
    assert row.status == "unknown" and info.value.log == row and row.error_message
    with pytest.raises(ThrottledError):
        run(asend_otp, PHONE)
    assert aapi.calls.call_count == 1 and MessageLog.objects.count() == 1


def test_an_unexpected_exception_settles_unknown(aapi, received):
    aapi.post(API + "messages").mock(side_effect=RuntimeError("bug in a transport"))
    with pytest.raises(RuntimeError):
        run(asend_otp, PHONE)
    row = MessageLog.objects.get()
    assert (row.status, row.error_message) == ("unknown", "RuntimeError during the request")
    assert received == []


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: asend_otp("12345"), "to"),
        (lambda: asend_otp(PHONE, "x" * 129), "template_id"),
        (lambda: asend_otp(PHONE, language="fr"), "language"),
        (lambda: asend_otp(PHONE, params={"name": None}), "params"),
        (lambda: asend_custom_message([], "t"), "to"),
        (lambda: asend_custom_message(PHONE, ""), "template_id"),
        (lambda: asend_code(PHONE, "12", "t"), "code"),
        (lambda: averify_otp("", "123456"), "message_id"),
        (lambda: averify_otp("m1", "abc"), "code"),
        (lambda: acheck_otp("m 1", "123456"), "message_id"),
    ],
)
def test_bad_input_never_reaches_the_network_or_the_database(aapi, call, field):
    async def attempt():
        return await call()

    with pytest.raises(InvalidInputError) as info:
        run(attempt)
    assert info.value.field == field and info.value.log is None
    assert aapi.calls.call_count == 0 and MessageLog.objects.count() == 0


def test_the_cooldown_refuses_before_any_row_or_request(aapi, caplog):
    accept(aapi)
    run(asend_otp, PHONE)
    with caplog.at_level(logging.WARNING, logger="django_engagelab_otp.limits"), pytest.raises(ThrottledError):
        run(asend_otp, PHONE)
    assert aapi.calls.call_count == 1 and MessageLog.objects.count() == 1
    assert "+86 187****5678" in caplog.text and PHONE not in caplog.text


def test_log_levels_are_the_sync_ones(aapi, caplog):
    aapi.post(API + "messages").mock(
        side_effect=[
            httpx.Response(400, json={"code": 5011, "message": "bad number"}),
            httpx.Response(403, json={"code": 2004, "message": "no permission"}),
            httpx.Response(200, json={"message_id": "m3", "send_channel": "sms"}),
        ]
    )
    with caplog.at_level(logging.INFO, logger="django_engagelab_otp"), engagelab(RESEND_COOLDOWN=0):
        for _ in range(2):
            with pytest.raises(EngageLabError):
                run(asend_otp, PHONE)
        run(asend_otp, PHONE)
    levels = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "django_engagelab_otp"]
    assert [level for level, _text in levels] == [logging.WARNING, logging.ERROR, logging.INFO]
    assert "+86 187****5678" in levels[0][1] and "2004" in levels[1][1] and "m3" in levels[2][1]
    assert all(PHONE not in text for _level, text in levels)


def test_the_package_exports_the_async_functions_lazily():
    for name in ("asend_otp", "asend_custom_message", "asend_code", "averify_otp", "acheck_otp"):
        assert name in django_engagelab_otp.__all__
        assert asyncio.iscoroutinefunction(getattr(django_engagelab_otp, name))


# ---------------------------------------------------------------- verification


def sent_row(message_id: str = "m1") -> MessageLog:
    return MessageLog.objects.create(kind="otp", to=PHONE, template_id="login-otp", message_id=message_id)


def test_averify_counts_sets_verified_at_and_tells(aapi, received):
    row = sent_row()
    aapi.post(API + "verifications").mock(
        side_effect=[httpx.Response(200, json={"message_id": "m1", "verified": v}) for v in (False, True)]
    )
    assert run(averify_otp, "m1", "654321") is False
    assert run(averify_otp, "m1", "123456") is True
    row.refresh_from_db()
    assert row.verify_attempts == 2 and row.verified_at is not None
    assert [(kwargs["verified"], kwargs["log"]) for _name, kwargs in received] == [(False, row), (True, row)]


def test_acheck_otp_raises_a_wrong_code_with_the_attempts_left(aapi, settings):
    configure(settings, MAX_VERIFY_ATTEMPTS=2)
    sent_row()
    aapi.post(API + "verifications").mock(return_value=httpx.Response(200, json={"verified": False}))
    with pytest.raises(WrongCodeError) as info:
        run(acheck_otp, "m1", "654321")
    assert info.value.attempts_left == 1
    with pytest.raises(WrongCodeError):
        run(acheck_otp, "m1", "654321")
    with pytest.raises(VerificationLockedError):
        run(averify_otp, "m1", "123456")
    assert aapi.calls.call_count == 2  # the locked message was not asked about


def test_an_unanswered_verification_is_given_back(aapi):
    row = sent_row()
    aapi.post(API + "verifications").mock(side_effect=httpx.ConnectTimeout("no route"))
    with pytest.raises(TransportError):
        run(averify_otp, "m1", "123456")
    aapi.post(API + "verifications").mock(return_value=httpx.Response(400, json={"code": 3003}))
    with pytest.raises(RequestError):
        run(averify_otp, "m1", "123456")
    row.refresh_from_db()
    assert row.verify_attempts == 1  # the refused one counts, the unanswered one does not


# ---------------------------------------------------------------- cancellation


@pytest.mark.parametrize("how", ["cancel", "timeout"])
def test_a_cancelled_send_settles_unknown_and_keeps_the_cooldown(how):
    with LocalServer(behaviour=lambda n, seen: "hang") as server, engagelab(API_URL=server.url):

        async def cancelled() -> None:
            if how == "timeout":
                await asyncio.wait_for(asend_otp(PHONE), timeout=0.5)
                return
            task = asyncio.ensure_future(asend_otp(PHONE))
            while not server.requests:  # the request is out
                await asyncio.sleep(0.01)
            task.cancel()
            await task

        with pytest.raises(asyncio.TimeoutError if how == "timeout" else asyncio.CancelledError):
            run(cancelled)
        assert len(server.requests) == 1
    row = MessageLog.objects.get()
    assert (row.status, row.error_message) == ("unknown", "CancelledError during the request")
    with pytest.raises(ThrottledError):  # the message may have gone: nobody gets a second one at once
        run(asend_otp, PHONE)


def test_a_cancellation_while_the_row_is_written_still_settles_it(aapi, monkeypatch):
    """Cancelled during the pending row's write (in Django's thread): the row is written all the same, then settled."""
    from django_engagelab_otp.history import sends

    started, release = threading.Event(), threading.Event()
    record = sends.record

    def slow_record(*args, **kwargs):
        started.set()
        release.wait(5)
        return record(*args, **kwargs)

    monkeypatch.setattr(sends, "record", slow_record)
    accept(aapi)

    async def cancel_while_writing() -> None:
        task = asyncio.ensure_future(asend_otp(PHONE))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        await asyncio.sleep(0.05)
        release.set()
        await task

    with pytest.raises(asyncio.CancelledError):
        run(cancel_while_writing)
    row = MessageLog.objects.get()
    assert row.status == "unknown" and aapi.calls.call_count == 0


def test_a_second_cancellation_does_not_stop_the_row_being_settled():
    """Cancelled again while its settling step waits for Django's thread (busy with another request's step)."""
    hold = threading.Event()
    with LocalServer(behaviour=lambda n, seen: "hang") as server, engagelab(API_URL=server.url):

        async def cancelled_twice() -> None:
            task = asyncio.ensure_future(asend_otp(PHONE))
            while not server.requests:
                await asyncio.sleep(0.01)
            busy = asyncio.ensure_future(sync_to_async(hold.wait)(5))  # Django's thread, taken
            await asyncio.sleep(0.05)
            task.cancel()  # the settling step is queued behind the busy one
            await asyncio.sleep(0.05)
            task.cancel()
            hold.set()
            await busy
            await task

        with pytest.raises(asyncio.CancelledError):
            run(cancelled_twice)
    assert MessageLog.objects.get().status == "unknown"


# ---------------------------------------------------------------- the simulator, over real HTTP


def test_send_and_verify_against_the_simulator(engagelab_simulator):
    async def flow() -> tuple[MessageLog, bool, bool]:
        log = await asend_otp(PHONE, params={"name": "Bob"})
        code = engagelab_simulator.platform.last_code(PHONE)
        wrong = await averify_otp(log.message_id, "000000" if code != "000000" else "111111")
        right = await averify_otp(log.message_id, code)
        return log, wrong, right

    log, wrong, right = run(flow)
    assert (log.status, wrong, right) == ("accepted", False, True)
    stored = MessageLog.objects.get()
    assert stored.verify_attempts == 2 and stored.verified_at is not None


MISBEHAVING = [m for m in MAGIC if m.family in (Family.ERROR, Family.FAULT)]


@pytest.mark.parametrize("magic", MISBEHAVING, ids=lambda m: m.name)
def test_every_magic_recipient_gives_what_send_otp_gives(make_engagelab_simulator, settings, magic):
    sim = make_engagelab_simulator()
    sim.platform.hang_seconds = 5
    sim.platform.slow_ms = 1
    sim.platform.drip_seconds = 0.001
    configure(settings, TIMEOUT=1, RESEND_COOLDOWN=0, RETRY_BACKOFF=0, RETRY_JITTER=0)
    outcomes = []
    for send in (send_otp, lambda to: run(asend_otp, to)):
        sim.platform.reset()
        sim.platform.ensure_template("login-otp")
        try:
            log = send(magic.phone)
        except EngageLabError as error:
            outcomes.append((type(error), error.code, error.outcome_unknown, error.log.status))
        else:
            outcomes.append(log.status)
    assert outcomes[0] == outcomes[1]


def test_fifty_concurrent_sends_share_a_few_connections_and_all_settle():
    """From one event loop, to fifty recipients, against a local server answering after 50 ms."""
    lock, in_flight, most = threading.Lock(), [0], [0]

    def platform(n: int, seen) -> tuple[int, dict]:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1
        return 200, {"message_id": f"m{n}", "send_channel": "sms"}

    numbers = [f"+861870123{n:04d}" for n in range(50)]
    with LocalServer(behaviour=platform) as server, engagelab(API_URL=server.url):

        async def fifty() -> list[MessageLog]:
            return await asyncio.gather(*(asend_otp(to) for to in numbers))

        logs = run(fifty)
        # At most max_connections (10), kept alive and used in turn: no connection per send.
        assert 1 <= server.connections <= 10 and len(server.requests) == 50
    assert sorted(log.recipient for log in logs) == numbers
    assert MessageLog.objects.filter(status="accepted").count() == 50
    assert len({log.message_id for log in logs}) == 50
    assert most[0] > 1  # side by side, not one after the other (how many depends on the machine's load)


# ---------------------------------------------------------------- backends


class SyncOnlyBackend(LocmemBackend):
    """The in-memory backend without its async calls: what a backend written before them looks like."""

    asend_message = asend_custom_message = asend_code = averify = None  # type: ignore[assignment]
    threads: list[str] = []

    def send_message(self, *args, **kwargs):
        SyncOnlyBackend.threads.append(threading.current_thread().name)
        return super().send_message(*args, **kwargs)


def test_a_backend_without_async_calls_serves_the_async_services(engagelab_outbox, settings):
    configure(settings, BACKEND=f"{__name__}.SyncOnlyBackend")
    SyncOnlyBackend.threads.clear()

    async def flow() -> tuple[MessageLog, bool]:
        log = await asend_otp(PHONE)
        return log, await averify_otp(log.message_id, engagelab_outbox[-1].code)

    log, verified = run(flow)
    assert log.status == "accepted" and verified
    assert SyncOnlyBackend.threads and SyncOnlyBackend.threads[0] != threading.main_thread().name


def test_the_in_memory_backend_answers_the_async_services(engagelab_outbox):
    log = run(asend_code, "bob@example.com", "482910", "my-code")
    assert engagelab_outbox[-1].code == "482910" and log.message_id == engagelab_outbox[-1].message_id


# ---------------------------------------------------------------- early callbacks


@pytest.mark.urls("tests.support.webhooks")
def test_callbacks_that_arrived_before_the_answer_are_caught_up(client, aapi, django_capture_on_commit_callbacks):
    rows = [status_row("m-early", "plan", T0), status_row("m-early", "delivered", T0 + 3, cost="0.02")]
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, rows).status_code == 200
    accept(aapi, message_id="m-early")
    with django_capture_on_commit_callbacks(execute=True):
        log = run(asend_otp, PHONE)
    assert (log.status, log.cost) == ("delivered", Decimal("0.02"))
    assert MessageEvent.objects.filter(log=log).count() == 2
