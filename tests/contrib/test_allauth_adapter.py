"""django-allauth's phone sign-in: codes through /v1/codes, numbers through the destination rules, limits as 429."""

from __future__ import annotations

import pytest
from allauth.core.internal.cryptokit import compare_user_code, generate_user_code
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core import checks
from django.core.exceptions import ValidationError
from django.test import Client

from django_engagelab_otp.contrib.allauth import AccountAdapter
from django_engagelab_otp.contrib.allauth.codes import sms_code
from django_engagelab_otp.contrib.allauth.models import UserPhone
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.validation import code as platform_code

from .conftest import BLOCKED, FREQUENT, OTHER_PHONE, OUTAGE, PHONE, REFUSED_TEXT, TEMPLATE_GONE

pytestmark = pytest.mark.django_db

SENT_SIGNUP = "A verification code has been sent to"
SENT_LOGIN = "A sign-in code has been sent to"


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def account(phone=PHONE, username="ada", verified=True):
    user = get_user_model().objects.create_user(username)
    UserPhone.objects.create(user=user, phone=phone, verified=verified)
    return user


def sign_up(client, phone):
    return client.post("/accounts/signup/", {"phone": phone})


def ask_login_code(client, phone):
    return client.post("/accounts/login/code/", {"phone": phone})


# ---------------------------------------------------------------- codes


@pytest.mark.parametrize(
    "code_format",
    [
        {},  # allauth's default: BCDF-GHJK
        {"numeric": True},  # 123-456-789
        {"dashed": False},
        {"length": 4},
        {"length": 10},  # three dashed groups
        {"numeric": True, "length": 6, "dashed": False},
    ],
)
def test_every_code_allauth_can_generate_is_sent_as_the_platform_takes_it(code_format):
    for _ in range(50):
        code = generate_user_code(**code_format)
        sent = sms_code(code)
        assert platform_code(sent) == sent  # 4-10 letters or digits: send_code accepts it
        assert compare_user_code(actual=sent, expected=code)  # and allauth takes it back typed as sent


@pytest.mark.parametrize(("length", "errors"), [(3, 1), (4, 0), (10, 0), (11, 1), (None, 0)])
def test_a_code_format_the_platform_cannot_send_is_a_system_check_error(length, errors, settings):
    settings.ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = {} if length is None else {"length": length}
    found = [m for m in checks.run_checks() if m.id == "django_engagelab_otp.contrib.allauth.E001"]
    assert len(found) == errors


# ---------------------------------------------------------------- allauth's real flows


def test_signup_by_phone_sends_allauths_code_and_verifies_it(outbox):
    client = Client()
    response = sign_up(client, PHONE)
    assert response.status_code == 302 and response["Location"] == "/accounts/phone/verify/"
    sent = outbox[-1]
    assert (sent.endpoint, sent.to, sent.template_id) == ("codes", PHONE, "login-code")
    assert len(sent.code) == 8 and "-" not in sent.code  # BCDF-GHJK, sent as BCDFGHJK
    response = client.post("/accounts/phone/verify/", {"code": sent.code})
    assert response.status_code == 302
    phone = UserPhone.objects.get()
    assert (phone.phone, phone.verified) == (PHONE, True)
    assert client.get("/welcome/").content == f"welcome {phone.user.get_username()}".encode()


def test_the_code_may_be_typed_with_its_dash_and_in_lower_case(outbox):
    client = Client()
    sign_up(client, PHONE)
    code = outbox[-1].code
    response = client.post("/accounts/phone/verify/", {"code": f"{code[:4]}-{code[4:]}".lower()})
    assert response.status_code == 302 and UserPhone.objects.get().verified


def test_numeric_codes_round_trip(outbox, settings):
    settings.ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = {"numeric": True}
    client = Client()
    sign_up(client, PHONE)
    assert outbox[-1].code.isdigit() and len(outbox[-1].code) == 9
    assert client.post("/accounts/phone/verify/", {"code": outbox[-1].code}).status_code == 302


def test_login_by_phone_code(outbox):
    user = account()
    client = Client()
    response = ask_login_code(client, PHONE)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/code/confirm/"
    response = client.post("/accounts/login/code/confirm/", {"code": outbox[-1].code})
    assert response.status_code == 302 and response["Location"] == "/welcome/"
    assert client.get("/welcome/").content == f"welcome {user.get_username()}".encode()
    assert MessageLog.objects.get().kind == "code"


def test_the_code_is_never_stored_or_logged(outbox, caplog):
    account()
    ask_login_code(Client(), PHONE)
    code = outbox[-1].code
    assert code not in caplog.text
    assert code not in str(list(MessageLog.objects.values()))


# ---------------------------------------------------------------- numbers


def test_a_number_the_destination_rules_refuse_is_a_form_error_under_phone(outbox):
    response = sign_up(Client(), "+19005550100")  # premium rate
    assert response.status_code == 200
    assert response.context["form"].errors["phone"] == ["Messages cannot be sent to premium-rate numbers."]
    assert outbox == [] and get_user_model().objects.count() == 0


def test_denied_countries_apply(outbox, otp_config):
    otp_config(DENIED_COUNTRIES=["CN"])
    response = ask_login_code(Client(), PHONE)
    assert response.status_code == 200 and "phone" in response.context["form"].errors


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("scope", ["cooldown", "daily_cap"])
def test_this_sites_limits_are_allauths_429_with_retry_after(scope, outbox, otp_config):
    if scope == "daily_cap":
        otp_config(DAILY_LIMIT=1, RESEND_COOLDOWN=0)
    account()
    ask_login_code(Client(), PHONE)
    response = ask_login_code(Client(), PHONE)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert messages_of(response)[0].startswith(REFUSED_TEXT[scope])
    assert len(outbox) == 1


