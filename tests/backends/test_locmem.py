"""The in-memory backend: outbox, same results and exceptions as the HTTP client, the fixture."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from django_engagelab_otp import send_code, send_custom_message, send_otp, verify_otp
from django_engagelab_otp.backends import backend_options, get_backend, locmem
from django_engagelab_otp.backends.base import SendResult, VerifyResult
from django_engagelab_otp.backends.http import HTTPBackend
from django_engagelab_otp.backends.locmem import LocmemBackend
from django_engagelab_otp.exceptions import EngageLabError, RateLimitError, RequestError
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.simulator import Simulator
from django_engagelab_otp.simulator.magic import MAGIC, Family, by_name
from tests.support.constants import PHONE
from tests.support.settings import configure


@pytest.fixture
def fresh():
    locmem.reset()
    yield locmem.platform
    locmem.reset()


def client(**options) -> LocmemBackend:
    return LocmemBackend("k", "s", api_url="https://otp.api.engagelab.test/v1/", timeout=1, **options)


@pytest.mark.django_db
def test_fixture_selects_the_backend_and_services_fill_the_outbox(engagelab_outbox, settings):
    assert engagelab_outbox == [] and isinstance(get_backend(), LocmemBackend)
    log = send_otp(PHONE, params={"name": "Bob"})
    sent = engagelab_outbox[-1]
    assert (sent.to, sent.template_id, sent.params, sent.channel) == (PHONE, "login-otp", {"name": "Bob"}, "sms")
    assert sent.message_id == log.message_id and log.status == "accepted"
    assert len(sent.code) == 6 and sent.code in sent.content
    assert verify_otp(log.message_id, sent.code) is True
    with pytest.raises(RequestError):
        verify_otp(log.message_id, sent.code)
    assert MessageLog.objects.get().verified_at is not None


@pytest.mark.django_db
def test_custom_messages_own_codes_and_limits(engagelab_outbox, settings):
    configure(settings, RESEND_COOLDOWN=0)  # the platform's own limit, 3004
    send_custom_message([PHONE, "Bob@Example.com"], "order-shipped", params={"order": "9"})
    assert engagelab_outbox[-1].recipients == [PHONE, "bob@example.com"] and engagelab_outbox[-1].code is None
    send_code(PHONE, "482910", "my-code")
    assert engagelab_outbox[-1].code == "482910"
    send_otp(PHONE)
    with pytest.raises(RateLimitError) as info:
        send_otp(PHONE)
    assert info.value.log.status == "failed" and len(engagelab_outbox) == 3


@pytest.mark.django_db
def test_magic_recipients_raise_through_the_services(engagelab_outbox):
    with pytest.raises(EngageLabError) as info:
        send_otp(by_name("error-5013").phone)
    assert info.value.code == 5013 and info.value.log.status == "failed"
    with pytest.raises(EngageLabError) as info:
        send_otp(by_name("fault-drop").email)
    assert info.value.outcome_unknown and info.value.log.status == "unknown"
    assert [sent.to for sent in engagelab_outbox] == [by_name("fault-drop").email]  # it was sent all the same


def test_same_constructor_and_methods_as_the_http_client(settings):
    configure(settings, BACKEND="django_engagelab_otp.backends.locmem.LocmemBackend")
    assert isinstance(LocmemBackend(**backend_options()), HTTPBackend)
    # Every keyword the HTTP client takes is accepted, with the same meaning.
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(HTTPBackend.__init__).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    backend = LocmemBackend("k", "s", **{**defaults, "api_url": "http://127.0.0.1:9/v1/", "timeout": 4})
    assert (backend.api_url, backend.timeout) == ("http://127.0.0.1:9/v1/", 4)
    for name in ("send_message", "send_custom_message", "send_code", "verify", "list_templates", "close"):
        assert callable(getattr(LocmemBackend, name))


def test_results_and_templates(fresh):
    backend = client()
    result = backend.send_message(PHONE, "demo-otp", language="en")
    assert isinstance(result, SendResult) and result.send_channel == "sms"
    check = backend.verify(result.message_id, locmem.outbox[-1].code)
    assert check == VerifyResult(message_id=result.message_id, verified=True)
    assert "demo-notice" in [t["template_id"] for t in backend.list_templates()]
    assert backend.create_template({"template_id": "x1", "send_channel_strategy": "sms"})["code"] == 0
    assert backend.get_template("x1")["template_id"] == "x1"
    assert backend.delete_template("x1")["code"] == 0
    backend.close()


def test_retries_do_not_sleep(fresh):
    slept = []
    backend = client(max_retries=2)
    with pytest.raises(EngageLabError):
        backend.send_message(by_name("error-1000").phone, "demo-otp")
    assert fresh.path_counts["/v1/messages"] == 3
    with pytest.raises(EngageLabError):
        client(max_retries=1, sleep=slept.append).send_message(by_name("error-5016").phone, "demo-otp")
    assert len(slept) == 1  # a sleep given explicitly is used


def test_reset_empties_the_outbox_and_forgets_limits(fresh):
    backend = client()
    backend.send_message(PHONE, "demo-otp")
    with pytest.raises(RateLimitError):
        backend.send_message(PHONE, "demo-otp")
    locmem.reset()
    assert locmem.outbox == []
    backend.send_message(PHONE, "demo-otp")


def describe(error: EngageLabError) -> tuple:
    return (type(error), error.code, error.http_status, error.outcome_unknown, error.retryable, error.field)


MISBEHAVING = [m for m in MAGIC if m.family is not Family.LIFECYCLE]


@pytest.fixture(scope="module")
def simulator():
    with Simulator() as sim:
        sim.platform.hang_seconds = 60  # far beyond the read timeout below; the simulator's stop ends it
        sim.platform.slow_ms = 1
        sim.platform.drip_seconds = 0.001
        yield sim


@pytest.mark.parametrize("magic", MISBEHAVING, ids=lambda m: m.name)
def test_each_magic_recipient_behaves_as_over_http(simulator, fresh, magic):
    """The in-memory answer is what the HTTP client makes of the simulator's answer."""
    simulator.platform.reset()
    over_http = HTTPBackend(
        "demo-key", "demo-secret", api_url=simulator.url, timeout=1.0, retry_backoff=0, retry_jitter=0
    )
    outcomes = []
    for backend in (over_http, client(retry_backoff=0, retry_jitter=0)):
        try:
            result = backend.send_message(magic.phone, "demo-otp")
        except EngageLabError as error:
            outcomes.append(describe(error))
        else:
            outcomes.append(result.send_channel)
        backend.close()
    assert outcomes[0] == outcomes[1]
    assert len(simulator.platform.messages) == len(locmem.outbox)


