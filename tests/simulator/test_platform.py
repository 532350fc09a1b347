"""The simulator's platform rules, called directly (no sockets)."""

from __future__ import annotations

import phonenumbers
import pytest

from django_engagelab_otp import validation
from django_engagelab_otp.errors import ERROR_CODES
from django_engagelab_otp.simulator import MAGIC, Platform, lookup
from django_engagelab_otp.simulator.magic import Family, by_name, table_markdown
from tests.support.constants import PHONE
from tests.support.simulator import call, otp_body


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def platform(clock: Clock) -> Platform:
    return Platform(code_ttl=300, seed=1, clock=clock)


def send(platform: Platform, to: str = PHONE, template: str = "demo-otp", path: str = "/v1/messages", **extra):
    body = {**otp_body(to, template), **extra}
    return call(platform, "POST", path, body)


# ---------------------------------------------------------------------- magic recipients


def test_magic_phone_numbers_pass_the_apps_validation():
    for magic in MAGIC:
        assert phonenumbers.is_valid_number(phonenumbers.parse(magic.phone)), magic.name
        assert validation.recipient(magic.phone) == magic.phone
        if magic.email:
            assert validation.recipient(magic.email) == magic.email


def test_magic_table_covers_every_send_error_and_fault():
    codes = {magic.error_code for magic in MAGIC if magic.family is Family.ERROR}
    assert {1000, 2002, 2004, 3003, 3004, 4001, 5001, *range(5011, 5021)} <= codes
    assert len({magic.phone for magic in MAGIC}) == len(MAGIC)
    assert lookup("+44 20 7946 0513") is by_name("error-5013")
    assert lookup("ERROR-5013@Simulator.test") is by_name("error-5013")
    assert lookup("+442079460123") is None
    table = table_markdown()
    assert all(magic.phone in table for magic in MAGIC)


@pytest.mark.parametrize("magic", [m for m in MAGIC if m.family is Family.ERROR], ids=lambda m: m.name)
def test_magic_errors_answer_their_code_with_its_http_status(platform, magic):
    for recipient in filter(None, (magic.phone, magic.email)):
        status, body = send(platform, recipient)
        assert (status, body["code"]) == (ERROR_CODES[magic.error_code].http_status, magic.error_code)
        assert isinstance(body["message"], str) and body["message"]
    assert not platform.messages


# ---------------------------------------------------------------------- requests


@pytest.mark.parametrize("auth", [None, "", "Basic", "Basic !!!", "Bearer demo", "Basic ZGVtby1rZXk6d3Jvbmc="])
def test_wrong_or_missing_credentials_answer_2001(platform, auth):
    status, body = call(platform, "POST", "/v1/messages", otp_body(), auth=auth)
    assert (status, body["code"]) == (401, 2001)


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"\xff\xfe", b"NaN", b'{"to": Infinity}', b"[" * 100_000, b"{'to': 1}"], ids=repr
)
def test_unparsable_bodies_answer_3001(platform, raw):
    status, body = call(platform, "POST", "/v1/messages", raw)
    assert (status, body["code"]) == (400, 3001)


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        {},
        {"to": PHONE},
        {"to": PHONE, "template": "demo-otp"},
        {"to": PHONE, "template": {}},
        {"to": PHONE, "template": {"id": ""}},
        {"to": PHONE, "template": {"id": 7}},
        {"to": 8618701235678, "template": {"id": "demo-otp"}},
        {"to": [PHONE], "template": {"id": "demo-otp"}},
        {"to": PHONE, "template": {"id": "demo-otp", "language": "fr"}},
        {"to": PHONE, "template": {"id": "demo-otp", "params": ["a"]}},
        {"to": PHONE, "template": {"id": "demo-otp", "params": {"name": 3}}},
    ],
    ids=repr,
)
def test_missing_or_mistyped_fields_answer_3002(platform, body):
    status, answer = call(platform, "POST", "/v1/messages", body)
    assert (status, answer["code"]) == (400, 3002)


