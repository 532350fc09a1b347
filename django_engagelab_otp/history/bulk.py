"""Writing many rows in a fixed number of statements.

Django's own bulk methods are right in what they write but costly in two ways
that matter to a callback that must answer within 3 seconds:

* ``bulk_update`` builds a ``Case(When(pk=…))`` expression per row and field
  and resolves each one; for 1,000 rows and 8 columns that alone takes seconds.
  :func:`update_many` writes the same single ``UPDATE … SET col = CASE pk WHEN
  … END`` from prepared values (and a plain value for a column that is the same
  in every row).
* Django 5.2 splits bulk statements on SQLite as if it still allowed only 999
  parameters (its limit before SQLite 3.32, 2020), turning a 1,000-row batch
  into two dozen statements; Django 6 asks the connection for the real limit.
  :func:`insert_ignoring_duplicates` does the same for the length of its insert.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connections
from django.db.models import Model, Value
from django.db.models.expressions import RawSQL

#: Parameters per statement where the backend states no limit (PostgreSQL's wire limit).
DEFAULT_PARAMETER_LIMIT = 65535


def insert_ignoring_duplicates(objs: Sequence[Model], *, using: str) -> None:
    """``bulk_create(ignore_conflicts=True)`` in as few statements as the database allows."""
    if not objs:
        return
    with _real_parameter_limit(using):
        type(objs[0])._base_manager.using(using).bulk_create(objs, ignore_conflicts=True)


def update_many(objs: Sequence[Model], fields: Sequence[str], *, using: str, limit: int | None = None) -> None:
    """Save ``fields`` of ``objs`` (all of one model): one ``UPDATE`` per ``limit`` parameters' worth of rows.

    ``limit`` defaults to what the database allows (:func:`parameter_limit`).
    """
    if not objs:
        return
    model = type(objs[0])
    connection = connections[using]
    per_row = 2 * len(fields) + 1
    size = max(1, (limit or parameter_limit(using)) // per_row)
    for start in range(0, len(objs), size):
        chunk = objs[start : start + size]
        values = {name: _column_value(model, name, chunk, connection) for name in fields}
        model._base_manager.using(using).filter(pk__in=[obj.pk for obj in chunk]).update(**values)


def parameter_limit(using: str) -> int:
    """How many parameters one statement may carry on this database."""
    connection = connections[using]
    return _sqlite_parameter_limit(connection) or connection.features.max_query_params or DEFAULT_PARAMETER_LIMIT


def _column_value(model: type[Model], name: str, chunk: Sequence[Model], connection: Any) -> Any:
    field = model._meta.get_field(name)
    raw = [getattr(obj, field.attname) for obj in chunk]
    if all(value == raw[0] and type(value) is type(raw[0]) for value in raw):
        return Value(raw[0], output_field=field)
    quote = connection.ops.quote_name
    pk = quote(model._meta.pk.column)
    branches = " ".join(["WHEN %s THEN %s"] * len(chunk))
    params: list[Any] = []
    for obj, value in zip(chunk, raw, strict=True):
        params += [obj.pk, field.get_db_prep_save(value, connection)]
    # Only quoted column names are interpolated; every value is a query parameter.
    return RawSQL(f"CASE {pk} {branches} ELSE {quote(field.column)} END", params, output_field=field)  # noqa: S611


@contextmanager
def _real_parameter_limit(using: str) -> Iterator[None]:
    connection = connections[using]
    features = connection.features
    limit = _sqlite_parameter_limit(connection)
    if limit is None or limit <= features.max_query_params:
        yield
        return
    own = vars(features)
    had, previous = "max_query_params" in own, own.get("max_query_params")
    features.max_query_params = limit
    try:
        yield
    finally:
        if had:
            features.max_query_params = previous
        else:
            del features.max_query_params


def _sqlite_parameter_limit(connection: Any) -> int | None:
    if connection.vendor != "sqlite":
        return None
    connection.ensure_connection()
    getlimit = getattr(connection.connection, "getlimit", None)  # Python 3.11+
    return getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if getlimit else None
