"""The cache backends the limits are proved on, and how a test points ``LIMITS_CACHE`` at one.

Each configuration is fresh: a key prefix (Redis, memcached), a location
(local memory) or an emptied table (database) of its own, so that tests
running side by side (xdist) never count each other's claims.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection

from tests.support.webhooks import redis_cache

MEMCACHED = ("127.0.0.1", 11211)
#: The table the database cache of these tests lives in (in the test database).
CACHE_TABLE = "engagelab_limits_cache"
#: Room for every claim of a test: past MAX_ENTRIES these caches forget a third of their keys.
ROOMY = {"MAX_ENTRIES": 1_000_000}

BACKENDS = ("locmem", "redis", "database", "memcached")
#: Backends several OS processes can share (a local-memory cache is per process).
SHARED = ("redis", "database", "memcached")


def memcached_answers() -> bool:
    try:
        socket.create_connection(MEMCACHED, timeout=1).close()
    except OSError:
        return False
    return True


def need_memcached() -> None:
    """Skip without a memcached server, unless the run insists on one (CI sets REQUIRE_MEMCACHED)."""
    if memcached_answers():
        return
    if os.environ.get("REQUIRE_MEMCACHED") == "1":
        pytest.fail(f"memcached does not answer on {MEMCACHED[0]}:{MEMCACHED[1]}")
    pytest.skip("memcached does not answer on 127.0.0.1:11211 (apt-get install memcached)")


def database_name() -> str:
    """What this run's database is, for the figures: ``database (postgresql)``."""
    return f"database ({connection.vendor})"


@contextmanager
def limit_cache(backend: str) -> Iterator[dict[str, Any]]:
    """A fresh configuration of ``backend`` for the alias ``"limits"``; cleaned up afterwards."""
    if backend == "redis":
        with redis_cache() as config:
            yield config
        return
    if backend == "memcached":
        need_memcached()
        # memcached has no listing of keys: a prefix of its own, and the keys expire.
        yield {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": f"{MEMCACHED[0]}:{MEMCACHED[1]}",
            "KEY_PREFIX": f"test-limits-{uuid.uuid4().hex}",
        }
        return
    if backend == "locmem":
        yield {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"limits-{uuid.uuid4().hex}",
            "OPTIONS": ROOMY,
        }
        return
    if backend == "database":
        yield {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": CACHE_TABLE, "OPTIONS": ROOMY}
        return
    raise ValueError(f"no such backend: {backend}")


def use_limit_cache(settings: Any, config: dict[str, Any]) -> None:
    """Point ``CACHES["limits"]`` at ``config`` (the table made and emptied for a database cache)."""
    settings.CACHES = {**settings.CACHES, "limits": config}
    if config["BACKEND"].endswith(".DatabaseCache"):
        call_command("createcachetable", CACHE_TABLE, verbosity=0)
        caches["limits"].clear()
