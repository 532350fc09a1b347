"""The error table and the exceptions built from it."""

from __future__ import annotations

import dataclasses
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import override

from django_engagelab_otp import errors
from django_engagelab_otp.errors import ERROR_CODES, FAILURES, error_for, failure, markdown_table
from django_engagelab_otp.exceptions import (
    UNAVAILABLE,
    AuthenticationError,
    ConfigurationError,
    DeliveryError,
    EngageLabError,
    InvalidInputError,
    RateLimitError,
    RecipientError,
    RequestError,
    ServerError,
    TemplateError,
    TransportError,
)
from tests.support.constants import ROOT

DOCUMENTED_CODES = {1000, 2001, 2002, 2004, 3001, 3002, 3003, 3004, 4001, 5001, *range(5011, 5021)}
RECIPIENT_CODES = {5011, 5012, 5013, 5017, 5018, 5019, 5020}
OPERATOR_CODES = {2001, 2002, 2004, 3001, 3002, 4001}
SECRET = "s3cret-value"


def test_the_table_covers_every_documented_code():
    assert set(ERROR_CODES) == DOCUMENTED_CODES


def test_families_follow_the_design():
    family = {code: row.exc_class for code, row in ERROR_CODES.items()}
    assert {c for c, cls in family.items() if cls is AuthenticationError} == {2001, 2002, 2004}
    assert {c for c, cls in family.items() if cls is RequestError} == {3001, 3002, 3003}
    assert {c for c, cls in family.items() if cls is RateLimitError} == {3004}
    assert {c for c, cls in family.items() if cls is TemplateError} == {4001}
    assert {c for c, cls in family.items() if cls is RecipientError} == RECIPIENT_CODES
    assert {c for c, cls in family.items() if cls is DeliveryError} == {5001, 5014, 5015, 5016}
    assert {c for c, cls in family.items() if cls is ServerError} == {1000}


def test_retryable_fields_and_operator_flags():
    assert {c for c, row in ERROR_CODES.items() if row.retryable} == {1000, 5016}
    assert {c for c, row in ERROR_CODES.items() if row.field == "to"} == RECIPIENT_CODES
    assert {c for c, row in ERROR_CODES.items() if row.field not in (None, "to")} == set()
    assert {c for c, row in ERROR_CODES.items() if row.operator} == OPERATOR_CODES
    assert {c for c, row in ERROR_CODES.items() if row.user_message == UNAVAILABLE} == OPERATOR_CODES


def test_http_statuses_follow_the_api_document():
    expected = {1000: 500, 2001: 401, 2002: 401, 2004: 403}
    for code, row in ERROR_CODES.items():
        assert row.http_status == expected.get(code, 400), code


@pytest.mark.parametrize("row", [*ERROR_CODES.values(), *FAILURES.values()], ids=str)
def test_user_messages_are_translatable_and_say_nothing_internal(row):
    assert isinstance(row.user_message, Promise)
    text = str(row.user_message)
    assert text.endswith(".")
    assert not re.search(r"\d{4}|credential|secret|API|HTTP|template|EngageLab", text), text
    assert row.description


def test_one_row_per_code_in_the_source():
    source = Path(errors.__file__).read_text()
    rows = re.findall(r"^(\d{4})  ", source, flags=re.MULTILINE)
    assert sorted(map(int, rows)) == sorted(DOCUMENTED_CODES)
    names = re.findall(r"^([a-z_0-9]+)  +[A-Z]\w+Error  ", source, flags=re.MULTILINE)
    assert names == list(FAILURES)


def test_the_tables_hold_exactly_what_their_texts_say():
    # The texts are read when the module is imported; read again, they give the same rows.
    assert errors._table(errors.PLATFORM_TABLE) == list(ERROR_CODES.values())
    assert errors._table(errors.FAILURE_TABLE) == list(FAILURES.values())
    assert ERROR_CODES[5011] == errors.ErrorCode(
        code=5011,
        http_status=400,
        exc_class=RecipientError,
        retryable=False,
        field="to",
        user_message=errors.BAD_NUMBER,
        description="invalid phone number format",
        operator=False,
        outcome_unknown=False,
        name="",
        short="invalid number",
    )
    assert FAILURES["timeout"] == errors.ErrorCode(
        code=None,
        http_status=None,
        exc_class=TransportError,
        retryable=False,
        field=None,
        user_message=errors.MAYBE_SENT,
        description="no answer within the read timeout",
        operator=False,
        outcome_unknown=True,
        name="timeout",
        short="",
    )


def test_only_unknown_outcomes_are_marked_so():
    assert {name for name, row in FAILURES.items() if row.outcome_unknown} == {
        "timeout",
        "disconnected",
        "proxy_error",
        "malformed",
    }
    assert not any(row.outcome_unknown for row in ERROR_CODES.values())


