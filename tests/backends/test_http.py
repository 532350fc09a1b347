"""The HTTP client on its own: headers, bodies, every answer the platform (or a proxy) can give,
retries, timeouts, and connection reuse against a real local server."""

from __future__ import annotations

import ast
import base64
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
import responses
import urllib3.util.connection

import django_engagelab_otp.backends.http as client_module
from django_engagelab_otp import __version__
from django_engagelab_otp.backends.base import SendResult, VerifyResult
from django_engagelab_otp.backends.http import HTTPBackend
from django_engagelab_otp.exceptions import (
    AuthenticationError,
    ConfigurationError,
    DeliveryError,
    EngageLabError,
    InvalidInputError,
    RateLimitError,
    RecipientError,
    RequestError,
    ServerError,
    TemplateError,
    TransportError,
)
from tests.support.constants import API, PHONE, ROOT
from tests.support.local_http import LocalServer, closed_port

KEY, SECRET = "test-key", "client-secret-do-not-leak"

# The API document's codes with what each must become: class, retryable, field, HTTP status.
# Written out here, not read from the table, so that a wrong row fails.
DOCUMENTED = {
    1000: (ServerError, True, None, 500),
    2001: (AuthenticationError, False, None, 401),
    2002: (AuthenticationError, False, None, 401),
    2004: (AuthenticationError, False, None, 403),
    3001: (RequestError, False, None, 400),
    3002: (RequestError, False, None, 400),
    3003: (RequestError, False, None, 400),
    3004: (RateLimitError, False, None, 400),
    4001: (TemplateError, False, None, 400),
    5001: (DeliveryError, False, None, 400),
    5011: (RecipientError, False, "to", 400),
    5012: (RecipientError, False, "to", 400),
    5013: (RecipientError, False, "to", 400),
    5014: (DeliveryError, False, None, 400),
    5015: (DeliveryError, False, None, 400),
    5016: (DeliveryError, True, None, 400),
    5017: (RecipientError, False, "to", 400),
    5018: (RecipientError, False, "to", 400),
    5019: (RecipientError, False, "to", 400),
    5020: (RecipientError, False, "to", 400),
}


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


def make(url: str = API, **options) -> HTTPBackend:
    options.setdefault("sleep", Sleeps())
    options.setdefault("rand", lambda: 0.5)
    return HTTPBackend(KEY, SECRET, api_url=url, **options)


@pytest.fixture
def client(sleeps):
    return make(sleep=sleeps)


def sent(api, index: int = -1):
    return json.loads(api.calls[index].request.body)


# ---------------------------------------------------------------- headers and bodies


def test_headers(api, client):
    api.post(API + "messages", json={"message_id": "m1", "send_channel": "sms"})
    client.send_message(PHONE, "login-otp")
    headers = api.calls[0].request.headers
    assert headers["Authorization"] == "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    assert headers["User-Agent"] == f"django-engagelab-otp/{__version__}"
    assert headers["Content-Type"] == "application/json"
    assert headers["Accept"] == "application/json"


def test_netrc_does_not_replace_the_credentials(api, client, tmp_path, monkeypatch):
    (tmp_path / ".netrc").write_text("machine otp.api.engagelab.test login other password other\n")
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    api.post(API + "messages", json={"message_id": "m1", "send_channel": "sms"})
    client.send_message(PHONE, "login-otp")
    assert api.calls[0].request.headers["Authorization"].endswith(base64.b64encode(f"{KEY}:{SECRET}".encode()).decode())


