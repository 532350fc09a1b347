"""The simulated platform: its state and rules, with no sockets.

``Platform.dispatch`` takes a request as bytes (method, path, Authorization
header, body) and returns an :class:`Answer`: the status and body the
platform answers, plus the delay and the connection fault the HTTP server
must act out. The HTTP server and the in-memory backend both go through it,
so every rule exists once.

Rules, in the order they are checked for a send: route (404 / 405) →
credentials (2001) → JSON (3001) → the global error rate (1000 or 5016) →
fields (3002) → template (4001; 3003 when it does not suit the endpoint) →
recipient format (5011) → magic recipient (see magic.py) → frequency limit
(3004) → accepted.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote

from .. import strict_json
from ..errors import ERROR_CODES
from ..privacy import mask_recipient
from . import magic, templates
from .magic import Fault

#: The arrival time of the request this thread is answering (:meth:`Platform.dispatch`).
_received = threading.local()

logger = logging.getLogger("django_engagelab_otp.simulator")

LANGUAGES = ("default", "zh_CN", "zh_HK", "en", "ja", "th", "es")
MAX_RECIPIENTS = 1000
JSON_TYPE = "application/json; charset=utf-8"
HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)

_PHONE = re.compile(r"^\+[1-9][0-9]{5,14}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CODE = re.compile(r"^[A-Za-z0-9]{4,10}$")

#: Listener signature: (event, message) with event "accepted", "verified" or "verify_failed".
Listener = Callable[[str, "Message"], None]


class PlatformError(Exception):
    """An error answer: ``{"code": code, "message": text}`` with the code's HTTP status."""

    def __init__(self, code: int, message: str = "", *, http_status: int | None = None) -> None:
        row = ERROR_CODES[code]
        self.code = code
        self.text = message or row.description
        self.http_status = http_status or row.http_status
        super().__init__(f"[{code}] {self.text}")


@dataclass
class Message:
    """A message the platform accepted. It is a simulator: the code is kept in clear."""

    message_id: str
    endpoint: str  # "messages", "custom-messages" or "codes"
    to: str  # the first recipient
    recipients: list[str]
    template_id: str
    language: str
    params: dict[str, str]
    code: str | None
    channels: dict[str, str]  # recipient -> channel first used
    content: str
    created_at: float
    expires_at: float | None
    magic: str | None = None
    verified: bool = False
    verify_attempts: int = 0

    @property
    def channel(self) -> str:
        """The channel answered to the sender (``send_channel``)."""
        return self.channels[self.to]

    @property
    def verifiable(self) -> bool:
        """Only platform-generated codes can be checked with /v1/verifications."""
        return self.endpoint == "messages"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["channel"] = self.channel
        return data


