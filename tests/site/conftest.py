"""The example project's pages in this process: its settings, a simulator behind them, a visitor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from django_engagelab_otp.demo import settings as example_settings
from django_engagelab_otp.demo.launcher import MEMBER_PASSWORD, MEMBER_PHONE, MEMBER_USERNAME

#: What the example's pages need of its settings (the suite's settings give the rest).
EXAMPLE_SETTINGS = (
    "ROOT_URLCONF",
    "TEMPLATES",
    "STATICFILES_DIRS",
    "MIDDLEWARE",
    "LOGIN_URL",
    "LOGIN_REDIRECT_URL",
    "LOGOUT_REDIRECT_URL",
    "LANGUAGES",
    "LOCALE_PATHS",
)


@pytest.fixture
def example_site() -> Iterator[None]:
    with override_settings(**{name: getattr(example_settings, name) for name in EXAMPLE_SETTINGS}):
        yield


@pytest.fixture
def sim(engagelab_simulator: Any) -> Any:
    """The local simulator behind the site (magic recipients and all); its codes are read, not printed."""
    engagelab_simulator.platform.announce_codes = False
    return engagelab_simulator


class SiteClient(Client):
    """A browser session on the example site that fails the test on any 5xx answer."""

    def request(self, **request: Any) -> Any:
        response = super().request(**request)
        assert response.status_code < 500, f"{request.get('PATH_INFO')} answered {response.status_code}"
        return response


@pytest.fixture
def visitor(example_site: None) -> SiteClient:
    return SiteClient()


@pytest.fixture
def member(db: None) -> Any:
    """A person with a password and a phone for the second factor, as the demo makes one."""
    from django.contrib.auth import get_user_model

    from django_engagelab_otp.contrib.otp.models import EngageLabDevice

    user = get_user_model().objects.create_user(MEMBER_USERNAME, password=MEMBER_PASSWORD)
    EngageLabDevice.objects.create(user=user, name="default", recipient=MEMBER_PHONE, confirmed=True)
    return user
