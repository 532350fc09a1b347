"""``manage.py check`` on the callback settings (imported by the app's ``ready()``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.urls import URLResolver, get_resolver

from ..checks import problem_messages
from ..conf import otp_settings
from .views import callback

ID = "django_engagelab_otp"

# Caches that cannot stop a replay sent to another process (or at all).
_FORGETFUL_CACHE = "django.core.cache.backends.dummy.DummyCache"
_PER_PROCESS_CACHE = "django.core.cache.backends.locmem.LocMemCache"


_SET_CREDENTIALS = (
    "Set a callback username and secret in the EngageLab console and the same in "
    "ENGAGELAB_OTP['WEBHOOK_USERNAME'] and ['WEBHOOK_SECRET'] (and/or ['WEBHOOK_AUTHORIZATION'])."
)


@register(Tags.security)
def check_webhook_settings(app_configs: Any = None, **kwargs: Any) -> list:
    messages: list = []
    username, secret = otp_settings.WEBHOOK_USERNAME, otp_settings.WEBHOOK_SECRET
    if not _has_credentials() and callback_is_routed():
        messages.append(_uncredentialed(Warning))
    if bool(username) != bool(secret):
        missing = "WEBHOOK_SECRET" if username else "WEBHOOK_USERNAME"
        messages.append(
            Error(
                f"ENGAGELAB_OTP['{missing}'] is missing: callback signatures need both a username and a secret.",
                hint="Set both (as in the EngageLab console), or neither. Until then every callback is refused.",
                id=f"{ID}.E101",
            )
        )
    messages += problem_messages(webhooks=True)
    if username and secret:
        messages.extend(_nonce_cache_messages())
    return messages


@register(Tags.security, deploy=True)
def check_webhook_deployment(app_configs: Any = None, **kwargs: Any) -> list:
    """``check --deploy``: callbacks without credentials, and a per-process nonce cache, are for development."""
    if not _has_credentials() and callback_is_routed():
        return [_uncredentialed(Error, deploy=True)]
    if not (otp_settings.WEBHOOK_USERNAME and otp_settings.WEBHOOK_SECRET):
        return []
    if _nonce_cache_backend() != _PER_PROCESS_CACHE:
        return []
    return [
        Warning(
            f"The cache that remembers callback nonces ({otp_settings.WEBHOOK_NONCE_CACHE!r}) is per process: "
            "a replay sent to another process is accepted.",
            hint="Point ENGAGELAB_OTP['WEBHOOK_NONCE_CACHE'] at a shared cache, e.g. "
            "django.core.cache.backends.redis.RedisCache.",
            id=f"{ID}.W103",
        )
    ]


def _has_credentials() -> bool:
    return bool(otp_settings.WEBHOOK_USERNAME or otp_settings.WEBHOOK_SECRET or otp_settings.WEBHOOK_AUTHORIZATION)


def _uncredentialed(level: type[CheckMessage], *, deploy: bool = False) -> CheckMessage:
    """What callbacks without credentials mean: refused (the default), or open to anyone (the opt-out)."""
    if otp_settings.WEBHOOK_ALLOW_UNSIGNED:
        return level(
            "EngageLab callbacks are accepted without credentials (WEBHOOK_ALLOW_UNSIGNED): anyone who finds "
            "the callback URL can post statuses, mark a message verified and fill the history.",
            hint=_SET_CREDENTIALS + " WEBHOOK_ALLOW_UNSIGNED is for local development.",
            id=f"{ID}.{'E105' if deploy else 'W104'}",
        )
    return level(
        "EngageLab callbacks are refused (503): no callback credentials are configured.",
        hint=_SET_CREDENTIALS + " For local development only, WEBHOOK_ALLOW_UNSIGNED = True accepts them unsigned.",
        id=f"{ID}.{'E106' if deploy else 'W101'}",
    )


def callback_is_routed() -> bool:
    """Whether a URLconf of this site leads to the callback view (under any prefix or namespace)."""
    try:
        patterns = get_resolver().url_patterns
    except Exception:  # a broken URLconf is reported by Django's own checks
        return False
    return _leads_to_callback(patterns)


def _leads_to_callback(patterns: list[Any]) -> bool:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if _leads_to_callback(pattern.url_patterns):
                return True
        elif getattr(pattern, "callback", None) is callback:
            return True
    return False


def _nonce_cache_backend() -> str | None:
    alias = otp_settings.WEBHOOK_NONCE_CACHE
    return settings.CACHES.get(alias, {}).get("BACKEND") if isinstance(alias, str) else None


def _nonce_cache_messages() -> list:
    alias = otp_settings.WEBHOOK_NONCE_CACHE
    backend = _nonce_cache_backend()
    if backend is None:
        return [
            Error(
                f"ENGAGELAB_OTP['WEBHOOK_NONCE_CACHE'] names no cache in CACHES: {alias!r}.",
                hint="Name a cache alias shared by every process that receives callbacks (Redis).",
                id=f"{ID}.E103",
            )
        ]
    if backend == _FORGETFUL_CACHE:
        return [
            Warning(
                f"The cache that remembers callback nonces ({alias!r}) remembers nothing: "
                "every replayed callback is accepted.",
                hint="Point ENGAGELAB_OTP['WEBHOOK_NONCE_CACHE'] at a shared cache, e.g. "
                "django.core.cache.backends.redis.RedisCache.",
                id=f"{ID}.W102",
            )
        ]
    return []
