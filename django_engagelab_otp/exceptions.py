"""The ``EngageLabError`` hierarchy: one class per family of platform codes.

Which code belongs to which class, whether it is worth retrying, which form
field it concerns and what an end user reads are decided in one place, the
table in :mod:`django_engagelab_otp.errors`; these classes only carry the
values. Nothing here ever holds a credential or an OTP code.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:  # pragma: no cover
    from .models import MessageLog

UNAVAILABLE = _("Sending codes is temporarily unavailable. Please try again later.")


class EngageLabError(Exception):
    """Base class of every error this app raises.

    Attributes:
        code: the platform's error code, or ``None`` for errors raised locally
            (configuration, transport, invalid input).
        http_status: the HTTP status of the answer, when there was one.
        message: the platform's (or our) text for developers and operators.
        retryable: the same call may be made again without risk of sending a
            second message, and may then succeed. The client already repeated
            retryable platform codes (1000, 5016) and failures to connect
            ``MAX_RETRIES`` times before raising.
        field: the form field the error concerns (``"to"``, ``"code"``) or ``None``.
        user_message: what an end user may read (translatable, no internals).
        operator: an operator must act (credentials, permissions, templates);
            forms show the generic text and log the details at ERROR.
        outcome_unknown: the request may have reached the platform and been
            acted on (a read timeout, a garbled answer): do not resend blindly.
        log: the ``MessageLog`` row written for the call, when there was one.
    """

    retryable: bool = False
    field: str | None = None
    operator: bool = False
    default_user_message: Any = UNAVAILABLE

    def __init__(
        self,
        message: str = "",
        *,
        code: int | None = None,
        http_status: int | None = None,
        retryable: bool | None = None,
        field: str | None = None,
        user_message: Any = None,
        operator: bool | None = None,
        outcome_unknown: bool = False,
        log: MessageLog | None = None,
    ) -> None:
        # Not the (lazy) user message: text for developers must not need translations loaded.
        self.message = message or (type(self).__doc__ or type(self).__name__).strip().splitlines()[0]
        self.code = code
        self.http_status = http_status
        if retryable is not None:
            self.retryable = retryable
        if field is not None:
            self.field = field
        if operator is not None:
            self.operator = operator
        self.user_message = user_message if user_message is not None else self.default_user_message
        self.outcome_unknown = outcome_unknown
        self.log = log
        super().__init__(self.message)

    def __str__(self) -> str:
        prefix = f"[{self.code}] " if self.code is not None else ""
        return f"{prefix}{self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, http_status={self.http_status!r}, "
            f"message={self.message!r}, retryable={self.retryable!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments defeat Exception's default pickling (task queues
        # pickle errors): rebuild from the attributes instead.
        return (_restore, (type(self), self.message, self.__dict__.copy()))

    def as_validation_error(self, fields: Collection[str] | None = None) -> ValidationError:
        """The error as a form shows it: the user message, keyed on ``field`` when it has one.

        Problems an operator must fix read as the generic "temporarily
        unavailable" text, never on a field. With ``fields`` (a form's field
        names), an error whose field the form lacks becomes a non-field error.
        """
        message = UNAVAILABLE if self.operator else self.user_message
        error = ValidationError(message, code=self.error_key)
        field = None if self.operator else self.field
        if fields is not None and field not in fields:
            field = None
        return ValidationError({field: error}) if field else error

    @property
    def error_key(self) -> str:
        """A stable short name for ``ValidationError.code`` and templates."""
        return f"engagelab_{self.code}" if self.code is not None else f"engagelab_{type(self).__name__}"


def _restore(cls: type[EngageLabError], message: str, state: dict[str, Any]) -> EngageLabError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class ConfigurationError(EngageLabError):
    """Settings are missing or wrong; raised before any request is made."""

    operator = True


class InvalidInputError(EngageLabError, ValueError):
    """An argument was refused before any request was made."""

    default_user_message = _("Please check the value you entered.")

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("user_message", message)
        super().__init__(message, field=field, **kwargs)


class TransportError(EngageLabError):
    """The platform could not be reached, or its answer did not arrive."""

    default_user_message = _("The message service could not be reached. Please try again in a moment.")


class ServerError(EngageLabError):
    """The platform failed (code 1000) or a proxy answered instead of it."""

    default_user_message = _("The message service is having trouble. Please try again in a moment.")


class AuthenticationError(EngageLabError):
    """Wrong, expired or disabled credentials, or no permission (2001/2002/2004)."""

    operator = True


class RequestError(EngageLabError):
    """The platform refused the request's form or content (3001-3003)."""


