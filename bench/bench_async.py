"""Sends per second of ``asend_otp`` at several concurrencies, beside a sequential ``send_otp`` loop.

The simulator runs in a process of its own and answers every request after
``--latency-ms`` (50 ms by default, a platform across the internet). The
sends go from one event loop, ``--concurrency`` at a time (1, 8, 32, 64),
each to a new recipient, with their history on SQLite (WAL, a file) or
PostgreSQL. The backend's pool is widened to the highest concurrency
(``max_connections``); one more row shows the default pool of 10.

    .venv/bin/python bench/bench_async.py [--sends 200] [--latency-ms 50] [--concurrency 1,8,32,64]
                                          [--database sqlite|postgres]

Importable: :func:`sequential` and :func:`concurrent` time one run each
(Django set up, ``ENGAGELAB_OTP`` pointing at a platform), for other benches.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project root, when run as a script

from bench import support
from django_engagelab_otp.backends.http import HTTPBackend

KEY, SECRET = "bench-key", "bench-secret"  # bench/settings.py's
TEMPLATE = "login-otp"
_numbers = itertools.count(int(os.environ.get("BENCH_FIRST_NUMBER", 2 * 10**7)))


class WideBackend(HTTPBackend):
    """The HTTP backend with a pool as wide as the highest concurrency measured (set by :func:`main`)."""

    max_connections = 64


def recipients(count: int) -> list[str]:
    """``count`` Chinese mobile numbers never used before in this process (the platform refuses a second live code)."""
    return [f"+86187{next(_numbers):08d}" for _ in range(count)]


def sequential(numbers: Sequence[str]) -> float:
    """Seconds ``send_otp`` takes for ``numbers``, one after the other."""
    from django_engagelab_otp import send_otp

    started = time.perf_counter()
    for to in numbers:
        send_otp(to)
    return time.perf_counter() - started


def concurrent(numbers: Sequence[str], concurrency: int) -> float:
    """Seconds ``asend_otp`` takes for ``numbers`` from one event loop, ``concurrency`` at a time."""
    from django_engagelab_otp import asend_otp

    async def run() -> float:
        gate = asyncio.Semaphore(concurrency)

        async def one(to: str) -> None:
            async with gate:
                await asend_otp(to)

        started = time.perf_counter()
        await asyncio.gather(*(one(to) for to in numbers))
        return time.perf_counter() - started

    return asyncio.run(run())


# ------------------------------------------------------------------ the simulator, in its own process


def _serve(port: int, latency_ms: float) -> None:
    from django_engagelab_otp.simulator import Simulator

    simulator = Simulator(KEY, SECRET, latency_ms=latency_ms, code_ttl=3600).start(port=port)
    simulator.platform.ensure_template(TEMPLATE)
    threading.Event().wait()


@contextmanager
def simulator(latency_ms: float) -> Iterator[str]:
    """A simulator answering after ``latency_ms``, in a child process; yields its API URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = multiprocessing.get_context("spawn").Process(target=_serve, args=(port, latency_ms), daemon=True)
    child.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1/"
    finally:
        child.terminate()
        child.join(10)


# ------------------------------------------------------------------ the run


def measure(sends: int, levels: Sequence[int]) -> list[list[Any]]:
    """The table's rows: the sequential loop, then each concurrency (the pool as wide as the highest)."""
    from django.test import override_settings

    from django_engagelab_otp.backends import reset_backends
    from django_engagelab_otp.conf import otp_settings

    baseline = sends / sequential(recipients(sends))
    rows: list[list[Any]] = [["send_otp, one after the other", "-", f"{baseline:,.0f}", "1.00×"]]
    WideBackend.max_connections = max(levels)
    runs = [(level, f"{__name__}.WideBackend", max(levels)) for level in levels]
    runs.append((max(levels), "django_engagelab_otp.backends.http.HTTPBackend", HTTPBackend.max_connections))
    for level, backend, pool in runs:
        with override_settings(ENGAGELAB_OTP={**otp_settings.user_settings(), "BACKEND": backend}):
            rate = sends / concurrent(recipients(sends), level)
            reset_backends()
        rows.append([f"asend_otp, {level} at a time", pool, f"{rate:,.0f}", f"{rate / baseline:.2f}×"])
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sends", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", default="1,8,32,64")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    options = parser.parse_args(argv)
    levels = [int(level) for level in options.concurrency.split(",")]
    with simulator(options.latency_ms) as url, tempfile.TemporaryDirectory() as folder:
        if options.database == "postgres":
            database = support.recreate_database("engagelab_bench_async")
        else:
            database = f"sqlite:///{folder}/bench.sqlite3"
        support.setup_django(database, api_url=url)
        from django.conf import settings

        # Each recipient is new: only the platform's latency and this app's work are measured.
        settings.ENGAGELAB_OTP = {**settings.ENGAGELAB_OTP, "DAILY_LIMIT": 0, "RESEND_COOLDOWN": 0}
        rows = measure(options.sends, levels)
        print(
            f"{options.sends} sends per row, the simulator answering after {options.latency_ms:.0f} ms, "
            f"history on {options.database} (Python {sys.version.split()[0]})\n"
        )
        print(support.table(["loop", "connections", "sends/s", "vs send_otp"], rows))
        if options.database == "postgres":
            from django.db import connections

            connections.close_all()
            support.drop_database("engagelab_bench_async")


if __name__ == "__main__":
    main()
