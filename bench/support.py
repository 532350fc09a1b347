"""Shared plumbing of the benchmarks: Django set-up, PostgreSQL databases, tables."""

from __future__ import annotations

import os
from typing import Any

#: The PostgreSQL server of this machine (trust authentication).
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")


def pg_url(database: str) -> str:
    return f"{PG_SERVER}/{database}"


def postgres_reachable() -> bool:
    try:
        import psycopg

        psycopg.connect(pg_url("postgres"), connect_timeout=2).close()
    except Exception:
        return False
    return True


def recreate_database(name: str, **parameters: str) -> str:
    """Drop and create a PostgreSQL database, with server ``parameters`` of its own; returns its URL."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(pg_url("postgres"), autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        for parameter, value in parameters.items():
            statement = sql.SQL("ALTER DATABASE {} SET {} = {}")
            connection.execute(statement.format(sql.Identifier(name), sql.Identifier(parameter), sql.Literal(value)))
    return pg_url(name)


def drop_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(pg_url("postgres"), autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def setup_django(database_url: str, *, api_url: str | None = None) -> None:
    """Configure Django with ``bench.settings`` on the given database and migrate it."""
    os.environ["BENCH_DATABASE_URL"] = database_url
    if api_url:
        os.environ["BENCH_API_URL"] = api_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain text table, columns aligned."""
    cells = [headers, *[[str(cell) for cell in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