@dataclass
class Answer:
    """What the platform answers to one request, and how the wire should behave."""

    status: int
    body: bytes
    content_type: str | None = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds from the request's arrival to its answer (global latency, the slow recipient).
    delay: float = 0.0
    #: A connection-level fault for the server to act out (see magic.CONNECTION_FAULTS, DRIP).
    fault: Fault | None = None
    #: The message this request made the platform send, if any.
    message: Message | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def encode(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def error_body(code: int, text: str) -> bytes:
    return encode({"code": code, "message": text})


def recipient_key(value: str) -> str:
    """The form used to look recipients up: e-mails lower-cased, phones as +digits."""
    value = value.strip()
    if "@" in value:
        return value.lower()
    return "+" + "".join(ch for ch in value if ch.isdigit())


class Platform:
    """In-memory EngageLab: templates, messages, codes, verification, counters.

    ``dev_key=None`` turns the credential check off (the in-memory backend).
    ``auto_templates=True`` creates unknown template ids on first use instead
    of answering 4001 (the in-memory backend, so that a project's own template
    ids work unchanged). Thread-safe.
    """

    def __init__(
        self,
        dev_key: str | None = "demo-key",
        dev_secret: str | None = "demo-secret",  # noqa: S107 - the simulator's public demo credentials
        *,
        latency_ms: float = 0,
        error_rate: float = 0.0,
        code_ttl: float | None = 300,
        seed_templates: bool = True,
        seed: int | None = None,
        auto_templates: bool = False,
        announce_codes: bool = True,
        max_messages: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = None if dev_key is None else f"{dev_key}:{dev_secret or ''}"
        self.dev_key = dev_key
        self.latency_ms = 0.0
        self.error_rate = 0.0
        self.configure(latency_ms=latency_ms, error_rate=error_rate)
        #: Seconds a code lives; ``None`` uses each template's verify_code_ttl minutes.
        self.code_ttl = code_ttl
        #: How long the fault-slow recipient waits before answering.
        self.slow_ms = 3000.0
        #: How long fault-hang and fault-stall keep a connection before closing it.
        self.hang_seconds = 30.0
        #: Pause between two bytes of a fault-drip answer.
        self.drip_seconds = 0.25
        self.seed_templates = seed_templates
        self.auto_templates = auto_templates
        self.announce_codes = announce_codes
        self.random = random.Random(seed)
        self.listeners: list[Listener] = []
        self._clock = clock
        self._lock = threading.RLock()
        self._sequence = 0
        self._max_messages = max_messages
        self.reset()

    def __repr__(self) -> str:
        return f"<Platform messages={len(self.messages)} requests={self.request_count}>"

    def now(self) -> float:
        """The platform's clock (``time.time`` unless a test gives another)."""
        return self._clock()

    # ------------------------------------------------------------------ state

    def reset(self) -> None:
        """Forget every message and counter; templates go back to the seeded set."""
        with self._lock:
            now = int(self._clock())
            self.templates: dict[str, dict[str, Any]] = templates.seeded(now) if self.seed_templates else {}
            #: Accepted messages, oldest first (the oldest are dropped beyond max_messages).
            self.messages: list[Message] = []
            self._by_id: dict[str, Message] = {}
            self._live: dict[tuple[str, str], Message] = {}
            self.request_count = 0
            self.path_counts: Counter[str] = Counter()

    def configure(self, *, latency_ms: Any = None, error_rate: Any = None) -> dict[str, float]:
        """Change the global fault knobs; raises ``ValueError`` for values out of range."""
        if latency_ms is not None:
            self.latency_ms = _bounded(latency_ms, 600_000, "latency_ms must be a number of milliseconds, 0 to 600000")
        if error_rate is not None:
            self.error_rate = _bounded(error_rate, 1, "error_rate must be a number from 0 to 1")
        return {"latency_ms": self.latency_ms, "error_rate": self.error_rate}

    def ensure_template(self, template_id: str, *, like: str = "demo-otp") -> None:
        """Make ``template_id`` exist, as a copy of ``like`` (or a fresh verification template)."""
        with self._lock:
            if template_id in self.templates:
                return
            base = self.templates.get(like)
            if base is None:
                self.templates[template_id] = templates.like(template_id, "verification", int(self._clock()))
            else:
                self.templates[template_id] = {**templates.stored(base, int(self._clock())), "template_id": template_id}

    def recent(self, count: int = 100) -> list[Message]:
        """The newest ``count`` messages, newest first."""
        with self._lock:
            return self.messages[-count:][::-1]

    def message(self, message_id: str) -> Message | None:
        return self._by_id.get(message_id)

    def last_message(self, to: str) -> Message | None:
        """The newest message sent to ``to`` (alone or among others)."""
        key = recipient_key(to)
        with self._lock:
            return next((m for m in reversed(self.messages) if key in m.recipients), None)

    def last_code(self, to: str) -> str | None:
        """The code of the newest message to ``to`` that carried one."""
        key = recipient_key(to)
        with self._lock:
            found = next((m for m in reversed(self.messages) if key in m.recipients and m.code), None)
        return found.code if found else None

    # ------------------------------------------------------------------ requests

    def dispatch(
        self, method: str, path: str, authorization: str | None, body: bytes | None, *, received_at: float | None = None
    ) -> Answer:
        """Answer one request to the API (paths start with ``/v1/``).

        ``received_at``: when the request arrived (the server notes it as its
        first line comes in), the moment a message is stamped with, and a rate
        counted by: on a busy machine, reading and parsing it can take
        milliseconds more.
        """
        _received.value = received_at
        path = path.split("?", 1)[0]
        route, argument, allowed = _route(method, path)
        with self._lock:
            self.request_count += 1
            self.path_counts[route or "unknown"] += 1
        delay = self.latency_ms / 1000
        try:
            if route is None:
                raise PlatformError(4001, f"no such endpoint: {path[:100]}", http_status=404)
            if allowed:
                error = PlatformError(3002, f"method {method[:10]} is not allowed on {route}", http_status=405)
                return self._error(error, delay, headers={"Allow": ", ".join(allowed)})
            self._check_credentials(authorization)
            data = _parse(body) if method == "POST" else None
            self._random_error(route)
            handler = getattr(self, _HANDLERS[f"{method} {route}"])
            return handler(data, argument, delay) if argument is not None else handler(data, delay)
        except PlatformError as error:
            return self._error(error, delay)

    def _error(self, error: PlatformError, delay: float, headers: dict[str, str] | None = None) -> Answer:
        return Answer(error.http_status, error_body(error.code, error.text), headers=headers or {}, delay=delay)

    def _ok(self, data: Any, delay: float) -> Answer:
        return Answer(200, encode(data), delay=delay)

    def _check_credentials(self, authorization: str | None) -> None:
        if self._credentials is None:
            return
        scheme, _, token = (authorization or "").partition(" ")
        try:
            given = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            given = ""
        if scheme.lower() != "basic" or not hmac.compare_digest(given.encode(), self._credentials.encode()):
            raise PlatformError(2001, "authentication failed: wrong or missing credentials")

    def _random_error(self, route: str) -> None:
        if self.error_rate and self.random.random() < self.error_rate:
            sending = route in _SEND_ROUTES
            code = self.random.choice((1000, 5016)) if sending else 1000
            raise PlatformError(code, "simulated failure (error rate)")

    # ------------------------------------------------------------------ sends

    def _send_messages(self, data: Any, delay: float) -> Answer:
        return self._send("messages", data, delay)

    def _send_custom(self, data: Any, delay: float) -> Answer:
        return self._send("custom-messages", data, delay)

    def _send_codes(self, data: Any, delay: float) -> Answer:
        return self._send("codes", data, delay)

    def _send(self, endpoint: str, data: Any, delay: float) -> Answer:
        request = _send_request(endpoint, data)
        template = self._template_for(endpoint, request["template_id"])
        recipients = request["recipients"]
        for recipient in recipients:
            if not (_PHONE.match(recipient) or _EMAIL.match(recipient)):
                raise PlatformError(5011, f"invalid recipient format: {recipient[:40]}")
        special = next((m for m in map(magic.lookup, recipients) if m is not None), None)
        if special and special.error_code:
            raise PlatformError(special.error_code, f"{ERROR_CODES[special.error_code].description} (simulated)")
        if special and special.fault is Fault.EMPTY_503:
            return Answer(503, b"", content_type=None, delay=delay)
        message = self._accept(endpoint, request, template, recipients, special)
        return self._answer(message, special.fault if special else None, delay)

    def _template_for(self, endpoint: str, template_id: str) -> dict[str, Any]:
        with self._lock:
            template = self.templates.get(template_id)
            if template is None and self.auto_templates:
                kind = "notification" if endpoint == "custom-messages" else "verification"
                template = self.templates[template_id] = templates.like(template_id, kind, int(self._clock()))
        if template is None:
            raise PlatformError(4001, f"template {template_id[:128]!r} does not exist")
        if endpoint != "custom-messages" and not templates.is_verification(template):
            raise PlatformError(3003, f"template {template_id[:128]!r} is not a verification-code template")
        return template

    def _accept(
        self,
        endpoint: str,
        request: dict[str, Any],
        template: dict[str, Any],
        recipients: list[str],
        special: magic.Magic | None,
    ) -> Message:
        params: dict[str, str] = request["params"]
        code = request.get("code") or params.get("code")
        if endpoint == "custom-messages" and templates.is_verification(template) and not code:
            raise PlatformError(3003, "params.code is required for a verification-code template")
        channels = {}
        for recipient in recipients:
            life = magic.lookup(recipient)
            if life is not None and life.life is magic.Life.WHATSAPP_FALLBACK:
                channels[recipient] = "whatsapp"
                continue
            channel = templates.channel_for(template, recipient)
            if channel is None:
                raise PlatformError(5001, f"the template's strategy has no channel for {mask_recipient(recipient)}")
            channels[recipient] = channel
        now = getattr(_received, "value", None) or self._clock()
        limited = endpoint != "custom-messages"
        with self._lock:
            if limited:
                self._check_frequency(request["template_id"], recipients[0], now)
            if endpoint == "messages":
                code = templates.new_code(template, self.random)
            ttl = self.code_ttl if self.code_ttl is not None else templates.code_ttl_minutes(template) * 60
            values = {**params, "code": code} if code else params
            message = Message(
                message_id=self._new_id(now),
                endpoint=endpoint,
                to=recipients[0],
                recipients=recipients,
                template_id=request["template_id"],
                language=request["language"],
                params=params,
                code=code,
                channels=channels,
                content=templates.render(template, channels[recipients[0]], values),
                created_at=now,
                expires_at=now + ttl if code else None,
                magic=special.name if special else None,
            )
            self._store(message, limited)
        self._announce(message)
        self._notify("accepted", message)
        return message

    def _check_frequency(self, template_id: str, recipient: str, now: float) -> None:
        live = self._live.get((template_id, recipient))
        if live is not None and not live.verified and live.expires_at and live.expires_at > now:
            raise PlatformError(3004, "a code was sent to this recipient with this template within its validity period")

    def _new_id(self, now: float) -> str:
        # Shaped like the platform's ids: a millisecond timestamp and a sequence, 19 digits.
        self._sequence = (self._sequence + 1) % (1 << 22)
        return str((int(now * 1000) << 22) | self._sequence)

    def _store(self, message: Message, limited: bool) -> None:
        self.messages.append(message)
        self._by_id[message.message_id] = message
        if limited:
            self._live[(message.template_id, message.to)] = message
        excess = len(self.messages) - self._max_messages
        if excess > self._max_messages // 10:  # trimmed in chunks: deleting from a list's head is O(n)
            for old in self.messages[:excess]:
                self._by_id.pop(old.message_id, None)
                if self._live.get((old.template_id, old.to)) is old:
                    del self._live[(old.template_id, old.to)]
            del self.messages[:excess]

    def _announce(self, message: Message) -> None:
        if not logger.isEnabledFor(logging.INFO):  # masking a number costs more than the rest of a send
            return
        who = ", ".join(mask_recipient(r) for r in message.recipients[:3])
        if message.code and self.announce_codes:
            logger.info(
                "code %s for %s (message %s, template %s, %s)",
                message.code,
                who,
                message.message_id,
                message.template_id,
                message.channel,
            )
        else:
            logger.info("message %s to %s accepted on %s", message.message_id, who, message.channel)

    def _answer(self, message: Message, fault: Fault | None, delay: float) -> Answer:
        answer = {"message_id": message.message_id, "send_channel": message.channel}
        if fault is Fault.HTML_502:
            return Answer(502, HTML_502, content_type="text/html", delay=delay, message=message)
        if fault is Fault.BROKEN_JSON:
            return Answer(200, encode(answer)[:-12], delay=delay, message=message)
        if fault is Fault.NO_MESSAGE_ID:
            return Answer(200, encode({"send_channel": message.channel}), delay=delay, message=message)
        if fault is Fault.SLOW:
            delay += self.slow_ms / 1000
            fault = None
        return Answer(200, encode(answer), delay=delay, fault=fault, message=message)

    # ------------------------------------------------------------------ verification

    def _verify(self, data: Any, delay: float) -> Answer:
        if not isinstance(data, dict):
            raise PlatformError(3002, "the body must be a JSON object")
        message_id, given = data.get("message_id"), data.get("verify_code")
        if not isinstance(message_id, str) or not message_id.strip():
            raise PlatformError(3002, "message_id is required and must be a text")
        if not isinstance(given, str) or not given.strip():
            raise PlatformError(3002, "verify_code is required and must be a text")
        with self._lock:
            message = self._by_id.get(message_id)
            if message is None:
                raise PlatformError(3003, "no message with this message_id")
            if not message.verifiable or not message.code:
                raise PlatformError(3003, "this message has no platform-generated code to verify")
            if message.verified:
                raise PlatformError(3003, "this code was already verified")
            if message.expires_at is not None and message.expires_at <= self._clock():
                raise PlatformError(3003, "this code has expired")
            message.verify_attempts += 1
            verified = hmac.compare_digest(given.strip().encode(), message.code.encode())
            message.verified = verified
        self._notify("verified" if verified else "verify_failed", message)
        return self._ok({"message_id": message_id, "verify_code": given, "verified": verified}, delay)

    # ------------------------------------------------------------------ templates

    def _list_templates(self, data: Any, delay: float) -> Answer:
        with self._lock:
            return self._ok([templates.summary(t) for t in self.templates.values()], delay)

    def _template_detail(self, data: Any, template_id: str, delay: float) -> Answer:
        with self._lock:
            template = self.templates.get(template_id)
            if template is None:
                raise PlatformError(4001, "template does not exist")
            return self._ok(template, delay)

    def _create_template(self, data: Any, delay: float) -> Answer:
        try:
            body = templates.check(data)
        except templates.TemplateInvalid as error:
            raise PlatformError(3002, str(error)) from None
        with self._lock:
            if body["template_id"] in self.templates:
                raise PlatformError(3003, "a template with this template_id already exists")
            self.templates[body["template_id"]] = templates.stored(body, int(self._clock()))
        return self._ok({"code": 0, "message": "success"}, delay)

    def _delete_template(self, data: Any, template_id: str, delay: float) -> Answer:
        with self._lock:
            if self.templates.pop(template_id, None) is None:
                raise PlatformError(4001, "template does not exist")
        return self._ok({"code": 0, "message": "success"}, delay)

    # ------------------------------------------------------------------ listeners

    def _notify(self, event: str, message: Message) -> None:
        for listener in list(self.listeners):
            try:
                listener(event, message)
            except Exception:  # a listener must not break the platform's answer
                logger.exception("simulator listener failed on %s", event)


# ---------------------------------------------------------------------- routing and parsing

_SEND_ROUTES = {"/v1/messages", "/v1/custom-messages", "/v1/codes"}
#: (method, route) -> name of the Platform method that answers it.
_ENDPOINTS = {
    ("POST", "/v1/messages"): "_send_messages",
    ("POST", "/v1/custom-messages"): "_send_custom",
    ("POST", "/v1/codes"): "_send_codes",
    ("POST", "/v1/verifications"): "_verify",
    ("GET", "/v1/template-configs"): "_list_templates",
    ("POST", "/v1/template-configs"): "_create_template",
    ("GET", "/v1/template-configs/{id}"): "_template_detail",
    ("DELETE", "/v1/template-configs/{id}"): "_delete_template",
}
_HANDLERS = {f"{method} {route}": name for (method, route), name in _ENDPOINTS.items()}
_METHODS: dict[str, list[str]] = {}
for _method, _path in _ENDPOINTS:
    _METHODS.setdefault(_path, []).append(_method)


def _route(method: str, path: str) -> tuple[str | None, str | None, list[str]]:
    """(route, path argument, allowed methods when ``method`` is not one of them)."""
    path = path.rstrip("/") or "/"
    argument = None
    route = path
    prefix = "/v1/template-configs/"
    if path.startswith(prefix) and len(path) > len(prefix):
        argument = unquote(path[len(prefix) :])
        route = prefix + "{id}"
    allowed = _METHODS.get(route)
    if allowed is None:
        return None, None, []
    return route, argument, ([] if method in allowed else sorted(allowed))


def _bounded(value: Any, highest: float, problem: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= highest:
        raise ValueError(problem)
    return float(value)


def _parse(body: bytes | None) -> Any:
    if not body:
        raise PlatformError(3001, "the request body is empty; a JSON object is expected")
    try:
        return strict_json.loads(body)
    except ValueError:
        raise PlatformError(3001, "the request body is not valid JSON") from None


def _text_field(data: dict[str, Any], name: str, label: str | None = None) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PlatformError(3002, f"{label or name} is required and must be a text")
    return value.strip()


def _send_request(endpoint: str, data: Any) -> dict[str, Any]:
    """The fields of a send, checked (3002) and normalized."""
    if not isinstance(data, dict):
        raise PlatformError(3002, "the body must be a JSON object")
    template = data.get("template")
    if not isinstance(template, dict):
        raise PlatformError(3002, "template is required and must be an object")
    template_id = _text_field(template, "id", "template.id")
    language = template.get("language", "default")
    if language is None or language == "":
        language = "default"
    if language not in LANGUAGES:
        raise PlatformError(3002, f"template.language must be one of {', '.join(LANGUAGES)}")
    params = template.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
        raise PlatformError(3002, "template.params must be an object of texts")
    recipients = _recipients(data.get("to"), many=endpoint == "custom-messages")
    request: dict[str, Any] = {
        "template_id": template_id,
        "language": language,
        "params": dict(params),
        "recipients": recipients,
    }
    if endpoint == "codes":
        code = data.get("code")
        if not isinstance(code, str) or not _CODE.match(code):
            raise PlatformError(3002, "code is required: 4 to 10 letters or digits")
        request["code"] = code
    return request


def _recipients(value: Any, *, many: bool) -> list[str]:
    if isinstance(value, str) and value.strip():
        return [normalize_or_keep(value)]
    listed = many and isinstance(value, list) and 0 < len(value) <= MAX_RECIPIENTS
    if listed and all(isinstance(item, str) and item.strip() for item in value):
        return list(dict.fromkeys(normalize_or_keep(item) for item in value))
    kind = "a text or a list of 1 to 1000 texts" if many else "a text"
    raise PlatformError(3002, f"to is required and must be {kind}")


def normalize_or_keep(value: str) -> str:
    """Recipients as stored: trimmed, e-mails lower-cased; phones are kept as sent (format checked later)."""
    value = value.strip()
    return value.lower() if "@" in value else value
