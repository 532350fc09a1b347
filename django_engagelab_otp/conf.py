"""The one reader of the ``ENGAGELAB_OTP`` setting.

Every other module asks :data:`otp_settings` for a value; nothing else touches
``django.conf.settings`` for this app. Values are read on every access (a dict
lookup), so ``override_settings`` in tests takes effect at once.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from django.conf import settings as django_settings

#: Documented defaults. Keys missing from ``ENGAGELAB_OTP`` take these values.
DEFAULTS: dict[str, Any] = {
    # Credentials. When absent from the setting they are read from the
    # environment variables ENGAGELAB_OTP_DEV_KEY / ENGAGELAB_OTP_DEV_SECRET.
    "DEV_KEY": None,
    "DEV_SECRET": None,
    "API_URL": "https://otp.api.engagelab.cc/v1/",
    # Seconds, or a (connect, read) pair as requests accepts it.
    "TIMEOUT": 10,
    # Default template for send_otp() and the forms.
    "TEMPLATE_ID": None,
    # Templates the sign-in integrations (contrib/) send their own codes with
    # (/v1/codes): codes by text message (None: TEMPLATE_ID), and by phone call.
    "CODE_TEMPLATE_ID": None,
    "VOICE_TEMPLATE_ID": None,
    "LANGUAGE": "default",
    # Retries happen only where a message cannot be sent twice: failures to
    # connect and the platform-side codes 1000/5016 (see errors.py).
    "MAX_RETRIES": 2,
    "RETRY_BACKOFF": 0.5,  # seconds, doubled on each retry
    "RETRY_BACKOFF_MAX": 8.0,  # seconds
    "RETRY_JITTER": 0.25,  # up to this many random seconds added to each wait
    # Dotted path of the transport: the HTTP client, or an in-memory one for tests.
    "BACKEND": "django_engagelab_otp.client.EngageLabClient",
    # Region used to read national phone numbers typed without +country code
    # (e.g. "GB"); None accepts only E.164 numbers.
    "DEFAULT_REGION": None,
    # Callback authentication (see the webhooks documentation).
    "WEBHOOK_USERNAME": None,
    "WEBHOOK_SECRET": None,
    "WEBHOOK_AUTHORIZATION": None,
    "WEBHOOK_TOLERANCE": 300,
    # Largest callback body accepted, in bytes (a 1,000-row batch is about 600 KB).
    "WEBHOOK_MAX_BODY": 5 * 1024 * 1024,
    # Cache alias that remembers callback nonces; use a shared cache (Redis) when
    # several processes receive callbacks, or a replay can reach another process.
    "WEBHOOK_NONCE_CACHE": "default",
    # Abuse limits (see limits.py). 0 or False turns one off.
    # Cache alias that holds their counters: a shared cache (Redis) makes them
    # hold across processes and machines; a per-process cache does not.
    "LIMITS_CACHE": "default",
    # Seconds before one recipient may get another message of the same
    # template; counted from a send that was not refused.
    "RESEND_COOLDOWN": 60,
    # Messages (OTPs and own codes) one recipient may get per UTC day.
    "DAILY_LIMIT": 10,
    # django-ratelimit rates for the forms given a request: per client IP and
    # per signed-in user, counted apart for sending and for verifying.
    "IP_RATE": "20/h",
    "USER_RATE": "10/h",
    # A callable (or its dotted path) taking the request and returning the
    # client's IP address; None reads REMOTE_ADDR (see the README on proxies).
    "CLIENT_IP": None,
    # Wrong codes a message accepts before it is locked.
    "MAX_VERIFY_ATTEMPTS": 5,
    # Destinations: ISO region codes (None allows every country) and
    # phonenumbers.PhoneNumberType names refused before any request.
    "ALLOWED_COUNTRIES": None,
    "DENIED_COUNTRIES": (),
    "DENIED_NUMBER_TYPES": ("PREMIUM_RATE", "SHARED_COST", "UNKNOWN"),
    # Keep only a keyed hash of each recipient in the history (MessageLog.to).
    "HASH_RECIPIENTS": False,
}

ENV_FALLBACK = {
    "DEV_KEY": "ENGAGELAB_OTP_DEV_KEY",
    "DEV_SECRET": "ENGAGELAB_OTP_DEV_SECRET",
}


class OTPSettings:
    """Attribute access to the merged settings: ``otp_settings.TIMEOUT``."""

    def raw(self) -> Any:
        """``settings.ENGAGELAB_OTP`` as given (the checks report it when it is not a dict)."""
        return getattr(django_settings, "ENGAGELAB_OTP", None)

    def user_settings(self) -> dict[str, Any]:
        value = self.raw()
        return value if isinstance(value, dict) else {}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown ENGAGELAB_OTP setting: {name!r}")
        user = self.user_settings()
        if name in user and user[name] not in (None, ""):
            return user[name]
        if name in ENV_FALLBACK:
            return os.environ.get(ENV_FALLBACK[name]) or None
        return DEFAULTS[name]

    def positive_whole(self, name: str) -> int:
        """A setting that must be a positive whole number; its default (and an ERROR logged) when it is not.

        ``manage.py check`` reports the wrong value; a request must not fail on
        it (a callback answered 500 is only retried, to fail again).
        """
        value = getattr(self, name)
        if is_positive_whole(value):
            return value
        logging.getLogger("django_engagelab_otp").error(
            "ENGAGELAB_OTP[%r] is not a positive whole number: using the default, %s", name, DEFAULTS[name]
        )
        return DEFAULTS[name]

    def __repr__(self) -> str:
        # Never show values: two of them are secrets.
        return f"<OTPSettings keys={sorted(DEFAULTS)}>"


def is_positive_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


otp_settings = OTPSettings()
