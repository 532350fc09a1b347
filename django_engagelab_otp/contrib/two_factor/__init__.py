"""django-two-factor-auth's text messages and phone calls through EngageLab.

``pip install django-engagelab-otp[two-factor]``, then::

    TWO_FACTOR_SMS_GATEWAY = "django_engagelab_otp.contrib.two_factor.EngageLabGateway"
    TWO_FACTOR_CALL_GATEWAY = "django_engagelab_otp.contrib.two_factor.EngageLabGateway"

The gateway is a plain class, not an app: nothing to add to ``INSTALLED_APPS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["EngageLabGateway"]

if TYPE_CHECKING:  # pragma: no cover
    from .gateway import EngageLabGateway


def __getattr__(name: str) -> Any:
    # Lazily, like the package itself: two-factor imports gateways by dotted
    # path at send time, and importing this package must not need the ORM.
    if name == "EngageLabGateway":
        from .gateway import EngageLabGateway

        return EngageLabGateway
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
