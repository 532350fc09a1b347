"""The client the settings select, built once per configuration.

The ``BACKEND`` setting names the class (the HTTP client by default, or an
in-memory one for tests). Instances are cached so that connections are kept
alive between sends, and dropped when ``override_settings`` changes the
configuration.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from .conf import otp_settings
from .errors import failure

_lock = threading.Lock()
_clients: dict[tuple[Any, ...], Any] = {}
#: (what the settings were, the client for them): the answer to every call
#: until the settings change, without rebuilding the options each time.
_current: tuple[tuple[Any, ...], Any] | None = None


def client_options() -> dict[str, Any]:
    """Constructor arguments for a client class, from the settings."""
    key, secret = otp_settings.DEV_KEY, otp_settings.DEV_SECRET
    if not key or not secret:
        raise failure(
            "configuration",
            "EngageLab credentials are missing: set ENGAGELAB_OTP['DEV_KEY'] and ['DEV_SECRET'] "
            "or the ENGAGELAB_OTP_DEV_KEY / ENGAGELAB_OTP_DEV_SECRET environment variables.",
        )
    timeout = otp_settings.TIMEOUT
    return {
        "dev_key": key,
        "dev_secret": secret,
        "api_url": otp_settings.API_URL,
        "timeout": tuple(timeout) if isinstance(timeout, (list, tuple)) else timeout,
        "max_retries": otp_settings.MAX_RETRIES,
        "retry_backoff": otp_settings.RETRY_BACKOFF,
        "retry_backoff_max": otp_settings.RETRY_BACKOFF_MAX,
        "retry_jitter": otp_settings.RETRY_JITTER,
    }


def get_client() -> Any:
    """The configured client (shared, thread-safe)."""
    global _current
    # The settings dict is replaced (and setting_changed clears this) by
    # override_settings; the credentials may also come from the environment.
    marker = (
        id(otp_settings.user_settings()),
        os.environ.get("ENGAGELAB_OTP_DEV_KEY"),
        os.environ.get("ENGAGELAB_OTP_DEV_SECRET"),
    )
    current = _current
    if current is not None and current[0] == marker:
        return current[1]
    client = _build_client()
    _current = (marker, client)
    return client


def _build_client() -> Any:
    backend = otp_settings.BACKEND
    options = client_options()
    cache_key = (backend, *sorted((k, repr(v)) for k, v in options.items()))
    client = _clients.get(cache_key)
    if client is None:
        with _lock:
            client = _clients.get(cache_key)
            if client is None:
                client = _clients[cache_key] = backend_class(backend)(**options)
    return client


def backend_class(path: str) -> Any:
    """The client class a dotted path names; a ``ConfigurationError`` when it cannot be imported."""
    try:
        return import_string(path)
    except ImportError:
        raise failure("configuration", f"ENGAGELAB_OTP['BACKEND'] cannot be imported: {path!r}") from None


def reset_clients() -> None:
    global _current
    with _lock:
        _current = None
        for client in _clients.values():
            close = getattr(client, "close", None)
            if close:
                close()
        _clients.clear()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "ENGAGELAB_OTP":
        reset_clients()
