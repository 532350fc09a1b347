"""The error table: every platform code, and every failure that has none.

This is the only place that decides, for a failure, its exception class,
whether it is worth retrying, which form field it belongs to, whether an
operator must act, and what an end user reads. The client, the forms, the
simulator and the README all read it; ``python -m django_engagelab_otp.errors``
prints it as Markdown.

``retryable`` means: the same call may be made again without risk of sending a
second message, and may then succeed. The client itself repeats, with bounded
exponential backoff and jitter, the platform codes marked retryable (1000,
5016) and failures to connect; everything else is left to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.utils.translation import gettext_lazy as _

from .exceptions import (
    UNAVAILABLE,
    AuthenticationError,
    ConfigurationError,
    DeliveryError,
    EngageLabError,
    RateLimitError,
    RecipientError,
    RequestError,
    ServerError,
    TemplateError,
    ThrottledError,
    TransportError,
    VerificationLockedError,
    WrongCodeError,
)


@dataclass(frozen=True)
class ErrorCode:
    """One row of the table: how a failure is classed and shown."""

    code: int | None  # the platform's code; None for failures that carry none
    http_status: int | None  # the status the platform answers with this code
    exc_class: type[EngageLabError]
    retryable: bool
    field: str | None  # the form field the error concerns: "to", "code" or None
    user_message: Any  # what an end user reads (translatable)
    description: str  # what happened, for developers, operators and the docs
    operator: bool  # an operator must act; end users read the generic text
    outcome_unknown: bool = False  # the request may have been acted on anyway
    name: str = ""  # the key of a failure without a code (see FAILURES)

    def exception(
        self, message: str = "", *, http_status: int | None = None, idempotent: bool = False, **kwargs: Any
    ) -> EngageLabError:
        """The exception for this row; ``kwargs`` (``code``, ``log`` …) override the row.

        ``idempotent`` calls (reading templates) change nothing on the
        platform: their outcome is never unknown and they may always be repeated.
        """
        values: dict[str, Any] = {
            "code": self.code,
            "http_status": http_status if http_status is not None else self.http_status,
            "retryable": self.retryable or (idempotent and self.outcome_unknown),
            "field": self.field,
            "user_message": self.user_message,
            "operator": self.operator,
            "outcome_unknown": self.outcome_unknown and not idempotent,
        }
        values.update(kwargs)
        return self.exc_class(message or self.description, **values)


# The rows below are written in the order a reader scans them; these two
# helpers name each column.
def _E(
    code: int,
    http: int,
    cls: type[EngageLabError],
    retry: bool,
    field: str | None,
    operator: bool,
    user: Any,
    text: str,
) -> ErrorCode:
    return ErrorCode(code, http, cls, retry, field, user_message=user, description=text, operator=operator)


def _F(
    name: str, cls: type[EngageLabError], retry: bool, operator: bool, unknown: bool, user: Any, text: str
) -> ErrorCode:
    # A failure without a platform code; its HTTP status, if any, comes with each occurrence.
    return ErrorCode(None, None, cls, retry, None, user, text, operator, outcome_unknown=unknown, name=name)


# End-user texts. Problems an operator must fix all read UNAVAILABLE: a person
# cannot repair a credential or a template, and must not learn about them.
TROUBLE = ServerError.default_user_message
UNREACHABLE = TransportError.default_user_message
MAYBE_SENT = _("We could not confirm that the message was sent. If it has not arrived in a minute, please try again.")
TRY_AGAIN = _("The message could not be sent. Please try again in a moment.")
CODE_USED = _("This code has expired or was already used. Please request a new one.")
TOO_SOON = _("A code was sent to this recipient a moment ago. Please wait before asking for another.")
BAD_NUMBER = _("Enter a valid phone number.")
NO_ROUTE = _("This recipient cannot be reached.")
NOT_SENT = _("The message could not be sent to this recipient.")
REJECTED = _("The message was rejected by the carrier.")
BLOCKED = _("The message was blocked by the carrier.")
REGION = _("Messages cannot be sent to numbers in this region.")
HANDSET = _("This phone seems to be switched off or suspended.")
UNSUBSCRIBED = _("This recipient has unsubscribed from our messages.")
NOT_REGISTERED = _("This number is not registered or not valid.")
TOO_MANY = _("Too many attempts. Please try again later.")
WRONG_CODE = _("This code is not right. Check it and try again.")
LOCKED = _("Too many wrong codes were entered for this message. Please request a new code.")

_Auth, _Request, _Rate, _Template = AuthenticationError, RequestError, RateLimitError, TemplateError
_Recipient, _Delivery, _Server = RecipientError, DeliveryError, ServerError

# fmt: off
_PLATFORM_CODES = [
    # code  HTTP class       retry  field operator user message    description (the platform's meaning)
    _E(1000, 500, _Server,    True,  None, False, TROUBLE,        "internal error"),
    _E(2001, 401, _Auth,      False, None, True,  UNAVAILABLE,    "wrong or missing credentials"),
    _E(2002, 401, _Auth,      False, None, True,  UNAVAILABLE,    "key expired or disabled"),
    _E(2004, 403, _Auth,      False, None, True,  UNAVAILABLE,    "no permission to call this API"),
    _E(3001, 400, _Request,   False, None, True,  UNAVAILABLE,    "body is not valid JSON or has the wrong format"),
    _E(3002, 400, _Request,   False, None, True,  UNAVAILABLE,    "wrong request parameters"),
    _E(3003, 400, _Request,   False, None, False, CODE_USED,      "business validation failed (code expired or used)"),
    _E(3004, 400, _Rate,      False, None, False, TOO_SOON,       "frequency limit for this template and recipient"),
    _E(4001, 400, _Template,  False, None, True,  UNAVAILABLE,    "resource does not exist (e.g. unknown template)"),
    _E(5001, 400, _Delivery,  False, None, False, TRY_AGAIN,      "sending failed"),
    _E(5011, 400, _Recipient, False, "to", False, BAD_NUMBER,     "invalid phone number format"),
    _E(5012, 400, _Recipient, False, "to", False, NO_ROUTE,       "target unreachable"),
    _E(5013, 400, _Recipient, False, "to", False, NOT_SENT,       "number is on the block list"),
    _E(5014, 400, _Delivery,  False, None, False, REJECTED,       "content violates rules"),
    _E(5015, 400, _Delivery,  False, None, False, BLOCKED,        "message blocked or rejected"),
    _E(5016, 400, _Delivery,  True,  None, False, TRY_AGAIN,      "internal sending problem"),
    _E(5017, 400, _Recipient, False, "to", False, REGION,         "no permission to send to mainland China"),
    _E(5018, 400, _Recipient, False, "to", False, HANDSET,        "handset problem (off or suspended)"),
    _E(5019, 400, _Recipient, False, "to", False, UNSUBSCRIBED,   "user unsubscribed"),
    _E(5020, 400, _Recipient, False, "to", False, NOT_REGISTERED, "number not registered or invalid"),
]

_Transport, _Config, _Throttled, _Locked = TransportError, ConfigurationError, ThrottledError, VerificationLockedError
_Wrong = WrongCodeError
_FAILURES = [
    # Failures that carry no platform code. "unknown": the platform may have acted anyway.
    # name              class       retry  operator unknown user message description
    _F("unreachable",   _Transport, True,  False, False, UNREACHABLE, "could not connect (refused, DNS, timeout)"),
    _F("tls",           _Transport, False, True,  False, UNREACHABLE, "TLS handshake or certificate failure"),
    _F("timeout",       _Transport, False, False, True,  MAYBE_SENT,  "no answer within the read timeout"),
    _F("disconnected",  _Transport, False, False, True,  MAYBE_SENT,  "connection lost after the request was sent"),
    _F("outage",        _Server,    True,  False, False, TROUBLE,     "HTTP 503 without a platform body"),
    _F("proxy_error",   _Server,    False, False, True,  TROUBLE,     "other HTTP 5xx without a platform body"),
    _F("http_error",    _Request,   False, True,  False, UNAVAILABLE, "HTTP 3xx/4xx without a platform body"),
    _F("unknown_5xx",   _Server,    False, False, False, TROUBLE,     "error code not in this table, HTTP 5xx"),
    _F("unknown_4xx",   _Request,   False, True,  False, UNAVAILABLE, "error code not in this table, HTTP 4xx"),
    _F("malformed",     _Server,    False, False, True,  MAYBE_SENT,  "HTTP 2xx whose body is not the documented JSON"),
    _F("configuration", _Config,    False, True,  False, UNAVAILABLE, "settings missing or wrong (before any request)"),
    # Refusals of this site's own limits (limits.py), before any request and any history row.
    _F("throttled",     _Throttled, True,  False, False, TOO_MANY,    "cooldown, daily cap, IP or user rate hit"),
    _F("wrong_code",    _Wrong,     False, False, False, WRONG_CODE,  "the platform says the code is wrong"),
    _F("verify_locked", _Locked,    False, False, False, LOCKED,      "MAX_VERIFY_ATTEMPTS wrong codes given"),
    _F("limits_cache",  _Config,    True,  True,  False, UNAVAILABLE, "the cache of the limits failed"),
]
# fmt: on

#: Every documented platform code.
ERROR_CODES: dict[int, ErrorCode] = {row.code: row for row in _PLATFORM_CODES if row.code is not None}

#: Failures without a platform code, by name.
FAILURES: dict[str, ErrorCode] = {row.name: row for row in _FAILURES}

#: Codes the client repeats by itself.
RETRYABLE_CODES = frozenset(code for code, row in ERROR_CODES.items() if row.retryable)


def error_for(code: int | None, message: str = "", *, http_status: int | None = None, **kwargs: Any) -> EngageLabError:
    """Build the exception for a platform error answer.

    A code outside the table (the platform may add some) is classed by its
    HTTP status, never retried, and shown to users as the generic message.
    """
    row = ERROR_CODES.get(code) if isinstance(code, int) else None
    if row is None:
        row = replace(FAILURES["unknown_5xx" if (http_status or 500) >= 500 else "unknown_4xx"], code=code)
    return row.exception(message, http_status=http_status, **kwargs)


def failure(name: str, message: str = "", **kwargs: Any) -> EngageLabError:
    """Build the exception for a failure without a platform code (a key of ``FAILURES``)."""
    return FAILURES[name].exception(message, **kwargs)


# ------------------------------------------------------------------ Markdown


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|")


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def markdown_table() -> str:
    """The table in Markdown, for the README (two tables: codes, then failures without a code)."""
    lines = [
        "| code | HTTP | exception | retried | form field | operator | an end user reads | meaning |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in ERROR_CODES.values():
        cells = [
            row.code,
            row.http_status,
            f"`{row.exc_class.__name__}`",
            _yes(row.retryable),
            f"`{row.field}`" if row.field else "—",
            _yes(row.operator),
            row.user_message,
            row.description,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += [
        "",
        "| failure | exception | retryable | outcome unknown | operator | an end user reads | what happened |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in FAILURES.values():
        cells = [
            f"`{row.name}`",
            f"`{row.exc_class.__name__}`",
            _yes(row.retryable),
            _yes(row.outcome_unknown),
            _yes(row.operator),
            row.user_message,
            row.description,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from django.conf import settings

    if not settings.configured:  # pragma: no cover (the tests run this in a subprocess)
        # Run on its own: untranslated English is enough.
        settings.configure(USE_I18N=False)
    print(markdown_table(), end="")


if __name__ == "__main__":  # pragma: no cover (run in a subprocess by the tests)
    main()