def test_proxy_and_ca_bundle_variables_are_read_once(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/company.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = make().session
    assert session.proxies["https"] == "http://proxy.internal:3128"
    assert session.verify == "/etc/ssl/company.pem"
    assert session.trust_env is False  # not scanned again per request; .netrc never read
    monkeypatch.setenv("NO_PROXY", "otp.api.engagelab.test")
    assert make().session.proxies == {}


@pytest.mark.parametrize(
    ("call", "path", "body"),
    [
        (
            lambda c: c.send_message(PHONE, "login-otp", language="en", params={"name": "Bob"}),
            "messages",
            {"to": PHONE, "template": {"id": "login-otp", "language": "en", "params": {"name": "Bob"}}},
        ),
        (lambda c: c.send_message(PHONE, "login-otp"), "messages", {"to": PHONE, "template": {"id": "login-otp"}}),
        (
            lambda c: c.send_custom_message(PHONE, "shipped", params={"order": "123"}),
            "custom-messages",
            {"to": PHONE, "template": {"id": "shipped", "params": {"order": "123"}}},
        ),
        (
            lambda c: c.send_custom_message([PHONE, "bob@example.com"], "shipped"),
            "custom-messages",
            {"to": [PHONE, "bob@example.com"], "template": {"id": "shipped"}},
        ),
        (
            lambda c: c.send_custom_message((PHONE,), "shipped"),
            "custom-messages",
            {"to": [PHONE], "template": {"id": "shipped"}},
        ),
        (
            lambda c: c.send_code(PHONE, "482910", "my-code", language="zh_CN", params={"app": "Shop"}),
            "codes",
            {
                "to": PHONE,
                "code": "482910",
                "template": {"id": "my-code", "language": "zh_CN", "params": {"app": "Shop"}},
            },
        ),
    ],
    ids=["messages", "messages-bare", "custom-one", "custom-list", "custom-tuple", "codes"],
)
def test_send_bodies(api, client, call, path, body):
    api.post(API + path, json={"message_id": "m1", "send_channel": "whatsapp"})
    result = call(client)
    assert result == SendResult("m1", "whatsapp")
    assert result.raw == {"message_id": "m1", "send_channel": "whatsapp"}
    assert sent(api) == body


def test_unicode_body_is_utf8_json(api, client):
    api.post(API + "messages", json={"message_id": "m1", "send_channel": "sms"})
    client.send_message(PHONE, "login-otp", params={"name": "Zoë 李"})
    assert "Zoë 李".encode() in api.calls[0].request.body


def test_verify(api, client):
    api.post(API + "verifications", json={"message_id": "m1", "verify_code": "123456", "verified": True})
    assert client.verify("m1", "123456") == VerifyResult("m1", True)
    assert sent(api) == {"message_id": "m1", "verify_code": "123456"}


def test_verify_false(api, client):
    api.post(API + "verifications", json={"message_id": "m1", "verified": False})
    assert client.verify("m1", "000000").verified is False


def test_template_endpoints(api, client):
    api.get(API + "template-configs", json=[{"template_id": "a"}])
    api.get(API + "template-configs/a%20b%2Fc%3F", json={"template_id": "a b/c?"})
    api.post(API + "template-configs", json={"code": 0, "message": "success"})
    api.delete(API + "template-configs/a%20b%2Fc%3F", json={"code": 0, "message": "success"})
    assert client.list_templates() == [{"template_id": "a"}]
    assert client.get_template("a b/c?") == {"template_id": "a b/c?"}
    assert client.create_template({"template_id": "new", "send_channel_strategy": "sms"}) == {
        "code": 0,
        "message": "success",
    }
    assert client.delete_template("a b/c?")["code"] == 0
    methods = [(c.request.method, c.request.url.removeprefix(API), c.request.body) for c in api.calls]
    assert methods[0] == ("GET", "template-configs", None)
    assert methods[1] == ("GET", "template-configs/a%20b%2Fc%3F", None)
    assert methods[2][:2] == ("POST", "template-configs")
    assert json.loads(methods[2][2]) == {"template_id": "new", "send_channel_strategy": "sms"}
    assert methods[3] == ("DELETE", "template-configs/a%20b%2Fc%3F", None)
    assert "Content-Type" not in api.calls[0].request.headers


def test_template_list_wrapped(api, client):
    api.get(API + "template-configs", json={"data": [{"template_id": "a"}]})
    assert client.list_templates() == [{"template_id": "a"}]


@pytest.mark.parametrize("call", [lambda c: c.get_template(""), lambda c: c.delete_template("")])
def test_template_id_required(api, client, call):
    with pytest.raises(InvalidInputError):
        call(client)
    assert not api.calls


def test_template_list_not_a_list(api, client):
    api.get(API + "template-configs", json="nope")
    with pytest.raises(ServerError) as info:
        client.list_templates()
    assert not info.value.outcome_unknown  # reading changes nothing
    assert info.value.retryable


def test_template_answer_not_an_object(api, client):
    api.post(API + "template-configs", json=[1])
    with pytest.raises(ServerError) as info:
        client.create_template({"template_id": "x"})
    assert info.value.outcome_unknown


def test_template_create_refused_with_200(api, client):
    api.post(API + "template-configs", json={"code": 3002, "message": "brand_name too long"})
    with pytest.raises(RequestError) as info:
        client.create_template({"template_id": "x"})
    assert (info.value.code, info.value.http_status, info.value.message) == (3002, 200, "brand_name too long")


# ---------------------------------------------------------------- the error table, answer by answer


@pytest.mark.parametrize("code", sorted(DOCUMENTED))
def test_every_documented_code(api, code):
    cls, retryable, field, status = DOCUMENTED[code]
    api.post(API + "messages", status=status, json={"code": code, "message": f"platform says {code}"})
    with pytest.raises(EngageLabError) as info:
        make(max_retries=0).send_message(PHONE, "login-otp")
    error = info.value
    assert type(error) is cls
    assert (error.code, error.retryable, error.field, error.http_status) == (code, retryable, field, status)
    assert error.message == f"platform says {code}"
    assert not error.outcome_unknown
    assert len(api.calls) == 1


def test_error_without_message_uses_the_tables_description(api, client):
    api.post(API + "messages", status=400, json={"code": 5012})
    with pytest.raises(RecipientError) as info:
        client.send_message(PHONE, "login-otp")
    assert info.value.message == "target unreachable"


@pytest.mark.parametrize(("status", "cls"), [(400, RequestError), (422, RequestError), (500, ServerError)])
def test_unknown_code(api, client, status, cls):
    api.post(API + "messages", status=status, json={"code": 9999, "message": "new in the platform"})
    with pytest.raises(EngageLabError) as info:
        client.send_message(PHONE, "login-otp")
    error = info.value
    assert type(error) is cls
    assert (error.code, error.http_status, error.retryable) == (9999, status, False)
    assert len(api.calls) == 1


def test_code_sent_as_text(api, client):
    api.post(API + "messages", status=400, json={"code": "5011", "message": "bad number"})
    with pytest.raises(RecipientError) as info:
        client.send_message(PHONE, "login-otp")
    assert info.value.code == 5011


@pytest.mark.parametrize(
    ("answer", "cls", "outcome_unknown", "retryable", "operator"),
    [
        (
            {"status": 502, "body": "<html><h1>502 Bad Gateway</h1></html>", "content_type": "text/html"},
            ServerError,
            True,
            False,
            False,
        ),
        ({"status": 504, "body": "gateway timeout", "content_type": "text/plain"}, ServerError, True, False, False),
        ({"status": 503, "body": ""}, ServerError, False, True, False),
        ({"status": 500, "json": ["not", "an", "object"]}, ServerError, True, False, False),
        (
            {"status": 404, "body": "<html>Not Found</html>", "content_type": "text/html"},
            RequestError,
            False,
            False,
            True,
        ),
        ({"status": 400, "json": {"error": "no code here"}}, RequestError, False, False, True),
        ({"status": 401, "json": {"code": True}}, RequestError, False, False, True),
    ],
    ids=["html-502", "text-504", "empty-503", "list-500", "html-404", "400-without-code", "bool-code"],
)
def test_answers_that_are_not_the_platforms(api, client, answer, cls, outcome_unknown, retryable, operator):
    api.post(API + "messages", **answer)
    with pytest.raises(EngageLabError) as info:
        client.send_message(PHONE, "login-otp")
    error = info.value
    assert type(error) is cls
    assert (error.code, error.http_status) == (None, answer["status"])
    assert (error.outcome_unknown, error.retryable, error.operator) == (outcome_unknown, retryable, operator)
    assert "<html>" not in str(error)  # a proxy's page is not an error message
    assert len(api.calls) == (3 if retryable else 1)


def test_redirect_is_not_followed(api, client):
    api.post(API + "messages", status=301, headers={"Location": "https://elsewhere.test/v1/messages"})
    with pytest.raises(RequestError) as info:
        client.send_message(PHONE, "login-otp")
    assert info.value.operator and info.value.http_status == 301
    assert "https://elsewhere.test/v1/messages" in info.value.message
    assert len(api.calls) == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"body": "<html>ok</html>", "content_type": "text/html"},
        {"body": '{"message_id": "m1", "send_'},
        {"body": ""},
        {"json": None},
        {"json": {"send_channel": "sms"}},
        {"json": {"message_id": "", "send_channel": "sms"}},
        {"json": ["m1"]},
    ],
    ids=["html", "cut-json", "empty", "null", "no-message-id", "empty-message-id", "list"],
)
def test_success_status_with_a_broken_answer(api, client, answer):
    api.post(API + "messages", status=200, **answer)
    with pytest.raises(ServerError) as info:
        client.send_message(PHONE, "login-otp")
    # 200 means the platform probably sent it: never report it as failed, never retry it.
    assert info.value.outcome_unknown
    assert not info.value.retryable
    assert info.value.http_status == 200
    assert len(api.calls) == 1


