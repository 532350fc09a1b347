"""The HTTP backend: the EngageLab OTP REST API.

HTTP only: a ``requests.Session`` per thread (kept alive, pooled), Basic
auth, JSON in and out, timeouts, and one retry loop for what the error table
says is safe to repeat. Answers become result objects or an
``EngageLabError`` built from the error table. No ORM, no forms, no Django
settings: construct it with arguments and use it anywhere.

Its frames hold the credentials, the recipient and the code a request
carries, and so do those of requests and urllib3 below them: every call is
marked ``sensitive_variables()``, so that Django's error reports (``DEBUG``
off) show none of their variables. The Basic token and the secrets scrubbed
from the platform's texts are sealed (:mod:`..sealed`): not even a DEBUG
page prints them.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urljoin

import requests
from django.views.decorators.debug import sensitive_variables
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ProtocolError

from .. import __version__, strict_json
from ..conf import DEFAULTS, SETTINGS, Invalid
from ..errors import error_for, failure
from ..exceptions import EngageLabError, InvalidInputError
from ..privacy import SENSITIVE_PARAMS, scrub
from ..sealed import SealedText, SealedTuple
from ..strict_json import whole_number
from .base import Params, SendResult, VerifyResult

logger = logging.getLogger("django_engagelab_otp.backends.http")

USER_AGENT = f"django-engagelab-otp/{__version__}"
#: How much of the platform's error text is kept.
MAX_ERROR_TEXT = 500

Timeout = float | tuple[float, float]

#: A message id as the platform writes them, and as the history's column (64 characters) holds them.
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")

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


class HTTPBackend:
    """One backend per set of credentials; safe to share between threads and forks.

    Arguments mirror the ``ENGAGELAB_OTP`` settings. ``sleep`` and ``rand``
    are what the retry backoff waits with and draws its jitter from (0 to 1).
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
        self._random = rand
        token = base64.b64encode(f"{dev_key}:{dev_secret}".encode()).decode("ascii")
        self._auth = _HeaderAuth(f"Basic {token}")
        # Scrubbed from the platform's error texts, should it ever echo them.
        self._hidden = SealedTuple((dev_secret, token))
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: weakref.WeakSet[requests.Session] = weakref.WeakSet()

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
        session.proxies = requests.utils.get_environ_proxies(self.api_url)
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        return session

    def close(self) -> None:
        """Close every thread's connections; the next call opens new ones."""
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            session.close()

    # ------------------------------------------------------------------ endpoints

    @sensitive_variables()
    def send_message(
        self, to: str, template_id: str, *, language: str | None = None, params: Params = None
    ) -> SendResult:
        """POST /v1/messages: the platform generates the code."""
        body = {"to": to, "template": _template(template_id, language, params)}
        return self._send("messages", body, _secret_params(params))

    @sensitive_variables()
    def send_custom_message(self, to: str | Sequence[str], template_id: str, *, params: Params = None) -> SendResult:
        """POST /v1/custom-messages: custom template content, one or several recipients."""
        body = {"to": to if isinstance(to, str) else list(to), "template": _template(template_id, None, params)}
        return self._send("custom-messages", body, _secret_params(params))

    @sensitive_variables()
    def send_code(
        self, to: str, code: str, template_id: str, *, language: str | None = None, params: Params = None
    ) -> SendResult:
        """POST /v1/codes: deliver a code the caller generated."""
        body = {"to": to, "code": code, "template": _template(template_id, language, params)}
        return self._send("codes", body, [code, *_secret_params(params)])

    @sensitive_variables()
    def verify(self, message_id: str, code: str) -> VerifyResult:
        """POST /v1/verifications: check a code typed by the user."""
        body = {"message_id": message_id, "verify_code": code}
        data = self._request("POST", "verifications", body, secrets=[code])
        verified = data.get("verified") if isinstance(data, dict) else None
        if not isinstance(verified, bool):
            raise failure("malformed", "verification answer without a boolean 'verified'", http_status=200)
        return VerifyResult(message_id=_message_id(data) or message_id, verified=verified)

    def list_templates(self) -> list[dict[str, Any]]:
        """GET /v1/template-configs."""
        data = self._request("GET", "template-configs", idempotent=True)
        if isinstance(data, dict):  # tolerate a wrapped list
            data = data.get("data") or data.get("rows") or []
        if not isinstance(data, list):
            raise failure("malformed", "template list answer is not a list", http_status=200, idempotent=True)
        return data

    def get_template(self, template_id: str) -> dict[str, Any]:
        """GET /v1/template-configs/{id}."""
        data = self._request("GET", f"template-configs/{_segment(template_id)}", idempotent=True)
        return _expect_dict(data, idempotent=True)

    def create_template(self, template: Mapping[str, Any]) -> dict[str, Any]:
        """POST /v1/template-configs."""
        return _expect_dict(self._request("POST", "template-configs", dict(template)))

    def delete_template(self, template_id: str) -> dict[str, Any]:
        """DELETE /v1/template-configs/{id}."""
        return _expect_dict(self._request("DELETE", f"template-configs/{_segment(template_id)}"))

    # ------------------------------------------------------------------ plumbing

    def _send(self, path: str, body: dict[str, Any], secrets: Iterable[str]) -> SendResult:
        data = self._request("POST", path, body, secrets=secrets)
        message_id = _message_id(data)
        if message_id is None:
            # The platform said 200, so the message was probably sent: we just cannot tell its id.
            raise failure("malformed", "send answer without message_id, or with one that is no id", http_status=200)
        channel = data.get("send_channel")
        return SendResult(message_id=message_id, send_channel=channel if isinstance(channel, str) else "", raw=data)

    @sensitive_variables()  # and every frame below: requests' and urllib3's hold the headers and the body
    def _request(
        self, method: str, path: str, body: Any = None, *, idempotent: bool = False, secrets: Iterable[str] = ()
    ) -> Any:
        """One call, repeated after a backoff while the error table says that is safe.

        ``retryable`` failures are the ones that cannot have sent a message (a
        failure to connect, a 503 without a body, codes 1000 and 5016), or any
        failure of an ``idempotent`` call (reading templates).
        """
        hidden = SealedTuple((*self._hidden, *secrets))
        attempt = 0
        while True:
            try:
                return self._request_once(method, path, body, idempotent=idempotent, hidden=hidden)
            except EngageLabError as error:
                if not error.retryable or attempt >= self.max_retries:
                    raise
                attempt += 1
                delay = self.backoff(attempt)
                logger.warning(
                    "EngageLab %s /%s failed (%s); retry %d of %d in %.2fs",
                    method,
                    path,
                    error.code or type(error).__name__,
                    attempt,
                    self.max_retries,
                    delay,
                )
                self._sleep(delay)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (1, 2, …): exponential, with jitter, capped."""
        delay = self.retry_backoff * 2 ** (attempt - 1) + self.retry_jitter * self._random()
        return max(0.0, min(self.retry_backoff_max, delay))

    def _request_once(self, method: str, path: str, body: Any, *, idempotent: bool, hidden: Sequence[str]) -> Any:
        url = urljoin(self.api_url, path)
        data = None if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"} if data is not None else None
        started = time.monotonic()
        try:
            response = self.session.request(
                method, url, data=data, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as error:
            raise _transport_error(error, self.api_url, idempotent=idempotent) from None
        logger.debug(
            "EngageLab %s /%s -> %s in %.0f ms", method, path, response.status_code, (time.monotonic() - started) * 1000
        )
        return _parse(response, idempotent=idempotent, hidden=hidden)


def _template(template_id: str, language: str | None, params: Mapping[str, str] | None) -> dict[str, Any]:
    template: dict[str, Any] = {"id": template_id}
    if language:
        template["language"] = language
    if params:
        template["params"] = dict(params)
    return template


def _secret_params(params: Mapping[str, Any] | None) -> list[str]:
    return [str(value) for key, value in (params or {}).items() if str(key).lower() in SENSITIVE_PARAMS]


def _segment(value: str) -> str:
    if not value:
        raise InvalidInputError("A template id is required.", field="template_id")
    return quote(value, safe="")


def _expect_dict(data: Any, *, idempotent: bool = False) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise failure("malformed", "answer is not a JSON object", http_status=200, idempotent=idempotent)
    return data


def _json(content: bytes) -> Any:
    """The answer's JSON, or None when it has none (nested too deep for the stack included)."""
    try:
        return strict_json.loads(content) if content else None
    except ValueError:
        return None


