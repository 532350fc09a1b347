"""Changing ``ENGAGELAB_OTP`` in a test: one merge, in a block or for the whole test."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.test import override_settings


def merged(**changes: Any) -> dict[str, Any]:
    """``ENGAGELAB_OTP`` as it is now, with ``changes`` (``...`` removes a key)."""
    values = {**django_settings.ENGAGELAB_OTP, **changes}
    return {key: value for key, value in values.items() if value is not ...}


def engagelab(**changes: Any) -> override_settings:
    """For a block (``with engagelab(RESEND_COOLDOWN=0): …``) or as a decorator."""
    return override_settings(ENGAGELAB_OTP=merged(**changes))


def configure(settings: Any, **changes: Any) -> None:
    """For the rest of a test, through pytest-django's ``settings`` fixture."""
    settings.ENGAGELAB_OTP = merged(**changes)
