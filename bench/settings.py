"""Django settings for the benchmarks: the test settings, with their own database and platform.

``BENCH_DATABASE_URL`` chooses the database; ``BENCH_API_URL`` the local server the send benchmark talks to.
"""

import os

import environ

from tests.settings import *  # noqa: F403  (apps, middleware, templates, caches: the same as the tests')

SECRET_KEY = "bench-only-not-secret"

DATABASES = {"default": environ.Env.db_url_config(os.environ.get("BENCH_DATABASE_URL", "sqlite:///:memory:"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # How SQLite is run in production: write-ahead log, fsync at checkpoints.
    DATABASES["default"]["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}

# The limits where several processes would keep them (bench_bulk.py sets BENCH_REDIS_URL when Redis answers);
# else room for a 100,000-line bulk run's cooldowns and daily counts in the process (LocMem culls past MAX_ENTRIES).
if os.environ.get("BENCH_REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["BENCH_REDIS_URL"],
            "KEY_PREFIX": os.environ.get("BENCH_REDIS_PREFIX", "engagelab-bench"),
        }
    }
else:
    LOCAL = "django.core.cache.backends.locmem.LocMemCache"
    CACHES = {"default": {"BACKEND": LOCAL, "OPTIONS": {"MAX_ENTRIES": 10**6}}}

# bench_bulk.py's queue: the Tasks API's database backend, run by db_worker processes.
if os.environ.get("BENCH_TASKS") == "db":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    # A worker checks its connection after each task: kept, as a deployed worker's would be, not reopened.
    DATABASES["default"]["CONN_MAX_AGE"] = None

LOGGING = {"version": 1, "disable_existing_loggers": False, "loggers": {"django_engagelab_otp": {"level": "WARNING"}}}

# Credentials of the local server the send benchmark talks to (never a real account).
ENGAGELAB_OTP = {
    "DEV_KEY": "bench-key",
    "DEV_SECRET": "bench-secret",
    "API_URL": os.environ.get("BENCH_API_URL", "http://127.0.0.1:9/v1/"),
    "TEMPLATE_ID": "login-otp",
    "MAX_RETRIES": 0,
}
