"""Send and verify one-time passwords through the EngageLab OTP API from Django.

The public functions live in :mod:`django_engagelab_otp.services`; they are
re-exported here lazily so that importing the package (for example from
``settings.py`` or the client on its own) does not require configured Django
settings or a ready app registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["send_otp", "send_custom_message", "send_code", "verify_otp", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .services import send_code, send_custom_message, send_otp, verify_otp


def __getattr__(name: str) -> Any:
    if name in {"send_otp", "send_custom_message", "send_code", "verify_otp"}:
        from . import services

        return getattr(services, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
