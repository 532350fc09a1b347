"""Sending to many: the vendor SDK's loop beside this app's bulk runs and queue workers, in one run.

A campaign: one personalized notification per recipient (the simulator's
``demo-notice`` template, its ``{{order}}`` different on every line, so one
request per line), against the project's simulator answering every request
after 50 ms (a platform across the internet). Each sender in its own process:

* the vendor SDK (``engagelab-otp``) calling ``send_custom`` one recipient
  after another, a new connection per call: a sample of ``--vendor-sample``
  calls, extrapolated;
* this app's HTTP backend alone, no history: in one thread (what one
  request takes, so the most 32 at a time can reach) and in 32 threads (the
  ceiling of one process here, the HTTP client's own CPU);
* ``engagelab_send --csv``'s function (``bulk.send_csv``) at concurrency 1,
  8, 32 and 64, every line recorded in PostgreSQL (SQLite when no server
  answers); its peak RSS; the largest run has 100,000 lines; at
  concurrency 32 also through a backend that answers at once (what
  recording costs by itself, :mod:`bench.instant_backend`) and in two
  halves sent by two processes at once;
* the same with OTPs (``--kind otp``), which also claim the resend cooldown
  and the daily cap of each recipient;
* concurrency 32 with ``SEND_RATE`` set: the share of the rate reached, and
  the busiest second as the platform would count it: the most requests the
  simulator received in any one second (a sliding window, not only the
  seconds of its clock), each noted as it arrived;
* background sends (``tasks.django_tasks``, the database backend) run by one
  and by two ``db_worker`` processes;
* the async API (``asend_custom_message`` at concurrency 1, 8, 32 and 64,
  ``asend_otp`` at 32) from one event loop, tasks behind a semaphore, every
  send recorded as a single send is (:func:`measure_async_api`).

The abuse limits live in the local Redis when it answers, as they must for
a site with several processes (else in the process).

Then keep-alive on a real network: a TCP proxy (``latency_proxy.py``) that
delays each direction by half a round trip and makes each new connection
pay its handshake, in front of the simulator answering at once: per OTP
send, the vendor SDK (a connection per call) beside this app's backend and
``send_otp``, which keep theirs alive.

    .venv/bin/python bench/bench_bulk.py [--largest 100000] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project root, when run as a script

from bench import support
from tests.support.rates import busiest_second

HERE = Path(__file__).resolve().parent
KEY, SECRET = "bench-key", "bench-secret"
TEMPLATE = "demo-otp"
#: The campaign: a notification with an ``{{order}}`` variable, each line its own value (one request per line).
NOTICE = "demo-notice"
LATENCY_MS = 50
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0")
DATABASE = "engagelab_bench_bulk"


def phone(number: int) -> str:
    """A distinct Chinese mobile number per send (the platform refuses a second live code to one)."""
    return f"+86187{number:08d}"


# ------------------------------------------------------------------ children (each its own process)


#: The simulator's nice value: ahead of the machine's other work, as a platform on machines of its own would be.
SIMULATOR_NICE = -10


def serve_simulator(latency_ms: float) -> None:
    """The simulator; answers ``times`` (when each message was accepted) and ``reset`` on standard input.

    It stands for a platform with CPUs of its own: on a busy machine of two
    cores, it runs ahead of the other processes when it may (its threads
    inherit the priority), so that its queueing is neither the senders'
    ceiling nor a bunching of the moments it notes. Its first line says
    whether it may.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, 0, SIMULATOR_NICE)
        priority = f"nice {SIMULATOR_NICE}"
    except OSError:
        priority = "nice 0 (a higher priority was refused)"
    from django_engagelab_otp.simulator import Simulator

    sim = Simulator(dev_key=KEY, dev_secret=SECRET, latency_ms=latency_ms, code_ttl=3600).start()
    print(sim.url, priority, flush=True)
    for command in sys.stdin:
        if command.strip() == "times":
            print(json.dumps([message.created_at for message in sim.platform.messages]), flush=True)
        elif command.strip() == "reset":
            sim.platform.reset()
            print("ok", flush=True)
    sim.stop()


