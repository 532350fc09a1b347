"""One reading of an ``EngageLabError`` for every sign-in flow.

A sign-in flow answers a refusal in its host's own terms (a form error, a
django message, allauth's 429, a DRF response), but what the person reads,
the HTTP status that fits and how long to wait are the same everywhere, and
are decided here, from the error table (:mod:`django_engagelab_otp.errors`):

* this site's limits (cooldown, daily cap, client rates) and the platform's
  frequency limit (3004): **429**, with ``Retry-After`` when the wait is known;
* problems an operator must fix (credentials, templates, settings) and
  outages (no answer, 5xx, sending failed on the platform's side): **503**,
  with a generic text;
* everything else (a blocked number, a wrong or used code, a locked message):
  **400**, on the form field the error concerns.

The person never reads a code, a credential or the platform's own text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from django.contrib import messages

from ..errors import FAILURES
from ..exceptions import (
    DeliveryError,
    EngageLabError,
    RateLimitError,
    ServerError,
    ThrottledError,
    TransportError,
    VerificationLockedError,
    WrongCodeError,
)

if TYPE_CHECKING:  # pragma: no cover
    from django.http import HttpRequest

logger = logging.getLogger("django_engagelab_otp.contrib")

#: What a person reads when an operator must act: they cannot repair a credential.
UNAVAILABLE = FAILURES["configuration"].user_message


@dataclass(frozen=True)
class Refusal:
    """What a flow shows for one ``EngageLabError``."""

    #: One sentence for the person (translatable, no internals).
    message: Any
    #: 429 (wait), 503 (not your fault, try later) or 400 (something about the input).
    status: int
    #: Seconds to wait, when known: the ``Retry-After`` header.
    retry_after: int | None
    #: The form field the error concerns (``"to"``, ``"code"``) or ``None``.
    field: str | None
    #: A stable short name (``engagelab_5013``, ``wrong_code`` …) for API clients and templates.
    key: str

    @property
    def too_many(self) -> bool:
        return self.status == HTTPStatus.TOO_MANY_REQUESTS

    @property
    def text(self) -> str:
        return str(self.message)


def refusal_for(error: EngageLabError) -> Refusal:
    """Read ``error`` as a person should see it; logs it when the core did not already.

    The core logs a failed send when it settles its row (``error.log``) and
    every refusal of its own limits; anything else an operator must fix is
    logged here at ERROR, the rest at WARNING. ``repr(error)`` holds the
    platform's code and text, never a credential or a code.
    """
    _log(error)
    if isinstance(error, RateLimitError):  # this site's limits, and the platform's 3004
        wait = error.wait_seconds if isinstance(error, ThrottledError) else None
        return Refusal(error.user_message, HTTPStatus.TOO_MANY_REQUESTS, wait, None, error.error_key)
    if error.operator:
        return Refusal(UNAVAILABLE, HTTPStatus.SERVICE_UNAVAILABLE, None, None, error.error_key)
    if _outage(error):
        return Refusal(error.user_message, HTTPStatus.SERVICE_UNAVAILABLE, None, None, error.error_key)
    return Refusal(error.user_message, HTTPStatus.BAD_REQUEST, None, error.field, error.error_key)


def _outage(error: EngageLabError) -> bool:
    # No answer, a 5xx, or sending failed on the platform's side (5001,
    # 5014-5016): nothing the person typed, so not a 400.
    return isinstance(error, (ServerError, TransportError, DeliveryError))


def _log(error: EngageLabError) -> None:
    if error.log is not None or isinstance(error, (ThrottledError, VerificationLockedError)):
        return  # already logged by the core, with the recipient masked
    if isinstance(error, WrongCodeError):
        return  # an ordinary answer, logged by verify_otp at INFO
    level = logging.ERROR if error.operator or error.outcome_unknown else logging.WARNING
    logger.log(level, "EngageLab refused a sign-in step: %r", error)


def tell(request: HttpRequest | None, refusal: Refusal) -> bool:
    """Show the refusal to the person as a django message; whether there was a request to show it on."""
    if request is None:
        return False
    messages.error(request, refusal.message, fail_silently=True)
    return True


def current_request() -> HttpRequest | None:
    """The request being served, where django-two-factor-auth's ``ThreadLocals`` middleware keeps it.

    django-otp and two-factor call devices and gateways without the request;
    this is the one place a refusal can still reach the person from there.
    """
    try:
        from two_factor.middleware.threadlocals import get_current_request
    except ImportError:  # django-two-factor-auth is not installed
        return None
    return get_current_request()
