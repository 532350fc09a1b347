"""Hostile answers and requests: nothing a platform, a proxy or a URL sends makes a 500 or leaves a row pending.

* The platform's answers, over real HTTP (a local server answering any
  bytes): nested deeper than the stack, numbers beyond what a column holds,
  digits ``int()`` does not read, ids and texts of any shape. They go through
  ``send_otp``, ``SendOTPForm``, the example site's page and ``verify_otp``.
  Each ends in an ``EngageLabError`` (a form error, a page) and one settled
  row: never another exception, a 500 or a ``pending`` row (on PostgreSQL too,
  whose integer column refuses what SQLite stores).
* The client's parser alone, fuzzed: any status with any body (JSON of any
  shape and depth, bytes, huge numbers, other scripts' digits, the secrets it
  was sent) gives a result or an ``EngageLabError`` whose text holds no secret.
* The callback view: rows whose times, codes and costs are written in other
  digits are skipped or lose the value, never fail the batch; a chunked POST
  the server did not pass on is refused (411), not taken for the console's
  probe, through the test client and through a real server.
* The admin's history list, fuzzed over its query string: every answer 200
  or a 302 to ``?e=1``.

Each test records its figures for ``make reliability`` (``figure``).
"""

from __future__ import annotations

import base64
import json
import socket
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_engagelab_otp import send_otp, verify_otp
from django_engagelab_otp.backends.base import SendResult, VerifyResult
from django_engagelab_otp.backends.http import HTTPBackend
from django_engagelab_otp.demo import settings as example_settings
from django_engagelab_otp.exceptions import EngageLabError
from django_engagelab_otp.forms import SendOTPForm
from django_engagelab_otp.models import MessageEvent, MessageLog
from tests.support.constants import API, PHONE
from tests.support.local_http import LocalServer
from tests.support.proof import figure
from tests.support.settings import configure
from tests.support.webhooks import URL as CALLBACK
from tests.support.webhooks import body as callback_body
from tests.support.webhooks import post, signed_settings, status_row

pytestmark = pytest.mark.django_db

SUITE = "hostile"
KEY, SECRET = "hostile-key", "hostile-secret-Q7v2Lm"
TOKEN = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
CODE = "Zx81Qw"
#: Text int() refuses though str.isdigit() accepts it, or reads though it is not ASCII.
ODD_DIGITS = ["²", "①", "٣", "1700000000²", "١٧٠٠٠٠٠٠٠٠"]
DEEP = 100_000


# ---------------------------------------------------------------------- the platform's answers, end to end


@dataclass(frozen=True)
class Answer:
    """A hostile answer and the status the send's row must settle in."""

    name: str
    status: int
    body: bytes
    settles: str


def _json(document: Any) -> bytes:
    return json.dumps(document).encode()


ANSWERS = [
    Answer("deep-200", 200, b"[" * DEEP, "unknown"),
    Answer("deep-400", 400, b'{"code": ' + b"[" * DEEP, "failed"),
    Answer("deep-502", 502, b"{" * DEEP, "unknown"),
    Answer("deep-message-id", 200, b'{"message_id": ' + b"[" * 500 + b"]" * 500 + b"}", "unknown"),
    Answer("deep-message-text", 400, b'{"code": 3002, "message": ' + b"[" * 500 + b"]" * 500 + b"}", "failed"),
    Answer("code-beyond-32-bits", 400, _json({"code": 2**40, "message": "x"}), "failed"),
    Answer("code-beyond-64-bits", 500, _json({"code": 2**70, "message": "x"}), "failed"),
    Answer("code-negative", 400, _json({"code": -5011, "message": "x"}), "failed"),
    Answer("code-fraction", 400, _json({"code": 5011.5, "message": "x"}), "failed"),
    Answer("code-superscript", 400, _json({"code": "²", "message": "x"}), "failed"),
    Answer("code-circled", 503, _json({"code": "①", "message": "x"}), "failed"),
    Answer("code-4301-digits", 400, b'{"code": ' + b"9" * 4301 + b"}", "failed"),
    Answer("message-id-too-long", 200, _json({"message_id": "7" * 65, "send_channel": "sms"}), "unknown"),
    Answer("message-id-with-nul", 200, _json({"message_id": "m\x00", "send_channel": "sms"}), "unknown"),
    Answer("message-id-object", 200, _json({"message_id": {"id": 1}, "send_channel": "sms"}), "unknown"),
    Answer("channel-object", 200, _json({"message_id": "m-ok", "send_channel": {"a": [1]}}), "accepted"),
    Answer("nan", 200, b'{"message_id": NaN}', "unknown"),
    Answer("utf16", 200, '{"message_id": "m1"}'.encode("utf-16"), "unknown"),
]


@pytest.fixture
def platform(settings):
    """A local server answering each request with the answer under test (``platform.answer``)."""

    class Platform:
        answer: Answer = ANSWERS[0]

    state = Platform()
    with LocalServer(behaviour=lambda number, seen: (state.answer.status, state.answer.body)) as server:
        configure(settings, API_URL=server.url, DEV_KEY=KEY, DEV_SECRET=SECRET, MAX_RETRIES=0, RESEND_COOLDOWN=0)
        yield state