def test_success_status_carrying_an_error_code(api, client):
    api.post(API + "messages", status=200, json={"code": 5011, "message": "invalid phone number"})
    with pytest.raises(RecipientError) as info:
        client.send_message(PHONE, "login-otp")
    assert (info.value.code, info.value.http_status, info.value.field) == (5011, 200, "to")


def test_success_with_message_id_and_zero_code(api, client):
    api.post(API + "messages", json={"code": 0, "message_id": "m1", "send_channel": "sms"})
    assert client.send_message(PHONE, "login-otp").message_id == "m1"


@pytest.mark.parametrize("answer", [{"message_id": "m1"}, {"verified": "true"}, {"verified": 1}, []])
def test_verification_answer_without_a_boolean(api, client, answer):
    api.post(API + "verifications", json=answer)
    with pytest.raises(ServerError) as info:
        client.verify("m1", "123456")
    assert info.value.outcome_unknown and info.value.http_status == 200


def test_platform_text_never_carries_a_secret_or_a_code(api, client):
    api.post(API + "verifications", status=400, json={"code": 3003, "message": f"code 482910 expired ({SECRET})"})
    with pytest.raises(RequestError) as info:
        client.verify("m1", "482910")
    for text in (str(info.value), repr(info.value), info.value.message):
        assert "482910" not in text and SECRET not in text
    assert "[redacted]" in info.value.message


