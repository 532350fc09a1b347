"""Sign in with a password and a code on the example site, against the simulator; every refusal a page shows."""

import re
from datetime import timedelta

import pytest

from django_engagelab_otp.conf import otp_settings
from django_engagelab_otp.contrib.otp.models import EngageLabDevice
from django_engagelab_otp.demo.forms import NO_CODE
from django_engagelab_otp.demo.launcher import MEMBER_PASSWORD, MEMBER_PHONE, MEMBER_USERNAME
from django_engagelab_otp.demo.password_signin import NO_DEVICE
from django_engagelab_otp.errors import ERROR_CODES, FAILURES, TROUBLE, UNAVAILABLE
from django_engagelab_otp.exceptions import wrong_code_message
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.simulator.magic import by_name
from tests.support.pages import alert, escaped, field_errors, page

pytestmark = pytest.mark.django_db

MASKED = "+65 9***4567"
CODE_PAGE = "/sign-in/password/code/"
WAIT = re.compile(r"A code was sent a moment ago\. You can ask for another in \d+ seconds?\.")


def password(visitor, username=MEMBER_USERNAME, secret=MEMBER_PASSWORD):
    return visitor.post("/sign-in/password/", {"username": username, "password": secret})


def type_code(visitor, code):
    return visitor.post(CODE_PAGE, {"code": code})


def signed_in(visitor):
    return visitor.get("/account/").status_code == 200


def wrong(code):
    return "000000" if code != "000000" else "111111"


def device():
    return EngageLabDevice.objects.get(name="default", recipient=MEMBER_PHONE)


# ------------------------------------------------------------------ the walk


def test_the_password_then_the_code_sign_in(visitor, sim, member):
    response = password(visitor)
    assert response.status_code == 302 and response.url == CODE_PAGE
    assert "_auth_user_id" not in visitor.session, "the password alone signs no one in"
    assert not signed_in(visitor)

    html = page(visitor.get(CODE_PAGE))
    assert f'We sent a code to <strong class="recipient">{MASKED}</strong> by SMS.' in html
    assert MEMBER_PHONE not in html and "+8618701235678" not in html, "no phone example on this page"
    assert 'autocomplete="one-time-code"' in html

    response = type_code(visitor, sim.platform.last_code(MEMBER_PHONE))
    assert response.status_code == 302 and response.url == "/account/"
    html = page(visitor.get("/account/"))
    assert "You are signed in with a password and a code." in html
    assert MEMBER_USERNAME in html and MASKED in html
    message_id = MessageLog.objects.get().message_id
    assert message_id in html and MessageLog.objects.get().verified_at is not None
    assert device().message_id == "", "a code works once"


def test_a_wrong_password_sends_nothing(visitor, sim, member):
    html = page(password(visitor, secret="not-it"))
    assert "Please enter a correct username and password." in alert(html)
    assert 'name="password"' in html and "not-it" not in html
    assert sim.platform.messages == []


def test_an_account_without_a_phone_is_told_so(visitor, sim, admin_user):
    html = page(password(visitor, "admin", "password"))
    assert escaped(NO_DEVICE) in alert(html)
    assert sim.platform.messages == []


RESEND = "/sign-in/password/resend/"


@pytest.mark.parametrize(("method", "url"), [("get", CODE_PAGE), ("post", CODE_PAGE), ("post", RESEND)])
def test_the_code_pages_need_a_right_password_first(visitor, method, url):
    response = getattr(visitor, method)(url)
    assert response.status_code == 302 and response.url == "/sign-in/password/"


def test_a_new_code_once_the_first_has_expired(visitor, sim, member, no_cooldown):
    password(visitor)
    # While a code is valid the platform refuses another (3004)…
    html = page(visitor.post(RESEND, follow=True))
    assert escaped(ERROR_CODES[3004].user_message) in alert(html)
    # … so let the first one expire.
    sim.platform.message(device().message_id).expires_at = 0
    response = visitor.post(RESEND, follow=True)
    assert "A new code is on its way." in page(response)
    assert [m.code is not None for m in sim.platform.messages] == [True, True]
    assert type_code(visitor, sim.platform.last_code(MEMBER_PHONE)).url == "/account/"