def _send_otp(client: Client) -> Any:
    try:
        return send_otp(PHONE)
    except EngageLabError as error:
        return error


def _form(client: Client) -> Any:
    form = SendOTPForm({"to": PHONE})
    form.is_valid()
    return form


def _page(client: Client) -> Any:
    return client.post("/", {"to": PHONE})


ENTRIES: dict[str, Callable[[Client], Any]] = {"send_otp": _send_otp, "SendOTPForm": _form, "example page": _page}


@pytest.fixture
def site(settings) -> Client:
    """The example project's pages, answering a failure with a 500 page rather than raising it."""
    settings.ROOT_URLCONF = "django_engagelab_otp.demo.urls"
    settings.TEMPLATES = example_settings.TEMPLATES
    settings.STATICFILES_DIRS = example_settings.STATICFILES_DIRS
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("entry", sorted(ENTRIES))
@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: a.name)
def test_a_hostile_answer_settles_the_send(answer, entry, platform, site, record_property):
    platform.answer = answer
    outcome: Any = None
    crashed = None
    try:
        outcome = ENTRIES[entry](site)
    except Exception as error:  # what must not happen, counted before it fails the test
        crashed = error
    rows = list(MessageLog.objects.all())
    pending = sum(1 for row in rows if row.status == MessageLog.Status.PENDING)
    server_error = crashed is not None or getattr(outcome, "status_code", None) == 500
    figure(record_property, SUITE, case=f"answer:{answer.name}", entry=entry, errors=int(server_error), pending=pending)
    assert crashed is None, repr(crashed)
    assert not server_error
    assert [row.status for row in rows] == [answer.settles]
    # Whatever the answer held, the row holds what its columns can.
    assert rows[0].error_code is None or 0 <= rows[0].error_code < 2**31
    if entry == "send_otp" and answer.settles != "accepted":
        assert isinstance(outcome, EngageLabError) and outcome.log == rows[0]


@pytest.mark.parametrize("answer", [a for a in ANSWERS if a.settles != "accepted"], ids=lambda a: a.name)
def test_a_hostile_answer_to_a_verification_is_an_error(answer, platform, record_property):
    platform.answer = answer
    crashed = None
    try:
        verify_otp("1700000000000000001", CODE)
    except EngageLabError:
        pass
    except Exception as error:
        crashed = error
    figure(record_property, SUITE, case=f"answer:{answer.name}", entry="verify_otp", errors=int(bool(crashed)))
    assert crashed is None, repr(crashed)


# ---------------------------------------------------------------------- the client's parser, fuzzed

_secrets = st.sampled_from([SECRET, TOKEN, f"Basic {TOKEN}", CODE])
_text = st.text(max_size=20) | st.sampled_from(ODD_DIGITS) | _secrets
_number = (
    st.integers(-(2**70), 2**70)
    | st.sampled_from([0, 1000, 5011, 5016, 2**31 - 1, 2**31, -1])
    | st.floats(allow_nan=False, allow_infinity=False)
)
_scalar = st.none() | st.booleans() | _number | _text
_key = st.sampled_from(["code", "message", "message_id", "send_channel", "verified"]) | st.text(max_size=8)
_document = st.recursive(
    _scalar, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_key, inner, max_size=5), max_leaves=20
)
# Bodies shaped like the platform's, with hostile values.
_platformish = st.fixed_dictionaries(
    {},
    optional={
        "code": _number | _text | st.booleans(),
        "message": _scalar | _document,
        "message_id": _scalar | _document,
        "send_channel": _scalar,
        "verified": _scalar,
    },
)


def _nested(depth: int, opener: bytes) -> bytes:
    return opener * depth


_body = st.one_of(
    _document.map(lambda d: json.dumps(d).encode()),
    _platformish.map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=120),
    st.builds(_nested, st.integers(1, 150_000), st.sampled_from([b"[", b"{", b'{"a":'])),
    st.integers(300, 6000).map(lambda n: b'{"code": ' + b"7" * n + b"}"),
    st.sampled_from([b"", b"null", b"NaN", b'{"code": Infinity}', b'{"message_id": 1e400}', b"\xef\xbb\xbf{}"]),
)
_status = st.sampled_from([200, 201, 301, 400, 401, 403, 404, 429, 500, 502, 503, 504]) | st.integers(200, 599)
#: Each call of the client and the path it posts to.
PATHS = {
    "send_message": "messages",
    "send_code": "codes",
    "send_custom_message": "custom-messages",
    "verify": "verifications",
}


def _call_client(client: HTTPBackend, call: str) -> Any:
    if call == "send_message":
        return client.send_message(PHONE, "login-otp")
    if call == "send_code":
        return client.send_code(PHONE, CODE, "login-otp")
    if call == "send_custom_message":
        return client.send_custom_message(PHONE, "verify-tpl", params={"code": CODE})
    return client.verify("1700000000000000001", CODE)