def child_vendor(url: str, calls: int, first: int, kind: str = "custom") -> dict[str, float]:
    from engagelab_otp import OTPClient

    client = OTPClient(KEY, SECRET)
    client.BASE_URL = url.rstrip("/")
    start = time.perf_counter()
    for number in range(first, first + calls):
        if kind == "custom":
            client.send_custom(phone(number), NOTICE, {"order": str(number)})
        else:
            client.send(phone(number), TEMPLATE)
    return {"per_call": (time.perf_counter() - start) / calls}


def child_bulk(
    url: str,
    database: str,
    lines: int,
    concurrency: int,
    first: int,
    rate: str,
    kind: str = "custom",
    backend: str = "",
) -> dict[str, Any]:
    import resource

    support.setup_django(database, api_url=url)
    from django.test import override_settings

    from django_engagelab_otp.bulk import send_csv
    from django_engagelab_otp.conf import otp_settings
    from django_engagelab_otp.models import MessageLog

    batch = f"bench-{concurrency}-{first}"
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "lines.csv"
        with open(path, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["to", "order"])
            writer.writerows((phone(number), str(number)) for number in range(first, first + lines))
        engagelab = {**otp_settings.user_settings(), "SEND_RATE": rate or None}
        if backend == "instant":
            engagelab["BACKEND"] = "bench.instant_backend.InstantBackend"
        with override_settings(ENGAGELAB_OTP=engagelab):
            start, cpu = time.perf_counter(), time.process_time()
            template = NOTICE if kind == "custom" else TEMPLATE
            summary = send_csv(
                path, batch=batch, kind=kind, template_id=template, concurrency=concurrency, progress=False
            )
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    recorded = MessageLog.objects.filter(idempotency_key__startswith=f"bulk:{batch}:", status="accepted").count()
    return {
        "seconds": seconds,
        "per_second": summary.sent / seconds,
        "cpu_per_line": cpu / lines,
        "sent": summary.sent,
        "recorded": recorded,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def child_enqueue(url: str, database: str, lines: int, first: int) -> dict[str, Any]:
    os.environ["BENCH_TASKS"] = "db"  # enqueued in the database, for the workers (not run here at once)
    support.setup_django(database, api_url=url)
    from django_engagelab_otp.models import MessageLog
    from django_engagelab_otp.tasks.django_tasks import enqueue_custom_message

    MessageLog.objects.all().delete()
    for number in range(first, first + lines):
        enqueue_custom_message(phone(number), NOTICE, params={"order": str(number)})
    return {"queued": MessageLog.objects.filter(status="queued").count()}


def child_keepalive(url: str, database: str, mode: str, calls: int, first: int) -> dict[str, float]:
    """Seconds per OTP send through the proxy: ``vendor``, ``backend`` (HTTPBackend) or ``send_otp``."""
    if mode == "vendor":
        return child_vendor(url, calls, first, "otp")
    if mode == "backend":
        from django_engagelab_otp.backends.http import HTTPBackend

        backend = HTTPBackend(KEY, SECRET, api_url=url, max_retries=0)
        send = lambda number: backend.send_message(phone(number), TEMPLATE)  # noqa: E731
    else:
        support.setup_django(database, api_url=url)
        from django_engagelab_otp import send_otp

        send = lambda number: send_otp(phone(number), TEMPLATE)  # noqa: E731
    send(first)  # the connection opens here, once
    start = time.perf_counter()
    for number in range(first + 1, first + 1 + calls):
        send(number)
    return {"per_call": (time.perf_counter() - start) / calls}


def child_threads(url: str, threads: int, calls: int, first: int) -> dict[str, float]:
    """The HTTP backend alone, ``threads`` threads sending at once: what the bulk runs' requests cost by themselves."""
    import threading

    from django_engagelab_otp.backends.http import HTTPBackend

    backend = HTTPBackend(KEY, SECRET, api_url=url, max_retries=0)
    each = calls // threads

    def work(offset: int) -> None:
        for number in range(first + offset * each, first + (offset + 1) * each):
            backend.send_custom_message(phone(number), NOTICE, params={"order": str(number)})

    workers = [threading.Thread(target=work, args=(offset,)) for offset in range(threads)]
    start, cpu = time.perf_counter(), time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"per_second": each * threads / seconds, "cpu_per_line": cpu / (each * threads)}


