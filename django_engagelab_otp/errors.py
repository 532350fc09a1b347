"""The error table: every platform code, and every failure that has none.

This is the only place that decides, for a failure, its exception class,
whether it is worth retrying, which form field it belongs to, whether an
operator must act, and what an end user reads. The client, the forms, the
simulator and the documentation all read it (docs/errors.md shows it, written
at build time); ``python -m django_engagelab_otp.errors`` prints it as Markdown.

``retryable`` means: the same call may be made again without risk of sending a
second message, and may then succeed. The HTTP backend itself repeats every
retryable failure (codes 1000 and 5016, failures to connect, a 503 without a
body), with bounded exponential backoff and jitter, up to ``MAX_RETRIES``;
everything else is left to the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from django.utils.translation import gettext_lazy as _

from . import exceptions
from .exceptions import EngageLabError, ServerError, TransportError


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
    short: Any = ""  # the meaning in a word or two, for the admin's list (translatable)

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


# End-user texts. Problems an operator must fix all read UNAVAILABLE: a person
# cannot repair a credential or a template, and must not learn about them.
UNAVAILABLE = exceptions.UNAVAILABLE
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
WRONG_CODE = exceptions.WrongCodeError.default_user_message
LOCKED = _("Too many wrong codes were entered for this message. Please request a new code.")


#: The short column of the table below, named here so that makemessages puts its words in the catalogs.
SHORT_MEANINGS = (
    _("platform error"),
    _("wrong key"),
    _("key disabled"),
    _("no permission"),
    _("bad request"),
    _("bad parameters"),
    _("code used"),
    _("too frequent"),
    _("no template"),
    _("not sent"),
    _("invalid number"),
    _("unreachable"),
    _("blocked number"),
    _("content refused"),
    _("blocked"),
    _("sending problem"),
    _("China barred"),
    _("handset off"),
    _("unsubscribed"),
    _("not registered"),
)


def _table(text: str) -> list[ErrorCode]:
    """The rows of a table below; its header names the columns."""
    lines = text.strip().splitlines()
    header = _cells(lines[0])
    return [_row(dict(zip(header, _cells(line), strict=True))) for line in lines[1:]]


def _cells(line: str) -> list[str]:
    return re.split(r" {2,}", line.strip())


def _row(cells: dict[str, str]) -> ErrorCode:
    """One row: names become the classes and texts of this module, ``yes``/``no`` booleans, ``-`` None."""
    texts = globals()  # the user texts above
    yes = {"yes": True, "no": False}
    code = cells.get("code")
    return ErrorCode(
        code=int(code) if code else None,
        http_status=int(cells["HTTP"]) if "HTTP" in cells else None,
        exc_class=getattr(exceptions, cells["exception"]),
        retryable=yes[cells["retry"]],
        field=None if cells.get("field", "-") == "-" else cells["field"],
        user_message=texts[cells["user message"]],
        description=cells.get("meaning (the platform's)") or cells["what happened"],
        short=_(cells["short"]) if "short" in cells else "",
        operator=yes[cells["operator"]],
        outcome_unknown=yes[cells.get("unknown", "no")],
        name=cells.get("name", ""),
    )


# The two tables, written as a reader scans them: columns apart by two spaces
# or more, "-" for none; exception classes and user texts by their names above.
PLATFORM_TABLE = """
code  HTTP  exception            retry  field  operator  user message    short            meaning (the platform's)
1000  500   ServerError          yes    -      no        TROUBLE         platform error   internal error
2001  401   AuthenticationError  no     -      yes       UNAVAILABLE     wrong key        wrong or missing credentials
2002  401   AuthenticationError  no     -      yes       UNAVAILABLE     key disabled     key expired or disabled
2004  403   AuthenticationError  no     -      yes       UNAVAILABLE     no permission    no permission to call this API
3001  400   RequestError         no     -      yes       UNAVAILABLE     bad request      body is not valid JSON or has the wrong format
3002  400   RequestError         no     -      yes       UNAVAILABLE     bad parameters   wrong request parameters
3003  400   RequestError         no     -      no        CODE_USED       code used        business validation failed (code expired or used)
3004  400   RateLimitError       no     -      no        TOO_SOON        too frequent     frequency limit for this template and recipient
4001  400   TemplateError        no     -      yes       UNAVAILABLE     no template      resource does not exist (e.g. unknown template)
5001  400   DeliveryError        no     -      no        TRY_AGAIN       not sent         sending failed
5011  400   RecipientError       no     to     no        BAD_NUMBER      invalid number   invalid phone number format
5012  400   RecipientError       no     to     no        NO_ROUTE        unreachable      target unreachable
5013  400   RecipientError       no     to     no        NOT_SENT        blocked number   number is on the block list
5014  400   DeliveryError        no     -      no        REJECTED        content refused  content violates rules
5015  400   DeliveryError        no     -      no        BLOCKED         blocked          message blocked or rejected
5016  400   DeliveryError        yes    -      no        TRY_AGAIN       sending problem  internal sending problem
5017  400   RecipientError       no     to     no        REGION          China barred     no permission to send to mainland China
5018  400   RecipientError       no     to     no        HANDSET         handset off      handset problem (off or suspended)
5019  400   RecipientError       no     to     no        UNSUBSCRIBED    unsubscribed     user unsubscribed
5020  400   RecipientError       no     to     no        NOT_REGISTERED  not registered   number not registered or invalid
"""

# Failures that carry no platform code. "unknown": the platform may have acted anyway.
# The last four come from this site itself (its limits and verifications), before any request.
FAILURE_TABLE = """
name           exception                retry  operator  unknown  user message  what happened
unreachable    TransportError           yes    no        no       UNREACHABLE   could not connect (refused, DNS, timeout)
tls            TransportError           no     yes       no       UNREACHABLE   TLS handshake or certificate failure
timeout        TransportError           no     no        yes      MAYBE_SENT    no answer within the read timeout
disconnected   TransportError           no     no        yes      MAYBE_SENT    connection lost after the request was sent
outage         ServerError              yes    no        no       TROUBLE       HTTP 503 without a platform body
proxy_error    ServerError              no     no        yes      TROUBLE       other HTTP 5xx without a platform body
http_error     RequestError             no     yes       no       UNAVAILABLE   HTTP 3xx/4xx without a platform body
unknown_5xx    ServerError              no     no        no       TROUBLE       error code not in this table, HTTP 5xx
unknown_4xx    RequestError             no     yes       no       UNAVAILABLE   error code not in this table, HTTP 4xx
malformed      ServerError              no     no        yes      MAYBE_SENT    HTTP 2xx whose body is not the documented JSON
configuration  ConfigurationError       no     yes       no       UNAVAILABLE   settings missing or wrong (before any request)
throttled      ThrottledError           yes    no        no       TOO_MANY      cooldown, daily cap, IP or user rate hit
wrong_code     WrongCodeError           no     no        no       WRONG_CODE    the platform says the code is wrong
verify_locked  VerificationLockedError  no     no        no       LOCKED        MAX_VERIFY_ATTEMPTS wrong codes given
limits_cache   ConfigurationError       yes    yes       no       UNAVAILABLE   the cache of the limits failed
"""

#: Every documented platform code.
ERROR_CODES: dict[int, ErrorCode] = {row.code: row for row in _table(PLATFORM_TABLE) if row.code is not None}

#: Failures without a platform code, by name.
FAILURES: dict[str, ErrorCode] = {row.name: row for row in _table(FAILURE_TABLE)}


#: The largest code a history row holds: its column is a 32-bit integer on every database.
MAX_CODE = 2**31 - 1


def error_for(
    code: int | float | None, message: str = "", *, http_status: int | None = None, **kwargs: Any
) -> EngageLabError:
    """Build the exception for a platform error answer.

    A code outside the table (the platform may add some) is classed by its
    HTTP status, never retried, and shown to users as the generic message.
    A number that cannot be a code (negative, beyond 32 bits, fractional) is
    classed the same way, without a code: it is kept in the message only,
    where no database column can refuse it and leave the send's row unsettled.
    """
    usable = code is None or (isinstance(code, int) and 0 <= code <= MAX_CODE)
    row = ERROR_CODES.get(code) if isinstance(code, int) else None
    if row is None:
        unknown = FAILURES["unknown_5xx" if (http_status or 500) >= 500 else "unknown_4xx"]
        row = replace(unknown, code=code if usable else None)
    if not usable:
        message = f"{message or row.description} (error code {_quoted(code)} is not one)"
    return row.exception(message, http_status=http_status, **kwargs)


def _quoted(code: Any) -> str:
    text = repr(code)
    return text if len(text) <= 40 else text[:39] + "…"


def failure(name: str, message: str = "", **kwargs: Any) -> EngageLabError:
    """Build the exception for a failure without a platform code (a key of ``FAILURES``)."""
    return FAILURES[name].exception(message, **kwargs)


# ------------------------------------------------------------------ Markdown


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|")


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def markdown_table() -> str:
    """The table in Markdown, for the documentation (two tables: codes, then failures without a code)."""
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
