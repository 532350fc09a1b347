"""The HTTP backend: the EngageLab OTP REST API.

HTTP only: Basic auth, JSON in and out, timeouts, and one retry loop for
what the error table says is safe to repeat. Answers become result objects
or an ``EngageLabError`` built from the error table. No ORM, no forms, no
Django settings: construct it with arguments and use it anywhere.

The sync calls go out through a ``requests.Session`` per thread (kept alive,
pooled), each request prepared here and handed straight to the session's
adapter (:meth:`HTTPBackend._request_once` says why); the async ones
(``asend_message`` …, :mod:`.http_async`) through an
``httpx.AsyncClient`` per event loop. Both build their requests, read their
answers and name their failures with :mod:`.protocol`, and retry on the
schedule of :mod:`.retries`: they differ only in how the bytes travel and in
how they wait between two tries.

Its frames hold the credentials, the recipient and the code a request
carries, and so do those of requests and urllib3 below them: every call is
marked ``sensitive_variables()``, so that Django's error reports (``DEBUG``
off) show none of their variables. The Basic token and the secrets scrubbed
from the platform's texts are sealed (:mod:`..sealed`): not even a DEBUG
page prints them.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urljoin

import requests
from django.views.decorators.debug import sensitive_variables
from requests.adapters import HTTPAdapter
from requests.hooks import default_hooks
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ProtocolError

from ..conf import DEFAULTS, SETTINGS, Invalid
from ..errors import failure
from ..exceptions import EngageLabError
from ..sealed import SealedText, SealedTuple
from . import environment, pacing, protocol
from .base import Params, SendResult, VerifyResult
from .http_async import AsyncHTTP
from .protocol import (
    CONFIGURATION,
    DISCONNECTED,
    MAX_ERROR_TEXT,
    TIMEOUT,
    TLS,
    UNREACHABLE,
    USER_AGENT,
    Call,
    Timeout,
    transport_failure,
)
from .retries import attempts

__all__ = ["HTTPBackend", "MAX_ERROR_TEXT", "USER_AGENT", "Timeout"]

logger = logging.getLogger("django_engagelab_otp.backends.http")

# requests errors raised before anything is sent because the URL cannot be used.
_BAD_URL = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.URLRequired,
)


class _HeaderAuth(requests.auth.AuthBase):
    """Sets the precomputed Basic header, and shows nothing of it in a repr."""

    def __init__(self, value: str) -> None:
        self._value = SealedText(value)  # requests' and urllib3's frames hold it in their headers

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._value
        return request

    def __repr__(self) -> str:
        return "<Basic auth>"


def _option(name: str, value: Any) -> Any:
    """An argument read as its setting is (one set of rules); ``ConfigurationError`` when it cannot be."""
    try:
        return SETTINGS[name].read(value)
    except Invalid as error:
        raise failure("configuration", f"{name} {error}.") from None


class HTTPBackend(AsyncHTTP):
    """One backend per set of credentials; safe to share between threads, forks and event loops.

    Arguments mirror the ``ENGAGELAB_OTP`` settings. ``sleep`` (sync calls),
    ``asleep`` (async calls) and ``rand`` are what the retry backoff waits
    with and draws its jitter from (0 to 1). How many connections the async
    calls use per event loop is :attr:`max_connections` (a subclass may change it).
    """

    @sensitive_variables()
    def __init__(
        self,
        dev_key: str,
        dev_secret: str,
        *,
        api_url: str = DEFAULTS["API_URL"],
        timeout: Timeout = DEFAULTS["TIMEOUT"],
        max_retries: int = DEFAULTS["MAX_RETRIES"],
        retry_backoff: float = DEFAULTS["RETRY_BACKOFF"],
        retry_backoff_max: float = DEFAULTS["RETRY_BACKOFF_MAX"],
        retry_jitter: float = DEFAULTS["RETRY_JITTER"],
        user_agent: str = USER_AGENT,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if not dev_key or not dev_secret:
            # Raised locally, before any request: the platform would answer 2001.
            raise failure("configuration", "EngageLab credentials are missing: set DEV_KEY and DEV_SECRET.")
        self.dev_key = dev_key
        self.api_url = _option("API_URL", api_url)
        self.timeout = _option("TIMEOUT", timeout)
        self.max_retries = _option("MAX_RETRIES", max_retries)
        self.retry_backoff = _option("RETRY_BACKOFF", retry_backoff)
        self.retry_backoff_max = _option("RETRY_BACKOFF_MAX", retry_backoff_max)
        self.retry_jitter = _option("RETRY_JITTER", retry_jitter)
        self.user_agent = user_agent
        self._sleep = sleep
        self._asleep = asleep
        self._random = rand
        token = base64.b64encode(f"{dev_key}:{dev_secret}".encode()).decode("ascii")
        self._authorization = SealedText(f"Basic {token}")
        self._auth = _HeaderAuth(self._authorization)
        # Scrubbed from the platform's error texts, should it ever echo them.
        self._hidden = SealedTuple((dev_secret, token))
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: weakref.WeakSet[requests.Session] = weakref.WeakSet()
        self._start_async()

    def __repr__(self) -> str:
        key = self.dev_key[:3] + "…" if len(self.dev_key) > 3 else "…"
        return f"<{type(self).__name__} api_url={self.api_url!r} dev_key={key!r}>"

    # ------------------------------------------------------------------ sessions

    @property
    def session(self) -> requests.Session:
        """This thread's session (``requests.Session`` is not thread-safe).

        A forked child never reuses its parent's sockets: it opens its own.
        """
        local = self._local
        session = getattr(local, "session", None)
        pid = os.getpid()
        if session is None or local.pid != pid:
            session = self._new_session()
            local.session, local.pid = session, pid
            with self._lock:
                self._sessions.add(session)
        return session

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        # No retries down here: _request is the one retry loop (urllib3's
        # would be a second schedule for the same setting).
        # One connection per thread is all a thread uses; a few spare are harmless.
        adapter = HTTPAdapter(max_retries=0, pool_connections=1, pool_maxsize=4)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.auth = self._auth
        session.headers.update({"User-Agent": self.user_agent, "Accept": "application/json"})
        # The environment (proxy and CA-bundle variables) is read once here, not
        # scanned again on every request; .netrc is never read.
        session.trust_env = False
        session.proxies = environment.proxies(self.api_url)
        session.verify = environment.ca_bundle()
        return session

    def close(self) -> None:
        """Close every thread's connections and every event loop's client; the next call opens new ones."""
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            session.close()
        self._loop_clients.close()

    # ------------------------------------------------------------------ endpoints

    @sensitive_variables()
    def send_message(
        self, to: str, template_id: str, *, language: str | None = None, params: Params = None
    ) -> SendResult:
        """POST /v1/messages: the platform generates the code."""
        return self._exchange(protocol.send_message(to, template_id, language, params))

    @sensitive_variables()
    def send_custom_message(self, to: str | Sequence[str], template_id: str, *, params: Params = None) -> SendResult:
        """POST /v1/custom-messages: custom template content, one or several recipients."""
        return self._exchange(protocol.send_custom_message(to, template_id, params))

    @sensitive_variables()
    def send_code(
        self, to: str, code: str, template_id: str, *, language: str | None = None, params: Params = None
    ) -> SendResult:
        """POST /v1/codes: deliver a code the caller generated."""
        return self._exchange(protocol.send_code(to, code, template_id, language, params))

    @sensitive_variables()
    def verify(self, message_id: str, code: str) -> VerifyResult:
        """POST /v1/verifications: check a code typed by the user."""
        return self._exchange(protocol.verify(message_id, code))

    def list_templates(self) -> list[dict[str, Any]]:
        """GET /v1/template-configs."""
        return self._exchange(protocol.list_templates())

    def get_template(self, template_id: str) -> dict[str, Any]:
        """GET /v1/template-configs/{id}."""
        return self._exchange(protocol.get_template(template_id))

    def create_template(self, template: Mapping[str, Any]) -> dict[str, Any]:
        """POST /v1/template-configs."""
        return self._exchange(protocol.create_template(template))

    def delete_template(self, template_id: str) -> dict[str, Any]:
        """DELETE /v1/template-configs/{id}."""
        return self._exchange(protocol.delete_template(template_id))

    # ------------------------------------------------------------------ plumbing

    @sensitive_variables()
    def _exchange(self, call: Call) -> Any:
        return call.result(self._request(call))

    @sensitive_variables()  # and every frame below: requests' and urllib3's hold the headers and the body
    def _request(self, call: Call) -> Any:
        """One call, repeated after a backoff while the error table says that is safe (:mod:`.retries`)."""
        for attempt in attempts(call, self.max_retries, self.backoff):
            with attempt:
                return self._request_once(call)
            self._sleep(attempt.wait)
        # Not reached: the last attempt lets its failure through.

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (1, 2, …): exponential, with jitter, capped."""
        delay = self.retry_backoff * 2 ** (attempt - 1) + self.retry_jitter * self._random()
        return max(0.0, min(self.retry_backoff_max, delay))

    def _request_once(self, call: Call) -> Any:
        """One request through this thread's session's adapter (its kept-alive pool, its proxies).

        Not through ``Session.request``: merging the session's settings into
        each request (type checks of every mapping, the URL parsed again, the
        cookie jar read and written) costs about a third of the CPU a request
        takes, and a bulk run's threads take turns on one interpreter lock.
        What it would send is built here once: the session's headers, the
        Basic header, the body and its length; no redirect is followed, and
        no cookie is kept (the API has none).
        """
        session = self.session
        try:
            request = self._prepared(session, call)
            adapter = session.get_adapter(request.url)
            pacing.before_request()  # a shared rate is kept here, the last moment before the bytes leave
            started = time.monotonic()
            response = adapter.send(
                request, timeout=self.timeout, verify=session.verify, cert=session.cert, proxies=session.proxies
            )
            content = response.content  # read here: an answer cut short is a transport failure too
        except requests.RequestException as error:
            raise _transport_error(error, self.api_url, idempotent=call.idempotent) from None
        location = response.headers.get("Location")
        return call.read(response.status_code, content, location, self._hidden, started)

    def _prepared(self, session: requests.Session, call: Call) -> requests.PreparedRequest:
        request = requests.PreparedRequest()
        request.method = call.method
        request.url = _prepared_url(urljoin(self.api_url, call.path))
        headers = CaseInsensitiveDict(session.headers)
        headers["Authorization"] = self._authorization
        headers.update(call.headers)
        request.headers = headers
        request.body = call.body
        request.prepare_content_length(call.body)
        request.hooks = default_hooks()
        return request


