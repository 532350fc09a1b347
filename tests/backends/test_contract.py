"""A backend written from the contract alone (README, Backends), not from a shipped class."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from django.core import checks

from django_engagelab_otp import asend_otp, send_custom_message, send_otp, verify_otp
from django_engagelab_otp.backends import get_backend
from django_engagelab_otp.backends.base import AsyncBackend, Backend, SendResult, VerifyResult
from django_engagelab_otp.errors import error_for
from django_engagelab_otp.exceptions import EngageLabError
from django_engagelab_otp.models import MessageLog
from tests.support.constants import PHONE
from tests.support.settings import configure

pytestmark = pytest.mark.django_db(transaction=True)

BLOCKED = "+8618701239999"


class RecordingBackend:
    """Another provider, as a user would write one: no base class, sync calls only."""

    sent: list[tuple[str, str]] = []
    numbers = itertools.count(1)

    def __init__(
        self, *, dev_key, dev_secret, api_url, timeout, max_retries, retry_backoff, retry_backoff_max, retry_jitter
    ):
        self.timeout = timeout

    def _send(self, kind: str, to) -> SendResult:
        if to == BLOCKED:
            raise error_for(5013, "blocked", http_status=400)
        self.sent.append((kind, to))
        return SendResult(f"rec-{next(self.numbers)}", "sms")

    def send_message(self, to, template_id, *, language=None, params=None) -> SendResult:
        return self._send("otp", to)

    def send_custom_message(self, to, template_id, *, params=None) -> SendResult:
        return self._send("custom", to)

    def send_code(self, to, code, template_id, *, language=None, params=None) -> SendResult:
        return self._send("code", to)

    def verify(self, message_id, code) -> VerifyResult:
        return VerifyResult(message_id, code == "123456")

    def list_templates(self):
        return []

    def get_template(self, template_id):
        return {}

    def create_template(self, template):
        return {}

    def delete_template(self, template_id):
        return {}

    def close(self) -> None:
        pass


@pytest.fixture
def recording(settings):
    RecordingBackend.sent = []
    RecordingBackend.numbers = itertools.count(1)
    configure(settings, BACKEND=f"{__name__}.RecordingBackend", SEND_COOLDOWN=0)
    return RecordingBackend


def test_it_keeps_the_contract_and_not_the_async_one():
    assert issubclass(RecordingBackend, Backend) and not issubclass(RecordingBackend, AsyncBackend)


def test_the_services_send_and_verify_through_it(recording):
    assert isinstance(get_backend(), RecordingBackend)
    log = send_otp(PHONE)
    assert (log.message_id, log.status, recording.sent) == ("rec-1", MessageLog.Status.ACCEPTED, [("otp", PHONE)])
    assert verify_otp(log.message_id, "123456") is True
    log.refresh_from_db()
    assert log.verified_at is not None and verify_otp(log.message_id, "000000") is False


def test_its_errors_settle_the_row_as_the_error_table_says(recording):
    with pytest.raises(EngageLabError) as info:
        send_custom_message(BLOCKED, "notice")
    assert info.value.code == 5013
    row = MessageLog.objects.get()
    assert (row.status, row.error_code) == (MessageLog.Status.FAILED, 5013)


def test_the_async_services_run_its_sync_calls(recording):
    log = asyncio.run(asend_otp(PHONE))
    assert log.message_id.startswith("rec-") and recording.sent == [("otp", PHONE)]


def test_a_class_lacking_a_call_is_a_check_error(settings):
    configure(settings, BACKEND=f"{__name__}.HalfBackend")
    errors = [m for m in checks.run_checks() if m.id == "django_engagelab_otp.E008"]
    assert len(errors) == 1 and "verify" in errors[0].msg


class HalfBackend:
    def send_message(self, to, template_id, *, language=None, params=None): ...