# ---------------------------------------------------------------- the async calls


def _outcome(call) -> Any:
    try:
        return call().send_channel
    except EngageLabError as error:
        return describe(error)


@pytest.mark.parametrize("magic", MISBEHAVING, ids=lambda m: m.name)
def test_each_magic_recipient_behaves_the_same_awaited(simulator, fresh, magic):
    """In memory, awaited: what the sync call gets, and what the async call gets over HTTP from the simulator."""
    simulator.platform.reset()
    over_http = HTTPBackend(
        "demo-key", "demo-secret", api_url=simulator.url, timeout=1.0, retry_backoff=0, retry_jitter=0
    )
    in_memory = client(retry_backoff=0, retry_jitter=0)
    outcomes = [_outcome(lambda: asyncio.run(over_http.asend_message(magic.phone, "demo-otp")))]
    for call in (in_memory.send_message, lambda *args: asyncio.run(in_memory.asend_message(*args))):
        locmem.reset()
        outcomes.append(_outcome(lambda call=call: call(magic.phone, "demo-otp")))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert len(locmem.outbox) == len(simulator.platform.messages)


def test_async_calls_fill_the_outbox_and_verify(fresh):
    backend = client()

    async def flow() -> tuple[SendResult, VerifyResult, SendResult]:
        sent = await backend.asend_message(PHONE, "demo-otp", language="en")
        check = await backend.averify(sent.message_id, locmem.outbox[-1].code)
        own = await backend.asend_code("bob@example.com", "482910", "my-code")
        custom = await backend.asend_custom_message([PHONE, "bob@example.com"], "order-shipped", params={"n": "1"})
        assert custom.message_id == locmem.outbox[-1].message_id
        await backend.aclose()
        return sent, check, own

    sent, check, own = asyncio.run(flow())
    assert check == VerifyResult(sent.message_id, True)
    assert [m.code for m in locmem.outbox][1:] == ["482910", None]
    assert locmem.outbox[-1].recipients == [PHONE, "bob@example.com"]
    with pytest.raises(RequestError):  # a code is verified once, awaited or not
        backend.verify(sent.message_id, locmem.outbox[0].code)


def test_async_retries_do_not_wait(fresh):
    backend = client(max_retries=2)
    with pytest.raises(EngageLabError):
        asyncio.run(backend.asend_message(by_name("error-1000").phone, "demo-otp"))
    assert fresh.path_counts["/v1/messages"] == 3
