"""The admin's date drill-down without ``SELECT DISTINCT`` over the table.

Django lists the years, months or days that hold rows with ``dates()``/
``datetimes()``, which truncates and de-duplicates every matching row: a full
scan at a million rows. Here the candidate periods are known in advance (the
twelve months of a year, the days of a month, the years between the first
and last row) and one query asks, for each, whether any row falls inside:
a subquery per period, each a single probe of a time index.
"""

from __future__ import annotations

import calendar
import datetime
from typing import Any

from django.conf import settings
from django.contrib.admin.utils import get_fields_from_path
from django.db.models import Max, Min, QuerySet, Subquery
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

#: Years offered at most (the most recent ones) when rows span longer.
MAX_YEARS = 30

Period = tuple[datetime.datetime, datetime.datetime]


def _start(year: int, month: int = 1, day: int = 1) -> datetime.datetime:
    # Midnight in the current time zone, as Django's own date filter reads the URL.
    moment = datetime.datetime(year, month, day)
    return timezone.make_aware(moment) if settings.USE_TZ else moment


def _day(day: datetime.date) -> Period:
    following = day + datetime.timedelta(days=1)
    return _start(day.year, day.month, day.day), _start(following.year, following.month, following.day)


def occupied(queryset: QuerySet, field: str, periods: list[Period]) -> list[bool]:
    """For each half-open period, whether ``queryset`` has a row in it — in one query."""
    if queryset.query.is_empty():
        return [False] * len(periods)
    # "The first row of the period, in time order" rather than EXISTS: the
    # ORDER BY steers the planner onto a time index (EXISTS over a period with
    # no rows may otherwise be planned as a sequential scan).
    probes = {
        f"p{index}": Subquery(
            queryset.filter(**{f"{field}__gte": start, f"{field}__lt": end}).order_by(field).values(field)[:1]
        )
        for index, (start, end) in enumerate(periods)
    }
    # The probes are uncorrelated: any single row of the table carries them.
    row = queryset.model._default_manager.using(queryset.db).order_by().annotate(**probes).values_list(*probes)[:1]
    found = list(row)
    return [value is not None for value in found[0]] if found else [False] * len(periods)


def drilldown(cl: Any) -> dict[str, Any]:
    """The context of ``admin/date_hierarchy.html`` for a change list (as Django's tag builds it)."""
    context = _levels(cl)
    context["field_name"] = get_fields_from_path(cl.model, cl.date_hierarchy)[-1].verbose_name
    return context


def _levels(cl: Any) -> dict[str, Any]:
    field = cl.date_hierarchy
    year_param, month_param, day_param = f"{field}__year", f"{field}__month", f"{field}__day"
    year, month, day = (cl.params.get(name) for name in (year_param, month_param, day_param))
    if not year:
        month = day = None  # as Django's filter: a month or a day means nothing without its year

    def link(params: dict[str, Any]) -> str:
        return cl.get_query_string(params, [f"{field}__"])

    if not (year or month or day):
        span = cl.queryset.aggregate(first=Min(field), last=Max(field))
        if not (span["first"] and span["last"]):
            return {"show": True, "back": None, "choices": []}
        first, last = (timezone.localtime(value) if timezone.is_aware(value) else value for value in span.values())
        if first.year == last.year:
            year = first.year
            if first.month == last.month:
                month = first.month
    try:
        year, month, day = (int(value) if value else None for value in (year, month, day))
        if year and month and day:
            return _one_day(datetime.date(year, month, day), link({year_param: year, month_param: month}))
        if year and month:
            return _days(cl, field, year, month, link, (year_param, month_param, day_param))
        if year:
            return _months(cl, field, year, link, (year_param, month_param))
        return _years(cl, field, first.year, last.year, link, year_param)
    except (TypeError, ValueError, OverflowError):
        # Nonsense in the URL (Django's filter refuses it too): offer no drill-down.
        return {"show": False}


def _one_day(day: datetime.date, back_link: str) -> dict[str, Any]:
    return {
        "show": True,
        "back": {"link": back_link, "title": capfirst(formats.date_format(day, "YEAR_MONTH_FORMAT"))},
        "choices": [{"title": capfirst(formats.date_format(day, "MONTH_DAY_FORMAT"))}],
    }


def _keep_occupied(cl: Any, field: str, candidates: list[tuple[Period, dict[str, Any]]]) -> list[dict[str, Any]]:
    flags = occupied(cl.queryset, field, [period for period, _choice in candidates])
    return [choice for (_period, choice), used in zip(candidates, flags, strict=True) if used]


def _days(cl: Any, field: str, year: int, month: int, link: Any, params: tuple[str, str, str]) -> dict[str, Any]:
    year_param, month_param, day_param = params
    days = [datetime.date(year, month, number) for number in range(1, calendar.monthrange(year, month)[1] + 1)]
    candidates = [
        (
            _day(d),
            {
                "link": link({year_param: year, month_param: month, day_param: d.day}),
                "title": capfirst(formats.date_format(d, "MONTH_DAY_FORMAT")),
            },
        )
        for d in days
    ]
    return {
        "show": True,
        "back": {"link": link({year_param: year}), "title": str(year)},
        "choices": _keep_occupied(cl, field, candidates),
    }


def _months(cl: Any, field: str, year: int, link: Any, params: tuple[str, str]) -> dict[str, Any]:
    year_param, month_param = params
    candidates = [
        (
            (_start(year, number), _start(year + number // 12, number % 12 + 1)),
            {
                "link": link({year_param: year, month_param: number}),
                "title": capfirst(formats.date_format(datetime.date(year, number, 1), "YEAR_MONTH_FORMAT")),
            },
        )
        for number in range(1, 13)
    ]
    return {
        "show": True,
        "back": {"link": link({}), "title": _("All dates")},
        "choices": _keep_occupied(cl, field, candidates),
    }


def _years(cl: Any, field: str, first: int, last: int, link: Any, year_param: str) -> dict[str, Any]:
    candidates = [
        ((_start(y), _start(y + 1)), {"link": link({year_param: str(y)}), "title": str(y)})
        for y in range(max(first, last - MAX_YEARS + 1), last + 1)
    ]
    return {"show": True, "back": None, "choices": _keep_occupied(cl, field, candidates)}
