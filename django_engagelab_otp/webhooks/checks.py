"""``manage.py check`` on the callback settings (imported by the app's ``ready()``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from ..conf import otp_settings

ID = "django_engagelab_otp"

# Caches that cannot stop a replay sent to another process (or at all).
_LOCAL_CACHES = {
    "django.core.cache.backends.dummy.DummyCache": "remembers nothing: every replayed callback is accepted",
    "django.core.cache.backends.locmem.LocMemCache": "is per process: a replay sent to another process is accepted",
}


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
    for name in ("WEBHOOK_TOLERANCE", "WEBHOOK_MAX_BODY"):
        value = getattr(otp_settings, name)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            messages.append(Error(f"ENGAGELAB_OTP['{name}'] must be a positive whole number.", id=f"{ID}.E102"))
    if username and secret:
        messages.extend(_nonce_cache_messages())
    return messages


def _nonce_cache_messages() -> list:
    alias = otp_settings.WEBHOOK_NONCE_CACHE
    backend = settings.CACHES.get(alias, {}).get("BACKEND") if isinstance(alias, str) else None
    if backend is None:
        return [
            Error(
                f"ENGAGELAB_OTP['WEBHOOK_NONCE_CACHE'] names no cache in CACHES: {alias!r}.",
                hint="Name a cache alias shared by every process that receives callbacks (Redis).",
                id=f"{ID}.E103",
            )
        ]
    if backend in _LOCAL_CACHES:
        return [
            Warning(
                f"The cache that remembers callback nonces ({alias!r}) {_LOCAL_CACHES[backend]}.",
                hint="Point ENGAGELAB_OTP['WEBHOOK_NONCE_CACHE'] at a shared cache, e.g. "
                "django.core.cache.backends.redis.RedisCache.",
                id=f"{ID}.W102",
            )
        ]
    return []
