"""A code allauth would generate but the platform cannot send is a deploy-time error, not a refused send."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from .codes import LONGEST, SHORTEST, format_length


@register()
def code_format_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from allauth.account import app_settings

    code_format = app_settings.PHONE_VERIFICATION_CODE_FORMAT or {}
    length = format_length(code_format)
    if SHORTEST <= length <= LONGEST:
        return []
    return [
        Error(
            f"allauth's phone codes would have {length} letters or digits; EngageLab sends {SHORTEST} to {LONGEST}.",
            hint="Set ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT (or ALLAUTH_USER_CODE_FORMAT) 'length' between 4 and 10.",
            id="django_engagelab_otp.contrib.allauth.E001",
        )
    ]