def test_code_param_is_scrubbed_from_platform_text(api, client):
    api.post(API + "custom-messages", status=400, json={"code": 3002, "message": "param code=Zq83Xk\nrejected"})
    with pytest.raises(RequestError) as info:
        client.send_custom_message(PHONE, "verify-tpl", params={"Code": "Zq83Xk"})
    assert "Zq83Xk" not in str(info.value)
    assert "\n" not in info.value.message


def test_platform_text_is_bounded(api, client):
    api.post(API + "messages", status=400, json={"code": 3002, "message": "x" * 10_000})
    with pytest.raises(RequestError) as info:
        client.send_message(PHONE, "login-otp")
    assert len(info.value.message) == client_module.MAX_ERROR_TEXT


# ---------------------------------------------------------------- transport failures (mocked)


@pytest.mark.parametrize(
    ("raised", "name", "cls", "outcome_unknown", "retryable"),
    [
        (requests.ConnectTimeout("connect timed out"), "unreachable", TransportError, False, True),
        (requests.ReadTimeout("read timed out"), "timeout", TransportError, True, False),
        (requests.ConnectionError("Connection aborted."), "disconnected", TransportError, True, False),
        (requests.exceptions.ChunkedEncodingError("cut"), "disconnected", TransportError, True, False),
        (requests.exceptions.SSLError("certificate verify failed"), "tls", TransportError, False, False),
        (requests.exceptions.InvalidURL("bad host"), "configuration", ConfigurationError, False, False),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_transport_failures(api, client, sleeps, raised, name, cls, outcome_unknown, retryable):
    api.post(API + "messages", body=raised)
    with pytest.raises(EngageLabError) as info:
        client.send_message(PHONE, "login-otp")
    error = info.value
    assert type(error) is cls
    assert (error.code, error.outcome_unknown, error.retryable) == (None, outcome_unknown, retryable)
    assert error.__cause__ is None and error.__suppress_context__  # no requests internals in tracebacks
    # What is safe to repeat is repeated by the one retry loop (MAX_RETRIES 2), on its schedule.
    assert len(api.calls) == (3 if retryable else 1) and len(sleeps) == len(api.calls) - 1


def test_read_timeout_on_a_read_is_repeatable(api, client):
    api.get(API + "template-configs", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(TransportError) as info:
        client.list_templates()
    assert info.value.retryable and not info.value.outcome_unknown


# ---------------------------------------------------------------- retries of platform codes


@pytest.mark.parametrize("code", [1000, 5016])
def test_retryable_codes_are_retried_with_backoff(api, sleeps, code):
    client = make(max_retries=2, retry_backoff=0.5, retry_backoff_max=8, retry_jitter=0.2, sleep=sleeps)
    status = DOCUMENTED[code][3]
    api.post(API + "messages", status=status, json={"code": code, "message": "try later"})
    api.post(API + "messages", status=status, json={"code": code, "message": "try later"})
    api.post(API + "messages", json={"message_id": "m1", "send_channel": "sms"})
    assert client.send_message(PHONE, "login-otp").message_id == "m1"
    assert len(api.calls) == 3
    assert sleeps == [pytest.approx(0.5 + 0.1), pytest.approx(1.0 + 0.1)]  # doubled, plus jitter 0.2 × 0.5


def test_retries_stop_after_max_retries(api, sleeps):
    client = make(max_retries=3, retry_backoff=1, retry_backoff_max=3, retry_jitter=1, rand=lambda: 1.0, sleep=sleeps)
    api.post(API + "messages", status=500, json={"code": 1000, "message": "internal"})
    with pytest.raises(ServerError) as info:
        client.send_message(PHONE, "login-otp")
    assert len(api.calls) == 4
    assert sleeps == [2.0, 3.0, 3.0]  # 1+1, 2+1, then capped at RETRY_BACKOFF_MAX
    assert info.value.retryable and info.value.code == 1000


def test_jitter_spreads_the_waits(api):
    draws = iter([0.0, 1.0])
    client = make(max_retries=1, retry_backoff=1, retry_jitter=0.5, rand=lambda: next(draws))
    assert [client.backoff(1), client.backoff(1)] == [1.0, 1.5]


def test_no_retries_when_max_retries_is_zero(api, sleeps):
    api.post(API + "messages", status=500, json={"code": 1000, "message": "internal"})
    with pytest.raises(ServerError):
        make(max_retries=0, sleep=sleeps).send_message(PHONE, "login-otp")
    assert len(api.calls) == 1 and not sleeps


@pytest.mark.parametrize("code", sorted(set(DOCUMENTED) - {1000, 5016}) + [9999])
def test_no_other_code_is_retried(api, client, sleeps, code):
    api.post(API + "messages", status=DOCUMENTED.get(code, (0, 0, 0, 400))[3], json={"code": code})
    with pytest.raises(EngageLabError):
        client.send_message(PHONE, "login-otp")
    assert len(api.calls) == 1 and not sleeps


def test_retry_on_verification_and_templates_too(api, client, sleeps):
    api.post(API + "verifications", status=500, json={"code": 1000})
    api.post(API + "verifications", json={"message_id": "m1", "verified": True})
    assert client.verify("m1", "123456").verified
    assert len(sleeps) == 1


# ---------------------------------------------------------------- a real local server


def test_one_kept_alive_connection_per_thread():
    threads, calls = 4, 5
    with LocalServer() as server:
        client = make(server.url)
        sessions = []

        def work():
            for _ in range(calls):
                client.send_message(PHONE, "login-otp")
            sessions.append(client.session)

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert len(server.requests) == threads * calls
        assert server.connections == threads
        assert len({id(s) for s in sessions}) == threads


def test_the_counter_sees_new_connections():
    # The baseline the pool is measured against: a new connection per call.
    with LocalServer() as server:
        for _ in range(3):
            requests.post(server.url + "messages", json={}, timeout=5)
        assert server.connections == 3


def test_session_is_reused_in_a_thread_and_reopened_after_close():
    with LocalServer() as server:
        client = make(server.url)
        first = client.session
        client.send_message(PHONE, "login-otp")
        client.send_message(PHONE, "login-otp")
        assert client.session is first and server.connections == 1
        client.close()
        client.send_message(PHONE, "login-otp")
        assert server.connections == 2


def test_a_forked_child_opens_its_own_session(monkeypatch):
    client = make()
    parent = client.session
    monkeypatch.setattr(client_module.os, "getpid", lambda: -1)
    assert client.session is not parent


def test_the_request_on_the_wire():
    with LocalServer() as server:
        make(server.url).send_code(PHONE, "482910", "my-code", language="en")
    (seen,) = server.requests
    assert (seen.method, seen.path) == ("POST", "/v1/codes")
    assert seen.json() == {"to": PHONE, "code": "482910", "template": {"id": "my-code", "language": "en"}}
    assert seen.headers["Authorization"] == "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    assert seen.headers["User-Agent"] == f"django-engagelab-otp/{__version__}"


def test_a_request_is_handed_to_the_adapter_not_merged_by_session_request(monkeypatch):
    # Session.request merges the session's settings into every request: about a third of a request's CPU,
    # which a bulk run's threads pay in turn on one interpreter lock. The backend builds the same request.
    def merged(*args, **kwargs):
        raise AssertionError("Session.request was called")

    monkeypatch.setattr(requests.Session, "request", merged)
    with LocalServer() as server:
        client = make(server.url)
        client.send_custom_message(PHONE, "shipped", params={"order": "123"})
        client.delete_template("shipped")
    sent_message, deleted = server.requests
    assert sent_message.json() == {"to": PHONE, "template": {"id": "shipped", "params": {"order": "123"}}}
    assert sent_message.headers["Content-Length"] == str(len(sent_message.body))
    assert sent_message.headers["Content-Type"] == "application/json"
    assert sent_message.headers["Accept"] == "application/json"
    assert (deleted.method, deleted.path) == ("DELETE", "/v1/template-configs/shipped")
    assert deleted.headers["Content-Length"] == "0"
    assert server.connections == 1


def test_a_proxy_of_the_environment_carries_the_requests(monkeypatch):
    with LocalServer() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url.removesuffix("/v1/"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        make("http://otp.api.engagelab.test/v1/").send_message(PHONE, "login-otp")
    (seen,) = proxy.requests
    assert seen.path == "http://otp.api.engagelab.test/v1/messages"  # the absolute form a proxy is asked for


def test_connection_refused_is_retried_on_the_one_schedule_then_reported(monkeypatch):
    attempts = []
    real = urllib3.util.connection.create_connection

    def counting(*args, **kwargs):
        attempts.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", counting)
    waits = Sleeps()
    client = make(f"http://127.0.0.1:{closed_port()}/v1/", max_retries=2, retry_backoff=0.5, sleep=waits)
    with pytest.raises(TransportError) as info:
        client.send_message(PHONE, "login-otp")
    assert len(attempts) == 3  # the first try and MAX_RETRIES retries
    assert waits == [pytest.approx(0.5 + 0.125), pytest.approx(1.0 + 0.125)]  # the backoff of codes 1000/5016
    error = info.value
    assert (error.outcome_unknown, error.retryable, error.code) == (False, True, None)
    assert "NewConnectionError" in error.message


def test_read_timeout_on_a_send_is_not_retried_and_outcome_is_unknown():
    with LocalServer(behaviour=lambda n, seen: "hang") as server:
        client = make(server.url, timeout=(2, 0.2), max_retries=3)
        with pytest.raises(TransportError) as info:
            client.send_message(PHONE, "login-otp")
        assert len(server.requests) == 1 and server.connections == 1
    error = info.value
    assert error.outcome_unknown and not error.retryable
    assert "read timeout" in error.message


@pytest.mark.parametrize("misbehaviour", ["reset", "truncate"])
def test_connection_lost_mid_answer_means_outcome_unknown(misbehaviour):
    with LocalServer(behaviour=lambda n, seen: misbehaviour) as server:
        client = make(server.url, max_retries=3)
        with pytest.raises(TransportError) as info:
            client.send_message(PHONE, "login-otp")
        assert len(server.requests) == 1
    assert info.value.outcome_unknown and not info.value.retryable


def test_retryable_code_over_the_wire(sleeps):
    answers = {1: (500, {"code": 1000, "message": "internal"}), 2: (200, {"message_id": "m2", "send_channel": "sms"})}
    with LocalServer(behaviour=lambda n, seen: answers[n]) as server:
        result = make(server.url, sleep=sleeps).send_message(PHONE, "login-otp")
        assert server.connections == 1  # the error answer kept the connection alive
    assert result.message_id == "m2" and len(sleeps) == 1


# ---------------------------------------------------------------- construction


@pytest.mark.parametrize(
    "options",
    [
        {"dev_key": "", "dev_secret": SECRET},
        {"dev_key": KEY, "dev_secret": None},
        {"api_url": "otp.api.engagelab.cc/v1/"},
        {"api_url": "ftp://otp.api.engagelab.cc/v1/"},
        {"timeout": 0},
        {"timeout": (3, 0)},
        {"timeout": "ten"},
        {"max_retries": -1},
        {"max_retries": True},
    ],
)
def test_bad_construction_is_a_configuration_error(options):
    arguments = {"dev_key": KEY, "dev_secret": SECRET, **options}
    with pytest.raises(ConfigurationError) as info:
        HTTPBackend(arguments.pop("dev_key"), arguments.pop("dev_secret"), **arguments)
    assert SECRET not in str(info.value)


def test_api_url_gets_its_slash_and_timeout_pair(api):
    client = HTTPBackend(KEY, SECRET, api_url=API.rstrip("/"), timeout=[3, 10])
    assert client.api_url == API and client.timeout == (3, 10)


def test_repr_hides_the_secret():
    client = make()
    client.session  # noqa: B018 (a session exists too)
    for text in (repr(client), str(client), repr(client.session.auth), repr(client.session.headers)):
        assert SECRET not in text
        assert base64.b64encode(f"{KEY}:{SECRET}".encode()).decode() not in text
    assert "tes…" in repr(client)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (10, True),
        (0.5, True),
        ((3, 10), True),
        ([3, 10], True),
        (0, False),
        (-1, False),
        (True, False),
        ((3,), False),
        ((3, 10, 1), False),
        ((0, 10), False),
        (None, False),
        ("10", True),
        ("3.05,10", True),
        ("ten", False),
    ],
)
def test_timeouts_are_read_as_the_setting_is(value, valid):
    if valid:
        assert make(timeout=value).timeout in (10, 0.5, (3, 10), (3.05, 10))
    else:
        with pytest.raises(ConfigurationError, match="TIMEOUT"):
            make(timeout=value)


# ---------------------------------------------------------------- layering


def test_client_imports_nothing_above_it():
    tree = ast.parse(Path(client_module.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    forbidden = {"..models", "..forms", "..services", "..history", "..webhooks", "..admin", "django.db"}
    assert not imported & forbidden, imported & forbidden


def test_client_works_without_django_settings():
    script = f"""
import sys
from tests.support.local_http import LocalServer
from django_engagelab_otp.backends.http import HTTPBackend
from django_engagelab_otp.exceptions import RecipientError
answers = {{1: (200, {{"message_id": "m1", "send_channel": "sms"}}), 2: (400, {{"code": 5011, "message": "bad"}})}}
with LocalServer(behaviour=lambda n, seen: answers[n]) as server:
    client = HTTPBackend("k", "s", api_url=server.url)
    print(client.send_message("{PHONE}", "t").message_id)
    try:
        client.send_message("{PHONE}", "t")
    except RecipientError as error:
        print(str(error), error.field)
from django.conf import settings
print(settings.configured, "django_engagelab_otp.models" in sys.modules)
"""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["m1", "[5011] bad to", "False False"]


def test_responses_library_is_the_http_mock():
    # Guard: the `api` fixture must intercept; an unregistered URL fails instead of reaching the network.
    with responses.RequestsMock() as mock:
        with pytest.raises(TransportError):
            make().send_message(PHONE, "login-otp")
        assert len(mock.calls) == 1


# ---------------------------------------------------------------- hostile answers


@pytest.mark.parametrize("status", [200, 400, 500])
def test_an_answer_nested_too_deep_is_a_broken_answer_not_a_crash(api, client, status):
    api.post(API + "messages", status=status, body=b"[" * 100_000, content_type="application/json")
    with pytest.raises(EngageLabError) as info:
        client.send_message(PHONE, "login-otp")
    # As any answer that is not JSON: 2xx may have been acted on, 4xx is not the platform's body.
    assert info.value.outcome_unknown == (status != 400)
    assert (info.value.code, info.value.http_status) == (None, status)


@pytest.mark.parametrize("text", ["²", "①", "٣", "5011²", "1_000", "9" * 5000])
def test_a_code_in_digits_int_does_not_read_is_no_code(api, client, text):
    # "²".isdigit() is true, int("²") fails; int("٣") is 3: only ASCII digits make a code.
    api.post(API + "messages", status=400, json={"code": text, "message": "odd"})
    with pytest.raises(RequestError) as info:
        client.send_message(PHONE, "login-otp")
    assert info.value.code is None and info.value.http_status == 400


@pytest.mark.parametrize("code", [2**31, 2**40, 2**70, -1, -5011, 1.5, 5011.0, 1e300])
@pytest.mark.parametrize(("status", "cls"), [(400, RequestError), (503, ServerError)])
def test_a_code_no_history_row_can_hold_is_no_code(api, client, sleeps, code, status, cls):
    api.post(API + "messages", status=status, json={"code": code, "message": "platform text"})
    with pytest.raises(EngageLabError) as info:
        client.send_message(PHONE, "login-otp")
    error = info.value
    # The table's unknown_4xx / unknown_5xx rows, by the HTTP status; the code only in the message.
    assert type(error) is cls
    assert (error.code, error.http_status, error.retryable, error.outcome_unknown) == (None, status, False, False)
    assert repr(code)[:20] in error.message and "platform text" in error.message
    assert len(api.calls) == 1