def test_the_platforms_frequency_limit_is_allauths_429(outbox):
    response = sign_up(Client(), FREQUENT)
    assert response.status_code == 429 and not response.has_header("Retry-After")
    assert messages_of(response) == [
        "A code was sent to this recipient a moment ago. Please wait before asking for another."
    ]


@pytest.mark.parametrize(
    ("phone", "text"),
    [
        (BLOCKED, "The message could not be sent to this recipient."),
        (OUTAGE, "The message service is having trouble. Please try again in a moment."),
        (TEMPLATE_GONE, "Sending codes is temporarily unavailable. Please try again later."),
    ],
)
def test_other_refusals_are_a_message_on_the_code_page_without_code_sent(phone, text, outbox):
    client = Client()
    response = sign_up(client, phone)
    assert response.status_code == 302 and response["Location"] == "/accounts/phone/verify/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert messages_of(page) == [text]  # and not "A verification code has been sent"


def test_a_refused_login_code_does_not_claim_it_was_sent(outbox):
    account(BLOCKED)
    client = Client()
    response = ask_login_code(client, BLOCKED)
    page = client.get(response["Location"])
    assert messages_of(page) == ["The message could not be sent to this recipient."]


@pytest.mark.parametrize("flow", ["signup", "login"])
def test_too_many_wrong_codes_end_the_attempt_without_a_500(flow, outbox):
    # "Locked": allauth checks its own codes, and gives up after
    # PHONE_VERIFICATION_MAX_ATTEMPTS (signup) or LOGIN_BY_CODE_MAX_ATTEMPTS (login).
    client = Client()
    if flow == "signup":
        sign_up(client, PHONE)
        url = "/accounts/phone/verify/"
    else:
        account()
        ask_login_code(client, PHONE)
        url = "/accounts/login/code/confirm/"
    responses = [client.post(url, {"code": "WRONG000"}) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 302]
    assert "Too many failed login attempts" in " ".join(messages_of(responses[-1]))
    assert client.post(url, {"code": outbox[-1].code}).status_code == 302  # sent back to start, not signed in
    assert client.get("/welcome/").content == b"welcome stranger"


def test_every_refusal_in_signup_and_login_is_never_a_500(outbox, otp_config):
    otp_config(RESEND_COOLDOWN=0)
    # One address per person: allauth's own "verify_phone" rate (3/m/ip) raises RateLimited
    # from its signup stage uncaught, a 500 of allauth's that no adapter can answer.
    for number, phone in enumerate((BLOCKED, FREQUENT, OUTAGE, TEMPLATE_GONE)):
        assert sign_up(Client(REMOTE_ADDR=f"10.0.0.{number}"), phone).status_code in (302, 429)
    for number, phone in enumerate((BLOCKED, FREQUENT, OUTAGE, TEMPLATE_GONE)):
        UserPhone.objects.filter(phone=phone).delete()
        account(phone, username=f"u{number}")
        assert ask_login_code(Client(REMOTE_ADDR=f"10.0.1.{number}"), phone).status_code in (302, 429)


def test_outside_a_request_a_refusal_is_only_logged(outbox, caplog):
    user = account(BLOCKED)
    AccountAdapter().send_verification_code_sms(user=user, phone=BLOCKED, code="BCDF-GHJK")  # no exception
    assert MessageLog.objects.get().status == "failed"


# ---------------------------------------------------------------- phone storage


def test_the_phone_storage_answers_allauths_four_questions():
    adapter = AccountAdapter()
    user = get_user_model().objects.create_user("ada")
    assert adapter.get_phone(user) is None and adapter.get_user_by_phone(PHONE) is None
    adapter.set_phone(user, PHONE, False)
    assert adapter.get_phone(user) == (PHONE, False)
    assert adapter.get_user_by_phone(PHONE) == user
    adapter.set_phone_verified(user, PHONE)
    assert adapter.get_phone(user) == (PHONE, True)
    adapter.set_phone(user, OTHER_PHONE, False)  # a change: one number per account
    assert adapter.get_phone(user) == (OTHER_PHONE, False) and adapter.get_user_by_phone(PHONE) is None
    assert adapter._has_phone_impl


def test_an_unverified_claim_gives_way_to_the_account_that_sets_the_number():
    adapter = AccountAdapter()
    first = get_user_model().objects.create_user("first")
    second = get_user_model().objects.create_user("second")
    adapter.set_phone(first, PHONE, False)
    adapter.set_phone(second, PHONE, False)
    assert adapter.get_user_by_phone(PHONE) == second and adapter.get_phone(first) is None


def test_the_admin_lists_phone_numbers(admin_client):
    account()
    response = admin_client.get("/admin/engagelab_allauth/userphone/")
    assert response.status_code == 200 and PHONE in response.content.decode()


def test_over_http_against_the_simulator(engagelab_simulator):
    engagelab_simulator.platform.ensure_template("login-code")
    account()
    client = Client()
    ask_login_code(client, PHONE)
    code = engagelab_simulator.platform.last_code(PHONE)
    assert client.post("/accounts/login/code/confirm/", {"code": code}).status_code == 302


def test_a_stored_number_is_checked_and_normalized_like_a_typed_one():
    user = get_user_model().objects.create_user("ada")
    phone = UserPhone(user=user, phone="+86 187 0123 5678")
    phone.full_clean()
    assert phone.phone == PHONE and str(phone) == "ada (not verified)"
    with pytest.raises(ValidationError) as refused:
        UserPhone(user=user, phone="+19005550100").full_clean()
    assert refused.value.message_dict == {"phone": ["Messages cannot be sent to premium-rate numbers."]}
