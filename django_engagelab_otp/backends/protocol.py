"""The API's wire format, whatever library carries the bytes: requests built, answers read, failures named.

The sync backend (:mod:`.http`, on requests) and the async one
(:mod:`.http_async`, on httpx) share everything here: each endpoint is a
:class:`Call` (method, path, JSON body, the secrets it carries, how its answer
becomes a result), every answer is read by :func:`read_answer` into that
result or an ``EngageLabError`` of the error table, and every failure of the
connection is named by :func:`transport_failure` once the library's
exception is classed. The two backends differ only in how the bytes go out
and come back.

No ORM, no Django settings. The builders' frames hold a request's recipient
and code: they are marked ``sensitive_variables()``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote

from django.views.decorators.debug import sensitive_variables

from .. import __version__, strict_json
from ..errors import error_for, failure
from ..exceptions import EngageLabError, InvalidInputError
from ..privacy import SENSITIVE_PARAMS, scrub
from ..sealed import SealedTuple
from ..strict_json import whole_number
from .base import SendResult, VerifyResult

logger = logging.getLogger("django_engagelab_otp.backends.http")

USER_AGENT = f"django-engagelab-otp/{__version__}"
#: How much of the platform's error text is kept.
MAX_ERROR_TEXT = 500

Timeout = float | tuple[float, float]

#: A message id as the platform writes them, and as the history's column (64 characters) holds them.
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _as_is(data: Any) -> Any:
    return data


@dataclass(frozen=True)
class Call:
    """One request to the API, and how its answer becomes a result.

    ``secrets`` are what the request carries in secret (a code, secret
    parameters): scrubbed from the platform's text should it echo them.
    ``idempotent`` calls (reading templates) change nothing on the platform:
    any of their failures may be repeated, and their outcome is never unknown.
    """

    method: str
    path: str
    body: bytes | None = field(default=None, repr=False)
    secrets: SealedTuple = field(default=SealedTuple(), repr=False)
    idempotent: bool = False
    result: Callable[[Any], Any] = field(default=_as_is, repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json"} if self.body is not None else {}

    def read(self, status: int, content: bytes, location: str | None, hidden: Sequence[str], started: float) -> Any:
        """An answer (HTTP status, body, ``Location`` header) to this call: its JSON, or ``EngageLabError``.

        ``hidden``: the backend's own secrets, scrubbed with the call's;
        ``started``: when the request left (``time.monotonic()``), for the log.
        What the JSON means (:attr:`result`) is read once the retries are over.
        """
        elapsed = (time.monotonic() - started) * 1000
        logger.debug("EngageLab %s /%s -> %s in %.0f ms", self.method, self.path, status, elapsed)
        return read_answer(
            status, content, location, idempotent=self.idempotent, hidden=SealedTuple((*hidden, *self.secrets))
        )


# ---------------------------------------------------------------------- the endpoints


@sensitive_variables()
def send_message(to: str, template_id: str, language: str | None, params: Mapping[str, str] | None) -> Call:
    """POST /v1/messages: the platform generates the code."""
    return _send("messages", {"to": to, "template": _template(template_id, language, params)}, _secret_params(params))


@sensitive_variables()
def send_custom_message(to: str | Sequence[str], template_id: str, params: Mapping[str, str] | None) -> Call:
    """POST /v1/custom-messages: custom template content, one or several recipients."""
    body = {"to": to if isinstance(to, str) else list(to), "template": _template(template_id, None, params)}
    return _send("custom-messages", body, _secret_params(params))


@sensitive_variables()
def send_code(to: str, code: str, template_id: str, language: str | None, params: Mapping[str, str] | None) -> Call:
    """POST /v1/codes: deliver a code the caller generated."""
    body = {"to": to, "code": code, "template": _template(template_id, language, params)}
    return _send("codes", body, [code, *_secret_params(params)])


@sensitive_variables()
def verify(message_id: str, code: str) -> Call:
    """POST /v1/verifications: check a code typed by the user."""
    body = {"message_id": message_id, "verify_code": code}
    return Call("POST", "verifications", _json_body(body), SealedTuple((code,)), result=partial(_verdict, message_id))


def list_templates() -> Call:
    """GET /v1/template-configs."""
    return Call("GET", "template-configs", idempotent=True, result=_template_list)


def get_template(template_id: str) -> Call:
    """GET /v1/template-configs/{id}."""
    path = f"template-configs/{_segment(template_id)}"
    return Call("GET", path, idempotent=True, result=partial(_expect_dict, idempotent=True))


def create_template(template: Mapping[str, Any]) -> Call:
    """POST /v1/template-configs."""
    return Call("POST", "template-configs", _json_body(dict(template)), result=_expect_dict)


def delete_template(template_id: str) -> Call:
    """DELETE /v1/template-configs/{id}."""
    return Call("DELETE", f"template-configs/{_segment(template_id)}", result=_expect_dict)


def _send(path: str, body: dict[str, Any], secrets: Iterable[str]) -> Call:
    return Call("POST", path, _json_body(body), SealedTuple(secrets), result=_sent)


def _json_body(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


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


# ---------------------------------------------------------------------- results


def _sent(data: Any) -> SendResult:
    message_id = _message_id(data)
    if message_id is None:
        # The platform said 200, so the message was probably sent: we just cannot tell its id.
        raise failure("malformed", "send answer without message_id, or with one that is no id", http_status=200)
    channel = data.get("send_channel")
    return SendResult(message_id=message_id, send_channel=channel if isinstance(channel, str) else "", raw=data)


def _verdict(message_id: str, data: Any) -> VerifyResult:
    verified = data.get("verified") if isinstance(data, dict) else None
    if not isinstance(verified, bool):
        raise failure("malformed", "verification answer without a boolean 'verified'", http_status=200)
    return VerifyResult(message_id=_message_id(data) or message_id, verified=verified)


def _template_list(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):  # tolerate a wrapped list
        data = data.get("data") or data.get("rows") or []
    if not isinstance(data, list):
        raise failure("malformed", "template list answer is not a list", http_status=200, idempotent=True)
    return data


def _expect_dict(data: Any, *, idempotent: bool = False) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise failure("malformed", "answer is not a JSON object", http_status=200, idempotent=idempotent)
    return data


def _message_id(data: Any) -> str | None:
    """The answer's ``message_id`` when it is one (text or a number; what the history's column holds), or None."""
    value = data.get("message_id") if isinstance(data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and _MESSAGE_ID.fullmatch(value) else None


# ---------------------------------------------------------------------- answers


def read_answer(status: int, content: bytes, location: str | None, *, idempotent: bool, hidden: Sequence[str]) -> Any:
    """An answer's JSON when it is a success; the error table's ``EngageLabError`` when it is not."""
    data = _json(content)
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
    where = f" (redirected to {location or '?'})" if 300 <= status < 400 else ""
    message = f"HTTP {status} without a platform error body{where}; check API_URL"
    raise failure("http_error", message, http_status=status)


def _json(content: bytes) -> Any:
    """The answer's JSON, or None when it has none (nested too deep for the stack included)."""
    try:
        return strict_json.loads(content) if content else None
    except ValueError:
        return None


