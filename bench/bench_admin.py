"""The admin's message history at 10,000 and 1,000,000 rows on PostgreSQL.

Creates the database ``engagelab_bench`` (dropped again at the end unless
``--keep``), fills it with INSERT ... SELECT generate_series (a year of traffic:
realistic statuses, templates, channels, countries) and prints, for each
page, the median time of a full request through Django (middleware, query,
template) and its number of SQL queries. ``--explain`` adds EXPLAIN ANALYZE
of every query of each page at the largest size.

    .venv/bin/python bench/bench_admin.py [--sizes 10000 1000000] [--runs 7] [--explain] [--keep]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project root, when run as a script

from bench import support

DATABASE = "engagelab_bench"
URL = "/admin/django_engagelab_otp/messagelog/"

#: One year of traffic, ``n`` rows, oldest first (ids follow time, as they do in real life).
#: Statuses: most messages delivered or verified, a few failures, a few never settled.
FILL_SQL = """
SELECT setseed(0.42);
TRUNCATE django_engagelab_otp_messageevent, django_engagelab_otp_messagelog RESTART IDENTITY;
INSERT INTO django_engagelab_otp_messagelog (
    message_id, kind, "to", recipients, template_id, language, params, send_channel, status,
    error_code, error_message, http_status, cost, currency, verify_attempts, verified_at, created_at, updated_at)
SELECT
    CASE WHEN status IN ('pending', 'failed', 'unknown') THEN NULL ELSE (1725407449772531712 + g)::text END,
    kind,
    CASE WHEN channel = 'email' THEN 'user' || (person % 50000) || '@example.com'
         WHEN person % 10 < 5 THEN '+86187' || lpad(((person * 7919) % 100000000)::text, 8, '0')
         WHEN person % 10 < 7 THEN '+658' || lpad((person % 10000000)::text, 7, '0')
         WHEN person % 10 < 9 THEN '+447911' || lpad((person % 1000000)::text, 6, '0')
         ELSE '+12129' || lpad((person % 1000000)::text, 6, '0') END,
    '[]'::jsonb,
    CASE WHEN kind = 'custom'
         THEN (ARRAY['order-shipped', 'delivery-update', 'appointment-reminder', 'promo-spring'])
              [1 + floor(r4 * 4)::int]
         ELSE (ARRAY['login-otp', 'login-otp', 'login-otp', 'login-otp', 'login-otp', 'login-otp',
                     'signup-otp', 'signup-otp', 'reset-password', '2fa-login', 'payment-confirm',
                     'change-phone'])[1 + floor(r4 * 12)::int] END,
    CASE WHEN kind = 'custom' THEN '' WHEN r4 < 0.8 THEN 'default' WHEN r4 < 0.9 THEN 'en' ELSE 'zh_CN' END,
    '{"name": "Bob", "code": "[redacted]"}'::jsonb,
    CASE WHEN status IN ('pending', 'failed', 'unknown') THEN '' ELSE channel END,
    status,
    CASE WHEN status = 'failed' THEN (ARRAY[5013, 5017, 3004, 5020, 4001])[1 + floor(r4 * 5)::int]
         WHEN status IN ('sent_failed', 'delivered_failed', 'target_invalid') THEN 5015 END,
    CASE WHEN status = 'failed' THEN 'The platform refused the message.'
         WHEN status IN ('sent_failed', 'delivered_failed', 'target_invalid') THEN 'Delivery failed on ' || channel
         ELSE '' END,
    CASE WHEN status = 'failed' THEN 400 END,
    CASE WHEN status IN ('sent', 'delivered', 'verified', 'verified_failed', 'verified_timeout') THEN 0.0035 END,
    CASE WHEN status IN ('sent', 'delivered', 'verified', 'verified_failed', 'verified_timeout') THEN 'USD' ELSE '' END,
    CASE WHEN status LIKE 'verified%' THEN 1 ELSE 0 END,
    CASE WHEN status = 'verified' THEN created_at + interval '40 seconds' END,
    created_at,
    created_at + interval '5 seconds'
