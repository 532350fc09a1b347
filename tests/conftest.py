import os
from pathlib import Path

import pytest
import responses as responses_lib
import respx
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.utils import translation

from django_engagelab_otp.signals import message_failed, message_sent, otp_verified
from tests.support.browser import chromium_browser
from tests.support.clock import T0, Clock
from tests.support.settings import configure


@pytest.fixture
def chromium():
    """Headless Chromium (Playwright's Browser); skipped where Debian's chromium is missing."""
    with chromium_browser() as browser:
        yield browser


#: The sign-in integrations' tests need the host packages' apps: their own settings module.
CONTRIB_TESTS = Path(__file__).resolve().parent / "contrib"
CONTRIB_SETTINGS = "tests.contrib.settings"


def _contrib_settings() -> bool:
    return os.environ.get("DJANGO_SETTINGS_MODULE") == CONTRIB_SETTINGS


def pytest_ignore_collect(collection_path, config):
    # Not skipped in silence: the header says so, and `make test` runs them apart.
    if collection_path == CONTRIB_TESTS and not _contrib_settings():
        return True
    return None


def pytest_report_header(config):
    if not _contrib_settings():
        return f"tests/contrib not collected: `pytest tests/contrib --ds {CONTRIB_SETTINGS}` runs them (make test does)"
    return None


@pytest.fixture
def api():
    """A `responses` mock of the EngageLab API; any unmatched request fails the test."""
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def received():
    """Everything the three signals (message_sent, message_failed, otp_verified) send during a test."""
    seen: list[tuple[str, dict]] = []
    receivers = {}
    for name, signal in (("sent", message_sent), ("failed", message_failed), ("verified", otp_verified)):

        def receiver(signal, sender, _name=name, **kwargs):
            seen.append((_name, {"sender": sender, **kwargs}))

        receivers[name] = receiver
        signal.connect(receiver, weak=False)
    yield seen
    message_sent.disconnect(receivers["sent"])
    message_failed.disconnect(receivers["failed"])
    otp_verified.disconnect(receivers["verified"])


@pytest.fixture
def aapi():
    """A `respx` mock of the EngageLab API for the async calls (httpx); any unmatched request fails the test."""
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture(autouse=True)
def _fresh_limits():
    """Every test starts without the cooldowns, counts and rates another test left in the local caches.

    Only local-memory caches are emptied: a shared one (Redis) may hold others' keys.
    """
    for cache in caches.all():
        if isinstance(cache, LocMemCache):
            cache.clear()


@pytest.fixture(autouse=True)
def _no_language_left():
    """Every test ends in the default language: LocaleMiddleware leaves a request's active in the thread."""
    yield
    translation.deactivate()


@pytest.fixture
def no_cooldown(settings):
    """For tests that send to one recipient several times on purpose (the limits have their own tests)."""
    configure(settings, RESEND_COOLDOWN=0)


@pytest.fixture
def clock(monkeypatch):
    """The limits' clock, stopped at ``T0``: a test moves it (``clock.now += 15``) instead of sleeping."""
    from django_engagelab_otp import limits_cache

    moved = Clock(T0)
    monkeypatch.setattr(limits_cache, "clock", moved)
    return moved
