"""Verification attempts: at most MAX_VERIFY_ATTEMPTS wrong codes per message, reserved before the request."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection, transaction

from django_engagelab_otp import attempts_left, check_otp, is_locked, send_otp, verify_otp
from django_engagelab_otp.errors import FAILURES
from django_engagelab_otp.exceptions import RequestError, TransportError, VerificationLockedError, WrongCodeError
from django_engagelab_otp.forms import VerifyOTPForm
from django_engagelab_otp.history import verifications as counter
from django_engagelab_otp.limits_cache import Claim
from django_engagelab_otp.management.base import Exit
from django_engagelab_otp.models import MessageLog
from tests.support.constants import API, PHONE
from tests.support.local_http import closed_port
from tests.support.settings import configure
from tests.support.threads import run_together

pytestmark = pytest.mark.django_db


def wrong_code(simulator, to=PHONE):
    right = simulator.platform.last_code(to)
    return "000000" if right != "000000" else "111111"


def verifications(simulator):
    return simulator.platform.path_counts["/v1/verifications"]


def test_five_wrong_codes_lock_the_message_without_a_sixth_request(engagelab_simulator, caplog):
    log = send_otp(PHONE)
    wrong = wrong_code(engagelab_simulator)
    assert [verify_otp(log.message_id, wrong) for _ in range(5)] == [False] * 5
    with pytest.raises(VerificationLockedError) as info:
        verify_otp(log.message_id, engagelab_simulator.platform.last_code(PHONE))  # even the right one
    error = info.value
    assert error.user_message == FAILURES["verify_locked"].user_message and error.field is None
    assert not error.retryable and not error.operator and error.code is None
    assert verifications(engagelab_simulator) == 5
    log.refresh_from_db()
    assert log.verify_attempts == 5 and log.verified_at is None
    assert any(r.levelname == "WARNING" and log.message_id in r.getMessage() for r in caplog.records)


def test_a_right_code_within_the_limit_verifies(engagelab_simulator):
    log = send_otp(PHONE)
    for _ in range(4):
        assert verify_otp(log.message_id, wrong_code(engagelab_simulator)) is False
    assert verify_otp(log.message_id, engagelab_simulator.platform.last_code(PHONE)) is True
    log.refresh_from_db()
    assert log.verify_attempts == 5 and log.verified_at is not None


def test_the_limit_is_a_setting_and_zero_turns_it_off(engagelab_simulator, settings):
    configure(settings, MAX_VERIFY_ATTEMPTS=2)
    log = send_otp(PHONE)
    wrong = wrong_code(engagelab_simulator)
    verify_otp(log.message_id, wrong)
    verify_otp(log.message_id, wrong)
    with pytest.raises(VerificationLockedError):
        verify_otp(log.message_id, wrong)
    configure(settings, MAX_VERIFY_ATTEMPTS=0)
    assert verify_otp(log.message_id, wrong) is False
    log.refresh_from_db()
    assert log.verify_attempts == 3, "attempts are still counted"


def test_the_form_says_the_message_is_locked(engagelab_simulator):
    log = send_otp(PHONE)
    wrong = wrong_code(engagelab_simulator)
    for _ in range(5):
        form = VerifyOTPForm(log.message_id, {"code": wrong})
        assert not form.is_valid() and list(form.errors) == ["code"]
    form = VerifyOTPForm(log.message_id, {"code": wrong})
    assert not form.is_valid()
    assert form.non_field_errors() == [str(FAILURES["verify_locked"].user_message)]
    assert "code" not in form.errors
    assert form.errors.as_data()["__all__"][0].code == "engagelab_VerificationLockedError"


def test_the_verify_command_exits_4_with_one_line(engagelab_simulator, settings):
    configure(settings, MAX_VERIFY_ATTEMPTS=1)
    log = send_otp(PHONE)
    wrong = wrong_code(engagelab_simulator)
    with pytest.raises(CommandError) as info:
        call_command("engagelab_verify", log.message_id, wrong, stdout=StringIO())
    assert info.value.returncode == Exit.NO
    with pytest.raises(CommandError) as info:
        call_command("engagelab_verify", log.message_id, wrong, stdout=StringIO())
    assert info.value.returncode == Exit.REFUSED and "VerificationLockedError" in str(info.value)
    assert wrong not in str(info.value)


def verify_waiting_for_sqlite(message_id, code):
    """``verify_otp``, repeated while SQLite's shared in-memory test database is locked by another thread.

    A file database waits for its lock (the busy timeout); the in-memory one of
    the tests fails at once instead, in the reservation, before any request.
    PostgreSQL never gets here. The short pause lets the thread holding the
    lock finish instead of racing eleven spinning threads for the CPU.
    """
    while True:
        try:
            return verify_otp(message_id, code)
        except OperationalError as error:
            if connection.vendor != "sqlite" or "locked" not in str(error):
                raise
        time.sleep(0.001)


@pytest.mark.django_db(transaction=True)
def test_simultaneous_wrong_codes_pass_no_more_than_the_limit(engagelab_simulator):
    log = send_otp(PHONE)
    wrong = wrong_code(engagelab_simulator)
    results = run_together(12, lambda _i: verify_waiting_for_sqlite(log.message_id, wrong))
    assert results.count(False) == 5
    assert sum(isinstance(r, VerificationLockedError) for r in results) == 7, results
    assert verifications(engagelab_simulator) == 5
    assert MessageLog.objects.get(pk=log.pk).verify_attempts == 5


def test_an_attempt_the_platform_never_answered_is_given_back(api):
    api.post(API + "verifications", body=requests.ConnectionError("refused"))
    MessageLog.objects.create(kind="otp", to=PHONE, template_id="t", message_id="m1", status="accepted")
    for _ in range(7):
        with pytest.raises(TransportError):
            verify_otp("m1", "123456")
    assert MessageLog.objects.get().verify_attempts == 0
    api.replace("POST", API + "verifications", status=400, json={"code": 3003, "message": "expired"})
    with pytest.raises(RequestError):
        verify_otp("m1", "123456")
    assert MessageLog.objects.get().verify_attempts == 1, "an answer is an attempt"


def test_message_ids_this_site_did_not_send_are_counted_in_the_cache(api):
    api.post(API + "verifications", json={"message_id": "elsewhere", "verify_code": "000000", "verified": False})
    for _ in range(5):
        assert verify_otp("elsewhere", "000000") is False
    with pytest.raises(VerificationLockedError):
        verify_otp("elsewhere", "000000")
    assert len(api.calls) == 5
    assert not MessageLog.objects.exists()


def test_unknown_ids_given_back_when_unanswered(api):
    api.post(API + "verifications", body=requests.ConnectionError("refused"))
    for _ in range(7):
        with pytest.raises(TransportError):
            verify_otp("elsewhere", "000000")
    api.replace("POST", API + "verifications", json={"message_id": "x", "verify_code": "0", "verified": False})
    assert verify_otp("elsewhere", "000000") is False


def test_bad_input_costs_no_attempt(engagelab_simulator):
    log = send_otp(PHONE)
    for code in ("", "12", "abc!", "1" * 11):
        with pytest.raises(ValueError):
            verify_otp(log.message_id, code)
    assert MessageLog.objects.get(pk=log.pk).verify_attempts == 0
    assert verifications(engagelab_simulator) == 0


# ---------------------------------------------------------------- public helpers


def test_attempts_left_and_is_locked_follow_the_count(engagelab_simulator, settings):
    configure(settings, MAX_VERIFY_ATTEMPTS=3)
    log = send_otp(PHONE)
    wrong = wrong_code(engagelab_simulator)
    assert attempts_left(log.message_id) == 3 and not is_locked(log.message_id)
    verify_otp(log.message_id, wrong)
    assert attempts_left(log.message_id) == 2
    verify_otp(log.message_id, wrong)
    verify_otp(log.message_id, wrong)
    assert attempts_left(log.message_id) == 0 and is_locked(log.message_id)
    configure(settings, MAX_VERIFY_ATTEMPTS=0)
    assert attempts_left(log.message_id) is None and not is_locked(log.message_id)


def test_attempts_left_for_an_id_this_site_did_not_send(api):
    api.post(API + "verifications", json={"message_id": "elsewhere", "verify_code": "000000", "verified": False})
    assert attempts_left("elsewhere") == 5
    verify_otp("elsewhere", "000000")
    assert attempts_left("elsewhere") == 4 and not is_locked("elsewhere")


def test_check_otp_raises_the_public_wrong_code_error(engagelab_simulator):
    log = send_otp(PHONE)
    with pytest.raises(WrongCodeError) as info:
        check_otp(log.message_id, wrong_code(engagelab_simulator))
    error = info.value
    assert error.attempts_left == 4 and error.field == "code" and not error.operator
    assert str(error.user_message) == "This code is not right. You can try 4 more times."
    assert error.as_validation_error().error_dict["code"][0].code == "wrong_code"
    assert check_otp(log.message_id, engagelab_simulator.platform.last_code(PHONE)) is None


def test_the_log_a_send_returns_knows_its_recipient_even_when_hashed(engagelab_simulator, settings):
    configure(settings, HASH_RECIPIENTS=True)
    log = send_otp("+86 187 0123 5678")
    assert log.to.startswith("hmac:") and log.recipient == PHONE
    assert MessageLog.objects.get(pk=log.pk).recipient is None, "a row read back holds only the hash"
    configure(settings, HASH_RECIPIENTS=False)
    assert MessageLog.objects.get(pk=send_otp("bob@example.com").pk).recipient == "bob@example.com"


@pytest.mark.parametrize(
    ("left", "text"),
    [
        (3, "This code is not right. You can try 3 more times."),
        (1, "This code is not right. You can try 1 more time."),
        (0, "This code is not right, and that was the last try. Please request a new code."),
    ],
)
def test_the_wrong_code_text_says_how_many_tries_are_left(left, text):
    assert str(WrongCodeError(attempts_left=left).user_message) == text
    assert str(WrongCodeError().user_message) == str(FAILURES["wrong_code"].user_message), "no count: the table's text"


# ---------------------------------------------------------------- each message's own count, both ways of counting


@pytest.fixture(params=["as-this-database-counts", "on-the-row-beside"])
def counting(request, monkeypatch):
    """Both ways an attempt is counted, whatever database runs the suite.

    On a database that writes beside the caller's transaction (PostgreSQL) the
    row's conditional UPDATE alone counts; on SQLite the cache counts too. The
    second way is taken here on any database, so that each is tested on each.
    """
    if request.param == "on-the-row-beside":
        monkeypatch.setattr(counter, "writes_beside", lambda connection: True)
    return request.param


def wrong_answer(api):
    api.post(API + "verifications", json={"message_id": "m", "verify_code": "000000", "verified": False})


def row(message_id, **fields):
    return MessageLog.objects.create(
        kind="otp", to=PHONE, template_id="t", message_id=message_id, status="accepted", **fields
    )


def attempts(message_id):
    return MessageLog.objects.get(message_id=message_id).verify_attempts


def test_an_attempt_given_back_is_its_own_message_s_alone(api, counting):
    row("m1")
    row("m2")
    wrong_answer(api)
    api.post(API + "verifications", body=requests.ConnectionError("refused"))
    assert verify_otp("m2", "000000") is False
    with pytest.raises(TransportError):
        verify_otp("m1", "000000")
    assert (attempts("m1"), attempts("m2")) == (0, 1)


def test_each_unknown_message_id_has_a_count_of_its_own(api, counting):
    wrong_answer(api)
    for _ in range(5):
        verify_otp("elsewhere-1", "000000")
    assert is_locked("elsewhere-1")
    assert verify_otp("elsewhere-2", "000000") is False
    assert attempts_left("elsewhere-2") == 4


@pytest.mark.parametrize("known", [True, False], ids=["sent-here", "sent-elsewhere"])
def test_the_lock_names_the_message_and_the_limit(api, counting, caplog, settings, known):
    configure(settings, MAX_VERIFY_ATTEMPTS=2)
    if known:
        row("m1")
    wrong_answer(api)
    verify_otp("m1", "000000")
    verify_otp("m1", "000000")
    with (
        caplog.at_level(logging.WARNING, logger="django_engagelab_otp.limits"),
        pytest.raises(VerificationLockedError) as info,
    ):
        verify_otp("m1", "000000")
    assert info.value.message == "message m1 had 2 wrong codes; request a new one"
    assert "EngageLab verification of m1 refused: 2 wrong codes already" in [r.getMessage() for r in caplog.records]
    assert len(api.calls) == 2


@pytest.mark.parametrize("known", [True, False], ids=["sent-here", "sent-elsewhere"])
def test_a_limit_of_one_allows_one_code(api, counting, settings, known):
    configure(settings, MAX_VERIFY_ATTEMPTS=1)
    if known:
        row("m1")
    wrong_answer(api)
    assert attempts_left("m1") == 1
    verify_otp("m1", "000000")
    assert attempts_left("m1") == 0
    with pytest.raises(VerificationLockedError):
        verify_otp("m1", "000000")


def test_a_row_at_its_limit_is_locked_without_a_request(api, counting, settings):
    configure(settings, MAX_VERIFY_ATTEMPTS=1)
    row("m1", verify_attempts=1)
    wrong_answer(api)
    with pytest.raises(VerificationLockedError):
        verify_otp("m1", "000000")
    assert not api.calls


def test_a_limit_of_zero_counts_for_the_admin_and_locks_nothing(api, counting, settings):
    configure(settings, MAX_VERIFY_ATTEMPTS=0)
    row("m1", verify_attempts=7)
    wrong_answer(api)
    for _ in range(3):
        assert verify_otp("m1", "000000") is False
        assert verify_otp("elsewhere", "000000") is False
    assert attempts("m1") == 10 and attempts_left("m1") is None


def test_without_a_limit_an_unanswered_attempt_is_given_back_too(api, counting, settings):
    configure(settings, MAX_VERIFY_ATTEMPTS=0)
    row("m1", verify_attempts=2)
    api.post(API + "verifications", body=requests.ConnectionError("refused"))
    with pytest.raises(TransportError):
        verify_otp("m1", "000000")
    assert attempts("m1") == 2


def test_the_row_s_count_is_what_is_left_of_the_limit(settings):
    row("m1", verify_attempts=3)
    assert attempts_left("m1") == 2
    configure(settings, MAX_VERIFY_ATTEMPTS=3)
    assert is_locked("m1")


@pytest.mark.django_db(transaction=True)  # the row committed, as a sent message's is
def test_wrong_codes_given_in_a_transaction_rolled_back_still_count(api):
    row("m1")
    wrong_answer(api)
    for _ in range(5):
        with contextlib.suppress(RolledBack), transaction.atomic():
            assert verify_otp("m1", "000000") is False
            raise RolledBack
    with pytest.raises(VerificationLockedError):
        verify_otp("m1", "000000")


class RolledBack(Exception):
    """Leaves an atomic block with a rollback."""


def test_the_right_code_stamps_the_row_once_for_both_columns(api):
    log = row("m1")
    api.post(API + "verifications", json={"message_id": "m1", "verify_code": "123456", "verified": True})
    assert verify_otp("m1", "123456") is True
    log.refresh_from_db()
    assert log.verified_at is not None and log.updated_at == log.verified_at


def test_an_attempt_the_cache_cannot_give_back_is_logged_not_raised(settings, caplog):
    attempt = counter.Attempt("m1", on_row=False, claim=Claim(("k",)))
    settings.CACHES = {
        **settings.CACHES,
        "gone": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        },
    }
    configure(settings, LIMITS_CACHE="gone")
    with caplog.at_level(logging.ERROR, logger="django_engagelab_otp.limits"):
        attempt.refund()
    (record,) = caplog.records
    assert re.fullmatch(r"EngageLab verification attempt not given back: \w*Error", record.getMessage())
