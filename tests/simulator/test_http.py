"""The simulator over real HTTP: wire format, bad input, faults, debug endpoints."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time

import pytest
import requests

from django_engagelab_otp.backends.http import HTTPBackend
from django_engagelab_otp.simulator import Simulator
from django_engagelab_otp.simulator.magic import by_name
from django_engagelab_otp.simulator.server import MAX_BODY, Handler
from tests.support.constants import PHONE
from tests.support.simulator import otp_body, raw_exchange, session, split_answer, wait_for


@pytest.fixture
def sim():
    with Simulator(seed=3) as simulator:
        simulator.platform.hang_seconds = 0.5
        simulator.platform.slow_ms = 10
        simulator.platform.drip_seconds = 0.001
        yield simulator


@pytest.fixture
def http():
    with session() as http:
        yield http


def test_send_read_code_and_verify_over_keep_alive(sim, http):
    answer = http.post(sim.url + "messages", json=otp_body())
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    message_id = answer.json()["message_id"]
    debug = requests.get(sim.base_url + "/_simulator/last-code", params={"to": PHONE}).json()
    assert debug == {"to": PHONE, "message_id": message_id, "code": sim.platform.last_code(PHONE)}
    check = http.post(sim.url + "verifications", json={"message_id": message_id, "verify_code": debug["code"]})
    assert check.json() == {"message_id": message_id, "verify_code": debug["code"], "verified": True}
    again = http.post(sim.url + "verifications", json={"message_id": message_id, "verify_code": debug["code"]})
    assert (again.status_code, again.json()["code"]) == (400, 3003)
    for _ in range(3):
        assert http.get(sim.url + "template-configs").status_code == 200
    assert sim.server.connections_accepted == 2  # the session's one connection, and the debug request's
    assert sim.platform.request_count == 6
    assert sim.platform.path_counts["/v1/messages"] == 1 and sim.platform.path_counts["/v1/verifications"] == 2


def test_handler_is_threaded_http11_without_nagle(sim):
    assert Handler.disable_nagle_algorithm is True and Handler.protocol_version == "HTTP/1.1"
    assert sim.server.daemon_threads
    # A request that waits does not hold up another one.
    sim.platform.slow_ms = 60_000  # only the stop below ends it
    outcome = []

    def send_slowly() -> None:
        try:
            send_to(sim, session(), "fault-slow", timeout=30)
        except requests.ConnectionError as error:
            outcome.append(error)

    slow = threading.Thread(target=send_slowly)
    slow.start()
    wait_for(lambda: sim.platform.messages)
    assert requests.get(sim.base_url + "/_simulator/health", timeout=30).json()["status"] == "ok"
    sim.stop()  # ends the slow answer at once
    slow.join(30)
    assert not slow.is_alive() and outcome  # closed without an answer


def test_the_apps_client_manages_templates(sim):
    client = HTTPBackend("demo-key", "demo-secret", api_url=sim.url, timeout=5)
    assert "demo-notice" in [t["template_id"] for t in client.list_templates()]
    template = {"template_id": "new one", "send_channel_strategy": "sms"}
    assert client.create_template(template)["code"] == 0
    assert client.get_template("new one")["template_id"] == "new one"
    assert client.delete_template("new one")["code"] == 0
    with pytest.raises(Exception) as info:
        client.get_template("new one")
    assert info.value.code == 4001
    client.close()


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "method, path, status, code",
    [
        ("GET", "/", 404, 4001),
        ("GET", "/v2/messages", 404, 4001),
        ("POST", "/v1/messages/extra", 404, 4001),
        ("GET", "/v1/messages", 405, 3002),
        ("PATCH", "/v1/template-configs", 405, 3002),
        ("OPTIONS", "/v1/verifications", 405, 3002),
        ("GET", "/_simulator/nothing", 404, 4001),
        ("POST", "/_simulator/health", 405, 3002),
    ],
)
def test_unknown_paths_and_wrong_methods_get_platform_errors(sim, http, method, path, status, code):
    answer = http.request(method, sim.base_url + path)
    assert answer.status_code == status
    assert answer.json()["code"] == code and answer.json()["message"]


def test_head_gets_headers_only(sim, http):
    answer = http.head(sim.url + "messages")
    assert answer.status_code == 405 and answer.content == b""


@pytest.mark.parametrize(
    "request_bytes, status, code",
    [
        (b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1), 413, 3001),
        (b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, 3001),
        (b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400, 3001),
        (b"POST /v1/messages HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400, 3001),
        (b"POST /v1/messages HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, 3001),
        (b"POST /v1/messages HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, 3001),
        (b"POST /v1/messages HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n", 413, 3001),
        (b"BREW /v1/messages HTTP/1.1\r\n\r\n", 501, 1000),
        (b"GET /v1/messages HTTP/9.0\r\n\r\n", 505, 1000),
        (b"GET /v1/" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, 3001),
        (b"GET /v1/messages HTTP/1.1\r\n" + b"X: y\r\n" * 150 + b"\r\n", 431, 3001),
        (b"GET /v1/messages HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431, 3001),
        (b"garbage\r\n\r\n", 400, 3001),
    ],
    ids=lambda value: value[:40] if isinstance(value, bytes) else value,
)
def test_broken_requests_get_platform_error_shapes(sim, request_bytes, status, code, capfd):
    answer = raw_exchange(sim, request_bytes)
    got_status, headers, body = split_answer(answer)
    assert got_status == status
    assert headers["content-type"].startswith("application/json") and headers["connection"] == "close"
    assert json.loads(body)["code"] == code
    assert "Traceback" not in capfd.readouterr().err
    assert requests.get(sim.base_url + "/_simulator/health").status_code == 200  # still serving


def test_a_huge_body_sent_in_full_is_refused(sim, http):
    try:
        answer = http.post(sim.url + "messages", data=b"x" * (MAX_BODY + 10))
    except requests.ConnectionError:  # the server may close before the upload ends
        return
    assert (answer.status_code, answer.json()["code"]) == (413, 3001)


def test_chunked_bodies_are_read(sim, http):
    body = json.dumps(otp_body()).encode()
    answer = http.post(sim.url + "messages", data=iter([body[:10], body[10:]]))
    assert answer.status_code == 200 and answer.json()["message_id"]


@pytest.mark.parametrize("body", [b"{", b"\xff", b"[]", b'{"to": 1}'])
def test_malformed_bodies_over_http(sim, http, body):
    answer = http.post(sim.url + "messages", data=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["code"] in (3001, 3002)


def test_no_credentials_over_http(sim):
    answer = requests.post(sim.url + "messages", json=otp_body())
    assert (answer.status_code, answer.json()["code"]) == (401, 2001)
    answer = requests.post(sim.url + "messages", json=otp_body(), auth=("demo-key", "wrong"))
    assert answer.json()["code"] == 2001


# ---------------------------------------------------------------------- faults


def send_to(sim: Simulator, http: requests.Session, name: str, timeout: float = 5) -> requests.Response:
    return http.post(sim.url + "messages", json=otp_body(by_name(name).phone), timeout=timeout)


def test_answer_faults(sim, http):
    answer = send_to(sim, http, "fault-html-502")
    assert answer.status_code == 502 and answer.headers["Content-Type"] == "text/html" and b"<html>" in answer.content
    answer = send_to(sim, http, "fault-empty-503")
    assert answer.status_code == 503 and answer.content == b""
    answer = send_to(sim, http, "fault-broken-json")
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        answer.json()
    answer = send_to(sim, http, "fault-no-message-id")
    assert answer.status_code == 200 and answer.json() == {"send_channel": "sms"}
    answer = send_to(sim, http, "fault-drip")
    assert answer.json()["message_id"] == sim.platform.messages[-1].message_id
    answer = send_to(sim, http, "fault-slow")
    assert answer.status_code == 200
    # Every fault but the empty 503 happens after the platform acted.
    assert len(sim.platform.messages) == 5


def test_connection_faults(sim, http):
    # The server stays silent far longer than the client waits (the fixture's stop ends it): a late client still
    # sees the silence. The stall's headers and half body must come within the read timeout: 1 s on a busy machine.
    sim.platform.hang_seconds = 60
    with pytest.raises(requests.ConnectionError):
        send_to(sim, http, "fault-drop")
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        send_to(sim, http, "fault-reset")
    with pytest.raises(requests.ReadTimeout):
        send_to(sim, http, "fault-hang", timeout=0.2)
    with pytest.raises(requests.ConnectionError):
        send_to(sim, http, "fault-stall", timeout=1.0)
    assert len(sim.platform.messages) == 4
    assert http.get(sim.url + "template-configs").status_code == 200  # the session recovers


def test_hanging_answers_are_bounded(sim):
    body = json.dumps(otp_body(by_name("fault-hang").phone)).encode()
    request = b"POST /v1/messages HTTP/1.1\r\nAuthorization: Basic ZGVtby1rZXk6ZGVtby1zZWNyZXQ=\r\n"
    answer = raw_exchange(sim, request + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert answer == b""  # closed after hang_seconds, never answered
    body = json.dumps(otp_body(by_name("fault-stall").phone)).encode()
    answer = raw_exchange(sim, request + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    status, headers, partial = split_answer(answer)
    assert status == 200 and 0 < len(partial) < int(headers["content-length"])


def test_stop_ends_hanging_connections(sim):
    sim.platform.hang_seconds = 60
    body = json.dumps(otp_body(by_name("fault-hang").phone)).encode()
    request = b"POST /v1/messages HTTP/1.1\r\nAuthorization: Basic ZGVtby1rZXk6ZGVtby1zZWNyZXQ=\r\n"
    result = []
    worker = threading.Thread(
        target=lambda: result.append(
            raw_exchange(sim, request + b"Content-Length: %d\r\n\r\n" % len(body) + body, timeout=10)
        )
    )
    worker.start()
    wait_for(lambda: sim.platform.messages)
    sim.stop()
    worker.join(10)
    assert result == [b""]


def test_latency_knob(sim, http):
    sim.platform.latency_ms = 60_000  # far beyond the timeout, even for a client that wakes up late
    with pytest.raises(requests.ReadTimeout):
        http.get(sim.url + "template-configs", timeout=0.2)
    answer = requests.post(sim.base_url + "/_simulator/config", json={"latency_ms": 0})
    assert answer.json() == {"latency_ms": 0.0, "error_rate": 0.0}
    assert http.get(sim.url + "template-configs", timeout=5).status_code == 200


def test_error_rate_knob_over_http(sim, http):
    requests.post(sim.base_url + "/_simulator/config", json={"error_rate": 1})
    answer = http.post(sim.url + "messages", json=otp_body())
    assert answer.json()["code"] in (1000, 5016)
    assert requests.get(sim.base_url + "/_simulator/config").json()["error_rate"] == 1.0


# ---------------------------------------------------------------------- debug endpoints


def test_debug_endpoints(sim, http):
    health = requests.get(sim.base_url + "/_simulator/health").json()
    assert health == {"status": "ok", "requests": 0, "messages": 0}
    missing = requests.get(sim.base_url + "/_simulator/last-code", params={"to": PHONE})
    assert (missing.status_code, missing.json()["code"]) == (404, 4001)
    assert requests.get(sim.base_url + "/_simulator/last-code").status_code == 400
    http.post(sim.url + "messages", json=otp_body())
    # An unencoded "+" arrives as a space: the recipient is still found.
    found = requests.get(sim.base_url + "/_simulator/last-code?to=+8618701235678").json()
    assert found["code"] == sim.platform.last_code(PHONE) and found["to"] == PHONE
    listed = requests.get(sim.base_url + "/_simulator/messages").json()
    assert listed[0]["to"] == PHONE and listed[0]["code"] == found["code"] and listed[0]["channel"] == "sms"
    for bad in (b"[1]", b"{", b'{"error_rate": 2}'):
        assert requests.post(sim.base_url + "/_simulator/config", data=bad).json()["code"] == 3002
    assert requests.post(sim.base_url + "/_simulator/reset").json() == {"status": "reset"}
    assert requests.get(sim.base_url + "/_simulator/health").json()["messages"] == 0


def test_simulator_life(sim):
    assert sim.url.startswith("http://127.0.0.1:") and sim.url.endswith("/v1/")
    assert "demo-secret" not in repr(sim)
    with pytest.raises(RuntimeError):
        sim.start()
    sim.stop()
    sim.stop()
    with pytest.raises(RuntimeError):
        sim.url  # noqa: B018
    with Simulator() as again:
        assert requests.get(again.base_url + "/_simulator/health").ok


def _late_body(sim, late: float) -> tuple[float, float]:
    """Send an OTP request whose body comes ``late`` seconds after its head; when it was sent and answered."""
    body = json.dumps(otp_body()).encode()
    token = base64.b64encode(b"demo-key:demo-secret").decode()
    head = (
        f"POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((sim.host, sim.port), timeout=10) as sock:
        sent = time.time()
        sock.sendall(head)
        time.sleep(late)  # a slow network; on a busy machine, a slow read
        sock.sendall(body)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        return sent, time.time()


def test_a_message_is_stamped_when_its_request_arrived_not_when_it_was_read(sim):
    """A platform counts a rate by arrivals: a request read slowly is stamped at its first line."""
    sent, _ = _late_body(sim, 0.4)
    (message,) = sim.platform.messages
    assert sent - 0.05 < message.created_at < sent + 0.2


def test_the_latency_counts_from_the_requests_arrival(sim):
    """The answer leaves ``latency_ms`` after the request came in: reading and handling it are part of that."""
    sim.platform.latency_ms = 1_000
    sent, answered = _late_body(sim, 1.0)
    # Waiting the whole latency again once the body is in would answer 2 s after the head.
    assert 1.0 <= answered - sent < 1.9
