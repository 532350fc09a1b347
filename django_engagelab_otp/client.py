"""HTTP client for the EngageLab OTP REST API.

HTTP only: a ``requests.Session`` per thread (kept alive, pooled), Basic
auth, JSON in and out, timeouts, and retries only where a message cannot be
sent twice. Answers become result objects or an ``EngageLabError`` built from
the error table. No ORM, no forms, no Django settings: construct it with
arguments and use it anywhere.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from . import __version__
from .errors import error_for
from .exceptions import EngageLabError, InvalidInputError, RequestError, ServerError, TransportError

logger = logging.getLogger("django_engagelab_otp.client")

DEFAULT_API_URL = "https://otp.api.engagelab.cc/v1/"
USER_AGENT = f"django-engagelab-otp/{__version__}"

Timeout = float | tuple[float, float]


@dataclass(frozen=True)
class SendResult:
    """A message the platform accepted."""

    message_id: str
    send_channel: str
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class VerifyResult:
    """The platform's verdict on a code. The code itself is not kept."""

    message_id: str
    verified: bool


class EngageLabClient:
    """One client per set of credentials; safe to share between threads."""

    def __init__(
        self,
        dev_key: str,
        dev_secret: str,
        *,
        api_url: str = DEFAULT_API_URL,
        timeout: Timeout = 10,
        max_retries: int = 2,
        retry_backoff: float = 0.5,
        retry_backoff_max: float = 8.0,
        retry_jitter: float = 0.25,
        user_agent: str = USER_AGENT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not dev_key or not dev_secret:
            # Raised locally, before any request: the platform would answer 2001.
            from .exceptions import ConfigurationError

            raise ConfigurationError("EngageLab credentials are missing: set DEV_KEY and DEV_SECRET.")
        self.dev_key = dev_key
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.retry_backoff = retry_backoff
        self.retry_backoff_max = retry_backoff_max
        self.retry_jitter = retry_jitter
        self.user_agent = user_agent
        self._sleep = sleep
        token = base64.b64encode(f"{dev_key}:{dev_secret}".encode()).decode("ascii")
        # Kept only as the ready header, so that no attribute named "secret" exists to be dumped.
        self._authorization = f"Basic {token}"
        self._local = threading.local()

    def __repr__(self) -> str:
        key = self.dev_key[:3] + "…" if len(self.dev_key) > 3 else "…"
        return f"<{type(self).__name__} api_url={self.api_url!r} dev_key={key!r}>"

    # ------------------------------------------------------------------ sessions

    @property
    def session(self) -> requests.Session:
        """This thread's session (requests.Session is not thread-safe)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._new_session()
        return session

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        # urllib3 retries only failures to connect: nothing was sent, so a
        # retry cannot deliver a second message. Reads, redirects and
        # statuses are never retried here.
        retry = Retry(
            total=self.max_retries,
            connect=self.max_retries,
            read=False,
            redirect=False,
            status=0,
            other=0,
            allowed_methods=None,
            respect_retry_after_header=False,
            backoff_factor=self.retry_backoff,
            backoff_max=self.retry_backoff_max,
            backoff_jitter=self.retry_jitter,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=4)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update(
            {
                "Authorization": self._authorization,
                "User-Agent": self.user_agent,
                "Accept": "application/json",
            }
        )
        session.trust_env = False  # no .netrc: it would replace our Authorization header
        return session

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    # ------------------------------------------------------------------ endpoints

    def send_message(
        self, to: str, template_id: str, *, language: str | None = None, params: Mapping[str, str] | None = None
    ) -> SendResult:
        """POST /v1/messages: the platform generates the code."""
        body = {"to": to, "template": _template(template_id, language, params)}
        return self._send("messages", body)

    def send_custom_message(
        self, to: str | Sequence[str], template_id: str, *, params: Mapping[str, str] | None = None
    ) -> SendResult:
        """POST /v1/custom-messages: custom template content, one or several recipients."""
        body = {"to": to if isinstance(to, str) else list(to), "template": _template(template_id, None, params)}
        return self._send("custom-messages", body)

    def send_code(
        self,
        to: str,
        code: str,
        template_id: str,
        *,
        language: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> SendResult:
        """POST /v1/codes: deliver a code the caller generated."""
        body = {"to": to, "code": code, "template": _template(template_id, language, params)}
        return self._send("codes", body)

    def verify(self, message_id: str, code: str) -> VerifyResult:
        """POST /v1/verifications: check a code typed by the user."""
        data = self._request("POST", "verifications", {"message_id": message_id, "verify_code": code})
        verified = data.get("verified") if isinstance(data, dict) else None
        if not isinstance(verified, bool):
            raise ServerError("verification answer without a boolean 'verified'", http_status=200, outcome_unknown=True)
        return VerifyResult(message_id=str(data.get("message_id") or message_id), verified=verified)

    def list_templates(self) -> list[dict[str, Any]]:
        """GET /v1/template-configs."""
        data = self._request("GET", "template-configs", idempotent=True)
        if isinstance(data, dict):  # tolerate a wrapped list
            data = data.get("data") or data.get("rows") or []
        if not isinstance(data, list):
            raise ServerError("template list answer is not a list", http_status=200)
        return data

    def get_template(self, template_id: str) -> dict[str, Any]:
        """GET /v1/template-configs/{id}."""
        data = self._request("GET", f"template-configs/{_segment(template_id)}", idempotent=True)
        return _expect_dict(data)

    def create_template(self, template: Mapping[str, Any]) -> dict[str, Any]:
        """POST /v1/template-configs."""
        return _expect_dict(self._request("POST", "template-configs", dict(template)))

    def delete_template(self, template_id: str) -> dict[str, Any]:
        """DELETE /v1/template-configs/{id}."""
        return _expect_dict(self._request("DELETE", f"template-configs/{_segment(template_id)}"))

    # ------------------------------------------------------------------ plumbing

    def _send(self, path: str, body: dict[str, Any]) -> SendResult:
        data = self._request("POST", path, body)
        if not isinstance(data, dict) or not data.get("message_id"):
            code = data.get("code") if isinstance(data, dict) else None
            if isinstance(code, int) and code != 0:  # an error dressed as a success
                raise error_for(code, str(data.get("message") or ""), http_status=200)
            # The platform said 200, so the message was probably sent: we just cannot tell its id.
            raise ServerError("send answer without message_id", http_status=200, outcome_unknown=True)
        return SendResult(
            message_id=str(data["message_id"]), send_channel=str(data.get("send_channel") or ""), raw=data
        )

    def _request(self, method: str, path: str, body: Any = None, *, idempotent: bool = False) -> Any:
        """One call, retried only for the retryable platform codes (1000, 5016)."""
        attempt = 0
        while True:
            try:
                return self._request_once(method, path, body, idempotent=idempotent)
            except EngageLabError as error:
                # Connect failures were already retried by urllib3; only the
                # platform's own retryable codes are retried here.
                if error.code is None or not error.retryable or attempt >= self.max_retries:
                    raise
                attempt += 1
                delay = self._backoff(attempt)
                logger.warning(
                    "EngageLab %s /%s failed with %s; retry %d of %d in %.2fs",
                    method,
                    path,
                    error.code,
                    attempt,
                    self.max_retries,
                    delay,
                )
                self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        # Same shape as urllib3's backoff for connect retries: exponential, capped, with jitter.
        base = min(self.retry_backoff_max, self.retry_backoff * (2 ** (attempt - 1)))
        return base + random.uniform(0, self.retry_jitter)

    def _request_once(self, method: str, path: str, body: Any, *, idempotent: bool) -> Any:
        url = urljoin(self.api_url, path)
        data = None if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"} if data is not None else None
        started = time.monotonic()
        try:
            response = self.session.request(method, url, data=data, headers=headers, timeout=self.timeout)
        except requests.RequestException as error:
            raise _transport_error(error, idempotent=idempotent) from None
        logger.debug(
            "EngageLab %s /%s -> %s in %.0f ms",
            method,
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return _parse(response)


def _template(template_id: str, language: str | None, params: Mapping[str, str] | None) -> dict[str, Any]:
    template: dict[str, Any] = {"id": template_id}
    if language:
        template["language"] = language
    if params:
        template["params"] = dict(params)
    return template


def _segment(value: str) -> str:
    if not value:
        raise InvalidInputError("A template id is required.", field="template_id")
    return quote(value, safe="")


def _expect_dict(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ServerError("answer is not a JSON object", http_status=200)
    return data


def _parse(response: requests.Response) -> Any:
    status = response.status_code
    try:
        data = json.loads(response.content) if response.content else None
    except ValueError:
        data = None
    if 200 <= status < 300:
        if data is None:
            # 200 means the platform acted; its answer was lost on the way.
            raise ServerError(f"HTTP {status} with a body that is not JSON", http_status=status, outcome_unknown=True)
        return data
    if isinstance(data, dict) and isinstance(data.get("code"), int) and not isinstance(data.get("code"), bool):
        raise error_for(data["code"], str(data.get("message") or ""), http_status=status)
    # A proxy or an outage answered (HTML 502, empty 503): not the platform's error shape.
    if status >= 500:
        # 503 means nothing behind the proxy took the request; 500/502/504 may
        # come after the platform acted on it.
        raise ServerError(
            f"HTTP {status} without a platform error body", http_status=status, outcome_unknown=status != 503
        )
    raise RequestError(f"HTTP {status} without a platform error body", http_status=status, operator=True)


def _transport_error(error: requests.RequestException, *, idempotent: bool) -> TransportError:
    """Map a requests failure; say whether the request may have been delivered."""
    if isinstance(error, requests.ConnectTimeout) or _never_connected(error):
        return TransportError(f"could not connect to the EngageLab API ({type(error).__name__})", retryable=True)
    if isinstance(error, requests.Timeout):
        message = "no answer from the EngageLab API within the read timeout"
    else:
        message = f"the connection to the EngageLab API failed mid-request ({type(error).__name__})"
    # The request left this machine: the platform may have acted on it.
    return TransportError(message, retryable=idempotent, outcome_unknown=not idempotent)


def _never_connected(error: requests.RequestException) -> bool:
    reason = error.args[0] if error.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))
