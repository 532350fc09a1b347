"""A real browser walks the demo: both sign-ins, then each code verified in the admin's history.

``python -m django_engagelab_otp.demo`` (what ``make demo`` runs) starts the simulator and
the example site on free ports; Chromium drives the pages as a person would,
reads each code where the person would (the demo's terminal, through the
simulator), and saves a screenshot of each page under ``tests/artifacts/``:
at 1280 px, then at 390 px (a phone), one of them dark.
"""

import re
import time

import pytest

from django_engagelab_otp.demo.launcher import MEMBER_PASSWORD, MEMBER_PHONE, MEMBER_USERNAME
from django_engagelab_otp.errors import ERROR_CODES
from django_engagelab_otp.exceptions import wrong_code_message
from tests.support.browser import shot
from tests.support.constants import PHONE
from tests.support.demo import DemoRun

BLOCKED = "+44 20 7946 0513"  # the simulator's magic recipient for 5013
CALLBACK_WAIT = 30  # seconds for the simulator's callbacks to reach the site
SIGNED_OUT_NAV = ["Sign in with a code", "Sign in with a password", "Message history"]
SIGNED_IN_NAV = ["Account", "Sign out", "Message history"]
SWITCHER = "footer .language label, footer .language select, footer .language button"

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(tmp_path):
    run = DemoRun(tmp_path / "demo.sqlite3")
    try:
        run.wait_ready()
        yield run
    finally:
        run.stop()


def test_browser_walks_both_sign_ins(chromium, demo):
    assert f"{MEMBER_USERNAME} / {MEMBER_PASSWORD}" in demo.output, "the demo prints the member's credentials"
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems = watch(page)

    first = sign_in_with_a_code(page, demo)
    second = sign_in_with_a_password(page, demo)
    find_both_verified_in_the_history(page, demo, [first, second])
    context.close()
    look_on_a_phone(chromium, demo, problems)
    switch_to_german(chromium, demo, problems)

    assert not problems, problems
    # Ctrl-C stops both servers cleanly.
    assert demo.interrupt() == 0
    assert "Stopped." in demo.output
    assert "Traceback" not in demo.output


def watch(page):
    """What the browser saw go wrong: console errors, script errors, answers of 400 and more."""
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda answer: answer.status >= 400 and problems.append(f"{answer.status} {answer.url}"))
    return problems


def submit(page, fields, then=None):
    """Fill ``fields`` (selector: value), press the page's main button, and wait for the page ``then`` if given."""
    for selector, value in fields.items():
        page.fill(selector, value)
    page.click("main button[type=submit]")
    if then is not None:
        page.wait_for_url(then)


def nav(page):
    return [text.strip() for text in page.locator("header nav a, header nav button").all_inner_texts()]


def sign_in_with_a_code(page, demo):
    """A blocked number, then a new one; a wrong code, then the right one: a new account. Returns the message id."""
    page.goto(demo.site)
    assert page.title().startswith("Sign in with a code")
    assert page.locator("link[rel=stylesheet]").count() == 1
    assert page.evaluate("getComputedStyle(document.querySelector('.card')).borderRadius") != "0px", "styled"
    assert nav(page) == SIGNED_OUT_NAV
    shot(page, "01-sign-in-with-a-code")
    submit(page, {"#id_to": BLOCKED})
    assert page.locator("#id_to_error").inner_text().strip() == str(ERROR_CODES[5013].user_message)
    assert page.locator("#id_to").get_attribute("aria-invalid") == "true"
    shot(page, "02-recipient-error")

    page.select_option("#id_language", "en")
    submit(page, {"#id_to": "+86 187 0123 5678"}, then=demo.site + "verify/")
    assert "+86 187****5678" in page.locator(".lead").inner_text()
    assert PHONE not in page.content()
    shot(page, "03-enter-the-code")

    sent = demo.last_code(PHONE)
    code = sent["code"]
    assert re.fullmatch(r"\d{6}", code)
    assert code in demo.output, "the demo prints the code in its terminal"
    submit(page, {"#id_code": "000000" if code != "000000" else "111111"})
    assert page.locator("#id_code_error").inner_text().strip() == str(wrong_code_message(4))
    shot(page, "04-wrong-code")
    submit(page, {"#id_code": code}, then=demo.site + "account/")
    assert "Your account is new" in page.locator(".alerts").inner_text()
    assert "signed in with a code" in page.locator(".lead").inner_text()
    assert sent["message_id"] in page.locator(".facts").inner_text()
    assert nav(page) == SIGNED_IN_NAV
    shot(page, "05-account-after-a-code")

    page.click("header nav button:has-text('Sign out')")
    page.wait_for_url(demo.site)
    assert "You are signed out." in page.locator(".alerts").inner_text()
    assert nav(page) == SIGNED_OUT_NAV
    return sent["message_id"]