@pytest.mark.parametrize(
    "path, body",
    [
        ("/v1/codes", {"to": PHONE, "template": {"id": "demo-code"}}),
        ("/v1/codes", {"to": PHONE, "code": "12", "template": {"id": "demo-code"}}),
        ("/v1/custom-messages", {"to": [], "template": {"id": "demo-notice"}}),
        ("/v1/custom-messages", {"to": [PHONE, 5], "template": {"id": "demo-notice"}}),
        ("/v1/verifications", {"message_id": "1"}),
        ("/v1/verifications", {"message_id": 1, "verify_code": "123456"}),
        ("/v1/verifications", ["message_id"]),
    ],
)
def test_other_endpoints_check_their_fields(platform, path, body):
    status, answer = call(platform, "POST", path, body)
    assert (status, answer["code"]) == (400, 3002)


def test_unknown_paths_and_wrong_methods(platform):
    assert call(platform, "GET", "/v1/nothing")[0] == 404
    status, body = call(platform, "GET", "/v1/messages")
    assert (status, body["code"]) == (405, 3002)
    outcome = platform.dispatch("PUT", "/v1/template-configs/demo-otp", None, b"")
    assert outcome.status == 405 and outcome.headers["Allow"] == "DELETE, GET"
    assert platform.path_counts["unknown"] == 1 and platform.request_count == 3


def test_unknown_template_answers_4001_and_template_kinds_are_enforced(platform):
    assert send(platform, template="nope")[1]["code"] == 4001
    assert send(platform, template="demo-notice")[1]["code"] == 3003  # not a verification template
    status, body = call(platform, "POST", "/v1/custom-messages", otp_body(template="demo-code"))
    assert (status, body["code"]) == (400, 3003)  # a verification template needs params.code


@pytest.mark.parametrize("recipient", ["+1", "8618701235678", "+86 abc", "bob@", "@example.com"])
def test_malformed_recipients_answer_5011(platform, recipient):
    assert send(platform, recipient)[1]["code"] == 5011


# ---------------------------------------------------------------------- codes and verification


def verify(platform: Platform, message_id: str, code: str) -> tuple[int, dict]:
    return call(platform, "POST", "/v1/verifications", {"message_id": message_id, "verify_code": code})


def test_platform_code_verifies_once(platform):
    status, body = send(platform, params={"name": "Bob"})
    assert status == 200 and body["send_channel"] == "sms"
    assert len(body["message_id"]) == 19 and body["message_id"].isdigit()
    code = platform.last_code(PHONE)
    assert len(code) == 6 and code.isdigit()
    assert platform.messages[-1].content == f"Simulator: your code is {code}. It is valid for 5 minutes."
    wrong = "000000" if code != "000000" else "111111"
    assert verify(platform, body["message_id"], wrong) == (
        200,
        {"message_id": body["message_id"], "verify_code": wrong, "verified": False},
    )
    assert verify(platform, body["message_id"], code)[1]["verified"] is True
    status, again = verify(platform, body["message_id"], code)
    assert (status, again["code"]) == (400, 3003)
    assert platform.message(body["message_id"]).verify_attempts == 2


def test_expired_code_answers_3003(platform, clock):
    message_id = send(platform)[1]["message_id"]
    clock.now += 300
    status, body = verify(platform, message_id, platform.last_code(PHONE))
    assert (status, body["code"]) == (400, 3003) and "expired" in body["message"]


def test_unknown_message_and_caller_codes_cannot_be_verified(platform):
    assert verify(platform, "123", "123456")[1]["code"] == 3003
    status, body = send(platform, template="demo-code", path="/v1/codes", code="4821")
    assert status == 200 and platform.last_code(PHONE) == "4821"
    assert verify(platform, body["message_id"], "4821")[1]["code"] == 3003


