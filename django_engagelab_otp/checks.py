"""System checks: ``manage.py check`` names what is missing or wrong."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.checks import Error, Tags, Warning, register

from .conf import DEFAULTS, otp_settings

ID = "django_engagelab_otp"


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    messages: list = []
    user = otp_settings.user_settings()
    unknown = sorted(set(user) - set(DEFAULTS))
    if unknown:
        messages.append(
            Warning(
                f"Unknown ENGAGELAB_OTP keys: {', '.join(unknown)}.",
                hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                id=f"{ID}.W001",
            )
        )
    missing = [name for name in ("DEV_KEY", "DEV_SECRET") if not getattr(otp_settings, name)]
    if missing:
        messages.append(
            Error(
                f"EngageLab credentials missing: {', '.join(missing)}.",
                hint="Set ENGAGELAB_OTP['DEV_KEY'] and ['DEV_SECRET'], or the environment variables "
                "ENGAGELAB_OTP_DEV_KEY and ENGAGELAB_OTP_DEV_SECRET.",
                id=f"{ID}.E001",
            )
        )
    url = otp_settings.API_URL
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        messages.append(
            Error(
                f"ENGAGELAB_OTP['API_URL'] is not an http(s) URL: {url!r}.",
                hint="Use the default https://otp.api.engagelab.cc/v1/ or your simulator's address.",
                id=f"{ID}.E002",
            )
        )
    if not _valid_timeout(otp_settings.TIMEOUT):
        messages.append(
            Error(
                f"ENGAGELAB_OTP['TIMEOUT'] must be a positive number of seconds or a (connect, read) pair; "
                f"got {otp_settings.TIMEOUT!r}.",
                hint="For example 10, or (3.05, 10).",
                id=f"{ID}.E003",
            )
        )
    if not isinstance(otp_settings.MAX_RETRIES, int) or otp_settings.MAX_RETRIES < 0:
        messages.append(
            Error(
                "ENGAGELAB_OTP['MAX_RETRIES'] must be a whole number, 0 or more.",
                id=f"{ID}.E004",
            )
        )
    from .validation import LANGUAGES

    if otp_settings.LANGUAGE not in LANGUAGES:
        messages.append(
            Error(
                f"ENGAGELAB_OTP['LANGUAGE'] is {otp_settings.LANGUAGE!r}.",
                hint=f"Use one of: {', '.join(LANGUAGES)}.",
                id=f"{ID}.E005",
            )
        )
    if not otp_settings.TEMPLATE_ID:
        messages.append(
            Warning(
                "ENGAGELAB_OTP['TEMPLATE_ID'] is not set: send_otp() needs a template id and the forms cannot send.",
                hint="Set it to the id of your OTP template in the EngageLab console.",
                id=f"{ID}.W002",
            )
        )
    return messages


def _valid_timeout(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return len(value) == 2 and all(_positive(v) for v in value)
    return _positive(value)


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