def test_a_table_is_read_by_its_header():
    text = """
    name  exception       retry  operator  user message  what happened
    a     ServerError     yes    no        TROUBLE       it broke  badly
    """
    with pytest.raises(ValueError):  # a row with a cell too many
        errors._table(text)
    (row,) = errors._table(text.replace("  badly", ""))
    assert (row.name, row.exc_class, row.retryable, row.operator, row.description) == (
        "a",
        ServerError,
        True,
        False,
        "it broke",
    )
    assert (row.code, row.http_status, row.field, row.outcome_unknown, row.short) == (None, None, None, False, "")


@pytest.mark.parametrize("code", sorted(DOCUMENTED_CODES))
def test_error_for_builds_the_rows_exception(code):
    row = ERROR_CODES[code]
    error = error_for(code, "text", http_status=row.http_status)
    assert type(error) is row.exc_class
    assert (error.code, error.retryable, error.field, error.operator, error.message) == (
        code,
        row.retryable,
        row.field,
        row.operator,
        "text",
    )
    assert error.user_message is row.user_message


@pytest.mark.parametrize(("status", "cls", "operator"), [(400, RequestError, True), (None, ServerError, False)])
def test_error_for_unknown_codes(status, cls, operator):
    error = error_for(7777, "", http_status=status)
    assert type(error) is cls and error.code == 7777 and not error.retryable and error.operator is operator
    assert error.message == FAILURES["unknown_4xx" if status else "unknown_5xx"].description
    assert type(error_for(None, http_status=502)) is ServerError


def test_error_for_without_a_code_keeps_the_message_as_it_is():
    error = error_for(None, "proxy said no", http_status=400)
    assert type(error) is RequestError and error.code is None and error.message == "proxy said no"
    assert error.http_status == 400


@pytest.mark.parametrize(
    ("code", "kept"),
    [(0, 0), (errors.MAX_CODE, errors.MAX_CODE), (-1, None), (errors.MAX_CODE + 1, None), (5011.0, None), (1.5, None)],
)
def test_error_for_keeps_only_codes_a_history_row_can_hold(code, kept):
    error = error_for(code, "said", http_status=400)
    assert type(error) is RequestError, "a number that is no code is no row of the table, not even 5011.0"
    assert error.code == kept and error.field is None
    assert error.message == ("said" if kept is not None else f"said (error code {code!r} is not one)")


def test_error_for_names_a_code_that_is_no_code_without_a_message():
    error = error_for(-7, http_status=502)
    assert type(error) is ServerError
    assert error.message == f"{FAILURES['unknown_5xx'].description} (error code -7 is not one)"
    huge = error_for(10**50, http_status=400)
    assert huge.message.endswith(f"(error code {repr(10**50)[:39]}… is not one)")
    assert error_for(10**39, "x").message == f"x (error code {10**39} is not one)", "40 characters are kept whole"
    assert error_for(10**40, "x").message == f"x (error code {str(10**40)[:39]}… is not one)"


def test_error_for_passes_on_what_overrides_the_row():
    error = error_for(2001, "x", http_status=401, retryable=True, log=None)
    assert error.retryable is True and error.http_status == 401
    assert error_for(2001, "x").http_status == 401, "the row's status when the answer gave none"
    assert error_for(5016, "", http_status=400).message == "internal sending problem"


def test_failures_and_idempotent_calls():
    timeout = failure("timeout", "slow")
    assert isinstance(timeout, TransportError) and timeout.outcome_unknown and not timeout.retryable
    assert timeout.message == "slow" and failure("timeout").message == "no answer within the read timeout"
    assert FAILURES["tls"].exception().message == "TLS handshake or certificate failure"
    read = failure("timeout", "slow", idempotent=True)
    assert read.retryable and not read.outcome_unknown
    outage = failure("outage", http_status=503, log=None)
    assert outage.http_status == 503 and outage.retryable and outage.message == "HTTP 503 without a platform body"
    assert isinstance(failure("configuration"), ConfigurationError)
    with pytest.raises(KeyError):
        failure("no-such-failure")


# ---------------------------------------------------------------- Markdown


def test_markdown_table():
    text = markdown_table()
    lines = text.splitlines()
    assert lines[:2] == [
        "| code | HTTP | exception | retried | form field | operator | an end user reads | meaning |",
        "|---|---|---|---|---|---|---|---|",
    ]
    failures = lines.index("")
    assert lines[failures + 1 : failures + 3] == [
        "| failure | exception | retryable | outcome unknown | operator | an end user reads | what happened |",
        "|---|---|---|---|---|---|---|",
    ]
    assert lines[failures + 3 :][-1] == (
        "| `limits_cache` | `ConfigurationError` | yes | no | yes "
        "| Sending codes is temporarily unavailable. Please try again later. | the cache of the limits failed |"
    )
    for code in DOCUMENTED_CODES:
        (line,) = [line for line in lines if line.startswith(f"| {code} |")]
        assert line.count(" | ") == 7
    assert "| 5011 | 400 | `RecipientError` | no | `to` | no | Enter a valid phone number. |" in text
    assert "| 1000 | 500 | `ServerError` | yes | — |" in text
    for name in FAILURES:
        assert f"| `{name}` |" in text
    assert text.endswith("\n")