class RateLimitError(EngageLabError):
    """Too many messages to one recipient and template (3004)."""


class ThrottledError(RateLimitError):
    """A limit of this site refused the request before it was made.

    ``scope`` names the limit (``"cooldown"``, ``"daily"``, ``"ip"``,
    ``"user"``); ``wait_seconds`` is how long until it allows the request
    again (``None`` when unknown). The user message says so, never blaming
    the recipient.
    """

    def __init__(self, message: str = "", *, wait_seconds: float | None = None, scope: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.wait_seconds = None if wait_seconds is None or wait_seconds < 0 else max(1, math.ceil(wait_seconds))
        self.scope = scope
        if self.wait_seconds is not None:
            self.user_message = wait_message(self.wait_seconds, scope)


def _wait_text(seconds: int, scope: str = "") -> str:
    # Whole units, rounded up: "try again in 42 seconds" must not be too early.
    if seconds < 120:
        wait = ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    elif seconds < 2 * 3600:
        minutes = math.ceil(seconds / 60)
        wait = ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    else:
        hours = math.ceil(seconds / 3600)
        wait = ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    if scope == "cooldown":  # a wait, not a fault: the person pressed "send" again a moment ago
        text = gettext("A code was sent a moment ago. You can ask for another in %(wait)s.")
    elif scope == "daily":
        text = gettext("No more codes can be sent to this recipient today. Please try again in %(wait)s.")
    else:
        text = gettext("Too many attempts. Please try again in %(wait)s.")
    return text % {"wait": wait}


#: "A code was sent a moment ago. You can ask for another in 42 seconds.", translated when shown.
wait_message = lazy(_wait_text, str)


class WrongCodeError(EngageLabError):
    """The platform checked the code and it is not the right one.

    ``verify_otp`` answers ``False`` for it; views and integrations that
    prefer an exception raise this one (``services.check_otp``).
    ``attempts_left`` is how many more codes the message accepts before it is
    locked (``None`` when ``MAX_VERIFY_ATTEMPTS`` is off).
    """

    field = "code"
    default_user_message = _("This code is not right. Check it and try again.")

    def __init__(self, message: str = "", *, attempts_left: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.attempts_left = attempts_left
        if attempts_left is not None:
            self.user_message = wrong_code_message(attempts_left)

    @property
    def error_key(self) -> str:
        return "wrong_code"


def _wrong_code_text(left: int) -> str:
    if left <= 0:
        return gettext("This code is not right, and that was the last try. Please request a new code.")
    return ngettext(
        "This code is not right. You can try %(count)d more time.",
        "This code is not right. You can try %(count)d more times.",
        left,
    ) % {"count": left}


#: "This code is not right. You can try 3 more times.", translated when shown.
wrong_code_message = lazy(_wrong_code_text, str)


class VerificationLockedError(EngageLabError):
    """A message received ``MAX_VERIFY_ATTEMPTS`` wrong codes; no further code is checked."""


class TemplateError(EngageLabError):
    """The template does not exist (4001)."""

    operator = True


class RecipientError(EngageLabError):
    """The recipient cannot receive messages (5011-5013, 5017-5020)."""

    field = "to"


class DeliveryError(EngageLabError):
    """Sending failed on the platform's side (5001, 5014-5016)."""
