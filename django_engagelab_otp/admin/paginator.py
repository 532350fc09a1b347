"""A paginator that never counts a whole table.

``COUNT(*)`` over a million rows costs PostgreSQL a scan on every page view.
Here a count stops at ``count_limit`` rows (``COUNT(*)`` over a ``LIMIT``ed
subquery): below that the number is exact. Beyond it, PostgreSQL supplies an
estimate: the table's size from its statistics (``pg_class.reltuples``,
scaled by the table's current size as the planner does) for the unfiltered
list, the planner's row estimate for a filtered one. Other databases show the
limit. Estimated counts are flagged so the page can say "about".
"""

from __future__ import annotations

import json
from typing import Any

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

# The table's row count as the planner reckons it, or the exact count when
# the statistics say the table is small (the CASE runs the count only then).
# reltuples is -1 (PostgreSQL 14+) or 0 until the table was first analyzed.
_TABLE_ESTIMATE = """
SELECT
    CASE WHEN c.relpages > 0
         THEN c.reltuples / c.relpages * (pg_relation_size(c.oid) / current_setting('block_size')::float8)
         ELSE c.reltuples END::bigint,
    CASE WHEN c.reltuples > %s THEN NULL ELSE ({count}) END
FROM pg_class c WHERE c.oid = to_regclass(%s)
"""


class EstimatedCountPaginator(Paginator):
    #: Rows counted at most; beyond this the count is an estimate.
    count_limit = 10_000

    #: True when ``count`` is an estimate rather than an exact number.
    estimated = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        if queryset.query.is_empty():  # .none(): there is no SQL to run
            return 0
        postgresql = connections[queryset.db].vendor == "postgresql"
        if postgresql and _is_unfiltered(queryset):
            found, estimate = self._table_count(queryset)
        else:
            found, estimate = self._bounded_count(queryset), None
        if found is not None and found <= self.count_limit:
            return found
        self.estimated = True
        if estimate is None and postgresql:
            estimate = planner_estimate(queryset)
        return max(self.count_limit, estimate or 0)

    def _bounded_count(self, queryset: QuerySet) -> int:
        sql, params = _count_sql(queryset, self.count_limit + 1)
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(sql, params)
            return int(cursor.fetchone()[0])

    def _table_count(self, queryset: QuerySet) -> tuple[int | None, int | None]:
        """(exact count up to the limit or None, the table's estimated size) in one query."""
        connection = connections[queryset.db]
        count, params = _count_sql(queryset, self.count_limit + 1)
        table = connection.ops.quote_name(queryset.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(_TABLE_ESTIMATE.format(count=count), [self.count_limit, *params, table])
            row = cursor.fetchone()
        if row is None:
            return self._bounded_count(queryset), None
        return row[1], row[0]


def _is_unfiltered(queryset: QuerySet) -> bool:
    query = queryset.query
    return not query.where and not query.distinct and query.low_mark == 0 and query.high_mark is None


def _count_sql(queryset: QuerySet, limit: int) -> tuple[str, tuple[Any, ...]]:
    """``SELECT COUNT(*)`` of at most ``limit`` rows: reads no more than that."""
    sql, params = queryset.order_by().values("pk")[:limit].query.sql_with_params()
    return f"SELECT COUNT(*) FROM ({sql}) AS counted", params  # noqa: S608  (SQL compiled by Django; values stay parameters)


def planner_estimate(queryset: QuerySet) -> int | None:
    """How many rows PostgreSQL's planner expects ``queryset`` to return."""
    sql, params = queryset.order_by().query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan: Any = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