def test_markdown_escapes_pipes(monkeypatch):
    row = ERROR_CODES[5001]
    monkeypatch.setitem(ERROR_CODES, 5001, dataclasses.replace(row, description="a | b"))
    assert "a \\| b" in markdown_table()


def test_markdown_from_the_command_line():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-m", "django_engagelab_otp.errors"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    with override("en"):
        assert result.stdout == markdown_table()


def test_main_in_process(capsys):
    errors.main()  # settings are configured here: it must not configure them again
    assert capsys.readouterr().out == markdown_table()


# ---------------------------------------------------------------- exceptions


def test_str_and_repr_hold_no_secret():
    error = error_for(2001, "wrong credentials", http_status=401)
    assert str(error) == "[2001] wrong credentials"
    assert repr(error) == (
        "AuthenticationError(code=2001, http_status=401, message='wrong credentials', retryable=False)"
    )
    assert str(TransportError("no answer")) == "no answer"


def test_default_message_needs_no_translation():
    assert TransportError().message == "The platform could not be reached, or its answer did not arrive."
    assert str(EngageLabError()) == "Base class of every error this app raises."


@pytest.mark.parametrize("code", sorted(RECIPIENT_CODES))
def test_recipient_codes_go_under_to(code):
    error = error_for(code, "detail")
    validation_error = error.as_validation_error()
    assert list(validation_error.message_dict) == ["to"]
    (inner,) = validation_error.error_dict["to"]
    assert inner.message == ERROR_CODES[code].user_message
    assert inner.code == f"engagelab_{code}"


@pytest.mark.parametrize("code", sorted(OPERATOR_CODES))
def test_operator_problems_read_the_generic_text(code):
    validation_error = error_for(code, "detail").as_validation_error()
    assert not hasattr(validation_error, "error_dict")
    assert validation_error.messages == [str(UNAVAILABLE)]


@pytest.mark.parametrize(
    "error",
    [
        ConfigurationError("no key"),
        InvalidInputError("No template id", field="template_id", operator=True),
        RecipientError("odd", operator=True),
    ],
    ids=["configuration", "operator-input", "operator-recipient"],
)
def test_operator_errors_are_never_on_a_field(error):
    validation_error = error.as_validation_error()
    assert not hasattr(validation_error, "error_dict")
    assert validation_error.messages == [str(UNAVAILABLE)]


@pytest.mark.parametrize("code", [3003, 3004, 1000, 5001, 5014, 5015, 5016])
def test_other_platform_errors_are_non_field(code):
    validation_error = error_for(code, "detail").as_validation_error()
    assert not hasattr(validation_error, "error_dict")
    assert validation_error.messages == [str(ERROR_CODES[code].user_message)]


@pytest.mark.parametrize("name", ["unreachable", "timeout", "outage", "malformed"])
def test_outages_are_non_field(name):
    validation_error = failure(name).as_validation_error()
    assert validation_error.messages == [str(FAILURES[name].user_message)]
    assert validation_error.code == f"engagelab_{FAILURES[name].exc_class.__name__}"


def test_fields_a_form_lacks_become_non_field():
    error = InvalidInputError("Unknown language", field="language")
    assert list(error.as_validation_error().message_dict) == ["language"]
    plain = error.as_validation_error(fields=["to", "code"])
    assert not hasattr(plain, "error_dict") and plain.messages == ["Unknown language"]
    assert list(error_for(5011).as_validation_error(fields={"to": None}).message_dict) == ["to"]


def test_invalid_input_is_a_value_error_with_its_message_for_users():
    error = InvalidInputError("Enter the code.", field="code")
    assert isinstance(error, ValueError)
    assert error.user_message == "Enter the code." and error.field == "code" and error.log is None
    assert error.as_validation_error().message_dict == {"code": ["Enter the code."]}


def test_exceptions_survive_pickling():
    error = error_for(5013, "blocked", http_status=400)
    error.outcome_unknown = True
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
    assert type(copy) is RecipientError
    assert (copy.code, copy.http_status, copy.message, copy.field, copy.outcome_unknown, str(copy)) == (
        5013,
        400,
        "blocked",
        "to",
        True,
        "[5013] blocked",
    )
    assert copy.args == ("blocked",)
    invalid = pickle.loads(pickle.dumps(InvalidInputError("bad", field="to")))  # noqa: S301
    assert invalid.field == "to" and isinstance(invalid, ValueError)


def test_validation_error_is_a_django_validation_error():
    assert isinstance(error_for(3004).as_validation_error(), ValidationError)
