"""Every limit holds on every cache backend: of a burst of simultaneous attempts, exactly the limit passes.

For each backend (local memory, Redis, the database cache, memcached) and
each limit (resend cooldown: 1 of 32; daily cap of 10: 10 of 32; IP rate
of 20/h: 20 of 64; user rate of 10/h: 10 of 32):

* 32 threads of this process, released together, send (``send_otp`` through
  the in-memory platform; on SQLite, which refuses simultaneous writers,
  they claim the limits as it does) or apply the client rates
  (``check_client``);
* 4 OS processes of 8 threads each claim the same limits in one shared cache
  (not the local-memory cache, which each process has its own of).

The database cache runs on the database of the run: SQLite in memory
(threads only: it cannot be shared between processes) and PostgreSQL, in
the PostgreSQL passes of ``make test``. Each test records its figures for
``make reliability`` ("Limits per cache backend").
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.db import connection

from django_engagelab_otp import send_otp
from django_engagelab_otp.backends import locmem
from django_engagelab_otp.exceptions import ThrottledError
from tests.support.constants import PHONE
from tests.support.limit_caches import BACKENDS, SHARED, database_name, limit_cache, use_limit_cache
from tests.support.limit_scenarios import BY_NAME, GRANTED, SCENARIOS, Scenario
from tests.support.limits_worker import workers
from tests.support.proof import figure
from tests.support.settings import configure
from tests.support.threads import run_together

PROCESSES = 4
#: Threads send for real where the database takes simultaneous writers; an in-memory SQLite
#: database shared between threads refuses them ("database table is locked").
SEND = connection.vendor == "postgresql"

pytestmark = pytest.mark.django_db(transaction=True)


def label(backend: str) -> str:
    return database_name() if backend == "database" else backend


def expected(scenario: Scenario, attempts: int) -> Counter[str]:
    return Counter({GRANTED: scenario.granted, f"refused:{scenario.scope}": attempts - scenario.granted})


def burst(scenario: Scenario) -> Counter[str]:
    """The scenario's threads, released together in this process: their outcomes."""
    results = run_together(scenario.threads, lambda thread: scenario.attempts_of(thread, send=SEND))
    return Counter(outcome for outcomes in results for outcome in outcomes)


def threads(count: int, per_thread: int) -> str:
    return f"{count} threads" + (f", {per_thread} each" if per_thread > 1 else "")


def record(record_property, backend: str, scenario: Scenario, mode: str, outcomes: Counter[str], **changes) -> None:
    """The figures of one burst, for ``make reliability``; ``changes`` to what the scenario says."""
    values = {"limit": scenario.name, "attempted": scenario.attempts, "expected": scenario.granted, **changes}
    figure(record_property, "limits", backend=label(backend), mode=mode, granted=outcomes[GRANTED], **values)


def on_postgres(names: tuple[str, ...]) -> list[object]:
    """The backends as parameters, the database cache's marked for the PostgreSQL runs."""
    return [pytest.param(name, marks=[pytest.mark.postgres] if name == "database" else []) for name in names]


@pytest.mark.parametrize("backend", on_postgres(BACKENDS))
def test_bursts_of_threads_get_exactly_the_limit(backend, settings, engagelab_outbox, record_property):
    if backend == "database" and not SEND:
        pytest.skip("needs PostgreSQL: an in-memory SQLite database refuses simultaneous writers")
    found, sent = {}, {}
    with limit_cache(backend) as config:
        use_limit_cache(settings, config)
        for scenario in SCENARIOS:
            configure(settings, LIMITS_CACHE="limits", **scenario.changes)
            before = len(engagelab_outbox)
            found[scenario.name] = outcomes = burst(scenario)
            sent[scenario.name] = len(engagelab_outbox) - before
            mode = threads(scenario.threads, scenario.per_thread)
            record(record_property, backend, scenario, mode, outcomes)
    assert found == {s.name: expected(s, s.attempts) for s in SCENARIOS}
    if SEND:  # each send granted went out, and no other
        assert sent == {s.name: s.granted if s.name in ("cooldown", "daily") else 0 for s in SCENARIOS}


def _database_url() -> str:
    """The test database, for worker processes (a PostgreSQL server is shared; SQLite in memory is not)."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def processes(django_db_setup, django_db_blocker):
    """Worker processes for every backend of this module (starting them is the slow part)."""
    with workers(PROCESSES, _database_url() if SEND else "") as running:
        yield running


@pytest.mark.slow
@pytest.mark.parametrize("backend", on_postgres(SHARED))
def test_bursts_of_processes_get_exactly_the_limit(backend, settings, processes, record_property):
    if backend == "database" and not SEND:
        pytest.skip("needs PostgreSQL: processes cannot share an in-memory SQLite database")
    found = {}
    with limit_cache(backend) as config:
        use_limit_cache(settings, config)
        for scenario in SCENARIOS:
            each = scenario.threads // PROCESSES
            found[scenario.name] = outcomes = processes.burst(config, scenario.name, each)
            mode = f"{PROCESSES} processes x {threads(each, scenario.per_thread)}"
            record(record_property, backend, scenario, mode, outcomes)
    assert found == {s.name: expected(s, s.attempts) for s in SCENARIOS}


# ---------------------------------------------------------------- what time does to the database cache
# Its add() over a row that expired is a plain UPDATE, and its incr() writes
# the count back with the cache's default timeout.


@pytest.mark.postgres
def test_a_cooldown_that_ran_out_is_claimed_once_by_a_burst(settings, engagelab_outbox, record_property):
    if not SEND:
        pytest.skip("needs PostgreSQL: an in-memory SQLite database refuses simultaneous writers")
    scenario = BY_NAME["cooldown"]
    with limit_cache("database") as config:
        use_limit_cache(settings, config)
        configure(settings, LIMITS_CACHE="limits", RESEND_COOLDOWN=1, DAILY_LIMIT=0)
        send_otp(PHONE)
        time.sleep(2.1)  # the database cache keeps expiry times in whole seconds
        locmem.reset()  # the platform forgets the first code: only the cooldown may refuse
        outcomes = burst(scenario)
    mode = threads(scenario.threads, scenario.per_thread)
    record(record_property, "database", scenario, mode, outcomes, limit="cooldown, once expired")
    assert outcomes == expected(scenario, scenario.attempts)


def test_the_days_count_outlives_the_caches_default_timeout(settings, engagelab_outbox):
    with limit_cache("database") as config:
        use_limit_cache(settings, {**config, "TIMEOUT": 1})
        configure(settings, LIMITS_CACHE="limits", RESEND_COOLDOWN=0, DAILY_LIMIT=2)
        send_otp(PHONE, "a")
        send_otp(PHONE, "b")
        time.sleep(2.1)
        with pytest.raises(ThrottledError) as info:
            send_otp(PHONE, "c")
    assert info.value.scope == "daily"
