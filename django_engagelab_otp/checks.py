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

from django.conf import settings
from django.core.cache import caches
from django.core.checks import CheckMessage, Error, Warning, register
from django.db import router
from django.utils.module_loading import import_string

from .backends import backend_class
from .conf import DEFAULTS, SETTINGS, otp_settings, problems
from .exceptions import EngageLabError
from .limits_cache import adds_atomically
from .models import MessageLog
from .validation import template_id

ID = "django_engagelab_otp"
TAG = "engagelab_otp"

Messages = list[CheckMessage]


def problem_messages(*, webhooks: bool) -> Messages:
    """Every value ``conf`` cannot use, as an error with its key's id (the callback keys, or the others)."""
    return [
        Error(problem.message, hint=problem.setting.hint or None, id=f"{ID}.{problem.setting.check_id}")
        for problem in problems()
        if problem.setting.name.startswith("WEBHOOK_") == webhooks
    ]


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


def _values() -> Messages:
    return problem_messages(webhooks=False)


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
            f"{SETTINGS['DEV_KEY'].env} and {SETTINGS['DEV_SECRET'].env} (EngageLab console, API keys).",
            id=f"{ID}.E001",
        )
    ]


def _api_url() -> Messages:
    host = urlsplit(otp_settings.API_URL).hostname or ""
    if otp_settings.API_URL.startswith("http:") and not _is_local(host):
        return [
            Warning(
                f"ENGAGELAB_OTP['API_URL'] uses plain http to {host}: the credentials would travel in clear.",
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
    value = otp_settings.given("TEMPLATE_ID")
    if value is None:
        return [
            Warning(
                "ENGAGELAB_OTP['TEMPLATE_ID'] is not set: send_otp() needs a template id and the forms cannot send.",
                hint="Set it to the id of your OTP template in the EngageLab console.",
                id=f"{ID}.W002",
            )
        ]
    if not isinstance(value, str):
        return []  # reported with the other values conf cannot use
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


_SHARED_CACHE_HINT = (
    "Point ENGAGELAB_OTP['LIMITS_CACHE'] at a cache every process shares: Redis "
    "(django.core.cache.backends.redis.RedisCache), memcached or the database cache."
)


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
                hint=_SHARED_CACHE_HINT,
                id=f"{ID}.W004",
            )
        ]
    return _atomic_adds(alias, backend)


def _atomic_adds(alias: str, backend: str) -> Messages:
    """Every limit is counted with ``cache.add``: a backend whose add is not atomic holds none."""
    try:
        atomic = adds_atomically(import_string(backend))
    except ImportError:
        return []  # Django's own checks and the first use report it
    if atomic is False:
        return [
            Error(
                f"The cache of the abuse limits ({alias!r}) cannot hold them: {backend}.add() looks for a key, "
                "then writes it, so simultaneous requests all pass. Sends are refused while it is the cache.",
                hint=_SHARED_CACHE_HINT,
                id=f"{ID}.E017",
            )
        ]
    if atomic is None:
        return [
            Warning(
                f"The abuse limits count with add() in the cache {alias!r} ({backend}): they hold only if that "
                "add() is atomic (adds a key only when it is absent, in one step), which this app cannot tell.",
                hint="If it is, silence this warning (SILENCED_SYSTEM_CHECKS). " + _SHARED_CACHE_HINT,
                id=f"{ID}.W006",
            )
        ]
    return []


def _history_database() -> Messages:
    """SQLite cannot keep the history apart from a request's transaction (see history.database)."""
    alias = router.db_for_write(MessageLog)
    database = settings.DATABASES.get(alias, {})
    if not (database.get("ENGINE", "").endswith("sqlite3") and database.get("ATOMIC_REQUESTS")):
        return []
    return [
        Warning(
            f"The message history is on SQLite ({alias!r}) with ATOMIC_REQUESTS: a send's row is written in the "
            "request's transaction, so a view that fails after a send rolls back the row of a message that was "
            "sent. Verification attempts are counted in the limits' cache instead, so the lock still holds.",
            hint="On PostgreSQL or MySQL the history is written on a connection of its own and survives the "
            "rollback; on SQLite, turn ATOMIC_REQUESTS off or send outside the atomic block "
            "(transaction.non_atomic_requests).",
            id=f"{ID}.W008",
        )
    ]


def _cache_backend(alias: Any) -> str | None:
    caches = getattr(settings, "CACHES", {})
    return caches.get(alias, {}).get("BACKEND") if isinstance(alias, str) else None


CHECKS: list[Callable[[], Messages]] = [
    _unknown_keys,
    _credentials,
    _values,
    _api_url,
    _backend,
    _template,
    _limits_cache,
    _history_database,
]


#: Entries a database cache of the limits should have room for before it culls (a send takes up to three).
ROOM = 100_000


@register(TAG, deploy=True)
def check_deployment(app_configs: Any = None, **kwargs: Any) -> Messages:
    """``manage.py check --deploy``: limits a cache forgets (per process, or culled) do not hold on a busy site."""
    alias = otp_settings.LIMITS_CACHE
    if otp_settings.raw() is not None and not isinstance(otp_settings.raw(), dict):
        return []
    backend = _cache_backend(alias) or ""
    if backend.endswith(".LocMemCache"):
        return [
            Warning(
                f"The cache of the abuse limits ({alias!r}) is per process: each process keeps its own "
                "cooldowns and counts, so the limits multiply with the processes; past its MAX_ENTRIES "
                "(300 by default) it forgets a third of them at once.",
                hint=_SHARED_CACHE_HINT,
                id=f"{ID}.W005",
            )
        ]
    room = getattr(caches[alias], "_max_entries", ROOM) if backend.endswith(".DatabaseCache") else ROOM
    if room < ROOM:
        return [
            Warning(
                f"The database cache of the abuse limits ({alias!r}) holds {room} entries (MAX_ENTRIES): past "
                "that it deletes a third of its rows, live cooldowns and counts among them; a send takes up "
                "to three, a form's post two more.",
                hint=f"Set OPTIONS['MAX_ENTRIES'] of CACHES[{alias!r}] to {ROOM:,} or more (expired entries "
                "go first), or use Redis.",
                id=f"{ID}.W007",
            )
        ]
    return []
