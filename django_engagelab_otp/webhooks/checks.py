"""``manage.py check`` on the callback settings (imported by the app's ``ready()``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from ..checks import problem_messages
from ..conf import otp_settings

ID = "django_engagelab_otp"

# Caches that cannot stop a replay sent to another process (or at all).
_FORGETFUL_CACHE = "django.core.cache.backends.dummy.DummyCache"
_PER_PROCESS_CACHE = "django.core.cache.backends.locmem.LocMemCache"


@register(Tags.security)
def check_webhook_settings(app_configs: Any = None, **kwargs: Any) -> list:
    messages: list = []
    username, secret = otp_settings.WEBHOOK_USERNAME, otp_settings.WEBHOOK_SECRET
    if not (username or secret or otp_settings.WEBHOOK_AUTHORIZATION):
        messages.append(
            Warning(
                "EngageLab callbacks are unauthenticated: anyone who finds the callback URL can post statuses.",
                hint="Set a callback username and secret in the EngageLab console and the same in "
                "ENGAGELAB_OTP['WEBHOOK_USERNAME'] and ['WEBHOOK_SECRET'] (and/or ['WEBHOOK_AUTHORIZATION']).",
                id=f"{ID}.W101",
            )
        )
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
    """``check --deploy``: a per-process nonce cache is fine in development, not on a site with several."""
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
