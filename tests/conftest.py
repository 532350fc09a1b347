import pytest
import responses as responses_lib
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

from tests.support.browser import chromium_browser
from tests.support.settings import configure


@pytest.fixture
def chromium():
    """Headless Chromium (Playwright's Browser); skipped where Debian's chromium is missing."""
    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def api():
    """A `responses` mock of the EngageLab API; any unmatched request fails the test."""
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture(autouse=True)
def _fresh_limits():
    """Every test starts without the cooldowns, counts and rates another test left in the local caches.

    Only local-memory caches are emptied: a shared one (Redis) may hold others' keys.
    """
    for cache in caches.all():
        if isinstance(cache, LocMemCache):
            cache.clear()


@pytest.fixture
def no_cooldown(settings):
    """For tests that send to one recipient several times on purpose (the limits have their own tests)."""
    configure(settings, RESEND_COOLDOWN=0)