def child_async(
    url: str, database: str, lines: int, concurrency: int, first: int, kind: str = "custom"
) -> dict[str, Any]:
    """The async API from one event loop: ``lines`` sends, ``concurrency`` at a time (tasks behind a semaphore).

    Each send is the whole of ``asend_custom_message`` (or ``asend_otp``, which
    also claims the recipient's cooldown and daily count): its row written
    ``pending``, the request awaited, the row settled. The backend's pool is as
    wide as the highest concurrency measured (the default is 10).
    """
    import asyncio
    import resource

    support.setup_django(database, api_url=url)
    from django.test import override_settings

    from django_engagelab_otp import asend_custom_message, asend_otp
    from django_engagelab_otp.conf import otp_settings
    from django_engagelab_otp.models import MessageLog

    async def run() -> float:
        gate = asyncio.Semaphore(concurrency)

        async def one(number: int) -> None:
            async with gate:
                if kind == "custom":
                    await asend_custom_message(phone(number), NOTICE, params={"order": str(number)})
                else:
                    await asend_otp(phone(number), TEMPLATE)

        started = time.perf_counter()
        await asyncio.gather(*(one(number) for number in range(first, first + lines)))
        return time.perf_counter() - started

    recipients = [phone(number) for number in range(first, first + lines)]
    engagelab = {**otp_settings.user_settings(), "BACKEND": "bench.bench_async.WideBackend"}
    with override_settings(ENGAGELAB_OTP=engagelab):
        seconds = asyncio.run(run())
    recorded = MessageLog.objects.filter(to__in=recipients, status="accepted").count()
    return {
        "seconds": seconds,
        "per_second": lines / seconds,
        "sent": lines,
        "recorded": recorded,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(*arguments: Any) -> dict[str, Any]:
    (result,) = run_children(arguments)
    return result


def run_children(*argument_lists: Sequence[Any]) -> list[dict[str, Any]]:
    """Children started together, each in its own process; their results in order."""
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", *map(str, arguments)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for arguments in argument_lists
    ]
    results = []
    for arguments, process in zip(argument_lists, processes, strict=True):
        out, err = process.communicate(timeout=3600)
        if process.returncode:
            raise SystemExit(f"bench_bulk {arguments[0]} failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


# ------------------------------------------------------------------ servers, workers


class Child:
    """A long-lived child process that prints one line when ready and stops when its standard input closes."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env or os.environ.copy()
        )
        self.first_line = self.process.stdout.readline().strip()

    def ask(self, command: str) -> str:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class SimulatorChild(Child):
    """The simulator's process: its API URL and its scheduling priority from its first line."""

    def __init__(self, latency_ms: float) -> None:
        super().__init__([sys.executable, __file__, "--serve-simulator", str(latency_ms)])
        self.url, _, self.priority = self.first_line.partition(" ")


def simulator(latency_ms: float) -> SimulatorChild:
    return SimulatorChild(latency_ms)


def proxy(upstream_url: str, rtt_ms: float) -> tuple[Child, str]:
    host_port = upstream_url.split("//", 1)[1].split("/", 1)[0]
    child = Child([sys.executable, str(HERE / "latency_proxy.py"), "--upstream", host_port, "--rtt-ms", str(rtt_ms)])
    return child, f"http://127.0.0.1:{child.first_line.split()[1]}/v1/"


def measure_workers(workers: int, url: str, database: str, lines: int, first: int) -> dict[str, Any]:
    """``lines`` sends enqueued, then ``workers`` db_worker processes: sends per second between the first and last."""
    import psycopg

    run_child("enqueue", url, database, lines, first)
    env = {
        **os.environ,
        "PYTHONPATH": str(HERE.parent),
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BENCH_DATABASE_URL": database,
        "BENCH_API_URL": url,
        "BENCH_TASKS": "db",
    }
    command = [sys.executable, "-m", "django", "db_worker", "--interval", "0.05", "--no-startup-delay"]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)
    ]
    query = "SELECT count(*), min(updated_at), max(updated_at) FROM django_engagelab_otp_messagelog"
    try:
        with psycopg.connect(database, autocommit=True) as connection:
            deadline = time.monotonic() + 1800
            while True:
                done, first_at, last_at = connection.execute(query + " WHERE status = 'accepted'").fetchone()
                if done >= lines or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    seconds = (last_at - first_at).total_seconds()
    return {"per_second": (done - 1) / seconds, "sent": done, "seconds": seconds}


