"""A Django REST framework API to send a code and check it: ``OTPViewSet``.

``pip install django-engagelab-otp[drf]``, then in ``urls.py``::

    router.register("otp", OTPViewSet, basename="otp")  # POST otp/send/, POST otp/verify/

Nothing to add to ``INSTALLED_APPS``. Subclass the view set and override
``on_verified(request, recipient)`` to sign the person in (issue a token).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["OTPViewSet", "refusal_response"]

_HOMES = {"OTPViewSet": "views", "refusal_response": "responses"}

if TYPE_CHECKING:  # pragma: no cover
    from .responses import refusal_response
    from .views import OTPViewSet


def __getattr__(name: str) -> Any:
    # Lazily: the views need the ORM, and importing this package must not.
    if name in _HOMES:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