def sign_in_with_a_password(page, demo):
    """The demo's member: a wrong password, the right one, then the code sent to her phone. Returns the message id."""
    page.click("header nav a:has-text('Sign in with a password')")
    page.wait_for_url(demo.site + "sign-in/password/")
    assert page.title().startswith("Sign in with a password")
    shot(page, "06-sign-in-with-a-password")
    submit(page, {"#id_username": MEMBER_USERNAME, "#id_password": "not-the-password"})
    assert "Please enter a correct username and password." in page.locator(".alert-error").inner_text()
    shot(page, "07-wrong-password")

    submit(page, {"#id_password": MEMBER_PASSWORD}, then=demo.site + "sign-in/password/code/")
    assert "+65 9***4567" in page.locator(".lead").inner_text()
    assert MEMBER_PHONE not in page.content()
    shot(page, "08-enter-the-code-after-the-password")
    sent = demo.last_code(MEMBER_PHONE)
    submit(page, {"#id_code": sent["code"]}, then=demo.site + "account/")
    assert "signed in with a password and a code" in page.locator(".lead").inner_text()
    assert MEMBER_USERNAME in page.locator(".facts").inner_text()
    shot(page, "09-account-after-a-password")
    return sent["message_id"]


def find_both_verified_in_the_history(page, demo, message_ids):
    """The account page's link leads through the admin's login to the history, where both codes are verified."""
    page.click("text=See the code in the message history")
    page.wait_for_url(re.compile(r"/admin/login/"))
    shot(page, "10-admin-login")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/django_engagelab_otp/messagelog/\?q="))
    for message_id in message_ids:
        row = verified_row(page, demo, message_id)
        assert "***" in row and PHONE not in row and MEMBER_PHONE not in row, row
    page.goto(f"{demo.site}admin/django_engagelab_otp/messagelog/")  # the whole walk: the 5013 refusal too
    shot(page, "11-admin-history")
    page.locator("#result_list tbody tr").first.locator("th a, td a").first.click()
    page.wait_for_url(re.compile(r"/messagelog/\d+/"))
    assert message_ids[-1] in page.content()
    shot(page, "12-admin-detail")


def verified_row(page, demo, message_id):
    """The history's row of ``message_id`` (found by the admin's search) once callbacks made it Verified."""
    page.goto(f"{demo.site}admin/django_engagelab_otp/messagelog/?q={message_id}")
    rows = page.locator("#result_list tbody tr")
    deadline = time.monotonic() + CALLBACK_WAIT
    while "Verified" not in rows.first.inner_text() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    assert rows.count() == 1
    row = rows.first.inner_text()
    assert "Verified" in row, f"status after {CALLBACK_WAIT} s of callbacks: {row!r}"
    return row


def look_on_a_phone(chromium, demo, problems):
    """Each page of the site at 390 px: nothing wider than the screen, the header whole; the code page dark."""
    for dark in (False, True):
        phone = chromium.new_context(
            viewport={"width": 390, "height": 780}, is_mobile=True, color_scheme="dark" if dark else "light"
        )
        page = phone.new_page()
        problems += watch(page)
        if dark:
            page.goto(demo.site)
            submit(page, {"#id_to": "grace@example.com"}, then=demo.site + "verify/")
            fits(page, "15-phone-dark-enter-the-code")
            submit(page, {"#id_code": demo.last_code("grace@example.com")["code"]}, then=demo.site + "account/")
            assert "g****@example.com" in page.locator(".facts").inner_text()
            fits(page, "16-phone-dark-account")
        else:
            page.goto(demo.site)
            fits(page, "13-phone-sign-in-with-a-code")
            page.goto(demo.site + "sign-in/password/")
            fits(page, "14-phone-sign-in-with-a-password")
        phone.close()


def switch_to_german(chromium, demo, problems):
    """The footer's switcher, on a screen and on a phone: label, list and button on one line; then German pages."""
    for width, height in ((1280, 860), (390, 780)):
        context = chromium.new_context(viewport={"width": width, "height": height}, is_mobile=width < 500)
        page = context.new_page()
        problems += watch(page)
        page.goto(demo.site + "sign-in/password/")
        boxes = [item.bounding_box() for item in page.locator(SWITCHER).all()]
        middles = [box["y"] + box["height"] / 2 for box in boxes]
        assert len(middles) == 3 and max(middles) - min(middles) < 4, f"the switcher at {width} px is not one line"
        page.select_option("footer select[name=language]", "de")
        page.click("footer .language button")
        page.wait_for_url(demo.site + "sign-in/password/")
        assert page.locator("html").get_attribute("lang") == "de"
        assert page.title().startswith("Mit einem Passwort anmelden")
        assert page.locator("footer select[name=language]").input_value() == "de"
        fits(page, f"17-german-at-{width}")
        context.close()


def fits(page, name):
    """The page is no wider than the phone, and every header link is on screen."""
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name}: scrolls sideways"
    for box in (item.bounding_box() for item in page.locator("header a, header button").all()):
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, f"{name}: a header link is cut off"
    shot(page, name)
