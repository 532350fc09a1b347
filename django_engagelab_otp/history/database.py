"""Which connection writes the history: one that no caller's rollback can undo.

A send's row and a verification attempt must outlive the request that made
them: the message was sent and paid for, the wrong code was tried. Written
inside the caller's transaction (``ATOMIC_REQUESTS``, a view in
``transaction.atomic``, a DRF view, which rolls back on any error it
answers), a rollback would erase both: the history would lose a sent
message and the verification lock would forget the wrong codes.

So :func:`history_db` answers, for each write:

* the model's own database alias when the caller is not in a transaction
  (every statement commits at once) or is inside a test case's transaction
  (Django's ``TestCase`` rolls back by design; writing beside it would leak
  rows from one test into the next);
* otherwise, on databases that allow a second connection to write beside the
  first (PostgreSQL, MySQL/MariaDB, Oracle), a **connection of this app's own**
  to the same database, in autocommit: what it writes is committed at once
  and holds no row lock while the platform is asked;
* on SQLite, the caller's connection all the same: a second connection would
  wait for the caller's write lock. ``manage.py check`` says so (``W008``)
  when ``ATOMIC_REQUESTS`` is on.

The own connection is a ``DatabaseWrapper`` built from the same settings and
registered for the current thread only (not in ``DATABASES``), so that test
runners do not see a second database and Django's connection management does
not need to know it; it is checked like Django's own at each request's start
and end (``CONN_MAX_AGE``), and waits at most :data:`LOCK_TIMEOUT` seconds for
a row lock held by the caller's own transaction instead of hanging.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.signals import request_finished, request_started
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.utils import load_backend
from django.utils.connection import ConnectionDoesNotExist

from ..models import MessageLog

logger = logging.getLogger("django_engagelab_otp")

#: The alias of this app's own connection, in the thread that made it.
ALIAS_SUFFIX = "__engagelab_history"

#: Seconds the own connection waits for a row lock (held, say, by the caller's
#: own transaction) before the write fails instead of hanging the request.
LOCK_TIMEOUT = 5

#: Databases where a second connection may write while the first is in a transaction.
_BESIDE = frozenset({"postgresql", "mysql", "oracle"})

_LOCK_TIMEOUT_SQL = {
    "postgresql": f"SET lock_timeout = '{LOCK_TIMEOUT}s'",
    "mysql": f"SET SESSION innodb_lock_wait_timeout = {LOCK_TIMEOUT}",
}


def history_db() -> str:
    """The alias to write history rows with now (see the module's documentation)."""
    alias = router.db_for_write(MessageLog)
    connection = connections[alias]
    if not in_callers_transaction(connection) or not writes_beside(connection):
        return alias
    return _own(alias)


def writes_beside(connection: BaseDatabaseWrapper) -> bool:
    """Whether a second connection to this database can write while the first is in a transaction."""
    return connection.vendor in _BESIDE


def in_callers_transaction(connection: BaseDatabaseWrapper) -> bool:
    """Whether a rollback of the caller's could undo what ``connection`` writes now.

    Django marks the atomic blocks of its test cases (``_from_testcase``), and
    relies on the mark itself for durable blocks; inside one, nothing commits.
    """
    if not connection.in_atomic_block:
        return False
    return not any(getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def reset_state(obj: Any) -> Any:
    """Point a row written on the own connection back at the model's alias, for whoever uses it next.

    ``obj._state.db`` names the alias a row was saved with; the caller's code
    (``log.save()``, ``refresh_from_db()``) must use the usual one, which
    exists in every thread.
    """
    if obj._state.db and obj._state.db.endswith(ALIAS_SUFFIX):
        obj._state.db = router.db_for_write(type(obj))
    return obj


def _own(alias: str) -> str:
    name = alias + ALIAS_SUFFIX
    try:
        connections[name]
    except ConnectionDoesNotExist:  # not made in this thread yet
        settings_dict = connections[alias].settings_dict  # the same dict: a test database's name included
        backend = load_backend(settings_dict["ENGINE"])
        connections[name] = backend.DatabaseWrapper(settings_dict, name)
    return name


def release() -> None:
    """After a service's writes: close this thread's own connection unless it is to be kept (``CONN_MAX_AGE``).

    It is no ``DATABASES`` alias, so neither Django's request handling nor its
    test runner closes it; a connection left open would, for one, keep a test
    database from being dropped.
    """
    connection = _own_connection()
    if connection is None or connection.connection is None:
        return
    if connection.settings_dict.get("CONN_MAX_AGE", 0) == 0:
        connection.close()
    else:
        connection.close_if_unusable_or_obsolete()


@contextmanager
def released() -> Iterator[None]:
    """Around a service call: :func:`release` once it is over, however it ends."""
    try:
        yield
    finally:
        release()


def _own_connection() -> BaseDatabaseWrapper | None:
    """This thread's own connection, if it made one."""
    try:
        return connections[router.db_for_write(MessageLog) + ALIAS_SUFFIX]
    except ConnectionDoesNotExist:
        return None


def _close_if_obsolete(**kwargs: Any) -> None:
    connection = _own_connection()
    if connection is not None:
        connection.close_if_unusable_or_obsolete()


def _set_lock_timeout(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    statement = _LOCK_TIMEOUT_SQL.get(connection.vendor)
    if statement and connection.alias.endswith(ALIAS_SUFFIX):
        with connection.cursor() as cursor:
            cursor.execute(statement)


request_started.connect(_close_if_obsolete, dispatch_uid="django_engagelab_otp.history.started")
request_finished.connect(_close_if_obsolete, dispatch_uid="django_engagelab_otp.history.finished")
connection_created.connect(_set_lock_timeout, dispatch_uid="django_engagelab_otp.history.lock_timeout")
