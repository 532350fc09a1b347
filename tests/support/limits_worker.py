"""OS processes claiming one limit at once: the worker (``python -m tests.support.limits_worker``) and its driver.

A worker sets Django up with the test's own database (``DATABASE_URL``, for
a database cache; none otherwise) and prints ``ready``. Then for each line
``{"cache": {...}, "scenario": name, "threads": n}`` on its standard input it
makes ``cache`` its ``CACHES["limits"]``, runs ``n`` threads released
together, each making that scenario's attempts
(:mod:`tests.support.limit_scenarios`), and prints what they came to as one
JSON line. The driver writes each line to every worker before it reads any
answer, so that the processes race each other. Workers serve one backend
after another: starting them is what takes time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from tests.support.constants import ROOT


def main() -> None:
    if not os.environ.get("DATABASE_URL"):
        os.environ.pop("DATABASE_URL", None)  # in-memory SQLite: only the cache is shared
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    from tests.support.limit_scenarios import BY_NAME
    from tests.support.settings import merged

    first = int(os.environ["WORKER_NUMBER"]) * 1000  # thread numbers of their own, across processes
    print("ready", flush=True)
    for line in sys.stdin:
        order = json.loads(line)
        scenario = BY_NAME[order["scenario"]]
        caches = {**settings.CACHES, "limits": order["cache"]}
        with override_settings(CACHES=caches, ENGAGELAB_OTP=merged(LIMITS_CACHE="limits", **scenario.changes)):
            outcomes = _burst(order["threads"], lambda i, s=scenario: s.attempts_of(first + i, send=False))
        print(json.dumps(outcomes), flush=True)


def _burst(count: int, attempts_of: Any) -> dict[str, int]:
    from django.db import connections

    barrier = threading.Barrier(count)
    results: list[list[str]] = [["error:no result"]] * count

    def work(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = attempts_of(index)
        except Exception as error:  # reported to the driver, which fails the test
            results[index] = [f"error:{error!r}"]
        finally:
            connections.close_all()  # this thread's: PostgreSQL takes 100 at most

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return dict(Counter(outcome for outcomes in results for outcome in outcomes))


class Workers:
    """Worker processes sharing one limits cache; :meth:`burst` makes them race."""

    def __init__(self, processes: list[subprocess.Popen[str]], logs: list[Any]) -> None:
        self.processes = processes
        self.logs = logs  # each worker's standard error

    def log(self, number: int) -> str:
        self.logs[number].seek(0)
        return self.logs[number].read()[-2000:].decode(errors="replace")

    def burst(self, cache: dict[str, Any], scenario: str, threads: int) -> Counter[str]:
        """Every process runs ``threads`` threads of ``scenario`` at once, counting in ``cache``; their outcomes."""
        order = json.dumps({"cache": cache, "scenario": scenario, "threads": threads}) + "\n"
        for process in self.processes:  # all written before any is read: they run together
            process.stdin.write(order)
            process.stdin.flush()
        total: Counter[str] = Counter()
        for number, process in enumerate(self.processes):
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"a worker stopped: {self.log(number)}")
            total.update(json.loads(line))
        return total


@contextmanager
def workers(count: int, database_url: str = "") -> Iterator[Workers]:
    """``count`` worker processes, ready to race (on ``database_url`` for a database cache)."""
    with ExitStack() as stack:
        logs = [stack.enter_context(tempfile.TemporaryFile()) for _ in range(count)]
        processes = [_start(number, database_url, log) for number, log in enumerate(logs)]
        stack.callback(_stop, processes)
        running = Workers(processes, logs)
        for number, process in enumerate(processes):
            line = process.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"a worker did not start: {line!r} {running.log(number)}")
        yield running


def _start(number: int, database_url: str, log: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.limits_worker"],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database_url,
            "WORKER_NUMBER": str(number),
        },
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,  # a file: a full pipe would stop the worker
        text=True,
    )


def _stop(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        process.stdin.close()  # the end of its orders: it exits
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