#: Sends per async run, by concurrency (a tenth with ``--quick``).
ASYNC_SIZES = {1: 60, 8: 400, 32: 800, 64: 800}


def measure_async_api(url: str, scale: int, first: int, database: str, vendor: float) -> tuple[list[list[str]], int]:
    """The async API's rows (``asend_custom_message`` at each concurrency, ``asend_otp`` at 32); the next number."""
    rows = []
    runs = [(concurrency, lines, "custom") for concurrency, lines in ASYNC_SIZES.items()]
    runs.append((32, ASYNC_SIZES[32], "otp"))
    for concurrency, lines, kind in runs:
        lines = max(20, lines // scale)
        result = run_child("async", url, database, lines, concurrency, first, kind)
        first += lines
        name = "asend_custom_message" if kind == "custom" else "asend_otp (cooldown, daily cap)"
        rows.append(_bulk_row(f"async API: {name}, {concurrency} at a time", lines, result, vendor))
    return rows, first


# ------------------------------------------------------------------ the parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--largest", type=int, default=100_000, help="lines of the concurrency-64 run")
    parser.add_argument("--vendor-sample", type=int, default=100, help="calls of the vendor SDK's loop")
    parser.add_argument("--rate", default="200/s", help="SEND_RATE of the rate run")
    parser.add_argument("--quick", action="store_true", help="a tenth of every size: a smoke run")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.add_argument("--serve-simulator", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_simulator is not None:
        serve_simulator(args.serve_simulator)
        return
    if args.child:
        name, *rest = args.child
        children = {
            "vendor": child_vendor,
            "threads": child_threads,
            "bulk": child_bulk,
            "enqueue": child_enqueue,
            "keepalive": child_keepalive,
            "async": child_async,
        }
        converted = [int(value) if value.isdigit() else value for value in rest]
        print(json.dumps(children[name](*converted)))
        return
    scale = 10 if args.quick else 1
    limits = _limits_in_redis()
    database = support.recreate_database(DATABASE) if support.postgres_reachable() else ""
    if not database:
        database = f"sqlite:///{tempfile.mkdtemp()}/bulk.sqlite3"
    load = os.getloadavg()[0]
    print(
        f"bench_bulk: the simulator answers after {LATENCY_MS} ms; history in "
        f"{'PostgreSQL' if database.startswith('postgres') else 'SQLite'}, abuse limits in {limits} "
        f"(load average {load:.1f} on {os.cpu_count()} CPUs)\n"
    )
    try:
        rows, vendor_per_second, priority, figures = bulk_table(args, scale, database)
        print(support.table(["sender", "lines", "lines/s", "vs vendor loop", "recorded", "peak RSS"], rows))
        print(f"\nVendor loop: {vendor_per_second:.1f} sends/s, measured on {args.vendor_sample // scale} calls.")
        print(ceiling_lines(figures, vendor_per_second))
        print(f"The simulator ran at {priority}; load average {os.getloadavg()[0]:.1f} at the end.")
        print("\nKeep-alive through a proxy that delays each direction by half the round trip (handshakes pay one):")
        headers = ["round trip", "vendor SDK", "HTTPBackend", "send_otp", "kept alive saves (vendor - HTTPBackend)"]
        print(support.table(headers, keepalive(scale)))
    finally:
        if database.startswith("postgres"):
            support.drop_database(DATABASE)
        _forget_redis_keys()


def ceiling_lines(figures: dict[str, float], vendor: float) -> str:
    """Where concurrency 32 stops on this machine, from the figures of the run above."""
    ideal = figures["ideal"]
    return "\n".join(
        [
            f"Concurrency 32: one request alone takes {figures['alone_ms']:.1f} ms, so no sender passes "
            f"{ideal:,.0f}/s here ({ideal / vendor:.1f}x the vendor loop); the HTTP backend alone reaches "
            f"{figures['bare'] / ideal:.0%} of that, bulk {figures['bulk'] / ideal:.0%}, "
            f"two bulk processes {figures['two_processes'] / ideal:.0%}.",
            f"CPU per line: {figures['bulk_cpu'] * 1000:.2f} ms in the bulk process; "
            f"{figures['bare_cpu'] * 1000:.2f} ms per request in the backend alone; "
            f"{figures['instant_cpu'] * 1000:.2f} ms recording alone (a backend answering at once).",
        ]
    )


def _limits_in_redis() -> str:
    """The limits in the local Redis when it answers (as a site with several processes keeps them)."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        return "the process (LocMemCache: Redis does not answer)"
    os.environ["BENCH_REDIS_URL"] = REDIS_URL
    os.environ["BENCH_REDIS_PREFIX"] = f"engagelab-bench-{os.getpid()}"
    return "Redis"


def _forget_redis_keys() -> None:
    prefix = os.environ.get("BENCH_REDIS_PREFIX")
    if prefix:
        import redis

        server = redis.Redis.from_url(REDIS_URL)
        for keys in _chunks(list(server.scan_iter(match=f"{prefix}:*", count=10_000)), 10_000):
            server.delete(*keys)


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def bulk_table(
    args: argparse.Namespace, scale: int, database: str
) -> tuple[list[list[str]], float, str, tuple[float, float, float]]:
    sim = simulator(LATENCY_MS)
    url = sim.url
    rows: list[list[str]] = []
    try:
        first = 10_000_000
        sample = max(10, args.vendor_sample // scale)
        vendor = 1 / run_child("vendor", url, sample, first)["per_call"]
        first += sample
        rows.append(["vendor SDK, one after another (extrapolated)", "—", f"{vendor:,.1f}", "1.0x", "—", "—"])
        calls = max(20, 100 // scale)
        alone = run_child("threads", url, 1, calls, first)
        first += calls
        rows.append(["HTTPBackend alone, 1 thread (no history)", f"{calls:,}", f"{alone['per_second']:,.1f}"])
        rows[-1] += [f"{alone['per_second'] / vendor:.1f}x", "—", "—"]
        bare = run_child("threads", url, 32, max(320, 6_400 // scale), first)
        first += max(320, 6_400 // scale)
        rows.append(["HTTPBackend alone, 32 threads (no history)", f"{max(320, 6_400 // scale):,}"])
        rows[-1] += [f"{bare['per_second']:,.1f}", f"{bare['per_second'] / vendor:.1f}x", "—", "—"]
        sizes = {1: 200, 8: 1_600, 32: 10_000, 64: args.largest}
        for concurrency, lines in sizes.items():
            lines = max(20, lines // scale)
            result = run_child("bulk", url, database, lines, concurrency, first, "")
            first += lines
            rows.append(_bulk_row(f"bulk, concurrency {concurrency}", lines, result, vendor))
            if concurrency == 32:
                figures = {
                    "ideal": 32 * alone["per_second"],
                    "alone_ms": 1000 / alone["per_second"],
                    "bare": bare["per_second"],
                    "bulk": result["per_second"],
                    "bulk_cpu": result["cpu_per_line"],
                    "bare_cpu": bare["cpu_per_line"],
                }
                rows += recording_and_processes(url, database, lines, first, vendor, figures)
                first += 2 * lines
        lines = max(100, 10_000 // scale)
        result = run_child("bulk", url, database, lines, 32, first, "", "otp")
        first += lines
        rows.append(_bulk_row("bulk OTPs, concurrency 32 (cooldown, daily cap)", lines, result, vendor))
        lines = max(200, 3_000 // scale)
        sim.ask("reset")
        result = run_child("bulk", url, database, lines, 32, first, args.rate)
        first += lines
        times = json.loads(sim.ask("times"))
        count, period = args.rate.split("/")
        limit = int(count) / {"s": 1, "m": 60}[period]
        achieved = (len(times) - 1) / (max(times) - min(times))
        row = _bulk_row(f"bulk, concurrency 32, SEND_RATE {args.rate}", lines, result, vendor)
        row[2] += f" ({achieved / limit:.1%} of the rate; busiest second received {busiest_second(times)})"
        rows.append(row)
        lines = max(40, 400 // scale)
        for workers in (1, 2):
            result = measure_workers(workers, url, database, lines, first)
            first += lines
            name = f"queue: {workers} db_worker process{'es' if workers > 1 else ''} (Tasks API, database)"
            rows.append([name, f"{lines:,}", f"{result['per_second']:,.1f}", f"{result['per_second'] / vendor:.1f}x"])
            rows[-1] += [f"{result['sent']:,}", "—"]
        one, two = (float(row[2].replace(",", "")) for row in rows[-2:])
        rows[-1][2] += f" ({two / one:.2f}x one)"
        async_rows, first = measure_async_api(url, scale, first, database, vendor)
        rows += async_rows
    finally:
        sim.stop()
    return rows, vendor, sim.priority, figures


def recording_and_processes(
    url: str, database: str, lines: int, first: int, vendor: float, figures: dict[str, float]
) -> list[list[str]]:
    """What stands between the concurrency-32 run and its ceiling: recording alone, and a second process.

    The same file through a backend that accepts each message at once (the
    CPU a line's history takes, without its request); then the file in two
    halves, two batches sent at once by two processes of concurrency 16.
    """
    instant = run_child("bulk", url, database, lines, 32, first, "", "custom", "instant")
    figures["instant_cpu"] = instant["cpu_per_line"]
    row = _bulk_row("bulk, concurrency 32, a backend answering at once", lines, instant, vendor)
    row[3] = "— (no request)"
    half = lines // 2
    one, two = run_children(*[("bulk", url, database, half, 16, first + lines + start, "") for start in (0, half)])
    together = {
        "per_second": (one["sent"] + two["sent"]) / max(one["seconds"], two["seconds"]),
        "recorded": one["recorded"] + two["recorded"],
        "rss_mb": max(one["rss_mb"], two["rss_mb"]),
    }
    figures["two_processes"] = together["per_second"]
    return [row, _bulk_row("bulk, 2 processes of concurrency 16 (a half each)", 2 * half, together, vendor)]


def _bulk_row(name: str, lines: int, result: dict[str, Any], vendor: float) -> list[str]:
    return [
        name,
        f"{lines:,}",
        f"{result['per_second']:,.1f}",
        f"{result['per_second'] / vendor:.1f}x",
        f"{result['recorded']:,} of {lines:,}",
        f"{result['rss_mb']:.0f} MB",
    ]


def keepalive(scale: int) -> list[list[str]]:
    sim = simulator(0)
    rows = []
    first = 50_000_000
    try:
        for rtt in (25, 100):
            calls = max(5, (80 if rtt == 25 else 30) // scale)
            child, url = proxy(sim.url, rtt)
            try:
                database = f"sqlite:///{tempfile.mkdtemp()}/keepalive.sqlite3"
                if support.postgres_reachable():
                    database = support.recreate_database(f"{DATABASE}_keepalive")
                per_call = {}
                for mode in ("vendor", "backend", "send_otp"):
                    per_call[mode] = run_child("keepalive", url, database, mode, calls, first)["per_call"]
                    first += calls + 1
            finally:
                child.stop()
            saved = per_call["vendor"] - per_call["backend"]  # the same request, a connection kept or not
            rows.append(
                [f"{rtt} ms"]
                + [f"{per_call[mode] * 1000:.1f} ms" for mode in ("vendor", "backend", "send_otp")]
                + [f"{saved * 1000:.1f} ms ({saved / (rtt / 1000):.2f} round trips)"]
            )
    finally:
        sim.stop()
        if support.postgres_reachable():
            support.drop_database(f"{DATABASE}_keepalive")
    return rows


if __name__ == "__main__":
    main()
