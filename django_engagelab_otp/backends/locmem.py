"""An in-memory backend for tests, like Django's ``locmem`` e-mail backend.

Select it with ``ENGAGELAB_OTP = {"BACKEND": "django_engagelab_otp.backends.locmem.LocmemBackend", ...}``.
No network, no simulator process: requests go to one shared in-memory
:class:`~django_engagelab_otp.simulator.platform.Platform` (the simulator's
own rules: templates, codes and their lifetime, verification, 3004, magic
recipients), and every message the platform accepts is appended to
:data:`outbox`, code included, so that a test can read it and verify::

    from django_engagelab_otp.backends import locmem

    log = send_otp("+8618701235678")
    sent = locmem.outbox[-1]  # .to .recipients .template_id .params .code .message_id .channel .content
    assert verify_otp(log.message_id, sent.code)

It is the HTTP backend with the network replaced by a ``requests`` adapter
(sync calls) and an httpx transport (async calls: ``asend_message`` …) that
call the platform: answers are parsed, retried and turned into exceptions by
that backend's own code, so a magic recipient raises exactly what it raises
over HTTP, from either kind of call. Faults of the connection itself
(dropped, reset, hanging, stalled) raise the ``requests`` or httpx
exceptions the network would.

Differences from the HTTP simulator: no credentials are checked; unknown
template ids are created on first use (a verification template for
``/v1/messages`` and ``/v1/codes``, a notification for custom messages;
``error-4001`` still answers 4001); latency, the slow recipient and the
drip are not waited for, nor are retries of 1000/5016.

Call :func:`reset` between tests (the ``engagelab_outbox`` pytest fixture
does), or the frequency limit (3004) of one test reaches the next.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.client import RemoteDisconnected
from typing import Any
from urllib.parse import urlsplit

import httpx
import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3 import HTTPResponse
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from ..simulator.magic import Fault
from ..simulator.platform import Answer, Message, Platform
from .http import HTTPBackend

#: Every message accepted since the last :func:`reset`, oldest first.
outbox: list[Message] = []

#: The shared in-memory platform (tests may change ``platform.code_ttl`` and the like).
platform = Platform(dev_key=None, dev_secret=None, auto_templates=True, announce_codes=False)

_API_ROOT = "/v1/"


def reset() -> None:
    """Empty the outbox and forget every message, code and limit."""
    outbox.clear()
    platform.reset()


class LocmemBackend(HTTPBackend):
    """The HTTP backend, with the in-memory platform where the network would be."""

    def __init__(self, dev_key: str, dev_secret: str, **options: Any) -> None:
        # Retries of 1000/5016 must not make a test suite wait.
        options.setdefault("sleep", _no_sleep)
        options.setdefault("asleep", _no_asleep)
        super().__init__(dev_key, dev_secret, **options)
        self._adapter = LocmemAdapter(urlsplit(self.api_url).path)

    @property
    def session(self) -> requests.Session:
        session = super().session
        if not isinstance(session.get_adapter(self.api_url), LocmemAdapter):
            session.mount("http://", self._adapter)
            session.mount("https://", self._adapter)
        return session

    def _async_transport(self, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        return LocmemTransport(urlsplit(self.api_url).path)

    @property
    def platform(self) -> Platform:
        return platform

    @property
    def outbox(self) -> list[Message]:
        return outbox


class LocmemAdapter(BaseAdapter):
    """A ``requests`` transport adapter answering from the in-memory platform."""

    def __init__(self, root: str) -> None:
        super().__init__()
        self._root = root
        self._builder = HTTPAdapter()

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        outcome = _dispatch(self._root, request.method or "GET", request.url or "", request.headers, body)
        broken = _CONNECTION_FAULTS.get(outcome.fault) if outcome.fault else None
        if broken is not None:
            raise broken(request)
        raw = HTTPResponse(
            body=io.BytesIO(outcome.body),
            headers=_headers(outcome.content_type, len(outcome.body), outcome.headers),
            status=outcome.status,
            reason=_reason(outcome.status),
            preload_content=False,
            decode_content=False,
        )
        return self._builder.build_response(request, raw)

    def close(self) -> None:
        """Nothing to close."""


class LocmemTransport(httpx.AsyncBaseTransport):
    """An httpx transport answering from the in-memory platform (the async calls')."""

    def __init__(self, root: str) -> None:
        self._root = root

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        outcome = _dispatch(self._root, request.method, str(request.url), request.headers, body)
        broken = _ASYNC_CONNECTION_FAULTS.get(outcome.fault) if outcome.fault else None
        if broken is not None:
            raise broken(request)
        headers = _headers(outcome.content_type, len(outcome.body), outcome.headers)
        return httpx.Response(outcome.status, headers=headers, content=outcome.body, request=request)


def _dispatch(root: str, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> Answer:
    """The platform's answer to a request, its message in the outbox (sent whatever the connection does next)."""
    root = root if root.endswith("/") else root + "/"
    path = urlsplit(url).path
    if path.startswith(root):
        path = _API_ROOT + path[len(root) :]
    outcome = platform.dispatch(method, path, headers.get("Authorization"), body)
    if outcome.message is not None:
        outbox.append(outcome.message)
    return outcome


def _headers(content_type: str | None, length: int, extra: Mapping[str, str]) -> dict[str, str]:
    headers = {"Content-Length": str(length), **extra}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _timeout(request: requests.PreparedRequest) -> ReadTimeoutError:
    return ReadTimeoutError(None, request.url, "Read timed out.")  # type: ignore[arg-type]


# What requests raises for each connection fault over a real socket.
_CONNECTION_FAULTS: dict[Fault, Callable[[requests.PreparedRequest], requests.RequestException]] = {
    Fault.DROP: lambda request: requests.ConnectionError(
        ProtocolError("Connection aborted.", RemoteDisconnected("Remote end closed connection without response")),
        request=request,
    ),
    Fault.RESET: lambda request: requests.exceptions.ChunkedEncodingError(
        ProtocolError("Connection broken: reset by peer", ConnectionResetError(104, "Connection reset by peer")),
        request=request,
    ),
    Fault.HANG: lambda request: requests.ReadTimeout(_timeout(request), request=request),
    Fault.STALL: lambda request: requests.ConnectionError(_timeout(request), request=request),
}


# What httpx raises for each connection fault over a real socket (a stalled answer is a read timeout there).
_ASYNC_CONNECTION_FAULTS: dict[Fault, Callable[[httpx.Request], httpx.TransportError]] = {
    Fault.DROP: lambda request: httpx.RemoteProtocolError(
        "Server disconnected without sending a response.", request=request
    ),
    Fault.RESET: lambda request: httpx.ReadError("[Errno 104] Connection reset by peer", request=request),
    Fault.HANG: lambda request: httpx.ReadTimeout("timed out", request=request),
    Fault.STALL: lambda request: httpx.ReadTimeout("timed out", request=request),
}


def _no_sleep(seconds: float) -> None:
    return None


async def _no_asleep(seconds: float) -> None:
    return None
