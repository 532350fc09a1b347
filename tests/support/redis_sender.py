"""One process of the multi-process cooldown test (``tests/test_limits_redis.py``).

Run as ``python -m tests.redis_sender`` with the simulator's address, the Redis
location and key prefix in the environment. It prepares itself (settings, an
in-memory database), prints ``ready``, waits for a line on standard input,
then sends one OTP and prints what happened as one JSON line.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ.pop("DATABASE_URL", None)  # its own in-memory SQLite: the cache is what is shared
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import override_settings

    from django_engagelab_otp import send_otp
    from django_engagelab_otp.exceptions import EngageLabError, ThrottledError

    redis = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["REDIS_URL"],
        "KEY_PREFIX": os.environ["REDIS_PREFIX"],
    }
    engagelab = {
        **settings.ENGAGELAB_OTP,
        "API_URL": os.environ["SIM_URL"],
        "DEV_KEY": os.environ["SIM_KEY"],
        "DEV_SECRET": os.environ["SIM_SECRET"],
        "BACKEND": "django_engagelab_otp.backends.http.HTTPBackend",
    }
    with override_settings(CACHES={"default": redis}, ENGAGELAB_OTP=engagelab):
        call_command("migrate", verbosity=0)
        print("ready", flush=True)
        sys.stdin.readline()
        try:
            log = send_otp(os.environ["RECIPIENT"])
            result = {"outcome": "sent", "message_id": log.message_id}
        except ThrottledError as error:
            result = {"outcome": "throttled", "scope": error.scope, "wait": error.wait_seconds}
        except EngageLabError as error:
            result = {"outcome": "error", "error": repr(error)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