FROM (
    SELECT g, r4, (g * 2654435761) % 200000 AS person,
        now() - interval '365 days' * (({n} - g)::float8 / {n}) - interval '1 second' * floor(r1 * 20)
            AS created_at,
        CASE WHEN r1 < 0.50 THEN 'delivered' WHEN r1 < 0.68 THEN 'verified'
             WHEN r1 < 0.71 THEN 'verified_failed' WHEN r1 < 0.73 THEN 'verified_timeout'
             WHEN r1 < 0.77 THEN 'sent' WHEN r1 < 0.79 THEN 'accepted' WHEN r1 < 0.80 THEN 'plan'
             WHEN r1 < 0.81 THEN 'target_valid' WHEN r1 < 0.86 THEN 'failed' WHEN r1 < 0.89 THEN 'sent_failed'
             WHEN r1 < 0.93 THEN 'delivered_failed' WHEN r1 < 0.945 THEN 'target_invalid'
             WHEN r1 < 0.948 THEN 'unknown' WHEN r1 < 0.950 THEN 'pending' ELSE 'delivered' END AS status,
        CASE WHEN r2 < 0.60 THEN 'sms' WHEN r2 < 0.88 THEN 'whatsapp' WHEN r2 < 0.97 THEN 'email' ELSE 'voice' END
            AS channel,
        CASE WHEN r3 < 0.80 THEN 'otp' WHEN r3 < 0.90 THEN 'code' ELSE 'custom' END AS kind
    FROM (SELECT g, random() AS r1, random() AS r2, random() AS r3, random() AS r4
          FROM generate_series(1, {n}) AS g) AS dice
) AS rows;
-- A timeline for the newest messages (the detail page shows it).
INSERT INTO django_engagelab_otp_messageevent (
    log_id, kind, message_id, event, occurred_at, channel, error_code, error_message, cost, currency, raw,
    discriminator, received_at)
SELECT id, 'message_status', message_id, step, created_at + interval '1 second' * n, send_channel, NULL, '',
       CASE WHEN step = 'sent' THEN 0.0035 END, CASE WHEN step = 'sent' THEN 'USD' ELSE '' END,
       jsonb_build_object('message_id', message_id, 'to', "to", 'status', jsonb_build_object('message_status', step)),
       '', created_at + interval '1 second' * n
FROM (SELECT * FROM django_engagelab_otp_messagelog WHERE message_id IS NOT NULL ORDER BY id DESC LIMIT 2000) AS log,
     unnest(ARRAY['plan', 'sent', 'delivered']) WITH ORDINALITY AS steps(step, n);
