"""System checks: ``manage.py check`` names what is missing or wrong in ``ENGAGELAB_OTP``.

Every message has an id (``django_engagelab_otp.E001`` …) and a hint. None of
them ever shows a credential.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from django.core.checks import CheckMessage, Error, Warning, register

from .client import is_valid_timeout
from .conf import DEFAULTS, otp_settings
from .exceptions import EngageLabError
from .transport import backend_class
from .validation import LANGUAGES, template_id

ID = "django_engagelab_otp"
TAG = "engagelab_otp"

Messages = list[CheckMessage]


@register(TAG)
def check_settings(app_configs: Any = None, **kwargs: Any) -> Messages:
    """All the checks below, in the order a reader fixes them."""
    raw = otp_settings.raw()
    if raw is not None and not isinstance(raw, dict):
        return [
            Error(
                f"ENGAGELAB_OTP must be a dict, not {type(raw).__name__}.",
                hint='ENGAGELAB_OTP = {"DEV_KEY": ..., "DEV_SECRET": ..., "TEMPLATE_ID": ...}',
                id=f"{ID}.E000",
            )
        ]
    messages: Messages = []
    for check in CHECKS:
        messages += check()
    return messages


def _unknown_keys() -> Messages:
    messages: Messages = []
    for key in sorted(set(otp_settings.user_settings()) - set(DEFAULTS), key=str):
        close = difflib.get_close_matches(str(key), list(DEFAULTS), n=1)
        hint = f"Did you mean {close[0]!r}?" if close else f"Known keys: {', '.join(sorted(DEFAULTS))}."
        messages.append(Warning(f"Unknown ENGAGELAB_OTP key {key!r} is ignored.", hint=hint, id=f"{ID}.W001"))
    return messages


def _credentials() -> Messages:
    missing = [name for name in ("DEV_KEY", "DEV_SECRET") if not getattr(otp_settings, name)]
    if not missing:
        return []
    return [
        Error(
            f"EngageLab credentials missing: {', '.join(missing)}.",
            hint="Set ENGAGELAB_OTP['DEV_KEY'] and ['DEV_SECRET'], or the environment variables "
            "ENGAGELAB_OTP_DEV_KEY and ENGAGELAB_OTP_DEV_SECRET (EngageLab console, API keys).",
            id=f"{ID}.E001",
        )
    ]


def _api_url() -> Messages:
    url = otp_settings.API_URL
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return [
            Error(
                f"ENGAGELAB_OTP['API_URL'] is not an http(s) URL: {url!r}.",
                hint="Use the default https://otp.api.engagelab.cc/v1/ or your simulator's address.",
                id=f"{ID}.E002",
            )
        ]
    if parts.scheme == "http" and not _is_local(parts.hostname):
        return [
            Warning(
                f"ENGAGELAB_OTP['API_URL'] uses plain http to {parts.hostname}: the credentials would travel in clear.",
                hint="Use https:// (plain http is meant for a local simulator).",
                id=f"{ID}.W003",
            )
        ]
    return []


def _is_local(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _timeout() -> Messages:
    if is_valid_timeout(otp_settings.TIMEOUT):
        return []
    return [
        Error(
            "ENGAGELAB_OTP['TIMEOUT'] must be a positive number of seconds or a (connect, read) pair of them; "
            f"got {otp_settings.TIMEOUT!r}.",
            hint="For example 10, or (3.05, 10).",
            id=f"{ID}.E003",
        )
    ]


def _retries() -> Messages:
    messages: Messages = []
    value = otp_settings.MAX_RETRIES
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        messages.append(
            Error(
                f"ENGAGELAB_OTP['MAX_RETRIES'] must be a whole number, 0 or more; got {value!r}.",
                hint="2 is the default; 0 turns retries off.",
                id=f"{ID}.E004",
            )
        )
    for name in ("RETRY_BACKOFF", "RETRY_BACKOFF_MAX", "RETRY_JITTER"):
        value = getattr(otp_settings, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            messages.append(
                Error(
                    f"ENGAGELAB_OTP[{name!r}] must be a number of seconds, 0 or more; got {value!r}.",
                    hint=f"The default is {DEFAULTS[name]}.",
                    id=f"{ID}.E007",
                )
            )
    return messages


def _language() -> Messages:
    if otp_settings.LANGUAGE in LANGUAGES:
        return []
    return [
        Error(
            f"ENGAGELAB_OTP['LANGUAGE'] is {otp_settings.LANGUAGE!r}, which the platform does not know.",
            hint=f"Use one of: {', '.join(LANGUAGES)}.",
            id=f"{ID}.E005",
        )
    ]


def _region() -> Messages:
    region = otp_settings.DEFAULT_REGION
    if region is None or region in phonenumbers.SUPPORTED_REGIONS:
        return []
    return [
        Error(
            f"ENGAGELAB_OTP['DEFAULT_REGION'] is {region!r}, not a region phone numbers can be read in.",
            hint="Use a two-letter ISO 3166 code in capitals, like 'GB' or 'CN', or None for +country numbers only.",
            id=f"{ID}.E006",
        )
    ]


def _backend() -> Messages:
    try:
        backend_class(otp_settings.BACKEND)
    except EngageLabError as error:
        return [
            Error(
                error.message,
                hint=f"The default is {DEFAULTS['BACKEND']!r}.",
                id=f"{ID}.E008",
            )
        ]
    return []


def _template() -> Messages:
    value = otp_settings.TEMPLATE_ID
    if not value:
        return [
            Warning(
                "ENGAGELAB_OTP['TEMPLATE_ID'] is not set: send_otp() needs a template id and the forms cannot send.",
                hint="Set it to the id of your OTP template in the EngageLab console.",
                id=f"{ID}.W002",
            )
        ]
    try:
        template_id(value)
    except EngageLabError as error:
        return [
            Error(
                f"ENGAGELAB_OTP['TEMPLATE_ID'] is not a usable template id: {error.message}",
                hint="Copy the id of your OTP template from the EngageLab console.",
                id=f"{ID}.E009",
            )
        ]
    return []


CHECKS: list[Callable[[], Messages]] = [
    _unknown_keys,
    _credentials,
    _api_url,
    _timeout,
    _retries,
    _language,
    _region,
    _backend,
    _template,
]