def _message_id(data: Any) -> str | None:
    """The answer's ``message_id`` when it is one (text or a number; what the history's column holds), or None."""
    value = data.get("message_id") if isinstance(data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and _MESSAGE_ID.fullmatch(value) else None


def _error_code(data: Any) -> int | float | None:
    """The ``code`` of an error body when it is a number (some proxies send digits as text), or None.

    The error table turns a number no code can be (negative, beyond 32 bits,
    fractional) into no code; text that is no number means the body is not
    the platform's.
    """
    code = data.get("code") if isinstance(data, dict) else None
    return code if isinstance(code, float) else whole_number(code)


def _parse(response: requests.Response, *, idempotent: bool, hidden: Sequence[str]) -> Any:
    status = response.status_code
    data = _json(response.content)
    code = _error_code(data)
    if 200 <= status < 300:
        if data is None:
            # 2xx means the platform acted; its answer was lost on the way.
            raise failure(
                "malformed", f"HTTP {status} with a body that is not JSON", http_status=status, idempotent=idempotent
            )
        if code and not data.get("message_id"):  # an error dressed as a success
            raise error_for(code, _platform_text(data, hidden), http_status=status)
        return data
    if code is not None:
        raise error_for(code, _platform_text(data, hidden), http_status=status)
    # A proxy or an outage answered (HTML 502, empty 503), not the platform.
    if status == 503:  # nothing behind the proxy took the request
        raise failure("outage", "HTTP 503 without a platform error body", http_status=status)
    if status >= 500:  # 500/502/504 may come after the platform acted
        raise failure(
            "proxy_error", f"HTTP {status} without a platform error body", http_status=status, idempotent=idempotent
        )
    where = f" (redirected to {response.headers.get('Location', '?')})" if 300 <= status < 400 else ""
    message = f"HTTP {status} without a platform error body{where}; check API_URL"
    raise failure("http_error", message, http_status=status)


def _platform_text(data: dict[str, Any], hidden: Sequence[str]) -> str:
    """The platform's error message, on one line, without anything we sent it in secret."""
    message = data.get("message")
    # Only text or a number: str() of an answer's nested lists could exhaust the stack.
    text = " ".join(str(message).split()) if isinstance(message, (str, int, float)) else ""
    return scrub(text, hidden)[:MAX_ERROR_TEXT]


def _transport_error(error: requests.RequestException, api_url: str, *, idempotent: bool) -> EngageLabError:
    """Map a requests failure; say whether the request may have been delivered."""
    reason = _reason(error)
    name = type(reason).__name__
    if isinstance(error, _BAD_URL):
        return failure("configuration", f"API_URL cannot be used: {api_url!r} ({name})")
    if isinstance(error, requests.exceptions.SSLError):
        return failure("tls", f"TLS failure with the EngageLab API at {api_url} ({name})")
    if isinstance(error, requests.ConnectTimeout) or isinstance(reason, (NewConnectionError, ConnectTimeoutError)):
        return failure("unreachable", f"could not connect to the EngageLab API at {api_url} ({name})")
    if isinstance(error, requests.Timeout):
        return failure("timeout", "no answer from the EngageLab API within the read timeout", idempotent=idempotent)
    # The request left this machine: the platform may have acted on it.
    return failure(
        "disconnected", f"the connection to the EngageLab API broke mid-request ({name})", idempotent=idempotent
    )


def _reason(error: requests.RequestException) -> BaseException:
    """The failure underneath requests' and urllib3's wrappers."""
    reason: Any = error.args[0] if error.args and isinstance(error.args[0], BaseException) else error
    if isinstance(reason, MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    if isinstance(reason, ProtocolError) and len(reason.args) > 1 and isinstance(reason.args[1], BaseException):
        reason = reason.args[1]  # ("Connection aborted.", RemoteDisconnected(...))
    return reason
