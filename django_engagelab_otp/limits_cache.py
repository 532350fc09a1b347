"""Where the abuse limits and the attempt counter keep their state: ``LIMITS_CACHE``.

With a shared cache (Redis) the limits hold across processes and machines.
Keys hold keyed hashes, never a recipient; a cache that fails refuses the
send as an operator's problem (``ConfigurationError``), since nothing would
guard it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import BaseCache, caches

from .conf import otp_settings
from .errors import failure
from .exceptions import EngageLabError
from .privacy import keyed_hash, keyed_hashes

PREFIX = "engagelab_otp:"


def limits_cache() -> BaseCache:
    return caches[otp_settings.LIMITS_CACHE]


def cache_key(kind: str, value: str) -> str:
    """The cache key of ``kind`` for ``value`` (hashed: a cache dump must not list phone numbers)."""
    return _key(kind, keyed_hash(value, "limits"))


def cache_keys(kind: str, value: str) -> list[str]:
    """:func:`cache_key`, then the keys ``value`` had under ``SECRET_KEY_FALLBACKS``.

    A cooldown or a count started before ``SECRET_KEY`` was rotated is kept
    under an old key until it expires; it must still hold.
    """
    return [_key(kind, digest) for digest in keyed_hashes(value, "limits")]


def _key(kind: str, digest: str) -> str:
    return f"{PREFIX}{kind}:{digest[:40]}"


@contextmanager
def cache_errors() -> Iterator[None]:
    """Any failure of the cache, as the ``limits_cache`` row of the error table."""
    try:
        yield
    except EngageLabError:
        raise
    except Exception as error:
        raise failure(
            "limits_cache",
            f"the cache {otp_settings.LIMITS_CACHE!r} holding the limits failed: {type(error).__name__}",
        ) from error
