"""The async calls of the HTTP client (httpx): every answer and every failure becomes what the sync call makes of it,
on the same retry schedule; one kept-alive pool per event loop, against a real local server."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import threading
from typing import Any

import httpcore
import httpx
import pytest
import requests
from urllib3.exceptions import NewConnectionError

from django_engagelab_otp import __version__
from django_engagelab_otp.backends import call_async, http_async
from django_engagelab_otp.backends.base import AsyncBackend, Backend, SendResult, VerifyResult
from django_engagelab_otp.backends.http import HTTPBackend
from django_engagelab_otp.errors import ERROR_CODES, FAILURES
from django_engagelab_otp.exceptions import EngageLabError
from tests.support.aio import AsyncSleeps
from tests.support.constants import API, PHONE
from tests.support.local_http import LocalServer, closed_port

KEY, SECRET = "test-key", "client-secret-do-not-leak"
CODE = "Zq83Xk"

#: Each call: its sync name and its arguments; the async twin is "a" + name.
CALLS: dict[str, tuple[str, tuple[Any, ...], dict[str, Any]]] = {
    "messages": ("send_message", (PHONE, "login-otp"), {"language": "en", "params": {"name": "Bob"}}),
    "custom-messages": ("send_custom_message", ([PHONE, "bob@example.com"], "shipped"), {"params": {"code": CODE}}),
    "codes": ("send_code", (PHONE, CODE, "my-code"), {"language": "zh_CN"}),
    "verifications": ("verify", ("m1", CODE), {}),
}


def make(url: str = API, **options: Any) -> HTTPBackend:
    options.setdefault("sleep", lambda seconds: None)
    options.setdefault("asleep", AsyncSleeps())
    options.setdefault("rand", lambda: 0.5)
    return HTTPBackend(KEY, SECRET, api_url=url, **options)


def describe(error: EngageLabError) -> tuple[Any, ...]:
    unknown = error.outcome_unknown
    return (type(error), error.code, error.http_status, error.retryable, unknown, error.field, error.message)


def outcome(call: Any) -> Any:
    """What a call gives: its result, or the description of its error."""
    try:
        return call()
    except EngageLabError as error:
        return describe(error)


def both(api: Any, aapi: Any, path: str, name: str, args: tuple[Any, ...], options: dict[str, Any], **answer: Any):
    """The same answer to the sync call (``responses``) and its async twin (``respx``): both outcomes and counts."""
    method = "GET" if name in ("list_templates", "get_template") else "POST"
    api.add(method, API + path, **answer)
    aapi.route(method=method, url=API + path).mock(return_value=_httpx_response(**answer))
    backend = make(max_retries=2)
    sync = outcome(lambda: getattr(backend, name)(*args, **options))
    awaited = outcome(lambda: asyncio.run(getattr(backend, "a" + name)(*args, **options)))
    return sync, awaited, len(api.calls), aapi.calls.call_count


def _httpx_response(
    status: int = 200,
    json: Any = None,
    body: Any = None,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    headers = dict(headers or {})
    if content_type:
        headers["Content-Type"] = content_type
    if json is not None:
        return httpx.Response(status, json=json, headers=headers)
    content = body.encode() if isinstance(body, str) else (body or b"")
    return httpx.Response(status, content=content, headers=headers)


# ---------------------------------------------------------------- the same answers, the same outcomes


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
@pytest.mark.parametrize("path", sorted(CALLS))
def test_every_platform_code_is_the_same_error(api, aapi, path, code):
    row = ERROR_CODES[code]
    name, args, options = CALLS[path]
    sync, awaited, calls, acalls = both(
        api, aapi, path, name, args, options, status=row.http_status, json={"code": code, "message": f"says {code}"}
    )
    assert sync == awaited
    assert awaited[:2] == (row.exc_class, code) and awaited[3] == row.retryable
    assert calls == acalls == (3 if row.retryable else 1)  # the one schedule: MAX_RETRIES 2


ANSWERS = {
    "html-502": {"status": 502, "body": "<html><h1>502 Bad Gateway</h1></html>", "content_type": "text/html"},
    "text-504": {"status": 504, "body": "gateway timeout", "content_type": "text/plain"},
    "empty-503": {"status": 503, "body": ""},
    "list-500": {"status": 500, "json": ["not", "an", "object"]},
    "html-404": {"status": 404, "body": "<html>Not Found</html>", "content_type": "text/html"},
    "400-without-code": {"status": 400, "json": {"error": "no code here"}},
    "bool-code": {"status": 401, "json": {"code": True}},
    "unknown-code-422": {"status": 422, "json": {"code": 9999, "message": "new"}},
    "unknown-code-500": {"status": 500, "json": {"code": 9999, "message": "new"}},
    "code-as-text": {"status": 400, "json": {"code": "5011", "message": "bad number"}},
    "code-too-big": {"status": 400, "json": {"code": 2**40, "message": "odd"}},
    "code-fraction": {"status": 503, "json": {"code": 1.5, "message": "odd"}},
    "redirect": {"status": 301, "body": "", "headers": {"Location": "https://elsewhere.test/v1/x"}},
    "200-html": {"status": 200, "body": "<html>ok</html>", "content_type": "text/html"},
    "200-cut-json": {"status": 200, "body": '{"message_id": "m1", "send_'},
    "200-empty": {"status": 200, "body": ""},
    "200-no-message-id": {"status": 200, "json": {"send_channel": "sms"}},
    "200-list": {"status": 200, "json": ["m1"]},
    "200-error-code": {"status": 200, "json": {"code": 5011, "message": "invalid phone number"}},
    "200-secret-echoed": {"status": 400, "json": {"code": 3002, "message": f"code {CODE} and {SECRET} refused"}},
    "200-too-deep": {"status": 200, "body": b"[" * 100_000, "content_type": "application/json"},
    "success": {"status": 200, "json": {"message_id": "m1", "send_channel": "whatsapp", "verified": True}},
    "verified-as-text": {"status": 200, "json": {"message_id": "m1", "verified": "true"}},
}


@pytest.mark.parametrize("answer", sorted(ANSWERS))
@pytest.mark.parametrize("path", sorted(CALLS))
def test_any_other_answer_is_read_the_same(api, aapi, path, answer):
    name, args, options = CALLS[path]
    sync, awaited, calls, acalls = both(api, aapi, path, name, args, options, **ANSWERS[answer])
    assert sync == awaited and calls == acalls
    text = repr(awaited)
    assert SECRET not in text
    assert CODE not in text or name == "send_message"  # the code is a secret of the calls that carry it


def test_template_calls_read_the_same(api, aapi):
    for path in ["template-configs", "template-configs/a%20b"]:
        api.add("GET", API + path, json={"template_id": "a"})
        aapi.get(API + path).mock(return_value=httpx.Response(200, json={"template_id": "a"}))
    backend = make()
    # The async calls are the four the services make; the others stay sync (the commands use them).
    assert not hasattr(backend, "alist_templates")
    assert backend.get_template("a b") == {"template_id": "a"}


def test_the_request_is_the_same(api, aapi):
    for path, (name, args, options) in CALLS.items():
        api.post(API + path, json={"message_id": "m1", "send_channel": "sms", "verified": True})
        aapi.post(API + path).mock(return_value=httpx.Response(200, json={"message_id": "m1", "verified": True}))
        backend = make()
        getattr(backend, name)(*args, **options)
        asyncio.run(getattr(backend, "a" + name)(*args, **options))
        sent, awaited = api.calls[-1].request, aapi.calls.last.request
        assert json.loads(awaited.content) == json.loads(sent.body)
        for header in ("Authorization", "User-Agent", "Content-Type", "Accept"):
            assert awaited.headers[header] == sent.headers[header]
    assert awaited.headers["Authorization"] == "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    assert awaited.headers["User-Agent"] == f"django-engagelab-otp/{__version__}"


# ---------------------------------------------------------------- transport failures (mocked)


#: What httpx raises, beside what requests raises for the same failure, and the error table's row for both.
TRANSPORT = {
    "connect-refused": (
        httpx.ConnectError("All connection attempts failed"),
        requests.ConnectionError(NewConnectionError(None, "Connection refused")),
        "unreachable",
    ),
    "connect-timeout": (httpx.ConnectTimeout("timed out"), requests.ConnectTimeout("timed out"), "unreachable"),
    "pool-timeout": (httpx.PoolTimeout("no free connection"), requests.ConnectTimeout("pool"), "unreachable"),
    "read-timeout": (httpx.ReadTimeout("read timed out"), requests.ReadTimeout("read timed out"), "timeout"),
    "write-timeout": (httpx.WriteTimeout("write timed out"), requests.ReadTimeout("write"), "timeout"),
    "server-disconnected": (
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        requests.ConnectionError("Connection aborted."),
        "disconnected",
    ),
    "read-reset": (
        httpx.ReadError("Connection reset by peer"),
        requests.exceptions.ChunkedEncodingError("cut"),
        "disconnected",
    ),
    "write-broken": (httpx.WriteError("Broken pipe"), requests.ConnectionError("Broken pipe"), "disconnected"),
    "tls": (
        # As httpcore raises it (httpx raises its own from it).
        httpcore.ConnectError(ssl.SSLCertVerificationError("certificate verify failed")),
        requests.exceptions.SSLError("certificate verify failed"),
        "tls",
    ),
    "bad-scheme": (httpx.UnsupportedProtocol("ftp"), requests.exceptions.InvalidSchema("ftp"), "configuration"),
    "bad-url": (httpx.InvalidURL("bad host"), requests.exceptions.InvalidURL("bad host"), "configuration"),
}


@pytest.mark.parametrize("failure", sorted(TRANSPORT))
def test_transport_failures_are_the_same_errors(api, aapi, failure):
    raised, raised_sync, name = TRANSPORT[failure]
    row = FAILURES[name]
    api.post(API + "messages", body=raised_sync)
    aapi.post(API + "messages").mock(side_effect=raised)
    waits = AsyncSleeps()
    backend = make(asleep=waits)
    with pytest.raises(EngageLabError) as info:
        asyncio.run(backend.asend_message(PHONE, "login-otp"))
    error = info.value
    assert (type(error), error.code, error.retryable, error.outcome_unknown) == (
        row.exc_class,
        None,
        row.retryable,
        row.outcome_unknown,
    )
    assert error.__cause__ is None and error.__suppress_context__  # no httpx internals in tracebacks
    # What is safe to repeat is repeated on the one schedule (MAX_RETRIES 2), awaited.
    assert aapi.calls.call_count == (3 if row.retryable else 1) and len(waits) == aapi.calls.call_count - 1
    with pytest.raises(EngageLabError) as sync:
        backend.send_message(PHONE, "login-otp")
    assert describe(sync.value)[:6] == describe(error)[:6]


def test_a_read_timeout_on_a_read_is_repeatable(aapi):
    assert http_async._transport_error(httpx.ReadTimeout("x"), API, idempotent=True).retryable


def test_an_unexpected_exception_goes_through_untouched(aapi):
    aapi.post(API + "messages").mock(side_effect=RuntimeError("bug in a transport"))
    with pytest.raises(RuntimeError, match="bug in a transport"):
        asyncio.run(make().asend_message(PHONE, "login-otp"))
    assert aapi.calls.call_count == 1


@pytest.mark.parametrize("code", [1000, 5016])
def test_retryable_codes_are_retried_on_the_same_backoff(aapi, code):
    status = ERROR_CODES[code].http_status
    aapi.post(API + "messages").mock(
        side_effect=[
            httpx.Response(status, json={"code": code}),
            httpx.Response(status, json={"code": code}),
            httpx.Response(200, json={"message_id": "m1", "send_channel": "sms"}),
        ]
    )
    waits, slept = AsyncSleeps(), []
    backend = make(max_retries=2, retry_backoff=0.5, retry_backoff_max=8, retry_jitter=0.2, asleep=waits)
    backend._sleep = slept.append
    assert asyncio.run(backend.asend_message(PHONE, "login-otp")) == SendResult("m1", "sms")
    assert waits == [pytest.approx(0.5 + 0.1), pytest.approx(1.0 + 0.1)] and not slept  # awaited, never blocking


def test_the_default_wait_is_asyncio_sleep():
    backend = HTTPBackend(KEY, SECRET, api_url=API)
    assert backend._asleep is asyncio.sleep


# ---------------------------------------------------------------- a real local server


def test_connection_refused_is_retried_then_reported():
    waits = AsyncSleeps()
    backend = make(f"http://127.0.0.1:{closed_port()}/v1/", max_retries=2, asleep=waits)
    with pytest.raises(EngageLabError) as info:
        asyncio.run(backend.asend_message(PHONE, "login-otp"))
    row = FAILURES["unreachable"]
    assert (type(info.value), info.value.retryable, info.value.outcome_unknown) == (row.exc_class, True, False)
    assert len(waits) == 2 and "could not connect" in info.value.message


def test_a_read_timeout_on_a_send_is_not_retried():
    with LocalServer(behaviour=lambda n, seen: "hang") as server:
        backend = make(server.url, timeout=(2, 0.2), max_retries=3)
        with pytest.raises(EngageLabError) as info:
            asyncio.run(backend.asend_message(PHONE, "login-otp"))
        assert len(server.requests) == 1
    assert info.value.outcome_unknown and not info.value.retryable and "read timeout" in info.value.message


@pytest.mark.parametrize("misbehaviour", ["reset", "truncate"])
def test_a_connection_lost_mid_answer_means_outcome_unknown(misbehaviour):
    with LocalServer(behaviour=lambda n, seen: misbehaviour) as server:
        backend = make(server.url, max_retries=3)
        with pytest.raises(EngageLabError) as info:
            asyncio.run(backend.asend_message(PHONE, "login-otp"))
        with pytest.raises(EngageLabError) as sync:
            backend.send_message(PHONE, "login-otp")
        assert len(server.requests) == 2
    assert info.value.outcome_unknown and not info.value.retryable
    assert describe(info.value)[:6] == describe(sync.value)[:6]


def test_tls_to_a_server_that_speaks_plain_http_is_a_tls_failure():
    with LocalServer() as server:
        url = server.url.replace("http://", "https://")
        backend = make(url)
        with pytest.raises(EngageLabError) as info:
            asyncio.run(backend.asend_message(PHONE, "login-otp"))
        with pytest.raises(EngageLabError) as sync:
            backend.send_message(PHONE, "login-otp")
    row = FAILURES["tls"]
    assert (type(info.value), info.value.retryable, info.value.outcome_unknown) == (row.exc_class, False, False)
    assert "TLS failure" in info.value.message and describe(info.value)[:6] == describe(sync.value)[:6]


def test_concurrent_calls_in_one_loop_share_a_small_pool():
    with LocalServer() as server:
        backend = make(server.url)
        backend.max_connections = 4

        async def fifty() -> list[SendResult]:
            return await asyncio.gather(*(backend.asend_message(PHONE, "login-otp") for _ in range(50)))

        results = asyncio.run(fifty())
        assert len({result.message_id for result in results}) == 50
        assert len(server.requests) == 50 and 1 <= server.connections <= 4


def test_each_event_loop_gets_its_client_closed_with_it():
    """As under WSGI with async views: every request in a new loop (asyncio.run, as asgiref runs them)."""
    with LocalServer(behaviour=lambda n, seen: (200, {"message_id": f"m{n}", "verified": True})) as server:
        backend = make(server.url)

        async def two() -> None:
            await backend.asend_message(PHONE, "login-otp")
            await backend.averify("m1", CODE)

        asyncio.run(two())
        assert server.connections == 1  # kept alive between the two calls
        assert len(backend._loop_clients) == 0  # closed and forgotten with its loop
        asyncio.run(two())
        assert server.connections == 2 and len(backend._loop_clients) == 0
        assert server.wait_closed(2)  # both connections were closed by the client, none left to the GC


def test_a_client_is_never_shared_between_loops_running_at_once():
    with LocalServer() as server:
        backend = make(server.url)
        clients: list[Any] = []
        barrier = threading.Barrier(2)

        async def use() -> None:
            await backend.asend_message(PHONE, "login-otp")
            clients.append(await backend._loop_clients.get())
            await asyncio.to_thread(barrier.wait, 5)  # both loops alive here

        threads = [threading.Thread(target=asyncio.run, args=(use(),)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len(clients) == 2 and clients[0] is not clients[1]


def test_aclose_and_close_release_the_connections():
    with LocalServer() as server:
        backend = make(server.url)

        async def send_then_close() -> bool:
            await backend.asend_message(PHONE, "login-otp")
            client = await backend._loop_clients.get()
            await backend.aclose()
            closed = client.is_closed
            await backend.asend_message(PHONE, "login-otp")  # a new client, a new connection
            backend.close()  # from inside the loop: closed as a task of it
            await asyncio.sleep(0.05)
            return closed

        assert asyncio.run(send_then_close())
        assert server.connections == 2 and server.wait_closed(2)


def test_limits_and_timeouts_reach_the_client(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    backend = make(timeout=(3, 7))
    client = backend._new_async_client()
    assert client.timeout == httpx.Timeout(connect=3, read=7, write=7, pool=7)
    assert client.headers["Authorization"].startswith("Basic ") and "[secure]" in repr(client.headers)
    pool = client._transport._pool  # type: ignore[attr-defined]
    assert type(pool).__name__ == "AsyncHTTPProxy"  # the environment's proxy, read the requests way
    assert pool._max_connections == backend.max_connections == 10
    monkeypatch.setenv("NO_PROXY", "otp.api.engagelab.test")
    assert type(make()._new_async_client()._transport._pool).__name__ == "AsyncConnectionPool"  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the contract


def test_the_shipped_backend_keeps_both_contracts():
    assert isinstance(make(), Backend) and isinstance(make(), AsyncBackend)


class SyncOnly:
    """A backend of the sync contract only (as written before the async calls existed)."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def verify(self, message_id: str, code: str) -> VerifyResult:
        self.threads.append(threading.current_thread().name)
        return VerifyResult(message_id, code == "123456")


def test_a_backend_without_async_calls_is_called_in_a_worker_thread():
    backend = SyncOnly()

    async def check() -> tuple[VerifyResult, str]:
        return await call_async(backend, "verify", "m1", "123456"), threading.current_thread().name

    result, loop_thread = asyncio.run(check())
    assert result == VerifyResult("m1", True)
    assert backend.threads and backend.threads[0] != loop_thread


def test_what_sync_and_async_share_depends_on_no_http_library():
    """protocol.py and retries.py are the shared part: neither may know requests nor httpx."""
    import ast
    from pathlib import Path

    from django_engagelab_otp.backends import protocol, retries

    for module in (protocol, retries):
        tree = ast.parse(Path(module.__file__).read_text())
        imported = {
            alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not imported & {"requests", "urllib3", "httpx", "httpcore"}, (module.__name__, imported)
