"""Sign in with a code on the example site: sign in or sign up, against the simulator; every refusal a page shows."""

import re

import pytest
from django.contrib.auth import get_user_model

from django_engagelab_otp.conf import otp_settings
from django_engagelab_otp.contrib.otp.models import EngageLabDevice
from django_engagelab_otp.demo.code_signin import HAS_PASSWORD, WELCOME
from django_engagelab_otp.demo.launcher import MEMBER_PHONE
from django_engagelab_otp.errors import ERROR_CODES, FAILURES
from django_engagelab_otp.exceptions import wrong_code_message
from django_engagelab_otp.simulator.magic import by_name
from tests.support.constants import PHONE
from tests.support.pages import alert, escaped, field_errors, page

pytestmark = pytest.mark.django_db

MASKED = "+86 187****5678"


def request_code(visitor, to=PHONE):
    return visitor.post("/", {"to": to, "language": ""})


def sign_in(visitor, sim, to=PHONE):
    """Request a code for ``to`` and type it; the answer to the code."""
    assert request_code(visitor, to).url == "/verify/"
    return visitor.post("/verify/", {"code": sim.platform.last_code(to)})


def signed_in(visitor):
    """Whether the account page opens (it needs a session verified by a code)."""
    return visitor.get("/account/").status_code == 200


def wrong(code):
    return "000000" if code != "000000" else "111111"


# ------------------------------------------------------------------ sign in, or sign up


def test_the_first_right_code_opens_an_account_and_signs_in(visitor, sim):
    response = sign_in(visitor, sim)
    assert response.status_code == 302 and response.url == "/account/"
    device = EngageLabDevice.objects.select_related("user").get()
    assert (device.recipient, device.name, device.confirmed) == (PHONE, "default", True)
    assert not device.user.has_usable_password(), "this person signs in with codes"
    assert PHONE not in device.user.username, "no phone number in a username (admin, error reports)"

    html = page(visitor.get("/account/"))
    assert escaped(WELCOME[False]) in html
    assert MASKED in html and PHONE not in html
    assert "You are signed in with a code." in html
    assert device.user.username in html
    nav = re.search(r"<nav.*?</nav>", html, re.S).group(0)
    assert "Sign out" in nav and "Sign in with" not in nav


def test_the_same_number_signs_in_to_the_same_account(visitor, sim, no_cooldown):
    sign_in(visitor, sim)
    visitor.get("/account/")  # reads the welcome
    visitor.post("/sign-out/", follow=True)
    assert not signed_in(visitor)
    assert sign_in(visitor, sim).url == "/account/"
    assert get_user_model().objects.count() == 1
    assert escaped(WELCOME[False]) not in page(visitor.get("/account/")), "welcomed once"


def test_an_email_address_opens_an_account_with_that_address(visitor, sim, no_cooldown):
    assert sign_in(visitor, sim, "Ada@Example.COM").url == "/account/"
    user = get_user_model().objects.get()
    assert user.email == "Ada@example.com", "as the app sends to it: the domain folded, the mailbox as typed"
    html = page(visitor.get("/account/"))
    assert "E-mail address" in html and "A**@example.com" in html
    assert escaped(WELCOME[True]) in html
    visitor.post("/sign-out/")
    assert sign_in(visitor, sim, "ada@example.com").url == "/account/"
    assert get_user_model().objects.get() == user, "the same person, typing it in lower case"


def test_a_number_with_a_password_account_signs_in_only_with_the_password(visitor, sim, member):
    """The code alone would skip the first factor of an account that has two."""
    response = sign_in(visitor, sim, MEMBER_PHONE)
    assert response.status_code == 302 and response.url == "/sign-in/password/"
    assert not signed_in(visitor)
    assert escaped(HAS_PASSWORD[False]) in alert(page(visitor.get(response.url)))
    assert get_user_model().objects.count() == 1, "no second account for the number"


def test_a_disabled_account_is_not_signed_in(visitor, sim, member):
    member.set_unusable_password()
    member.is_active = False
    member.save()
    response = sign_in(visitor, sim, MEMBER_PHONE)
    assert response.url == "/"
    assert not signed_in(visitor)
    assert "This account is disabled." in alert(page(visitor.get("/")))


def test_the_account_page_needs_a_code_not_just_a_password(visitor, admin_user):
    assert visitor.get("/account/").url == "/"
    visitor.force_login(admin_user)  # as the admin's login page does: a password alone
    response = visitor.get("/account/")
    assert response.status_code == 302 and response.url == "/"


def test_signing_out(visitor, sim):
    sign_in(visitor, sim)
    assert visitor.get("/sign-out/").status_code == 405, "a link cannot sign anyone out"
    response = visitor.post("/sign-out/", follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert "You are signed out." in page(response)
    assert "_auth_user_id" not in visitor.session
    assert not signed_in(visitor)


# ------------------------------------------------------------------ refusals, as the pages show them


def test_the_cooldown_refuses_a_second_code_at_once(visitor, sim):
    request_code(visitor)
    html = page(request_code(visitor))
    assert re.search(r"A code was sent a moment ago\. You can ask for another in \d+ seconds\.", alert(html))
    assert len(sim.platform.messages) == 1


def test_a_blocked_number_shows_under_the_field(visitor, sim):
    html = page(request_code(visitor, by_name("error-5013").phone))
    assert escaped(ERROR_CODES[5013].user_message) in field_errors(html, "to")
    assert not EngageLabDevice.objects.exists()


def test_a_wrong_code_says_how_many_tries_are_left(visitor, sim):
    request_code(visitor)
    html = page(visitor.post("/verify/", {"code": wrong(sim.platform.last_code(PHONE))}))
    assert escaped(wrong_code_message(4)) in field_errors(html, "code")
    assert MASKED in html, "still the code page"
    assert not signed_in(visitor)


def test_too_many_wrong_codes_lock_the_code(visitor, sim):
    request_code(visitor)
    code = sim.platform.last_code(PHONE)
    for _ in range(otp_settings.MAX_VERIFY_ATTEMPTS):
        visitor.post("/verify/", {"code": wrong(code)})
    html = page(visitor.post("/verify/", {"code": code}))  # even the right one
    assert escaped(FAILURES["verify_locked"].user_message) in alert(html)
    assert not signed_in(visitor)
    assert not EngageLabDevice.objects.exists()
