"""How the limits count in the cache: units per window, the cooldown's buckets of time, giving back, refusing caches.

The clock is moved (``limits_cache.clock``) to the edges of windows and
buckets, where a count could start afresh too early or a cooldown end too late.
"""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.memcached import PyMemcacheCache
from django.core.cache.backends.redis import RedisCache
from django.core.checks import run_checks

from django_engagelab_otp import attempts_left, send_otp, verify_otp
from django_engagelab_otp.checks import TAG
from django_engagelab_otp.exceptions import ConfigurationError, VerificationLockedError
from django_engagelab_otp.limits_cache import (
    DAY,
    Full,
    Window,
    adds_atomically,
    cache_key,
    cache_keys,
    take_alone,
    take_unit,
    units_taken,
)
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.privacy import keyed_hash
from tests.support.answers import accept
from tests.support.clock import T0
from tests.support.constants import API, PHONE
from tests.support.settings import configure

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- units per window


def test_exactly_the_limit_of_units_is_taken_and_a_unit_given_back_is_taken_again(clock):
    claims = [take_unit("k", 3, DAY) for _ in range(3)]
    with pytest.raises(Full) as info:
        take_unit("k", 3, DAY)
    assert info.value.wait == 86400, "until the window ends, not a window from now"
    claims[1].give_back()
    assert units_taken("k", 3, DAY) == 2
    take_unit("k", 3, DAY)
    with pytest.raises(Full):
        take_unit("k", 3, DAY)


def test_a_window_starts_afresh_and_says_how_long_is_left(clock):
    hour = Window(3600, offset=600)  # from 00:10 to 01:10
    clock.now = T0 + 600
    take_unit("k", 1, hour)
    clock.now = T0 + 3000
    with pytest.raises(Full) as info:
        take_unit("k", 1, hour)
    assert info.value.wait == 1200
    clock.now = T0 + 4200
    take_unit("k", 1, hour)


def test_more_units_than_one_look_reads(clock):
    for _ in range(250):  # three get_many of 100 keys
        take_unit("k", 250, DAY)
    with pytest.raises(Full):
        take_unit("k", 250, DAY)
    assert units_taken("k", 250, DAY) == 250


def test_carry_over_counts_the_window_before(clock):
    for _ in range(2):
        take_unit("k", 3, DAY, carry_over=True)
    clock.now = T0 + 86400 + 60  # the next day
    take_unit("k", 3, DAY, carry_over=True)
    with pytest.raises(Full):
        take_unit("k", 3, DAY, carry_over=True)
    assert units_taken("k", 3, DAY, carry_over=True) == 3
    clock.now = T0 + 2 * 86400 + 60  # the first day's units no longer count
    take_unit("k", 3, DAY, carry_over=True)
    take_unit("k", 3, DAY, carry_over=True)


def test_a_limit_of_zero_refuses_everything(clock):
    with pytest.raises(Full):
        take_unit("k", 0, Window(60))


# ---------------------------------------------------------------- the cooldown's buckets of time


@pytest.mark.parametrize("offset", [0, 0.001, 30, 59.999], ids=["bucket-start", "just-after", "middle", "bucket-end"])
def test_the_cooldown_ends_exactly_after_its_seconds_wherever_it_starts(clock, offset):
    clock.now = start = T0 + offset
    take_alone("c", 60)
    for after in (0, 0.001, 1, 30, 59.99):
        clock.now = start + after
        with pytest.raises(Full) as info:
            take_alone("c", 60)
        assert info.value.wait == pytest.approx(60 - after)
    clock.now = start + 60
    take_alone("c", 60)
    clock.now = start + 119.99
    with pytest.raises(Full):
        take_alone("c", 60)


def test_a_cooldown_given_back_is_free_at_once(clock):
    claim = take_alone("c", 60)
    clock.now += 1
    claim.give_back()
    take_alone("c", 60)
    assert len([key for key in cache._cache if "c:" in key]) == 2


def test_a_claim_old_enough_in_the_bucket_before_stands_in_no_ones_way(clock):
    take_alone("c", 60)  # at the start of its bucket
    clock.now = T0 + 60 + 59  # the end of the next bucket: the first claim is 119 s old
    take_alone("c", 60)
    clock.now = T0 + 120 + 1  # 2 s later, in the bucket after
    with pytest.raises(Full) as info:
        take_alone("c", 60)
    assert info.value.wait == pytest.approx(58)


