"""A real browser walks the demo: request a code, verify it, find the message verified in the admin.

``example_project/demo.py`` (what ``make demo`` runs) starts the simulator and
the example site on free ports; Chromium drives the pages and saves a
screenshot of each under ``tests/artifacts/``.
"""

import re
import time

import pytest

from django_engagelab_otp.errors import ERROR_CODES
from django_engagelab_otp.exceptions import wrong_code_message
from tests.support.browser import shot
from tests.support.constants import PHONE
from tests.support.demo import DemoRun

BLOCKED = "+44 20 7946 0513"  # the simulator's magic recipient for 5013
CALLBACK_WAIT = 30  # seconds for the simulator's callbacks to reach the site

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(tmp_path):
    run = DemoRun(tmp_path / "demo.sqlite3")
    try:
        run.wait_ready()
        yield run
    finally:
        run.stop()


def test_browser_walks_the_demo(chromium, demo):
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda answer: answer.status >= 400 and problems.append(f"{answer.status} {answer.url}"))

    # 1. The home page, and a recipient the platform refuses: the error sits under the field.
    page.goto(demo.site)
    assert page.title().startswith("Request a code")
    assert page.locator("link[rel=stylesheet]").count() == 1
    assert page.evaluate("getComputedStyle(document.querySelector('.card')).borderRadius") != "0px", "styled"
    shot(page, "01-request-code")
    page.fill("#id_to", BLOCKED)
    page.click("button[type=submit]")
    assert page.locator("#id_to_error").inner_text().strip() == str(ERROR_CODES[5013].user_message)
    assert page.locator("#id_to").get_attribute("aria-invalid") == "true"
    shot(page, "02-recipient-error")

    # 2. An ordinary number: the verify page shows it masked.
    page.fill("#id_to", "+86 187 0123 5678")
    page.select_option("#id_language", "en")
    page.click("button[type=submit]")
    page.wait_for_url(demo.site + "verify/")
    assert "+86 187****5678" in page.locator(".lead").inner_text()
    assert PHONE not in page.content()
    shot(page, "03-verify-code")

    # 3. The code, as the terminal shows it; a wrong one first.
    sent = demo.last_code(PHONE)
    code, message_id = sent["code"], sent["message_id"]
    assert re.fullmatch(r"\d{6}", code)
    assert code in demo.output, "the demo prints the code in its terminal"
    wrong = "000000" if code != "000000" else "111111"
    page.fill("#id_code", wrong)
    page.click("button[type=submit]")
    assert page.locator("#id_code_error").inner_text().strip() == str(wrong_code_message(4))
    shot(page, "04-wrong-code")
    page.fill("#id_code", code)
    page.click("button[type=submit]")
    page.wait_for_url(demo.site + "verified/")
    assert message_id in page.locator(".facts").inner_text()
    shot(page, "05-verified")

    # 4. The history link leads through the admin login to this message.
    page.click("text=See it in the message history")
    page.wait_for_url(re.compile(r"/admin/login/"))
    shot(page, "06-admin-login")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/django_engagelab_otp/messagelog/\?q="))
    rows = page.locator("#result_list tbody tr")
    deadline = time.monotonic() + CALLBACK_WAIT
    while "Verified" not in rows.first.inner_text() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    assert rows.count() == 1
    row = rows.first.inner_text()
    assert "Verified" in row, f"status after {CALLBACK_WAIT} s of callbacks: {row!r}"
    assert "187****5678" in row and PHONE not in row
    shot(page, "07-admin-history")
    rows.first.locator("th a, td a").first.click()
    page.wait_for_url(re.compile(r"/messagelog/\d+/"))
    detail = page.content()
    assert message_id in detail and code not in page.locator("#content").inner_text()
    shot(page, "08-admin-detail")

    # 5. The same pages on a phone, and in dark mode.
    phone = chromium.new_context(viewport={"width": 390, "height": 780}, is_mobile=True, color_scheme="dark")
    small = phone.new_page()
    small.goto(demo.site)
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no horizontal scrolling on a phone"
    shot(small, "09-phone-dark")
    phone.close()
    context.close()

    assert not problems, problems
    # Ctrl-C stops both servers cleanly.
    assert demo.interrupt() == 0
    assert "Stopped." in demo.output
    assert "Traceback" not in demo.output