def _error_code(data: Any) -> int | float | None:
    """The ``code`` of an error body when it is a number (some proxies send digits as text), or None.

    The error table turns a number no code can be (negative, beyond 32 bits,
    fractional) into no code; text that is no number means the body is not
    the platform's.
    """
    code = data.get("code") if isinstance(data, dict) else None
    return code if isinstance(code, float) else whole_number(code)


def _platform_text(data: dict[str, Any], hidden: Sequence[str]) -> str:
    """The platform's error message, on one line, without anything we sent it in secret."""
    message = data.get("message")
    # Only text or a number: str() of an answer's nested lists could exhaust the stack.
    text = " ".join(str(message).split()) if isinstance(message, (str, int, float)) else ""
    return scrub(text, hidden)[:MAX_ERROR_TEXT]


# ---------------------------------------------------------------------- the connection's failures

#: What each HTTP library's failures are classed as (:mod:`.http` and :mod:`.http_async` map theirs onto these).
CONFIGURATION, TLS, UNREACHABLE = "configuration", "tls", "unreachable"
TIMEOUT, DISCONNECTED = "timeout", "disconnected"


def transport_failure(kind: str, reason: str, api_url: str, *, idempotent: bool) -> EngageLabError:
    """The error for a failure of the connection: ``kind`` as the library's mapping classed it, ``reason`` its name.

    Only ``unreachable`` (no connection was made) and ``tls`` are sure that
    nothing was sent; after a ``timeout`` or a ``disconnected`` request the
    platform may have acted on it.
    """
    if kind == CONFIGURATION:
        return failure("configuration", f"API_URL cannot be used: {api_url!r} ({reason})")
    if kind == TLS:
        return failure("tls", f"TLS failure with the EngageLab API at {api_url} ({reason})")
    if kind == UNREACHABLE:
        return failure("unreachable", f"could not connect to the EngageLab API at {api_url} ({reason})")
    if kind == TIMEOUT:
        return failure("timeout", "no answer from the EngageLab API within the read timeout", idempotent=idempotent)
    return failure(
        "disconnected", f"the connection to the EngageLab API broke mid-request ({reason})", idempotent=idempotent
    )