def _fuzzed(record_property: Any, case: str, entry: str, run: Callable[[list[int]], None]) -> None:
    """Run a hypothesis test (``run(tried)`` appends one per example) and record how many examples it tried."""
    tried: list[int] = []
    try:
        run(tried)
    finally:
        figure(record_property, SUITE, case=f"fuzz:{case}", entry=entry, fuzzed=len(tried))


def test_the_client_meets_any_answer_with_a_result_or_its_error(record_property):
    @settings(max_examples=300, deadline=None)
    @given(status=_status, body=_body, call=st.sampled_from(sorted(PATHS)))
    def check(tried: list[int], status: int, body: bytes, call: str) -> None:
        tried.append(1)
        client = HTTPBackend(KEY, SECRET, api_url=API, max_retries=1, sleep=lambda seconds: None)
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add(responses.POST, API + PATHS[call], status=status, body=body)
            try:
                result = _call_client(client, call)
            except EngageLabError as error:
                # The code is a secret of the calls that send it (send_message's code is the platform's).
                secrets = [SECRET, TOKEN] + ([CODE] if call != "send_message" else [])
                for text in (str(error), repr(error), error.message):
                    assert not any(secret in text for secret in secrets), text
                assert error.code is None or 0 <= error.code < 2**31
                return
        assert isinstance(result, (SendResult, VerifyResult))
        assert 0 < len(result.message_id) <= 64

    _fuzzed(record_property, "client answers", "HTTPBackend", check)


# ---------------------------------------------------------------------- callbacks


@pytest.mark.urls("tests.support.webhooks")
@pytest.mark.parametrize("value", ODD_DIGITS)
@pytest.mark.parametrize("field", ["itime", "msg_time", "error_code", "cost"])
def test_a_callback_in_other_digits_is_answered(field, value, record_property):
    row = status_row("m-hostile", "delivered_failed", error_code=5018, cost="0.01")
    status = row["status"]
    places = {
        "itime": (row, "itime"),
        "msg_time": (status["status_data"], "msg_time"),
        "error_code": (status, "error_code"),
        "cost": (status["billing"], "cost"),
    }
    holder, key = places[field]
    holder[key] = value
    if field == "msg_time":
        del row["itime"]
    with signed_settings():
        response = post(Client(raise_request_exception=False), [row], signed=True)
    figure(
        record_property,
        SUITE,
        case=f"callback:{field}={value}",
        entry="callback",
        errors=int(response.status_code == 500),
    )
    assert response.status_code == 200
    stored = MessageEvent.objects.count()
    assert response.json() == {"ok": True, "rows": stored, "skipped": 1 - stored}


@pytest.mark.urls("tests.support.webhooks")
def test_a_chunked_callback_is_no_probe(record_property):
    response = Client().generic(
        "POST", CALLBACK, b"", content_type="application/json", HTTP_TRANSFER_ENCODING="chunked"
    )
    figure(record_property, SUITE, case="callback:chunked", entry="callback", errors=int(response.status_code == 500))
    assert response.status_code == 411


@pytest.mark.urls("tests.support.webhooks")
@pytest.mark.django_db(transaction=True)
def test_a_chunked_callback_through_a_real_server_is_no_probe(live_server, record_property):
    """Django's own server, as runserver and most WSGI servers: no Content-Length, no body for Django."""
    host, port = urllib.parse.urlsplit(live_server.url).netloc.split(":")
    rows = callback_body([status_row("m-chunked", "delivered")])
    request = (
        (
            f"POST {CALLBACK} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        ).encode()
        + f"{len(rows):x}\r\n".encode()
        + rows
        + b"\r\n0\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    figure(record_property, SUITE, case="callback:chunked over HTTP", entry="callback", errors=int(status == 500))
    assert status == 411, answer[:300]


# ---------------------------------------------------------------------- the admin's query strings


LIST = reverse("admin:django_engagelab_otp_messagelog_changelist")
_admin_value = (
    st.text(max_size=12)
    | st.sampled_from(["", "15", "60", "1440", "-5", "99999999999999999999", "1e3", "2024", "12", "31", *ODD_DIGITS])
    | st.integers(-(10**25), 10**25).map(str)
)
_parameter = st.sampled_from(
    [
        "lost",
        "final",
        "status__exact",
        "send_channel__exact",
        "kind__exact",
        "template",
        "q",
        "o",
        "p",
        "created_at__year",
        "created_at__month",
        "created_at__day",
        "created_at__gte",
        "created_at__lt",
        "e",
        "_facets",
    ]
)


@pytest.fixture
def admin_site(db) -> Client:
    user = get_user_model().objects.create_superuser("fuzz", "fuzz@example.com", "pw")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    MessageLog.objects.create(kind="otp", to=PHONE, template_id="login-otp", status="accepted", message_id="m-a")
    return client


def test_the_admin_list_answers_any_query_string(admin_site, record_property):
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(query=st.dictionaries(_parameter, _admin_value, min_size=1, max_size=4))
    def check(tried: list[int], query: dict[str, str]) -> None:
        tried.append(1)
        response = admin_site.get(LIST, query)
        assert response.status_code in (200, 302), (query, response.status_code)
        if response.status_code == 302:
            assert response.url.endswith("?e=1")

    _fuzzed(record_property, "admin query strings", "admin", check)
