"""Cost per call of ``send_otp`` beside bare HTTP loops, against a local server.

Seven loops send the same OTP request to the same local server, each in its own
process (so that none shares the interpreter with the server):

* ``requests.Session().post`` — a kept-alive connection, nothing else;
* ``requests.post`` — a new session, so a new connection, per call;
* ``engagelab-otp`` (the vendor SDK) — urllib, a new connection per call;
* this project's ``HTTPBackend`` on its own — the HTTP layer, no Django;
* ``send_otp`` with Django on SQLite — validation, the client, and the two
  writes of its ``MessageLog`` row (``pending`` before, ``accepted`` after);
* ``send_otp`` with Django on PostgreSQL, when one answers, and on the same
  server with ``synchronous_commit=off`` (commits that do not wait for the
  write-ahead log to reach the disk): the difference is what durability costs.

For ``send_otp`` the time spent inside the database driver is measured too
(Django's ``execute_wrapper``), so that the table shows what the app's own
work costs beside what its row writes cost.

The servers: the project's simulator (a faithful platform: credentials,
templates, codes); a minimal keep-alive server whose answers cost next to
nothing, which shows the client side's own cost most sharply; and the same
server answering after ``--latency-ms`` (20 ms by default), as a platform
across the internet would, which shows what the overhead weighs in practice.

    .venv/bin/python bench/bench_send.py [--calls 1000] [--rounds 5] [--server simulator|minimal|both]
                                         [--latency-ms 20]
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project root, when run as a script

from bench import support
from bench.keepalive_server import KeepAliveServer

KEY, SECRET = "bench-key", "bench-secret"
TEMPLATE = "demo-otp"  # one of the simulator's own templates


def recipients() -> Callable[[], str]:
    """A new Chinese mobile number per call (the platform refuses a second live code to the same one)."""
    numbers = iter(range(int(os.environ.get("BENCH_FIRST_NUMBER", 10**7)), 10**8))
    return lambda: f"+86187{next(numbers):08d}"


# ------------------------------------------------------------------ the loops (run in a child process)


def loop_session(url: str) -> Callable[[], str]:
    import requests

    session = requests.Session()
    to = recipients()

    def call() -> str:
        body = {"to": to(), "template": {"id": TEMPLATE, "language": "default", "params": {}}}
        response = session.post(url + "messages", json=body, auth=(KEY, SECRET), timeout=10)
        response.raise_for_status()
        return response.json()["message_id"]

    return call


def loop_new_connection(url: str) -> Callable[[], str]:
    import requests

    to = recipients()

    def call() -> str:
        body = {"to": to(), "template": {"id": TEMPLATE, "language": "default", "params": {}}}
        response = requests.post(url + "messages", json=body, auth=(KEY, SECRET), timeout=10)  # a session per call
        response.raise_for_status()
        return response.json()["message_id"]

    return call


def loop_vendor_sdk(url: str) -> Callable[[], str]:
    from engagelab_otp import OTPClient

    client = OTPClient(KEY, SECRET)
    client.BASE_URL = url.rstrip("/")
    to = recipients()
    return lambda: client.send(to(), TEMPLATE)["message_id"]


def loop_client(url: str) -> Callable[[], str]:
    from django_engagelab_otp.backends.http import HTTPBackend

    client = HTTPBackend(KEY, SECRET, api_url=url, max_retries=0)
    to = recipients()
    return lambda: client.send_message(to(), TEMPLATE).message_id


def loop_send_otp(url: str, database_url: str) -> Callable[[], Any]:
    support.setup_django(database_url, api_url=url)
    from django_engagelab_otp import send_otp

    to = recipients()

    def call() -> None:
        log = send_otp(to(), TEMPLATE)
        assert log.status == "accepted", log.status

    return call


class DatabaseClock:
    """Time spent inside the database driver (the statement, its commit, the round trip), via Django's hook."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start


def child(mode: str, url: str, database_url: str, calls: int) -> None:
    """Runs one loop and prints its seconds per call (and for send_otp those spent in the database) as JSON."""
    loops = {
        "session": loop_session,
        "new_connection": loop_new_connection,
        "vendor": loop_vendor_sdk,
        "client": loop_client,
    }
    call = loop_send_otp(url, database_url) if mode == "send_otp" else loops[mode](url)
    for _ in range(min(200, calls)):  # warm up: imports, connections, caches
        call()
    clock = DatabaseClock()
    if mode == "send_otp":
        from django.db import connection

        connection.execute_wrappers.append(clock)
    start = time.perf_counter()
    for _ in range(calls):
        call()
    print(json.dumps({"per_call": (time.perf_counter() - start) / calls, "database": clock.seconds / calls}))


# ------------------------------------------------------------------ the parent