def test_frequency_limit_within_the_code_lifetime(platform, clock):
    first = send(platform)[1]["message_id"]
    status, body = send(platform)
    assert (status, body["code"]) == (400, 3004)
    assert send(platform, template="demo-whatsapp")[0] == 200  # another template
    assert send(platform, "+8618701235679")[0] == 200  # another recipient
    clock.now += 299
    assert send(platform)[1]["code"] == 3004
    clock.now += 1
    assert send(platform)[0] == 200  # the first code has expired
    second = platform.messages[-1]
    assert verify(platform, second.message_id, second.code)[1]["verified"] is True
    assert send(platform)[0] == 200  # a verified code frees the recipient
    assert first != second.message_id


def test_codes_endpoint_is_limited_too_but_custom_messages_are_not(platform):
    assert send(platform, template="demo-code", path="/v1/codes", code="4821")[0] == 200
    assert send(platform, template="demo-code", path="/v1/codes", code="4822")[1]["code"] == 3004
    body = {"to": [PHONE, "bob@example.com"], "template": {"id": "demo-notice", "params": {"order": "A1"}}}
    for _ in range(2):
        assert call(platform, "POST", "/v1/custom-messages", body)[0] == 200
    message = platform.messages[-1]
    assert message.recipients == [PHONE, "bob@example.com"]
    assert message.channels == {PHONE: "sms", "bob@example.com": "email"}
    assert message.content == "Simulator: your order A1 has shipped." and message.code is None


def test_variables_without_value_stay_literal(platform):
    body = {"to": PHONE, "template": {"id": "demo-notice"}}
    assert call(platform, "POST", "/v1/custom-messages", body)[0] == 200
    assert platform.messages[-1].content == "Simulator: your order {{order}} has shipped."


def test_code_ttl_none_uses_the_templates_minutes(clock):
    platform = Platform(code_ttl=None, clock=clock)
    send(platform)
    assert platform.messages[-1].expires_at == clock.now + 5 * 60


def test_email_recipients_use_the_email_channel_and_whatsapp_templates_answer_whatsapp(platform):
    assert send(platform, "Bob@Example.com")[1]["send_channel"] == "email"
    assert platform.last_code("bob@example.com")
    assert send(platform, template="demo-whatsapp")[1]["send_channel"] == "whatsapp"
    assert send(platform, by_name("lifecycle-whatsapp-fallback").phone)[1]["send_channel"] == "whatsapp"


# ---------------------------------------------------------------------- templates


def test_template_crud(platform):
    status, listed = call(platform, "GET", "/v1/template-configs")
    assert status == 200
    assert [t["template_id"] for t in listed] == ["demo-otp", "demo-code", "demo-notice", "demo-whatsapp"]
    detail = call(platform, "GET", "/v1/template-configs/demo-otp")[1]
    assert detail["verify_code_config"] == {"verify_code_type": 1, "verify_code_len": 6, "verify_code_ttl": 5}
    assert {"created_time", "status", "audit_remark", "sms_config"} <= set(detail)
    new = {
        "template_id": "letters",
        "send_channel_strategy": "whatsapp|sms",
        "brand_name": "Acme",
        "verify_code_config": {"verify_code_type": 6, "verify_code_len": 8, "verify_code_ttl": 10},
        "sms_config": {"template_content": "{{brand_name}} {{code}}"},
    }
    assert call(platform, "POST", "/v1/template-configs", new) == (200, {"code": 0, "message": "success"})
    assert call(platform, "POST", "/v1/template-configs", new)[1]["code"] == 3003
    message_id = send(platform, template="letters")[1]["message_id"]
    code = platform.message(message_id).code
    assert len(code) == 8 and code.isalpha()
    assert call(platform, "DELETE", "/v1/template-configs/letters") == (200, {"code": 0, "message": "success"})
    assert call(platform, "GET", "/v1/template-configs/letters")[1]["code"] == 4001
    assert call(platform, "DELETE", "/v1/template-configs/letters")[1]["code"] == 4001


