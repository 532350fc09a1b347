"""The backend the settings select: ``get_backend()``.

``ENGAGELAB_OTP["BACKEND"]`` names the class (:mod:`.http` by default,
:mod:`.locmem` for tests; :mod:`.base` is the contract a backend keeps).
:func:`call_async` makes a call of the contract from async code, natively
when the backend has the async twin of the call, in a worker thread if not.
Instances are built once per configuration and shared, so that connections
stay alive between sends, and dropped when ``override_settings`` changes the
configuration.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from asgiref.sync import sync_to_async
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string
from django.views.decorators.debug import sensitive_variables

from ..conf import SETTINGS, otp_settings
from ..errors import failure
from .base import AsyncBackend, Backend, SendResult, VerifyResult

__all__ = [
    "AsyncBackend",
    "Backend",
    "SendResult",
    "VerifyResult",
    "get_backend",
    "backend_class",
    "backend_options",
    "call_async",
]

#: The calls of the contract, which a backend class must have.
_CALLS = tuple(name for name, value in vars(Backend).items() if callable(value) and not name.startswith("_"))

_lock = threading.Lock()
_backends: dict[tuple[Any, ...], Backend] = {}
#: (what the settings were, the backend for them): the answer to every call
#: until the settings change, without rebuilding the options each time.
_current: tuple[tuple[Any, ...], Backend] | None = None


def backend_options() -> dict[str, Any]:
    """The keyword arguments a backend class is built with, from the settings."""
    key, secret = otp_settings.DEV_KEY, otp_settings.DEV_SECRET
    if not key or not secret:
        names = " / ".join(SETTINGS[name].env for name in ("DEV_KEY", "DEV_SECRET"))
        raise failure(
            "configuration",
            f"EngageLab credentials are missing: set ENGAGELAB_OTP['DEV_KEY'] and ['DEV_SECRET'] or {names}.",
        )
    return {
        "dev_key": key,
        "dev_secret": secret,
        "api_url": otp_settings.API_URL,
        "timeout": otp_settings.TIMEOUT,
        "max_retries": otp_settings.MAX_RETRIES,
        "retry_backoff": otp_settings.RETRY_BACKOFF,
        "retry_backoff_max": otp_settings.RETRY_BACKOFF_MAX,
        "retry_jitter": otp_settings.RETRY_JITTER,
    }


@sensitive_variables()  # the credentials, read from the settings or the environment
def get_backend() -> Backend:
    """The configured backend (shared, thread-safe); ``ConfigurationError`` before any request when it cannot be."""
    global _current
    # The settings dict is replaced (and setting_changed clears this) by
    # override_settings; the credentials may also come from the environment.
    marker = (
        id(otp_settings.user_settings()),
        os.environ.get(SETTINGS["DEV_KEY"].env),
        os.environ.get(SETTINGS["DEV_SECRET"].env),
    )
    current = _current
    if current is not None and current[0] == marker:
        return current[1]
    backend = _build()
    _current = (marker, backend)
    return backend


def _build() -> Backend:
    path = otp_settings.BACKEND
    options = backend_options()
    cache_key = (path, *sorted((k, repr(v)) for k, v in options.items()))
    backend = _backends.get(cache_key)
    if backend is None:
        with _lock:
            backend = _backends.get(cache_key)
            if backend is None:
                backend = _backends[cache_key] = backend_class(path)(**options)
    return backend


def backend_class(path: Any) -> type[Backend]:
    """The class a dotted path names; ``ConfigurationError`` when it cannot be imported or is no backend."""
    try:
        cls = import_string(path)
    except ImportError:
        raise failure("configuration", f"ENGAGELAB_OTP['BACKEND'] cannot be imported: {path!r}") from None
    missing = [name for name in _CALLS if not callable(getattr(cls, name, None))]
    if not isinstance(cls, type) or missing:
        lacks = ", ".join(missing) if isinstance(cls, type) else "is not a class"
        raise failure("configuration", f"ENGAGELAB_OTP['BACKEND'] is not a backend: {path!r} ({lacks})")
    return cls


@sensitive_variables()  # its arguments: the recipient, the code
async def call_async(backend: Backend, name: str, *args: Any, **kwargs: Any) -> Any:
    """``await backend.a<name>(…)`` when the backend has it (:class:`AsyncBackend`), else ``<name>`` in a thread.

    The thread is a worker's, not the one Django keeps for the database
    (``thread_sensitive=False``): a backend touches no database, and a call
    in flight must not hold up the history's steps of every other send.
    """
    native = getattr(backend, f"a{name}", None)
    if native is not None:
        return await native(*args, **kwargs)
    return await sync_to_async(getattr(backend, name), thread_sensitive=False)(*args, **kwargs)


def reset_backends() -> None:
    """Close and forget every backend built so far."""
    global _current
    with _lock:
        _current = None
        for backend in _backends.values():
            backend.close()
        _backends.clear()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "ENGAGELAB_OTP":
        reset_backends()