# ------------------------------------------------------------------ refusals, as the pages show them


def test_the_cooldown_refuses_a_new_code_and_the_first_one_still_works(visitor, sim, member):
    password(visitor)
    html = page(visitor.post(RESEND, follow=True))
    assert WAIT.search(alert(html))
    assert "We sent a code to" in html, "the first code is still on its way"
    # Typing the password again within the cooldown says the same, and sends nothing either.
    assert WAIT.search(alert(page(password(visitor) and visitor.get(CODE_PAGE))))
    assert len(sim.platform.messages) == 1
    assert type_code(visitor, sim.platform.last_code(MEMBER_PHONE)).url == "/account/"


#: Refusals of the first send, by the simulator's magic recipient: what the code page says instead of a code.
SEND_REFUSED = {
    "error-5013": ERROR_CODES[5013].user_message,  # a blocked number
    "fault-empty-503": TROUBLE,  # an outage
    "error-4001": UNAVAILABLE,  # an operator's problem (the template is gone), logged
}


@pytest.mark.parametrize("magic", sorted(SEND_REFUSED))
def test_a_refused_send_is_said_and_no_code_is_waited_for(visitor, sim, member, magic):
    EngageLabDevice.objects.filter(user=member).update(recipient=by_name(magic).phone)
    response = password(visitor)
    assert response.url == CODE_PAGE, "the password was right: the page says why no code came"
    html = page(visitor.get(CODE_PAGE))
    assert escaped(SEND_REFUSED[magic]) in alert(html)
    assert "No code is on its way to" in html and "We sent a code" not in html
    html = page(type_code(visitor, "123456"))
    assert escaped(NO_CODE) in alert(html)
    assert not signed_in(visitor)


def test_an_expired_code_is_said(visitor, sim, member):
    password(visitor)
    sim.platform.message(device().message_id).expires_at = 0
    html = page(type_code(visitor, sim.platform.last_code(MEMBER_PHONE)))
    assert escaped(ERROR_CODES[3003].user_message) in alert(html)
    assert not signed_in(visitor)


def test_a_wrong_code_says_how_many_tries_are_left(visitor, sim, member):
    password(visitor)
    html = page(type_code(visitor, wrong(sim.platform.last_code(MEMBER_PHONE))))
    assert escaped(wrong_code_message(4)) in field_errors(html, "code")
    assert not signed_in(visitor)


def test_after_a_wrong_code_the_next_try_waits(visitor, sim, member):
    """django-otp's back-off: 1, 2, 4 … seconds after each wrong code."""
    password(visitor)
    code = sim.platform.last_code(MEMBER_PHONE)
    type_code(visitor, wrong(code))
    html = page(type_code(visitor, code))
    assert "Too many attempts. Please try again in 1 second." in alert(html), "not the wrong code's text again"
    assert not signed_in(visitor)
    EngageLabDevice.objects.update(throttling_failure_timestamp=device().throttling_failure_timestamp - timedelta(2))
    assert type_code(visitor, code).url == "/account/"


def test_too_many_wrong_codes_lock_the_code(visitor, sim, member, monkeypatch):
    monkeypatch.setattr(EngageLabDevice, "throttle_factor", 0)  # the lock alone, without the back-off's waits
    password(visitor)
    code = sim.platform.last_code(MEMBER_PHONE)
    for _ in range(otp_settings.MAX_VERIFY_ATTEMPTS):
        type_code(visitor, wrong(code))
    html = page(type_code(visitor, code))  # even the right one
    assert escaped(FAILURES["verify_locked"].user_message) in alert(html)
    assert not signed_in(visitor)
