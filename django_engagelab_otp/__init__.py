"""Send and verify one-time passwords through the EngageLab OTP API from Django.

The public functions live in :mod:`django_engagelab_otp.services`, each
with an async twin (``asend_otp``, ``averify_otp`` …) for async views (and
:func:`validate_recipient` in :mod:`.validation`); they are re-exported here
lazily so that importing the package (for example from ``settings.py`` or a
backend on its own) does not require configured Django settings or a ready
app registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "send_otp",
    "send_custom_message",
    "send_code",
    "verify_otp",
    "check_otp",
    "asend_otp",
    "asend_custom_message",
    "asend_code",
    "averify_otp",
    "acheck_otp",
    "attempts_left",
    "is_locked",
    "validate_recipient",
    "__version__",
]

#: Everything above but these comes from the services.
_SERVICES = frozenset(__all__) - {"validate_recipient", "__version__"}

if TYPE_CHECKING:  # pragma: no cover
    from .services import (
        acheck_otp,
        asend_code,
        asend_custom_message,
        asend_otp,
        attempts_left,
        averify_otp,
        check_otp,
        is_locked,
        send_code,
        send_custom_message,
        send_otp,
        verify_otp,
    )
    from .validation import validate_recipient


def __getattr__(name: str) -> Any:
    if name in _SERVICES:
        from . import services

        return getattr(services, name)
    if name == "validate_recipient":
        from .validation import validate_recipient

        return validate_recipient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