def test_a_cooldown_shorter_than_a_second(clock):
    take_alone("c", 0.2)
    clock.now = T0 + 0.1
    with pytest.raises(Full):
        take_alone("c", 0.2)
    clock.now = T0 + 0.25
    take_alone("c", 0.2)


# ---------------------------------------------------------------- caches that cannot hold a limit


FILE_CACHE = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": "/tmp/engagelab-limits"}


def test_a_file_cache_is_refused_before_any_request(api, settings):
    settings.CACHES = {**settings.CACHES, "files": FILE_CACHE}
    configure(settings, LIMITS_CACHE="files")
    accept(api)
    with pytest.raises(ConfigurationError) as info:
        send_otp(PHONE)
    assert "FileBasedCache.add() is not atomic" in info.value.message and info.value.operator
    assert not api.calls and not MessageLog.objects.exists()
    api.post(API + "verifications", json={"message_id": "m1", "verify_code": "0", "verified": False})
    with pytest.raises(ConfigurationError):
        verify_otp("elsewhere", "000000")  # unknown message ids are counted in the cache
    assert not api.calls


def test_the_check_refuses_a_file_cache_and_warns_about_one_it_does_not_know(settings):
    settings.CACHES = {**settings.CACHES, "files": FILE_CACHE, "own": {"BACKEND": f"{__name__}.OwnCache"}}
    configure(settings, LIMITS_CACHE="files")
    (error,) = run_checks(tags=[TAG])
    assert error.id == "django_engagelab_otp.E017" and error.is_serious()
    assert "'files'" in error.msg and "add()" in error.msg
    configure(settings, LIMITS_CACHE="own")
    (warning,) = run_checks(tags=[TAG])
    assert warning.id == "django_engagelab_otp.W006" and not warning.is_serious()


class OwnCache(BaseCache):
    """A cache backend of a project's own: the check cannot tell whether its add() is atomic."""

    def __init__(self, location: str, params: dict) -> None:
        super().__init__(params)


def test_a_dummy_cache_grants_everything_and_counts_nothing(api, settings):
    settings.CACHES = {**settings.CACHES, "none": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    configure(settings, LIMITS_CACHE="none", DAILY_LIMIT=1)
    api.post(API + "verifications", json={"message_id": "x", "verify_code": "0", "verified": False})
    for _ in range(7):
        assert verify_otp("elsewhere", "000000") is False
    assert len(api.calls) == 7


def test_verification_lock_of_unknown_messages_carries_over_midnight(api, clock):
    api.post(API + "verifications", json={"message_id": "x", "verify_code": "0", "verified": False})
    clock.now = T0 + 86400 - 1  # 23:59:59
    for _ in range(5):
        verify_otp("elsewhere", "000000")
    clock.now = T0 + 86400 + 1  # just past midnight: the attempts of the day before still count
    with pytest.raises(VerificationLockedError):
        verify_otp("elsewhere", "000000")
    assert len(api.calls) == 5


def test_deploy_check_warns_about_a_database_cache_that_would_cull_live_counts(settings):
    database = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "limits"}
    settings.CACHES = {**settings.CACHES, "db": database}
    configure(settings, LIMITS_CACHE="db")
    (warning,) = run_checks(tags=[TAG], include_deployment_checks=True)
    assert warning.id == "django_engagelab_otp.W007" and "300 entries" in warning.msg
    settings.CACHES = {**settings.CACHES, "db": {**database, "OPTIONS": {"MAX_ENTRIES": 1_000_000}}}
    assert run_checks(tags=[TAG], include_deployment_checks=True) == []


class OwnRedisCache(RedisCache):
    """A project's subclass of a backend whose add() is atomic."""


@pytest.mark.parametrize(
    ("backend", "atomic"),
    [
        (LocMemCache, True),
        (RedisCache, True),
        (OwnRedisCache, True),
        (DatabaseCache, True),
        (PyMemcacheCache, True),
        (FileBasedCache, False),
        (OwnCache, None),
    ],
)
def test_which_backends_add_atomically(backend, atomic):
    assert adds_atomically(backend) is atomic


# ---------------------------------------------------------------- claims made before a SECRET_KEY rotation


def test_a_cooldown_held_under_the_former_key_refuses_for_the_time_it_has_left(clock):
    clock.now = T0 + 50
    take_alone("old", 60)
    clock.now = T0 + 70  # the next bucket: the former claim is in the bucket before
    with pytest.raises(Full) as info:
        take_alone("new", 60, former=["old"])
    assert info.value.wait == pytest.approx(40)
    clock.now = T0 + 110  # exactly the cooldown after the former claim
    take_alone("new", 60, former=["old"])


