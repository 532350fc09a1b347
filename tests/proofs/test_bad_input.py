"""Bad input never reaches the network: a corpus of refusals through every public entry point.

Every case goes through each public function, form and command that takes its
kind of value. Each must end in a clear refusal (``InvalidInputError`` naming
the field, a form error, or a one-line ``CommandError``) with zero HTTP
requests (``responses`` with no registered URL records any attempt) and no
``MessageLog`` row written or changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import responses
from django.forms.forms import NON_FIELD_ERRORS

from django_engagelab_otp import send_code, send_custom_message, send_otp, verify_otp
from django_engagelab_otp.exceptions import InvalidInputError
from django_engagelab_otp.forms import SendOTPForm, VerifyOTPForm
from django_engagelab_otp.management.base import Exit
from django_engagelab_otp.models import MessageLog
from tests.support.constants import PHONE
from tests.support.proof import MAX_MESSAGE, figure, is_clear, run_command
from tests.support.settings import configure

pytestmark = pytest.mark.django_db

CODE = "482910"
MESSAGE_ID = "1700000000000000001"
NOTICE = "demo-notice"


@dataclass(frozen=True)
class Case:
    """One bad value for one kind of argument."""

    id: str
    field: str  # to, recipients, params, template_id, language, code, message_id
    value: Any
    #: ENGAGELAB_OTP values the case needs (destination rules); the defaults otherwise.
    settings: dict[str, Any] = field(default_factory=dict)


def _cases(kind: str, values: dict[str, Any]) -> list[Case]:
    return [Case(f"{kind}:{name}", kind, value) for name, value in values.items()]


RECIPIENTS = _cases(
    "to",
    {
        "none": None,
        "int": 8618701235678,
        "float": 8.618701235678e12,
        "bool": True,
        "bytes": b"+8618701235678",
        "dict": {"to": PHONE},
        "empty": "",
        "spaces": "   ",
        "tab-newline": "\t\n",
        "words": "not a number",
        "plus-only": "+",
        "no-country-code": "18701235678",
        "unknown-country": "+999123456789",
        "too-short": "+86 187 0123 567",
        "too-long": "+86187012356789999",
        "sql": "1' OR '1'='1",
        "nul-inside": "+86187\x0001235678",
        "newline-inside": "+86187\n01235678",
        "del-inside": "+86187\x7f01235678",
        "c1-inside": "+86187\x8501235678",
        "line-separator-inside": "+86187\u202801235678",
        "rtl-override-phone": "+44\u202e2079460123",
        "header-injection": "bob@example.com\r\nBcc: eve@example.com",
        "email-no-domain": "bob@",
        "email-no-local": "@example.com",
        "email-double-at": "bob@@example.com",
        "email-space": "bob@exa mple.com",
        "email-no-tld": "bob@example",
        "email-leading-dot": ".bob@example.com",
        "email-double-dot": "bob@example..com",
        "email-emoji-local": "\U0001f600@example.com",
        "email-emoji-domain": "bob@\U0001f600.com",
        "email-markup": "<script>alert(1)</script>@example.com",
        "email-path": "../../etc/passwd@example.com",
        "email-zero-width-space": "bob@exa\u200bmple.com",
        "email-rtl-override": "bob@example.com\u202e",
        "email-byte-order-mark": "bob@example.com\ufeff",
        "email-left-to-right-mark": "bob@example.com\u200e",
        "oversized-email": "a" * 310 + "@example.com",
        "oversized-phone": "+" + "8" * 5000,
    },
)

# Numbers that are valid but where SMS pumping earns its money, or that the settings rule out.
DESTINATIONS = [
    *_cases(
        "to",
        {
            "premium-rate-gb": "+449098790000",
            "premium-rate-us": "+19005550123",
            "premium-rate-fr": "+33892123456",
        },
    ),
    Case("to:denied-country", "to", "+4915201234567", {"DENIED_COUNTRIES": ["DE"]}),
    Case("to:country-not-allowed", "to", "+442079460123", {"ALLOWED_COUNTRIES": ["CN", "IE"]}),
    Case("to:no-country-denied", "to", "+80012345678", {"DENIED_COUNTRIES": ["001"]}),
]

RECIPIENT_LISTS = _cases(
    "recipients",
    {
        "empty-list": [],
        "too-many": [f"+86187012{n:05d}" for n in range(101)],
        "list-with-none": [PHONE, None],
        "list-with-bad-number": [PHONE, "12345"],
        "list-with-empty": [PHONE, ""],
        "list-with-bytes": [b"+8618701235678"],
        "nested-list": [[PHONE]],
        "set": {PHONE},
        "mapping": {PHONE: "Bob"},
        "range": range(3),
    },
)

PARAMS = _cases(
    "params",
    {
        "list": [("name", "Bob")],
        "text": "name=Bob",
        "number": 5,
        "key-int": {0: "x"},
        "key-empty": {"": "x"},
        "key-spaces": {" ": "x"},
        "key-too-long": {"k" * 65: "x"},
        "key-newline": {"a\nb": "x"},
        "key-nul": {"a\x00": "x"},
        "key-tuple": {("a",): "x"},
        "key-line-separator": {"a\u2028b": "x"},
        "value-none": {"name": None},
        "value-bool": {"name": True},
        "value-list": {"name": ["Bob"]},
        "value-dict": {"name": {"first": "Bob"}},
        "value-nan": {"amount": float("nan")},
        "value-inf": {"amount": float("inf")},
        "value-minus-inf": {"amount": float("-inf")},
        "value-decimal-nan": {"amount": Decimal("NaN")},
        "value-decimal-snan": {"amount": Decimal("sNaN")},
        "value-too-long": {"name": "x" * 1001},
        "value-emoji-too-long": {"name": "\U0001f600" * 1001},
        "value-nul": {"name": "Bo\x00b"},
        "value-huge-int": {"amount": 10**5000},
        "value-huge-decimal": {"amount": Decimal("1E+5000")},
        "value-tiny-decimal": {"amount": Decimal("1E-5000")},
        "value-bytes": {"name": b"Bob"},
        "value-set": {"name": {"Bob"}},
        "value-object": {"name": object()},
        "value-complex": {"amount": complex(1, 2)},
        "too-many": {f"k{n}": "v" for n in range(51)},
    },
)

TEMPLATE_IDS = _cases(
    "template_id",
    {
        "none": None,
        "empty": "",
        "spaces": "   ",
        "int": 12,
        "bytes": b"login-otp",
        "list": ["login-otp"],
        "too-long": "t" * 129,
        "oversized": "t" * 100_000,
        "newline": "login\notp",
        "nul": "login\x00otp",
        "del": "login\x7fotp",
        "tab": "login\totp",
        "line-separator": "login\u2028otp",
        "header-injection": "login-otp\r\nX-Injected: 1",
    },
)

LANGUAGES = _cases(
    "language",
    {
        "french": "fr",
        "upper-case": "EN",
        "trailing-space": "en ",
        "hyphen": "zh-CN",
        "lower-region": "zh_cn",
        "int": 123,
        "bool": True,
        "list": ["en"],
        "nul": "en\x00",
        "emoji": "\U0001f600",
        "rtl-override": "\u202een",
        "zero-width-space": "default\u200b",
        "oversized": "x" * 10_000,
    },
)

CODES = _cases(
    "code",
    {
        "none": None,
        "empty": "",
        "spaces": "   ",
        "too-short": "123",
        "too-long": "12345678901",
        "inner-space": "12 34",
        "hyphen": "12-34",
        "nul": "12\x0034",
        "zero-width-space": "12\u200b34",
        "emoji": "1234\U0001f600",
        "rtl-override": "1234\u202e",
        "markup": "<script>",
        "float": 12.5,
        "bool": True,
        "list": [1234],
        "bytes": b"1234",
        "negative": -1234,
        "short-int": 123,
        "oversized": "1" * 100_000,
    },
)

MESSAGE_IDS = _cases(
    "message_id",
    {
        "none": None,
        "empty": "",
        "spaces": "  ",
        "list": [1],
        "bytes": b"1",
        "dict": {},
        "float": 12.5,
        "bool": True,
        "too-long": "a" * 65,
        "markup": "<script>",
        "sql": "1' OR 1=1",
        "percent-nul": "%00",
        "nul": "m\x00",
        "newline": "m\n1",
        "emoji": "\U0001f600",
        "rtl-override": "\u202e123",
        "zero-width-space": "m\u200b1",
        "inner-space": "mess age",
        "slash": "a/b",
        "path": "../x",
    },
)

CORPUS: list[Case] = [
    *RECIPIENTS,
    *DESTINATIONS,
    *RECIPIENT_LISTS,
    *PARAMS,
    *TEMPLATE_IDS,
    *LANGUAGES,
    *CODES,
    *MESSAGE_IDS,
]


# ---------------------------------------------------------------------- how each entry point is called


@dataclass(frozen=True)
class Refusal:
    """Where an entry point put its refusal (a field, ``__all__`` or ``command``) and its texts."""

    where: str
    messages: list[str]
    max_length: int | None = MAX_MESSAGE


class Accepted(AssertionError):
    """The entry point took a bad value."""


def _function(call: Callable[[], Any]) -> Refusal:
    try:
        call()
    except InvalidInputError as error:
        return Refusal(error.field or "", [error.message, str(error), str(error.user_message)])
    raise Accepted("the value was accepted")


def _form(form: Any) -> Refusal:
    if form.is_valid():
        raise Accepted("the form was valid")
    assert form.log is None if isinstance(form, SendOTPForm) else form.verified is False
    where, messages = next(iter(form.errors.items()))
    assert len(form.errors) == 1, form.errors
    return Refusal(where, [str(message) for message in messages])


def _command(name: str, *args: str) -> Refusal:
    run = run_command(name, *args)
    if run.error is None:
        raise Accepted(f"the command succeeded: {run.out}")
    message = str(run.error)
    # argparse refuses its own arguments (exit 1 from call_command); the command refuses the values (exit 2).
    expected = 1 if message.startswith("Error: ") else Exit.USAGE
    assert run.error.returncode == expected, (run.error.returncode, message)
    assert run.out == "" and "Traceback" not in run.err
    return Refusal("command", [message], max_length=None)


def _args(option: str, value: str) -> str:
    return f"--{option}={value}"


@dataclass(frozen=True)
class Entry:
    """A public entry point: when it applies to a case, how it is called, where its refusal lands."""

    name: str
    applies: Callable[[Case], bool]
    call: Callable[[Any], Refusal]
    where: Callable[[Case], str]


def _is_text(case: Case) -> bool:
    return isinstance(case.value, str)


def _truthy(case: Case) -> bool:
    # Empty values of these arguments mean "the configured default", which is not bad input.
    return bool(case.value)


def _string_params(case: Case) -> bool:
    value = case.value
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _string_list(case: Case) -> bool:
    return isinstance(case.value, list) and all(isinstance(item, str) for item in case.value)


def _field(case: Case) -> str:
    return "to" if case.field == "recipients" else case.field


def _is(*fields: str) -> Callable[[Case], bool]:
    return lambda case: case.field in fields


def _all(*tests: Callable[[Case], bool]) -> Callable[[Case], bool]:
    return lambda case: all(test(case) for test in tests)


def _non_field(case: Case) -> str:
    return NON_FIELD_ERRORS


def _in_command(case: Case) -> str:
    return "command"


ENTRIES: list[Entry] = [
    # send_otp(to, template_id=None, *, language=None, params=None)
    Entry("send_otp", _is("to"), lambda v: _function(lambda: send_otp(v)), _field),
    Entry("send_otp", _is("params"), lambda v: _function(lambda: send_otp(PHONE, params=v)), _field),
    Entry("send_otp", _all(_is("template_id"), _truthy), lambda v: _function(lambda: send_otp(PHONE, v)), _field),
    Entry("send_otp", _all(_is("language"), _truthy), lambda v: _function(lambda: send_otp(PHONE, language=v)), _field),
    # send_code(to, code, template_id=None, *, language=None, params=None)
    Entry("send_code", _is("to"), lambda v: _function(lambda: send_code(v, CODE)), _field),
    Entry("send_code", _is("code"), lambda v: _function(lambda: send_code(PHONE, v)), _field),
    Entry("send_code", _is("params"), lambda v: _function(lambda: send_code(PHONE, CODE, params=v)), _field),
    Entry(
        "send_code", _all(_is("template_id"), _truthy), lambda v: _function(lambda: send_code(PHONE, CODE, v)), _field
    ),
    Entry(
        "send_code",
        _all(_is("language"), _truthy),
        lambda v: _function(lambda: send_code(PHONE, CODE, language=v)),
        _field,
    ),
    # send_custom_message(to, template_id, *, params=None): one recipient, a list, or a bad list
    Entry(
        "send_custom_message",
        _is("to", "recipients"),
        lambda v: _function(lambda: send_custom_message(v, NOTICE)),
        _field,
    ),
    Entry(
        "send_custom_message[list]",
        _all(_is("to"), _is_text),
        lambda v: _function(lambda: send_custom_message([PHONE, v], NOTICE)),
        _field,
    ),
    Entry(
        "send_custom_message",
        _is("params"),
        lambda v: _function(lambda: send_custom_message(PHONE, NOTICE, params=v)),
        _field,
    ),
    Entry(
        "send_custom_message", _is("template_id"), lambda v: _function(lambda: send_custom_message(PHONE, v)), _field
    ),
    # verify_otp(message_id, code)
    Entry("verify_otp", _is("code"), lambda v: _function(lambda: verify_otp(MESSAGE_ID, v)), _field),
    Entry("verify_otp", _is("message_id"), lambda v: _function(lambda: verify_otp(v, CODE)), _field),
    # The forms, with what a browser can post (text) or what a view passes (template id, params, message id).
    Entry("SendOTPForm", _all(_is("to"), _is_text), lambda v: _form(SendOTPForm({"to": v})), _field),
    Entry(
        "SendOTPForm",
        _all(_is("language"), _is_text),
        lambda v: _form(SendOTPForm({"to": PHONE, "language": v})),
        _field,
    ),
    Entry("SendOTPForm", _is("params"), lambda v: _form(SendOTPForm({"to": PHONE}, params=v)), _non_field),
    Entry(
        "SendOTPForm",
        _all(_is("template_id"), _truthy),
        lambda v: _form(SendOTPForm({"to": PHONE}, template_id=v)),
        _non_field,
    ),
    Entry(
        "VerifyOTPForm", _all(_is("code"), _is_text), lambda v: _form(VerifyOTPForm(MESSAGE_ID, {"code": v})), _field
    ),
    Entry("VerifyOTPForm", _is("message_id"), lambda v: _form(VerifyOTPForm(v, {"code": CODE})), _non_field),
    # The commands, every argument given as a terminal gives it.
    Entry(
        "engagelab_send",
        _all(_is("to"), _is_text),
        lambda v: _command("engagelab_send", _args("to", v)),
        _in_command,
    ),
    Entry(
        "engagelab_send --kind custom",
        _all(_is("to"), _is_text),
        lambda v: _command("engagelab_send", "--kind=custom", f"--template={NOTICE}", _args("to", v)),
        _in_command,
    ),
    Entry(
        "engagelab_send --kind custom",
        _all(_is("recipients"), _string_list),
        lambda v: _command("engagelab_send", "--kind=custom", f"--template={NOTICE}", *(_args("to", i) for i in v)),
        _in_command,
    ),
    Entry(
        "engagelab_send",
        _all(_is("params"), _string_params),
        lambda v: _command("engagelab_send", _args("to", PHONE), *(f"--param={k}={i}" for k, i in v.items())),
        _in_command,
    ),
    Entry(
        "engagelab_send",
        _all(_is("template_id"), _is_text, _truthy),
        lambda v: _command("engagelab_send", _args("to", PHONE), _args("template", v)),
        _in_command,
    ),
    Entry(
        "engagelab_send --kind custom",
        _all(_is("template_id"), _is_text),
        lambda v: _command("engagelab_send", "--kind=custom", _args("to", PHONE), _args("template", v)),
        _in_command,
    ),
    Entry(
        "engagelab_send",
        _all(_is("language"), _is_text),
        lambda v: _command("engagelab_send", _args("to", PHONE), _args("language", v)),
        _in_command,
    ),
    Entry(
        "engagelab_send --kind code",
        _all(_is("code"), _is_text),
        lambda v: _command("engagelab_send", "--kind=code", _args("to", PHONE), _args("code", v)),
        _in_command,
    ),
    Entry(
        "engagelab_verify",
        _all(_is("code"), _is_text),
        lambda v: _command("engagelab_verify", "--", MESSAGE_ID, v),
        _in_command,
    ),
    Entry(
        "engagelab_verify",
        _all(_is("message_id"), _is_text),
        lambda v: _command("engagelab_verify", "--", v, CODE),
        _in_command,
    ),
]

RUNS = [(case, entry) for case in CORPUS for entry in ENTRIES if entry.applies(case)]


@pytest.fixture
def known_message():
    """A history row for MESSAGE_ID: verification input errors must leave it untouched."""
    return MessageLog.objects.create(
        kind=MessageLog.Kind.OTP, to=PHONE, template_id="login-otp", message_id=MESSAGE_ID, status="accepted"
    )


def _snapshot() -> list[tuple[Any, ...]]:
    return list(MessageLog.objects.order_by("pk").values_list("pk", "status", "verify_attempts", "updated_at"))


@pytest.mark.parametrize(("case", "entry"), RUNS, ids=[f"{case.id}-{entry.name}" for case, entry in RUNS])
def test_bad_input_is_refused_before_any_request(case, entry, known_message, settings, record_property):
    if case.settings:
        configure(settings, **case.settings)
    before = _snapshot()
    refusal: Refusal | None = None
    with responses.RequestsMock(assert_all_requests_are_fired=False) as network:
        try:
            refusal = entry.call(case.value)
        finally:
            requests_made = len(network.calls)
            rows_touched = len(set(_snapshot()) ^ set(before))
            figure(
                record_property,
                "bad_input",
                case=case.id,
                entry=entry.name,
                requests=requests_made,
                rows=rows_touched,
                refused=refusal is not None,
            )
    assert requests_made == 0, "bad input reached the network"
    assert rows_touched == 0, "bad input wrote or changed a history row"
    assert refusal.where == entry.where(case), refusal
    assert refusal.messages and all(is_clear(m, max_length=refusal.max_length) for m in refusal.messages), refusal


def test_the_corpus_is_large_and_every_case_meets_several_entry_points():
    ids = [case.id for case in CORPUS]
    assert len(ids) == len(set(ids)) >= 100
    reached = {case.id: sum(1 for c, _entry in RUNS if c is case) for case in CORPUS}
    assert min(reached.values()) >= 1, [name for name, count in reached.items() if not count]
    assert {entry.name for entry in ENTRIES} >= {
        "send_otp",
        "send_code",
        "send_custom_message",
        "verify_otp",
        "SendOTPForm",
        "VerifyOTPForm",
        "engagelab_send",
        "engagelab_verify",
    }
