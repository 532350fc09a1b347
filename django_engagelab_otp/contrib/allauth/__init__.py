"""Phone sign-in for django-allauth (>= 65) through EngageLab.

``pip install django-engagelab-otp[allauth]``, then::

    INSTALLED_APPS += ["django_engagelab_otp.contrib.allauth"]  # the phone numbers' table
    ACCOUNT_ADAPTER = "django_engagelab_otp.contrib.allauth.AccountAdapter"

A project that keeps phone numbers itself mixes :class:`AccountAdapterMixin`
into its own adapter instead, and needs no app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["AccountAdapter", "AccountAdapterMixin", "PhoneStorageMixin"]

if TYPE_CHECKING:  # pragma: no cover
    from .adapter import AccountAdapter, AccountAdapterMixin, PhoneStorageMixin


def __getattr__(name: str) -> Any:
    # Lazily: Django imports this package while it loads the apps, before the
    # ORM (and allauth's adapter, which needs it) may be imported.
    if name in __all__:
        from . import adapter

        return getattr(adapter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
