"""One process of the shared-rate test (``tests/test_send_rate.py``): threads taking ``SEND_RATE`` slots.

Prepares itself (settings, Redis as the limits' cache under the test's key
prefix), prints ``ready``, waits for a line on standard input, then lets
``THREADS`` threads take slots for ``SECONDS`` seconds and prints, as one
JSON list, the moments each slot was granted.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    from django_engagelab_otp import send_rate

    redis = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["REDIS_URL"],
        "KEY_PREFIX": os.environ["REDIS_PREFIX"],
    }
    engagelab = {**settings.ENGAGELAB_OTP, "SEND_RATE": os.environ["SEND_RATE"]}
    granted: list[float] = []
    with override_settings(CACHES={"default": redis}, ENGAGELAB_OTP=engagelab):
        send_rate.take()  # the first connection to Redis, before the clock starts
        print("ready", flush=True)
        sys.stdin.readline()
        end = time.time() + float(os.environ["SECONDS"])

        def taker() -> None:
            while time.time() < end:
                send_rate.take()
                granted.append(time.time())

        threads = [threading.Thread(target=taker) for _ in range(int(os.environ["THREADS"]))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    print(json.dumps(granted), flush=True)


if __name__ == "__main__":
    main()