def test_a_former_claim_that_skipped_its_earlier_bucket_still_refuses(clock):
    take_alone("old", 60)
    clock.now = T0 + 119  # the bucket after: the first claim is old enough to stand in no one's way
    take_alone("old", 60)  # holds its own bucket only
    clock.now = T0 + 125
    with pytest.raises(Full) as info:
        take_alone("new", 60, former=["old"])
    assert info.value.wait == pytest.approx(54)


def test_units_taken_under_the_former_key_count(clock):
    take_unit("old", 3, DAY)
    take_unit("old", 3, DAY)
    take_unit("new", 3, DAY, former=["old"])
    with pytest.raises(Full):
        take_unit("new", 3, DAY, former=["old"])


def test_units_taken_counts_the_window_before_only_when_asked(clock):
    take_unit("k", 3, DAY)
    take_unit("k", 3, DAY)
    clock.now = T0 + 86400
    assert units_taken("k", 3, DAY) == 0
    assert units_taken("k", 3, DAY, carry_over=True) == 2


def test_attempts_left_counts_the_day_before_too(api, clock):
    api.post(API + "verifications", json={"message_id": "x", "verify_code": "0", "verified": False})
    clock.now = T0 + 86400 - 1
    for _ in range(3):
        verify_otp("elsewhere", "000000")
    clock.now = T0 + 86400 + 1
    assert attempts_left("elsewhere") == 2


def test_full_says_how_long_in_whole_seconds():
    assert str(Full(12.4)) == "taken for 12 s" and Full(12.4).wait == 12.4


def test_cache_keys_stay_the_same_from_one_version_to_the_next():
    # A cooldown kept in a shared cache must still hold while a new version of the site rolls out.
    digest = keyed_hash("+8618701235678", "limits")
    assert cache_key("cooldown", "+8618701235678") == f"engagelab_otp:cooldown:{digest[:40]}"
    assert cache_keys("cooldown", "+8618701235678") == [cache_key("cooldown", "+8618701235678")]


# ---------------------------------------------------------------- how long the cache keeps what was taken


def kept_for(key):
    """Seconds the local-memory cache still keeps ``key`` (its own clock is the real one)."""
    return cache._expire_info[cache.make_key(key)] - time.time()


def test_a_unit_is_kept_until_its_window_ends_and_a_margin(clock):
    clock.now = T0 + 3600
    (unit,) = take_unit("k", 3, DAY).keys
    assert kept_for(unit) == pytest.approx(86400 - 3600 + 60, abs=2)
    (carried,) = take_unit("c", 3, DAY, carry_over=True).keys
    assert kept_for(carried) == pytest.approx(2 * 86400 - 3600 + 60, abs=2), "read until the next window ends"


def test_a_cooldown_is_kept_until_the_bucket_after_ends_and_a_margin(clock):
    clock.now = T0 + 10
    claim = take_alone("c", 60)
    assert len(claim.keys) == 2
    for key in claim.keys:
        assert kept_for(key) == pytest.approx(120 - 10 + 60, abs=2)


def test_a_claim_that_finds_its_bucket_taken_keeps_nothing(clock):
    # Another claim added the key of this bucket between this one's two adds.
    bucket = int(T0 // 60)
    cache.add(f"c:{bucket}", T0 - 5, timeout=600)
    with pytest.raises(Full) as info:
        take_alone("c", 60)
    assert info.value.wait == pytest.approx(55)
    assert cache.get(f"c:{bucket - 1}") is None, "the key it added first is given back"


class GivenBackMeanwhile(LocMemCache):
    """A cache where the next ``losses`` adds lose to a rival claim given back before it can be read."""

    losses = 0

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        if self.losses > 0:
            self.losses -= 1
            return False
        return super().add(key, value, timeout, version)


def test_a_cooldown_whose_rival_gave_back_meanwhile_is_claimed_again(settings, clock):
    settings.CACHES = {**settings.CACHES, "racing": {"BACKEND": f"{__name__}.GivenBackMeanwhile"}}
    configure(settings, LIMITS_CACHE="racing")
    racing = caches["racing"]
    racing.losses = 1
    assert len(take_alone("c", 60).keys) == 2
    racing.losses = 99  # a rival each time: after a few tries, a refusal for the whole cooldown
    with pytest.raises(Full) as info:
        take_alone("d", 60)
    assert info.value.wait == 60
