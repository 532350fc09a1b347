"""List filters that stay cheap on a million rows.

Django's ``AllValuesFieldListFilter`` runs ``SELECT DISTINCT`` over the whole
table on every page view; the template filter below walks the index instead
(one index probe per distinct value). The lifecycle filters use the same
condition as the partial index on messages without a final status.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models import OPEN
from ..strict_json import whole_number

_WALK = """
WITH RECURSIVE walk(value, n) AS (
    SELECT MIN({column}), 1 FROM {table}
    UNION ALL
    SELECT (SELECT MIN(t.{column}) FROM {table} t WHERE t.{column} > walk.value), walk.n + 1
    FROM walk WHERE walk.value IS NOT NULL AND walk.n < %s
)
SELECT value FROM walk WHERE value IS NOT NULL
"""


def distinct_values(model: type[Model], field_name: str, limit: int) -> list[str]:
    """The first ``limit`` distinct values of an indexed column of ``model``'s table, in order.

    A recursive query steps from one value to the next through the index (a
    "loose index scan"): ``limit`` index probes instead of reading every row.
    Works on PostgreSQL and SQLite.
    """
    connection = connections[router.db_for_read(model)]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column = quote(model._meta.get_field(field_name).column)
    sql = _WALK.format(table=table, column=column)  # identifiers quoted by the backend; the limit is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return [row[0] for row in cursor.fetchall()]


class TemplateFilter(admin.SimpleListFilter):
    title = _("template")
    parameter_name = "template"
    #: More templates than this are still filterable through the URL.
    max_choices = 100

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        values = distinct_values(model_admin.model, "template_id", self.max_choices)
        if self.value() and self.value() not in values:
            values.append(self.value())
        return [(value, value) for value in values]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(template_id=self.value()) if self.value() else queryset


class FinalStatusFilter(admin.SimpleListFilter):
    title = _("final status")
    parameter_name = "final"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(~OPEN)
        if self.value() == "no":
            return queryset.filter(OPEN)
        return queryset


class LostMessagesFilter(admin.SimpleListFilter):
    """Messages without a final status long after they were sent."""

    title = _("lost messages")
    parameter_name = "lost"
    #: Minutes after which a message without final status counts as lost.
    thresholds = (15, 60, 24 * 60)
    #: The longest a URL may ask for (ten years): beyond it the date arithmetic overflows.
    max_minutes = 10 * 366 * 24 * 60

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(minutes), _label(minutes)) for minutes in self.thresholds]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        minutes = whole_number(value)
        if minutes is None or minutes > self.max_minutes:
            # Django's answer to a bad filter value: back to the list, with ?e=1.
            raise IncorrectLookupParameters(f"lost={value!r}")
        since = timezone.now() - timedelta(minutes=minutes)
        return queryset.filter(OPEN, created_at__lt=since)


def _label(minutes: int) -> str:
    if minutes % 60:
        return ngettext("no final status after %d minute", "no final status after %d minutes", minutes) % minutes
    hours = minutes // 60
    return ngettext("no final status after %d hour", "no final status after %d hours", hours) % hours
