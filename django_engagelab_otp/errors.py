"""The error table: every platform code, what it means and how we treat it.

This is the only place that decides, for a code, its exception class, whether
it is worth retrying, which form field it belongs to and what an end user
reads. The client, the forms, the simulator and the README all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from . import exceptions as exc

# End-user texts shared by several codes.
_UNAVAILABLE = exc.UNAVAILABLE
_TRY_AGAIN = _("The message could not be sent. Please try again in a moment.")
_NOT_SENT = _("The message could not be sent to this recipient.")


@dataclass(frozen=True)
class ErrorCode:
    code: int
    http_status: int
    exc_class: type[exc.EngageLabError]
    retryable: bool
    field: str | None
    user_message: Any
    description: str  # the platform's meaning, for operators and docs
    operator: bool  # an operator must act; users see the generic text

    def exception(self, message: str = "", *, http_status: int | None = None, **kwargs: Any) -> exc.EngageLabError:
        return self.exc_class(
            message or self.description,
            code=self.code,
            http_status=http_status if http_status is not None else self.http_status,
            retryable=self.retryable,
            field=self.field,
            user_message=self.user_message,
            operator=self.operator,
            **kwargs,
        )


def _row(
    code: int,
    http: int,
    cls: type[exc.EngageLabError],
    retryable: bool,
    field: str | None,
    user: Any,
    text: str,
    operator: bool | None = None,
) -> ErrorCode:
    return ErrorCode(code, http, cls, retryable, field, user, text, cls.operator if operator is None else operator)


ERROR_CODES: dict[int, ErrorCode] = {
    row.code: row
    for row in [
        _row(1000, 500, exc.ServerError, True, None, exc.ServerError.default_user_message, "internal error"),
        _row(
            2001,
            401,
            exc.AuthenticationError,
            False,
            None,
            _UNAVAILABLE,
            "authentication failed: wrong or missing credentials",
        ),
        _row(
            2002,
            401,
            exc.AuthenticationError,
            False,
            None,
            _UNAVAILABLE,
            "authentication failed: key expired or disabled",
        ),
        _row(2004, 403, exc.AuthenticationError, False, None, _UNAVAILABLE, "no permission to call this API"),
        _row(
            3001,
            400,
            exc.RequestError,
            False,
            None,
            _UNAVAILABLE,
            "request body is not valid JSON or has the wrong format",
            True,
        ),
        _row(3002, 400, exc.RequestError, False, None, _UNAVAILABLE, "wrong request parameters", True),
        _row(
            3003,
            400,
            exc.RequestError,
            False,
            None,
            _("This code has expired or was already used. Please request a new one."),
            "business validation failed (e.g. code expired or already used)",
        ),
        _row(
            3004,
            400,
            exc.RateLimitError,
            False,
            None,
            _("A code was sent to this recipient a moment ago. Please wait before asking for another."),
            "frequency limit: same template and recipient within the OTP validity period",
        ),
        _row(
            4001, 400, exc.TemplateError, False, None, _UNAVAILABLE, "resource does not exist (e.g. unknown template)"
        ),
        _row(5001, 400, exc.DeliveryError, False, None, _TRY_AGAIN, "sending failed"),
        _row(
            5011, 400, exc.RecipientError, False, "to", _("Enter a valid phone number."), "invalid phone number format"
        ),
        _row(5012, 400, exc.RecipientError, False, "to", _("This recipient cannot be reached."), "target unreachable"),
        _row(5013, 400, exc.RecipientError, False, "to", _NOT_SENT, "number is on the block list"),
        _row(
            5014,
            400,
            exc.DeliveryError,
            False,
            None,
            _("The message was rejected by the carrier."),
            "content violates rules",
        ),
        _row(
            5015,
            400,
            exc.DeliveryError,
            False,
            None,
            _("The message was blocked by the carrier."),
            "message blocked or rejected",
        ),
        _row(5016, 400, exc.DeliveryError, True, None, _TRY_AGAIN, "internal sending problem"),
        _row(
            5017,
            400,
            exc.RecipientError,
            False,
            "to",
            _("Messages cannot be sent to numbers in this region."),
            "no permission to send to mainland China",
        ),
        _row(
            5018,
            400,
            exc.RecipientError,
            False,
            "to",
            _("This phone seems to be switched off or suspended."),
            "handset problem (off or suspended)",
        ),
        _row(
            5019,
            400,
            exc.RecipientError,
            False,
            "to",
            _("This recipient has unsubscribed from our messages."),
            "user unsubscribed",
        ),
        _row(
            5020,
            400,
            exc.RecipientError,
            False,
            "to",
            _("This number is not registered or not valid."),
            "number not registered or invalid",
        ),
    ]
}

RETRYABLE_CODES = frozenset(code for code, row in ERROR_CODES.items() if row.retryable)


def error_for(
    code: int | None, message: str = "", *, http_status: int | None = None, **kwargs: Any
) -> exc.EngageLabError:
    """Build the exception for a platform error answer.

    A code outside the table (the platform may add some) is classed by its
    HTTP status, never retried and shown to users as the generic message.
    """
    row = ERROR_CODES.get(code) if isinstance(code, int) else None
    if row is not None:
        return row.exception(message, http_status=http_status, **kwargs)
    cls = exc.ServerError if (http_status or 500) >= 500 else exc.RequestError
    return cls(message or "unexpected error answer", code=code, http_status=http_status, **kwargs)