"""


def fill(rows: int) -> float:
    from django.db import connection

    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(FILL_SQL.replace("{n}", str(int(rows))))
    # What autovacuum does on a live table: statistics, and the visibility map
    # that lets index-only scans skip the heap.
    connection.ensure_connection()
    raw = connection.connection
    autocommit = raw.autocommit
    raw.autocommit = True
    try:
        raw.execute("VACUUM ANALYZE django_engagelab_otp_messagelog")
        raw.execute("VACUUM ANALYZE django_engagelab_otp_messageevent")
    finally:
        raw.autocommit = autocommit
    return time.perf_counter() - start


def scenarios() -> list[tuple[str, str]]:
    """(name, query string) of each page measured, with values taken from the data."""
    from django.utils import timezone

    from django_engagelab_otp.models import MessageLog

    middle = MessageLog.objects.filter(pk=MessageLog.objects.order_by("-pk").values("pk")[:1][0]["pk"] // 2).get()
    phone = MessageLog.objects.filter(to__startswith="+86", pk__gte=middle.pk).order_by("pk").first()
    national = phone.to[3:]
    formatted = f"+86 {national[:3]} {national[3:7]} {national[7:]}"
    some_month = timezone.localtime(middle.created_at)
    newest = MessageLog.objects.order_by("-created_at", "-pk").first()
    return [
        ("plain list", ""),
        ("status filter (delivered)", "status__exact=delivered"),
        ("status filter (pending, rare)", "status__exact=pending"),
        ("template filter", "template=reset-password"),
        ("channel + kind filters", "send_channel__exact=voice&kind__exact=custom"),
        ("final status: no", "final=no"),
        ("lost messages (1 h)", "lost=60"),
        ("search: message id", f"q={middle.message_id}"),
        ("search: phone (formatted)", "q=" + formatted.replace("+", "%2B").replace(" ", "+")),
        ("search: phone prefix", "q=%2B86+187+12"),
        ("date: year", f"created_at__year={some_month.year}"),
        ("date: month", f"created_at__year={some_month.year}&created_at__month={some_month.month}"),
        (
            "date: day",
            f"created_at__year={some_month.year}&created_at__month={some_month.month}&created_at__day={some_month.day}",
        ),
        ("page 50", "p=50"),
        ("detail page", f"@{newest.pk}"),
    ]


class SQLTimer:
    """A database execute wrapper that records how long each query took."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds.append(time.perf_counter() - start)


def measure(client, runs: int) -> list[list[str]]:
    """Per page: median wall time of the whole request, median time inside SQL, number of queries."""
    import statistics

    from django.db import connection

    results = []
    for name, query in scenarios():
        url = f"{URL}{query[1:]}/change/" if query.startswith("@") else f"{URL}?{query}"
        timer = SQLTimer()
        samples = []
        for attempt in range(runs + 2):  # the first two warm caches up
            timer.seconds.clear()
            with connection.execute_wrapper(timer):
                start = time.perf_counter()
                response = client.get(url)
                wall = time.perf_counter() - start
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            if attempt >= 2:
                samples.append((wall, sum(timer.seconds), len(timer.seconds)))
        wall, sql, queries = (statistics.median(column) for column in zip(*samples, strict=True))
        cl = (getattr(response, "context_data", None) or {}).get("cl")
        shown = "" if cl is None else f"{'~' if cl.paginator.estimated else ''}{cl.result_count:,}"
        results.append([name, f"{wall * 1000:.1f}", f"{sql * 1000:.1f}", f"{queries:.0f}", shown])
    return results


def explain(client) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for name, query in scenarios():
        url = f"{URL}{query[1:]}/change/" if query.startswith("@") else f"{URL}?{query}"
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        print(f"\n### {name}: {url}")
        for item in captured.captured_queries:
            sql = item["sql"]
            if "django_session" in sql or "auth_user" in sql or sql.startswith("EXPLAIN"):
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF) " + sql)
                plan = [row[0] for row in cursor.fetchall()]
            print(f"-- {item['time']}s  {sql[:300]}")
            print("\n".join("   " + line for line in plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE every query at the largest size")
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DATABASE!r} afterwards")
    args = parser.parse_args()
    if not support.postgres_reachable():
        print(f"bench_admin: PostgreSQL does not answer at {support.PG_SERVER}; nothing measured.")
        return
    support.setup_django(support.recreate_database(DATABASE))
    try:
        from django.contrib.auth import get_user_model
        from django.test import Client

        client = Client()
        client.force_login(get_user_model().objects.create_superuser("bench", "bench@example.com", "bench"))
        for rows in args.sizes:
            seconds = fill(rows)
            load = os.getloadavg()[0]
            print(
                f"\nMessageLog rows: {rows:,} (filled in {seconds:.0f} s); median of {args.runs} requests "
                f"(load average {load:.1f} on {os.cpu_count()} CPUs)"
            )
            print(support.table(["page", "ms", "SQL ms", "queries", "count shown"], measure(client, args.runs)))
        if args.explain:
            explain(client)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            support.drop_database(DATABASE)


if __name__ == "__main__":
    main()