@functools.lru_cache(maxsize=64)
def _prepared_url(url: str) -> str:
    """``url`` as requests sends it (IDNA host, quoted path), worked out once; requests' errors if it cannot be."""
    request = requests.PreparedRequest()
    request.prepare_url(url, None)
    return str(request.url)


def _transport_error(error: requests.RequestException, api_url: str, *, idempotent: bool) -> EngageLabError:
    """Map a requests failure onto the names of :func:`.protocol.transport_failure`."""
    reason = _reason(error)
    if isinstance(error, _BAD_URL):
        kind = CONFIGURATION
    elif isinstance(error, requests.exceptions.SSLError):
        kind = TLS
    elif isinstance(error, requests.ConnectTimeout) or isinstance(reason, (NewConnectionError, ConnectTimeoutError)):
        kind = UNREACHABLE
    elif isinstance(error, requests.Timeout):
        kind = TIMEOUT
    else:  # the request left this machine: the platform may have acted on it
        kind = DISCONNECTED
    return transport_failure(kind, type(reason).__name__, api_url, idempotent=idempotent)


def _reason(error: requests.RequestException) -> BaseException:
    """The failure underneath requests' and urllib3's wrappers."""
    reason: Any = error.args[0] if error.args and isinstance(error.args[0], BaseException) else error
    if isinstance(reason, MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    if isinstance(reason, ProtocolError) and len(reason.args) > 1 and isinstance(reason.args[1], BaseException):
        reason = reason.args[1]  # ("Connection aborted.", RemoteDisconnected(...))
    return reason
