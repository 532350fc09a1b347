"""How fast the callback view stores a 1,000-row batch, and with how many queries.

    .venv/bin/python bench/bench_callbacks.py                # SQLite and PostgreSQL
    .venv/bin/python bench/bench_callbacks.py --db sqlite --rows 1000 --repeat 5

Each batch goes through the real view (Django's test client: URL routing,
middleware, signature and nonce check, JSON parsing, one transaction) against
a database of its own: a SQLite file in a temporary directory, and a
PostgreSQL database created for the run on ``--postgres`` and dropped after.
The platform allows 3 seconds for an answer.

Scenarios, each on fresh messages this site sent (``accepted``):
  sent       — a ``sent`` row with billing for each message (first callback)
  delivered  — then a ``delivered`` row for each (replays the stored history)
  duplicate  — the same ``delivered`` batch again (all rows already stored)
  unknown    — rows for messages this site never sent (kept, unlinked)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 3.0
USERNAME, SECRET = "bench-callbacks", "bench-secret"
PG_DATABASE = "engagelab_bench_callbacks"
SCENARIOS = ("sent", "delivered", "duplicate", "unknown")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_measure(args)))
        return 0
    databases = ["sqlite", "postgres"] if args.db == "all" else [args.db]
    print(f"Callback batches of {args.rows} rows through the view, {args.repeat} runs each (budget {BUDGET_SECONDS} s)")
    print(f"{'database':<11}{'scenario':<11}{'median ms':>10}{'max ms':>9}{'queries':>9}{'body KB':>9}")
    worst = 0.0
    for database in databases:
        command = [sys.executable, __file__, "--worker", database, "--rows", str(args.rows)]
        command += ["--repeat", str(args.repeat), "--postgres", args.postgres]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        if done.returncode:
            print(f"{database:<11}failed: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
            return 1
        for name, result in json.loads(done.stdout.strip().splitlines()[-1]).items():
            worst = max(worst, result["max_ms"] / 1000)
            print(
                f"{database:<11}{name:<11}{result['median_ms']:>10.1f}{result['max_ms']:>9.1f}"
                f"{result['queries']:>9}{result['body_kb']:>9.0f}"
            )
    verdict = "within" if worst < BUDGET_SECONDS else "OVER"
    print(f"slowest batch: {worst * 1000:.0f} ms — {verdict} the {BUDGET_SECONDS:.0f} s budget")
    return 0 if worst < BUDGET_SECONDS else 1


# ---------------------------------------------------------------------- worker


def _measure(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as folder:
        database = _database(args.worker, args.postgres, Path(folder))
        _setup_django(database)
        try:
            return _run(args.rows, args.repeat)
        finally:
            if args.worker == "postgres":
                _drop_postgres(args.postgres)


def _database(kind: str, url: str, folder: Path) -> dict:
    if kind == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(folder / "bench.sqlite3")}
    import psycopg

    with psycopg.connect(f"{url.rstrip('/')}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}"')
        connection.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": PG_DATABASE,
        "USER": parts.username or "postgres",
        "PASSWORD": parts.password or "",
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": parts.port or 5432,
    }


def _drop_postgres(url: str) -> None:
    from django.db import connections

    connections.close_all()
    import psycopg

    with psycopg.connect(f"{url.rstrip('/')}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}"')


def _setup_django(database: dict) -> None:
    import django
    from django.conf import settings

    sys.path.insert(0, str(ROOT))
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only",
        ALLOWED_HOSTS=["*"],
        USE_TZ=True,
        DATABASES={"default": database},
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_engagelab_otp"],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
        ],
        ROOT_URLCONF="bench.bench_callbacks",
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        ENGAGELAB_OTP={"WEBHOOK_USERNAME": USERNAME, "WEBHOOK_SECRET": SECRET},
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _run(size: int, repeat: int) -> dict[str, dict[str, float]]:
    timings: dict[str, list[float]] = {name: [] for name in SCENARIOS}
    queries: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for run in range(repeat):
        ids = _messages(f"r{run}", size)
        batches = {
            "sent": [_row(i, "sent", 1, cost="0.0065") for i in ids],
            "delivered": [_row(i, "delivered", 3) for i in ids],
        }
        batches["duplicate"] = batches["delivered"]
        batches["unknown"] = [_row(f"elsewhere-{i}", "delivered", 3) for i in ids]
        for name in SCENARIOS:
            seconds, count, length = _post(batches[name])
            timings[name].append(seconds)
            queries[name] = count
            sizes[name] = length
    _sanity(size, repeat)
    return {
        name: {
            "median_ms": statistics.median(timings[name]) * 1000,
            "max_ms": max(timings[name]) * 1000,
            "queries": queries[name],
            "body_kb": sizes[name] / 1024,
        }
        for name in SCENARIOS
    }


def _messages(prefix: str, size: int) -> list[str]:
    from django_engagelab_otp.models import MessageLog

    ids = [f"{prefix}-{i:06d}" for i in range(size)]
    MessageLog.objects.bulk_create(
        MessageLog(kind="otp", to="+8618701235678", template_id="login-otp", message_id=message_id, status="accepted")
        for message_id in ids
    )
    return ids


def _row(message_id: str, status: str, offset: int, cost: str | None = None) -> dict:
    itime = 1_700_000_000 + offset
    state: dict = {
        "message_status": status,
        "status_data": {
            "msg_time": itime,
            "message_id": message_id,
            "current_send_channel": "sms",
            "template_key": "login-otp",
            "business_id": "",
        },
        "error_code": 0,
    }
    if cost:
        state["billing"] = {"cost": cost, "currency": "USD"}
    return {
        "message_id": message_id,
        "to": "+8618701235678",
        "server": "otp",
        "channel": "sms",
        "itime": itime,
        "custom_args": {},
        "status": state,
    }


def _post(rows: list[dict]) -> tuple[float, int, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from django_engagelab_otp.signing import callback_id

    body = json.dumps({"total": len(rows), "rows": rows}).encode()
    header = callback_id(SECRET, USERNAME)
    client = Client()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = client.post("/engagelab/callback/", body, content_type="application/json", HTTP_X_CALLBACK_ID=header)
        seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"the view answered {response.status_code}: {response.content[:200]!r}")
    return seconds, len(captured.captured_queries), len(body)


def _sanity(size: int, repeat: int) -> None:
    from django_engagelab_otp.models import MessageEvent, MessageLog

    delivered = MessageLog.objects.filter(status="delivered", cost__isnull=False).count()
    events = MessageEvent.objects.count()
    if delivered != size * repeat or events != 3 * size * repeat:
        raise SystemExit(f"unexpected state: {delivered} delivered logs, {events} events")


def __getattr__(name: str) -> list:
    """The worker's URLconf (ROOT_URLCONF names this module); built on demand, once Django is set up."""
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.urls import include, path

    return [path("engagelab/", include("django_engagelab_otp.urls"))]


if __name__ == "__main__":
    sys.exit(main())
