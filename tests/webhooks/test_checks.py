"""``manage.py check`` on the callback settings."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.checks import Tags
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_engagelab_otp.webhooks.checks import check_webhook_deployment, check_webhook_settings
from tests.support.settings import engagelab, merged

REDIS = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/0"}


def ids(caches=None, *, deploy=False, **changes) -> set[str]:
    with override_settings(ENGAGELAB_OTP=merged(**changes), CACHES=caches or {"default": REDIS}):
        found = {message.id for message in check_webhook_settings()}
        return found | {message.id for message in check_webhook_deployment()} if deploy else found


def test_callbacks_without_credentials_are_reported_only_where_the_callback_is_routed(settings):
    assert ids() == set(), "tests.urls has no callback: nothing to warn about"
    settings.ROOT_URLCONF = "tests.support.webhooks"
    assert ids() == {"django_engagelab_otp.W101"}  # refused
    assert ids(deploy=True) == {"django_engagelab_otp.W101", "django_engagelab_otp.E106"}
    assert ids(WEBHOOK_ALLOW_UNSIGNED=True) == {"django_engagelab_otp.W104"}  # open to anyone
    assert ids(deploy=True, WEBHOOK_ALLOW_UNSIGNED=True) == {"django_engagelab_otp.W104", "django_engagelab_otp.E105"}
    assert ids(WEBHOOK_AUTHORIZATION="Bearer x") == set()
    assert ids(WEBHOOK_USERNAME="u", WEBHOOK_SECRET="s") == set()


def test_the_callback_is_found_under_any_prefix_and_namespace(settings):
    settings.ROOT_URLCONF = "tests.support.nested_urls"
    assert "django_engagelab_otp.W101" in ids()


def test_the_deploy_errors_fail_check_deploy(settings):
    settings.ROOT_URLCONF = "tests.support.webhooks"
    with engagelab(WEBHOOK_ALLOW_UNSIGNED=True), pytest.raises(SystemCheckError) as info:
        call_command("check", "--deploy", "--tag", Tags.security, stdout=StringIO(), stderr=StringIO())
    assert "E105" in str(info.value)


@pytest.mark.parametrize("half", [{"WEBHOOK_USERNAME": "u"}, {"WEBHOOK_SECRET": "s"}])
def test_half_a_signature_is_an_error(half):
    assert "django_engagelab_otp.E101" in ids(**half)


@pytest.mark.parametrize("name", ["WEBHOOK_TOLERANCE", "WEBHOOK_MAX_BODY"])
@pytest.mark.parametrize("value", [0, -5, "five minutes", 1.5, True])
def test_numbers_must_be_positive_whole(name, value):
    assert "django_engagelab_otp.E102" in ids(**{name: value}, WEBHOOK_AUTHORIZATION="Bearer x")


def test_nonce_cache_must_exist_and_be_shared():
    signed = {"WEBHOOK_USERNAME": "u", "WEBHOOK_SECRET": "s"}
    assert ids(**signed, WEBHOOK_NONCE_CACHE="missing") == {"django_engagelab_otp.E103"}
    local = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # A per-process cache is fine while developing; `check --deploy` warns.
    assert ids(local, **signed) == set()
    assert ids(local, deploy=True, **signed) == {"django_engagelab_otp.W103"}
    assert ids(deploy=True, **signed) == set()  # Redis is shared
    dummy = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert ids(dummy, **signed) == {"django_engagelab_otp.W102"}
    # Without signatures there are no nonces to keep.
    assert ids(local, deploy=True, WEBHOOK_AUTHORIZATION="Bearer x") == set()


def test_manage_py_check_reports_them():
    half = engagelab(WEBHOOK_USERNAME="u")
    with half, pytest.raises(SystemCheckError) as info:
        call_command("check", "--tag", Tags.security, stdout=StringIO(), stderr=StringIO())
    assert "E101" in str(info.value)
    assert "WEBHOOK_SECRET" in str(info.value)
