"""The error table: every platform code, and every failure that has none.

This is the only place that decides, for a failure, its exception class,
whether it is worth retrying, which form field it belongs to, whether an
operator must act, and what an end user reads. The client, the forms, the
simulator and the README all read it; ``python -m django_engagelab_otp.errors``
prints it as Markdown.

``retryable`` means: the same call may be made again without risk of sending a
second message, and may then succeed. The HTTP backend itself repeats every
retryable failure (codes 1000 and 5016, failures to connect, a 503 without a
body), with bounded exponential backoff and jitter, up to ``MAX_RETRIES``;
everything else is left to the caller.
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
def coded(
    code: int,
    http: int,
    cls: type[EngageLabError],
    retry: bool,
    field: str | None,
    operator: bool,
    user: Any,
    text: str,
) -> ErrorCode:
    """A row for a code the platform answers with."""
    return ErrorCode(code, http, cls, retry, field, user_message=user, description=text, operator=operator)


def uncoded(
    name: str, cls: type[EngageLabError], retry: bool, operator: bool, unknown: bool, user: Any, text: str
) -> ErrorCode:
    """A row for a failure without a platform code; its HTTP status, if any, comes with each occurrence."""
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


# fmt: off
_PLATFORM_CODES = [
    #     code  HTTP exception            retry  field operator user message    description (the platform's meaning)
    coded(1000, 500, ServerError,         True,  None, False, TROUBLE,        "internal error"),
    coded(2001, 401, AuthenticationError, False, None, True,  UNAVAILABLE,    "wrong or missing credentials"),
    coded(2002, 401, AuthenticationError, False, None, True,  UNAVAILABLE,    "key expired or disabled"),
    coded(2004, 403, AuthenticationError, False, None, True,  UNAVAILABLE,    "no permission to call this API"),
    coded(3001, 400, RequestError,        False, None, True,  UNAVAILABLE,    "body is not valid JSON or has the wrong format"),
    coded(3002, 400, RequestError,        False, None, True,  UNAVAILABLE,    "wrong request parameters"),
    coded(3003, 400, RequestError,        False, None, False, CODE_USED,      "business validation failed (code expired or used)"),
    coded(3004, 400, RateLimitError,      False, None, False, TOO_SOON,       "frequency limit for this template and recipient"),
    coded(4001, 400, TemplateError,       False, None, True,  UNAVAILABLE,    "resource does not exist (e.g. unknown template)"),
    coded(5001, 400, DeliveryError,       False, None, False, TRY_AGAIN,      "sending failed"),
    coded(5011, 400, RecipientError,      False, "to", False, BAD_NUMBER,     "invalid phone number format"),
    coded(5012, 400, RecipientError,      False, "to", False, NO_ROUTE,       "target unreachable"),
    coded(5013, 400, RecipientError,      False, "to", False, NOT_SENT,       "number is on the block list"),
    coded(5014, 400, DeliveryError,       False, None, False, REJECTED,       "content violates rules"),
    coded(5015, 400, DeliveryError,       False, None, False, BLOCKED,        "message blocked or rejected"),
    coded(5016, 400, DeliveryError,       True,  None, False, TRY_AGAIN,      "internal sending problem"),
    coded(5017, 400, RecipientError,      False, "to", False, REGION,         "no permission to send to mainland China"),
    coded(5018, 400, RecipientError,      False, "to", False, HANDSET,        "handset problem (off or suspended)"),
    coded(5019, 400, RecipientError,      False, "to", False, UNSUBSCRIBED,   "user unsubscribed"),
    coded(5020, 400, RecipientError,      False, "to", False, NOT_REGISTERED, "number not registered or invalid"),
]

_FAILURES = [
    # Failures that carry no platform code. "unknown": the platform may have acted anyway.
    #       name             exception               retry  operator unknown user message description
    uncoded("unreachable",   TransportError,          True,  False, False, UNREACHABLE, "could not connect (refused, DNS, timeout)"),
    uncoded("tls",           TransportError,          False, True,  False, UNREACHABLE, "TLS handshake or certificate failure"),
    uncoded("timeout",       TransportError,          False, False, True,  MAYBE_SENT,  "no answer within the read timeout"),
    uncoded("disconnected",  TransportError,          False, False, True,  MAYBE_SENT,  "connection lost after the request was sent"),
    uncoded("outage",        ServerError,             True,  False, False, TROUBLE,     "HTTP 503 without a platform body"),
    uncoded("proxy_error",   ServerError,             False, False, True,  TROUBLE,     "other HTTP 5xx without a platform body"),
    uncoded("http_error",    RequestError,            False, True,  False, UNAVAILABLE, "HTTP 3xx/4xx without a platform body"),
    uncoded("unknown_5xx",   ServerError,             False, False, False, TROUBLE,     "error code not in this table, HTTP 5xx"),
    uncoded("unknown_4xx",   RequestError,            False, True,  False, UNAVAILABLE, "error code not in this table, HTTP 4xx"),
    uncoded("malformed",     ServerError,             False, False, True,  MAYBE_SENT,  "HTTP 2xx whose body is not the documented JSON"),
    uncoded("configuration", ConfigurationError,      False, True,  False, UNAVAILABLE, "settings missing or wrong (before any request)"),
    # Refusals of this site's own limits (limits.py), before any request and any history row.
    uncoded("throttled",     ThrottledError,          True,  False, False, TOO_MANY,    "cooldown, daily cap, IP or user rate hit"),
    uncoded("wrong_code",    WrongCodeError,          False, False, False, WRONG_CODE,  "the platform says the code is wrong"),
    uncoded("verify_locked", VerificationLockedError, False, False, False, LOCKED,      "MAX_VERIFY_ATTEMPTS wrong codes given"),
    uncoded("limits_cache",  ConfigurationError,      True,  True,  False, UNAVAILABLE, "the cache of the limits failed"),
]
# fmt: on

#: Every documented platform code.
ERROR_CODES: dict[int, ErrorCode] = {row.code: row for row in _PLATFORM_CODES if row.code is not None}

#: Failures without a platform code, by name.
FAILURES: dict[str, ErrorCode] = {row.name: row for row in _FAILURES}


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