def run_child(number: int, mode: str, url: str, calls: int, database_url: str = "") -> dict[str, float]:
    command = [sys.executable, __file__, "--child", mode, "--url", url, "--calls", str(calls)]
    if database_url:
        command += ["--database", database_url]
    # Each run its own recipients, so that no send meets another run's live code.
    env = {**os.environ, "BENCH_FIRST_NUMBER": str(10**7 + number * 10**5)}
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900, env=env)
    if result.returncode:
        raise SystemExit(f"bench_send {mode} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def start_server(kind: str, latency: float) -> Any:
    if kind == "simulator":
        from django_engagelab_otp.simulator import Simulator

        return Simulator(dev_key=KEY, dev_secret=SECRET, code_ttl=300).start(port=0)
    return KeepAliveServer(latency=latency if kind == "distant" else 0.0).start()


def servers(choice: str, latency: float) -> list[str]:
    try:
        from django_engagelab_otp.simulator import Simulator  # noqa: F401
    except ImportError:
        print("bench_send: django_engagelab_otp.simulator is not available; using the minimal keep-alive server.")
        return ["minimal"]
    chosen = ["simulator", "minimal"] if choice == "both" else [choice]
    return [*chosen, "distant"] if latency and choice == "both" else chosen


def measure(kind: str, latency: float, calls: int, rounds: int, workdir: str) -> list[list[str]]:
    server = start_server(kind, latency)
    try:
        loops = [
            ("requests.Session().post (kept alive)", "session", ""),
            ("requests.post (a new connection per call)", "new_connection", ""),
            ("vendor SDK (urllib, new connection per call)", "vendor", ""),
            ("HTTPBackend.send_message (no database)", "client", ""),
            ("send_otp, SQLite (file, WAL)", "send_otp", f"sqlite:///{workdir}/send.sqlite3"),
        ]
        if support.postgres_reachable():
            loops.append(("send_otp, PostgreSQL", "send_otp", support.recreate_database("engagelab_bench_send")))
            # The same server without waiting for the WAL flush at each commit:
            # what durability costs (a server setting, not something this app chooses).
            relaxed = support.recreate_database("engagelab_bench_send_async", synchronous_commit="off")
            loops.append(("send_otp, PostgreSQL, synchronous_commit=off", "send_otp", relaxed))
        else:
            print(f"bench_send: PostgreSQL does not answer at {support.PG_SERVER}; measured on SQLite only.")
        # Rounds take turns, so that a burst of load elsewhere on the machine
        # falls on every loop alike; each loop's median round is kept.
        samples: dict[str, list[dict[str, float]]] = {name: [] for name, _mode, _db in loops}
        for turn in range(rounds):
            for index, (name, mode, db) in enumerate(loops):
                samples[name].append(run_child(turn * len(loops) + index, mode, server.url, calls, db))
    finally:
        server.stop()
        if support.postgres_reachable():
            support.drop_database("engagelab_bench_send")
            support.drop_database("engagelab_bench_send_async")
    base = statistics.median(sample["per_call"] for sample in samples[loops[0][0]])
    rows = []
    for name, values in samples.items():
        cost = statistics.median(sample["per_call"] for sample in values)
        database = statistics.median(sample["database"] for sample in values)
        beyond = f"{(cost - database) / base:.2f}x" if database else ""
        rows.append([name, f"{1 / cost:,.0f}", f"{cost * 1e6:,.0f}", f"{cost / base:.2f}x", _us(database), beyond])
    return rows


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f}" if seconds else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per round (at most 90,000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per loop, taking turns (the median is shown)")
    parser.add_argument("--server", choices=["simulator", "minimal", "both"], default="both")
    parser.add_argument(
        "--latency-ms", type=float, default=20.0, help="with --server both, also a server this far away (0: not)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--database", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.database, args.calls)
        return
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"send_otp against local HTTP servers: {args.calls} calls x {args.rounds} rounds per loop, median round "
        f"(load average {load:.1f} on {os.cpu_count()} CPUs)"
    )
    latency = args.latency_ms / 1000
    titles = {
        "simulator": "the project simulator",
        "minimal": "minimal keep-alive server",
        "distant": f"minimal keep-alive server answering after {args.latency_ms:g} ms (a platform far away)",
    }
    with tempfile.TemporaryDirectory() as workdir:
        for kind in servers(args.server, latency):
            # Far away, each call waits: fewer calls tell as much.
            calls = max(1, args.calls // 10) if kind == "distant" else args.calls
            print(f"\nServer: {titles[kind]} ({calls} calls per round)")
            rows = measure(kind, latency, calls, args.rounds, workdir)
            headers = ["loop", "calls/s", "us/call", "vs session", "in database us", "without database"]
            print(support.table(headers, rows))
    print(
        "\nTarget: send_otp at most 1.5x the cost per call of the bare session loop."
        "\n'in database': time inside the database driver per send (its two row writes with their commits, and"
        "\nthe look for early callbacks); 'without database': send_otp less that time, against the session loop."
    )


if __name__ == "__main__":
    main()