@pytest.mark.parametrize(
    "changes",
    [
        {"template_id": ""},
        {"template_id": "a/b"},
        {"template_id": "x" * 129},
        {"send_channel_strategy": "fax"},
        {"send_channel_strategy": "sms|sms"},
        {"brand_name": "A"},
        {"description": "d" * 256},
        {"verify_code_config": {"verify_code_type": 8, "verify_code_len": 6, "verify_code_ttl": 5}},
        {"verify_code_config": {"verify_code_type": 1, "verify_code_len": 3, "verify_code_ttl": 5}},
        {
            "send_channel_strategy": "whatsapp",
            "verify_code_config": {"verify_code_type": 1, "verify_code_len": 6, "verify_code_ttl": 3},
        },
        {"sms_config": "text"},
    ],
    ids=repr,
)
def test_invalid_templates_answer_3002(platform, changes):
    body = {"template_id": "t1", "send_channel_strategy": "sms", **changes}
    assert call(platform, "POST", "/v1/template-configs", body)[1]["code"] == 3002
    assert "t1" not in platform.templates


# ---------------------------------------------------------------------- knobs and state


def outcomes(platform: Platform, count: int) -> list[int]:
    return [send(platform, f"+86187012356{index:02d}")[0] for index in range(count)]


def test_error_rate_is_reproducible_with_a_seed(clock):
    first = Platform(error_rate=0.5, seed=42, clock=clock)
    second = Platform(error_rate=0.5, seed=42, clock=clock)
    runs = outcomes(first, 40)
    assert runs == outcomes(second, 40)
    assert {200, 400, 500} <= set(runs)
    codes = {m.code for m in first.messages} | {m.code for m in second.messages}
    assert len(codes) > 1
    assert [m.code for m in first.messages] == [m.code for m in second.messages]


def test_error_rate_extremes_and_configure(platform):
    platform.configure(error_rate=1)
    assert all(status in (400, 500) for status in outcomes(platform, 10))
    assert call(platform, "GET", "/v1/template-configs")[1]["code"] == 1000  # 5016 is for sends only
    assert platform.configure(error_rate=0, latency_ms=25) == {"latency_ms": 25.0, "error_rate": 0.0}
    assert platform.dispatch("GET", "/v1/template-configs", None, None).delay == 0.025
    for bad in ({"error_rate": 1.5}, {"error_rate": True}, {"latency_ms": -1}, {"latency_ms": "5"}):
        with pytest.raises(ValueError):
            platform.configure(**bad)


def test_reset_ensure_template_and_message_cap(clock):
    platform = Platform(max_messages=10, clock=clock)
    platform.ensure_template("login-otp")
    assert platform.templates["login-otp"]["verify_code_config"]["verify_code_len"] == 6
    ids = [send(platform, f"+8618701235{index:03d}", template="login-otp")[1]["message_id"] for index in range(12)]
    assert len(platform.messages) == 10 and platform.messages[0].to == "+8618701235002"
    assert platform.message(ids[0]) is None and platform.message(ids[2]) is platform.messages[0]
    assert send(platform, "+8618701235000", template="login-otp")[0] == 200  # its limit was forgotten too
    assert [m.to for m in platform.recent(2)] == ["+8618701235000", "+8618701235011"]
    platform.reset()
    assert not platform.messages and platform.request_count == 0 and "login-otp" not in platform.templates
    assert platform.last_code(PHONE) is None


def test_listeners_hear_accepts_and_verifications_and_survive_failures(platform):
    heard = []
    platform.listeners.append(lambda event, message: 1 / 0)
    platform.listeners.append(lambda event, message: heard.append(event))
    message_id = send(platform)[1]["message_id"]
    verify(platform, message_id, "x" * 6)
    verify(platform, message_id, platform.last_code(PHONE))
    assert heard == ["accepted", "verify_failed", "verified"]


def test_no_credentials_mode_and_auto_templates(clock):
    platform = Platform(dev_key=None, dev_secret=None, auto_templates=True, clock=clock)
    assert send(platform, template="login-otp")[0] == 200
    body = {"to": PHONE, "template": {"id": "order-shipped", "params": {"order": "7"}}}
    assert call(platform, "POST", "/v1/custom-messages", body, auth=None)[0] == 200
    assert platform.messages[-1].content == "Simulator: order=7"
    assert send(platform, by_name("error-4001").phone)[1]["code"] == 4001
