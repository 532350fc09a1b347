"""Settings (``conf``) and the configured client (``transport``)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from django_engagelab_otp import backends
from django_engagelab_otp.backends.http import HTTPBackend
from django_engagelab_otp.conf import DEFAULTS, OTPSettings, otp_settings
from django_engagelab_otp.exceptions import ConfigurationError

SECRET = settings.ENGAGELAB_OTP["DEV_SECRET"]


class RecordingBackend(HTTPBackend):
    """A backend of one's own: keeps the options it was built with."""

    closed = 0

    def __init__(self, **options):
        super().__init__(**options)
        self.options = options

    def close(self):
        RecordingBackend.closed += 1


@pytest.fixture(autouse=True)
def no_env_credentials(monkeypatch):
    monkeypatch.delenv("ENGAGELAB_OTP_DEV_KEY", raising=False)
    monkeypatch.delenv("ENGAGELAB_OTP_DEV_SECRET", raising=False)


def test_values_from_the_setting():
    assert otp_settings.DEV_KEY == "test-key"
    assert otp_settings.TEMPLATE_ID == "login-otp"
    assert otp_settings.TIMEOUT == 5


def test_defaults_fill_the_rest():
    with override_settings(ENGAGELAB_OTP={"DEV_KEY": "k"}):
        assert otp_settings.API_URL == DEFAULTS["API_URL"] == "https://otp.api.engagelab.cc/v1/"
        assert otp_settings.TIMEOUT == 10
        assert otp_settings.LANGUAGE == "default"
        assert otp_settings.MAX_RETRIES == 2
        assert otp_settings.BACKEND == "django_engagelab_otp.backends.http.HTTPBackend"
        assert otp_settings.TEMPLATE_ID is None and otp_settings.DEV_SECRET is None


def test_without_the_setting_at_all():
    with override_settings():
        del settings.ENGAGELAB_OTP
        assert otp_settings.raw() is None and otp_settings.user_settings() == {}
        assert otp_settings.TIMEOUT == 10


def test_empty_values_mean_the_default_but_zero_is_kept_where_it_means_off(caplog):
    with override_settings(ENGAGELAB_OTP={"API_URL": "", "LANGUAGE": None, "MAX_RETRIES": 0, "TIMEOUT": 0}):
        assert DEFAULTS["API_URL"] == otp_settings.API_URL
        assert otp_settings.LANGUAGE == "default"
        assert otp_settings.MAX_RETRIES == 0
        assert otp_settings.TIMEOUT == 10, "a zero timeout cannot be used: the default is"
    assert "ENGAGELAB_OTP['TIMEOUT'] must be more than 0 seconds, not 0. Using 10 instead" in caplog.text


def test_environment_fallback(monkeypatch):
    monkeypatch.setenv("ENGAGELAB_OTP_DEV_KEY", "env-key")
    monkeypatch.setenv("ENGAGELAB_OTP_DEV_SECRET", "env-secret")
    with override_settings(ENGAGELAB_OTP={"DEV_KEY": "set-key"}):
        assert (otp_settings.DEV_KEY, otp_settings.DEV_SECRET) == ("set-key", "env-secret")
    monkeypatch.setenv("ENGAGELAB_OTP_DEV_SECRET", "")
    with override_settings(ENGAGELAB_OTP={}):
        assert (otp_settings.DEV_KEY, otp_settings.DEV_SECRET) == ("env-key", None)


def test_only_credentials_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ENGAGELAB_OTP_API_URL", "https://elsewhere.test/")
    assert settings.ENGAGELAB_OTP["API_URL"] == otp_settings.API_URL


def test_override_settings_is_seen_at_once():
    assert otp_settings.TIMEOUT == 5
    with override_settings(ENGAGELAB_OTP={**settings.ENGAGELAB_OTP, "TIMEOUT": 7}):
        assert otp_settings.TIMEOUT == 7
    assert otp_settings.TIMEOUT == 5


def test_unknown_name():
    with pytest.raises(AttributeError, match="NOPE"):
        otp_settings.NOPE  # noqa: B018


def test_a_setting_that_is_not_a_dict_is_ignored_here():
    with override_settings(ENGAGELAB_OTP="oops"):
        assert otp_settings.user_settings() == {} and otp_settings.raw() == "oops"


def test_repr_shows_no_values():
    text = repr(OTPSettings())
    assert "DEV_SECRET" in text and SECRET not in text and "test-key" not in text


# ---------------------------------------------------------------- transport


def test_client_options():
    options = backends.backend_options()
    assert options == {
        "dev_key": "test-key",
        "dev_secret": SECRET,
        "api_url": "https://otp.api.engagelab.test/v1/",
        "timeout": 5,
        "max_retries": 2,
        "retry_backoff": 0,
        "retry_backoff_max": 8.0,
        "retry_jitter": 0,
    }
    with override_settings(ENGAGELAB_OTP={**settings.ENGAGELAB_OTP, "TIMEOUT": [3, 10]}):
        assert backends.backend_options()["timeout"] == (3, 10)


def test_client_options_need_credentials():
    with override_settings(ENGAGELAB_OTP={"DEV_KEY": "k"}), pytest.raises(ConfigurationError) as info:
        backends.backend_options()
    assert "DEV_SECRET" in info.value.message


def test_the_client_is_shared_and_rebuilt_when_settings_change():
    first = backends.get_backend()
    assert isinstance(first, HTTPBackend) and backends.get_backend() is first
    with override_settings(ENGAGELAB_OTP={**settings.ENGAGELAB_OTP, "TIMEOUT": 9}):
        second = backends.get_backend()
        assert second is not first and second.timeout == 9
    assert backends.get_backend().timeout == 5


def test_environment_changes_give_a_new_client(monkeypatch):
    monkeypatch.setenv("ENGAGELAB_OTP_DEV_KEY", "env-key")
    monkeypatch.setenv("ENGAGELAB_OTP_DEV_SECRET", "env-secret")
    with override_settings(ENGAGELAB_OTP={**settings.ENGAGELAB_OTP, "DEV_KEY": None, "DEV_SECRET": None}):
        client = backends.get_backend()
        assert client.dev_key == "env-key"
        monkeypatch.setenv("ENGAGELAB_OTP_DEV_KEY", "other-key")
        assert backends.get_backend().dev_key == "other-key"


def test_backend_setting_chooses_the_class():
    RecordingBackend.closed = 0
    backend = f"{__name__}.RecordingBackend"
    with override_settings(ENGAGELAB_OTP={**settings.ENGAGELAB_OTP, "BACKEND": backend}):
        client = backends.get_backend()
        assert isinstance(client, RecordingBackend)
        assert client.options == backends.backend_options()
    assert RecordingBackend.closed == 1  # leaving the override closed it


def test_backend_that_cannot_be_imported():
    bad = {**settings.ENGAGELAB_OTP, "BACKEND": "no.such.Client"}
    with override_settings(ENGAGELAB_OTP=bad), pytest.raises(ConfigurationError) as info:
        backends.get_backend()
    assert "no.such.Client" in info.value.message


def test_reset_clients_closes_them():
    client = backends.get_backend()
    session = client.session
    session.get_adapter("https://x.test/").poolmanager.connection_from_url("https://x.test/")
    backends.reset_backends()
    assert len(session.get_adapter("https://x.test/").poolmanager.pools) == 0
    assert backends.get_backend() is not client


def test_other_settings_leave_the_clients_alone():
    client = backends.get_backend()
    with override_settings(TIME_ZONE="Europe/Paris"):
        assert backends.get_backend() is client
