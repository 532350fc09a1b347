"""System checks: ``manage.py check`` names what is missing or wrong in ``ENGAGELAB_OTP``.

Every message has an id (``django_engagelab_otp.E001`` …) and a hint. None of
them ever shows a credential.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.module_loading import import_string

from .client import is_valid_timeout
from .conf import DEFAULTS, otp_settings
from .exceptions import EngageLabError
from .transport import backend_class
from .validation import LANGUAGES, NON_GEOGRAPHIC, NUMBER_TYPES, template_id

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


def _limit_numbers() -> Messages:
    messages: Messages = []
    for name, whole in (("RESEND_COOLDOWN", False), ("DAILY_LIMIT", True), ("MAX_VERIFY_ATTEMPTS", True)):
        value = getattr(otp_settings, name)
        if value is False:  # turned off
            continue
        kinds = (int,) if whole else (int, float)
        if not isinstance(value, kinds) or isinstance(value, bool) or value < 0:
            kind = "a whole number" if whole else "a number of seconds"
            messages.append(
                Error(
                    f"ENGAGELAB_OTP[{name!r}] must be {kind}, 0 or more; got {value!r}.",
                    hint=f"The default is {DEFAULTS[name]!r}; 0 turns this limit off.",
                    id=f"{ID}.E010",
                )
            )
    return messages


# django-ratelimit's rates: "20/h", "5/10m", "100/d".
_RATE = re.compile(r"\d+/\d*[smhd]")


def _client_rates() -> Messages:
    messages: Messages = []
    for name in ("IP_RATE", "USER_RATE"):
        value = getattr(otp_settings, name)
        if value is not False and not (isinstance(value, str) and _RATE.fullmatch(value)):
            messages.append(
                Error(
                    f"ENGAGELAB_OTP[{name!r}] is not a rate: {value!r}.",
                    hint=f"Write it as django-ratelimit does: {DEFAULTS[name]!r} (per hour), '5/10m', '100/d'; "
                    "False turns it off.",
                    id=f"{ID}.E011",
                )
            )
    getter = otp_settings.CLIENT_IP
    if getter is not None and not callable(getter):
        problem = "" if isinstance(getter, str) else f"is {type(getter).__name__}, not a callable or a dotted path"
        if not problem:
            try:
                problem = "" if callable(import_string(getter)) else "does not name a callable"
            except ImportError:
                problem = "cannot be imported"
        if problem:
            messages.append(
                Error(
                    f"ENGAGELAB_OTP['CLIENT_IP'] {problem}: {getter!r}.",
                    hint="A function that takes the request and returns the client's IP address, or its dotted path.",
                    id=f"{ID}.E012",
                )
            )
    return messages


def _limits_cache() -> Messages:
    alias = otp_settings.LIMITS_CACHE
    backend = _cache_backend(alias)
    if backend is None:
        return [
            Error(
                f"ENGAGELAB_OTP['LIMITS_CACHE'] names no cache in CACHES: {alias!r}.",
                hint="Name a cache alias shared by every process that sends (Redis), or 'default'.",
                id=f"{ID}.E013",
            )
        ]
    if backend.endswith(".DummyCache"):
        return [
            Warning(
                f"The cache of the abuse limits ({alias!r}) remembers nothing: no cooldown or daily cap holds.",
                hint="Point ENGAGELAB_OTP['LIMITS_CACHE'] at a real cache, e.g. "
                "django.core.cache.backends.redis.RedisCache.",
                id=f"{ID}.W004",
            )
        ]
    return []


def _cache_backend(alias: Any) -> str | None:
    caches = getattr(settings, "CACHES", {})
    return caches.get(alias, {}).get("BACKEND") if isinstance(alias, str) else None


def _destinations() -> Messages:
    messages: Messages = []
    regions = set(phonenumbers.SUPPORTED_REGIONS) | {NON_GEOGRAPHIC}
    for name in ("ALLOWED_COUNTRIES", "DENIED_COUNTRIES"):
        value = getattr(otp_settings, name)
        if name == "ALLOWED_COUNTRIES" and value is None:
            continue
        wrong = _not_in(value, regions)
        if wrong:
            messages.append(
                Error(
                    f"ENGAGELAB_OTP[{name!r}] must be a list of region codes; these are not: {wrong}.",
                    hint="Two-letter ISO 3166 codes in capitals, as phonenumbers gives them (['GB', 'IE']); "
                    f"{NON_GEOGRAPHIC!r} for numbers of no country (+800, +882 …).",
                    id=f"{ID}.E014",
                )
            )
    wrong = _not_in(otp_settings.DENIED_NUMBER_TYPES, set(NUMBER_TYPES.values()))
    if wrong:
        messages.append(
            Error(
                f"ENGAGELAB_OTP['DENIED_NUMBER_TYPES'] must be a list of phonenumbers.PhoneNumberType names; "
                f"these are not: {wrong}.",
                hint=f"Choose among {', '.join(sorted(NUMBER_TYPES.values()))}.",
                id=f"{ID}.E015",
            )
        )
    return messages


def _not_in(value: Any, known: set[str]) -> str:
    """The items of ``value`` outside ``known``, as text; the value itself when it is not a list."""
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        return repr(value)
    return ", ".join(repr(item) for item in value if item not in known)


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
    _limit_numbers,
    _client_rates,
    _limits_cache,
    _destinations,
]


@register(TAG, deploy=True)
def check_deployment(app_configs: Any = None, **kwargs: Any) -> Messages:
    """``manage.py check --deploy``: limits kept per process do not hold on a site with several."""
    alias = otp_settings.LIMITS_CACHE
    if otp_settings.raw() is not None and not isinstance(otp_settings.raw(), dict):
        return []
    if (_cache_backend(alias) or "").endswith(".LocMemCache"):
        return [
            Warning(
                f"The cache of the abuse limits ({alias!r}) is per process: each process keeps its own "
                "cooldowns and counts, so the limits multiply with the processes; past its MAX_ENTRIES "
                "(300 by default) it forgets a third of them at once.",
                hint="Point ENGAGELAB_OTP['LIMITS_CACHE'] at a shared cache, e.g. "
                "django.core.cache.backends.redis.RedisCache.",
                id=f"{ID}.W005",
            )
        ]
    return []
