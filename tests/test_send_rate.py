"""``SEND_RATE``: one rate for every process that sends, held in the real Redis of this machine."""

from __future__ import annotations

import gc
import itertools
import os
import subprocess
import sys

import pytest

from django_engagelab_otp import send_rate
from django_engagelab_otp.backends.http import HTTPBackend
from tests.support.constants import PHONE, ROOT
from tests.support.local_http import LocalServer
from tests.support.processes import race
from tests.support.rates import busiest_second
from tests.support.settings import configure
from tests.support.webhooks import REDIS_URL, redis_cache

RATE = 40
SECONDS = 3.0
PROCESSES = 2


def start_taker(prefix: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": prefix,
        "SEND_RATE": f"{RATE}/s",
        "THREADS": "8",
        "SECONDS": str(SECONDS),
    }
    command = [sys.executable, "-m", "tests.support.rate_taker"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_processes_share_one_rate_through_redis():
    with redis_cache() as config:
        granted = race([start_taker(config["KEY_PREFIX"]) for _ in range(PROCESSES)])
    moments = sorted(moment for each in granted for moment in each)
    assert all(len(each) > RATE for each in granted), "both processes sent"
    assert busiest_second(moments) <= RATE  # never above, in any second
    achieved = (len(moments) - 1) / (moments[-1] - moments[0])
    # bench_bulk.py measures the share of the rate reached; a test shares its machine with the whole suite,
    # and a sender woken too late for its slot lets it go (never above the rate comes first).
    assert achieved >= 0.75 * RATE, achieved


def test_no_rate_waits_for_nothing(settings):
    configure(settings, SEND_RATE=None)
    assert send_rate.take() == 0.0


def test_a_rate_spaces_the_requests_in_one_process(settings):
    configure(settings, SEND_RATE="50/s")
    waited = [send_rate.take() for _ in range(10)]
    assert sum(waited) >= 9 / (50 * send_rate.USED) - 0.02


class FakeClock:
    """Time that passes only when someone sleeps (or a test says so): every moment is exact."""

    def __init__(self) -> None:
        self.now = 1_000_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(settings, monkeypatch):
    configure(settings, SEND_RATE="10/s")
    monkeypatch.setattr(send_rate, "_next", {})  # the slots this process claimed, on the real clock elsewhere
    return FakeClock()


def slot_of(moment: float) -> float:
    """Where ``moment`` falls among the slots of 10/s: a whole number when it is a slot's time."""
    return moment / (1 / (10 * send_rate.USED))


def arrivals(clock: FakeClock, answers: list) -> tuple[LocalServer, list[float]]:
    """A local platform that notes the (fake) moment of each request and gives ``answers`` in turn."""
    moments: list[float] = []

    def answer(number: int, seen) -> tuple[int, dict]:
        moments.append(clock())
        return answers[(number - 1) % len(answers)]

    return LocalServer(answer), moments


def test_each_retry_of_the_backend_leaves_in_a_slot_of_its_own(clock):
    # The backend repeats a request the error table marks safe to repeat: that request counts too.
    busy = (500, {"code": 1000, "message": "busy"})
    server, moments = arrivals(clock, [busy, (200, {"message_id": "m1", "send_channel": "sms"})])
    with server:
        backend = HTTPBackend("key", "secret", api_url=server.url, max_retries=1, sleep=lambda seconds: None)
        for _ in range(3):
            with send_rate.paced(clock=clock, sleep=clock.sleep):
                backend.send_message(PHONE, "login-otp")
    slots = [slot_of(moment) for moment in moments]
    assert len(slots) == 6
    assert all(later - earlier >= 1 - 1e-6 for earlier, later in itertools.pairwise(slots)), slots


def test_a_request_held_up_after_its_slot_waits_at_the_wire_for_another(clock):
    server, moments = arrivals(clock, [(200, {"message_id": "m1", "send_channel": "sms"})])
    with server:
        backend = HTTPBackend("key", "secret", api_url=server.url, max_retries=0)
        with send_rate.paced(clock=clock, sleep=clock.sleep):
            held_slot = slot_of(clock())
            clock.sleep(0.5)  # held up between its slot and the wire (other threads' turns, a busy machine)
            backend.send_message(PHONE, "login-otp")
    (slot,) = [slot_of(moment) for moment in moments]
    assert slot == pytest.approx(round(slot), abs=1e-3), "it left at a slot's time"
    assert slot > held_slot + 4, "in a later slot, not half a second late in its own"


def test_a_slot_taken_on_entry_paces_any_backend(clock):
    entered = []
    for _ in range(3):
        with send_rate.paced(clock=clock, sleep=clock.sleep):
            entered.append(slot_of(clock()))
    assert [round(later - earlier) for earlier, later in itertools.pairwise(entered)] == [1, 1]


def test_paced_without_a_rate_sets_no_gate(settings):
    configure(settings, SEND_RATE=None)
    with LocalServer() as server, send_rate.paced(clock=lambda: 0.0, sleep=pytest.fail):
        HTTPBackend("key", "secret", api_url=server.url, max_retries=0).send_message(PHONE, "login-otp")
    assert len(server.requests) == 1


def test_a_paced_run_hands_the_interpreter_lock_over_every_millisecond_and_freezes_what_exists(settings):
    usual = sys.getswitchinterval()
    hosts = gc.get_freeze_count()
    gc.unfreeze()  # whatever a library of this test process froze: collectable again, as in most sites
    configure(settings, SEND_RATE=None)
    with send_rate.punctual():
        assert (sys.getswitchinterval(), gc.get_freeze_count()) == (usual, 0)  # no rate: nothing to be on time for
    configure(settings, SEND_RATE="100/s")
    with send_rate.punctual():
        assert sys.getswitchinterval() == send_rate.PUNCTUAL_SWITCH
        assert gc.get_freeze_count() > 10_000  # Django's objects: out of the collector's full passes
        with send_rate.punctual():  # a second run at once shares it
            assert sys.getswitchinterval() == send_rate.PUNCTUAL_SWITCH
        assert sys.getswitchinterval() == send_rate.PUNCTUAL_SWITCH  # the first is still under way
        assert gc.get_freeze_count() > 10_000
    assert (sys.getswitchinterval(), gc.get_freeze_count()) == (usual, 0)
    gc.freeze()  # a pre-forking server froze its objects: its freeze is its own
    frozen = gc.get_freeze_count()
    unfrozen = [[] for _ in range(1_000)]  # made after the host's freeze: a run's own freeze would take them in
    # A frozen object still dies when its last reference goes, so the count may drop by a few, never by the freeze.
    kept = range(frozen - 100, frozen + 1)
    try:
        with send_rate.punctual():
            assert gc.get_freeze_count() in kept, "nothing frozen on top of the host's freeze"
        assert gc.get_freeze_count() in kept, "the host's freeze is not undone"
        del unfrozen
    finally:
        if not hosts:
            gc.unfreeze()


def test_a_sender_may_wake_a_third_of_the_margin_late(clock):
    # 10/s: ten slots last 3 % longer than the second; a third of that (10.3 ms) is the most a sender may wake late.
    def woke(late: float) -> float:
        """Take a slot, waking ``late`` after the first time it waits for; the slot it keeps."""
        lateness = [late]
        send_rate.take(clock=clock, sleep=lambda seconds: clock.sleep(seconds + (lateness.pop() if lateness else 0)))
        return slot_of(clock())

    first = woke(0.0)
    kept = woke(0.010)
    assert kept == pytest.approx(first + 1 + 0.010 * 9.7, abs=1e-6), "10 ms late: the slot is kept"
    let_go = woke(0.011)
    assert let_go == pytest.approx(round(kept) + 2, abs=1e-6), "11 ms late: that slot is let go, the next one taken"
