"""Issue 10, point 11: the history list shows the platform's message id, and every column fits.

The running demo's history holds messages of the widest usual shapes (a long
e-mail address, three recipients, a long template id, the longest status, an
error code, no id yet); Chromium looks at the list at 1280 px and at 390 px.
No cell's content overflows it, no header is clipped, nothing scrolls
sideways, and a click on an id copies the whole id. The screenshots,
``tests/artifacts/history-1280.png`` and ``history-390.png``, are for people.
"""

from __future__ import annotations

import json

import pytest

from tests.support.browser import shot
from tests.support.demo import DemoRun

pytestmark = pytest.mark.browser

HISTORY = "admin/django_engagelab_otp/messagelog/"
MESSAGES = [
    {"kind": "otp", "to": "+8618701235678", "template_id": "login-otp", "send_channel": "sms", "status": "verified"},
    {
        "kind": "custom",
        "to": "+6581234567",
        "recipients": ["+6581234567", "+447911123456", "+12125550123"],
        "template_id": "appointment-reminder",
        "send_channel": "whatsapp",
        "status": "delivered",
    },
    {
        "kind": "code",
        "to": "someone.longer-name@example.com",
        "template_id": "reset-password",
        "send_channel": "email",
        "status": "verified_timeout",
    },
    {"kind": "otp", "to": "+442079460513", "template_id": "login-otp", "status": "failed", "error_code": 5013},
    {
        "kind": "otp",
        "to": "+8618701235679",
        "template_id": "payment-confirm",
        "send_channel": "voice",
        "status": "delivered_failed",
        "error_code": 5018,
    },
    {"kind": "otp", "to": "+8618701235670", "template_id": "login-otp", "status": "pending"},
]
#: The platform's ids of the messages above (19 digits; none for a refused or unanswered send).
IDS = ["7533049256454651905", "7533049256706310146", "7533049256890859523", None, "7533049257001234567", None]

SEED = """
import json
from datetime import timedelta
from django.utils import timezone
from django_engagelab_otp.models import MessageLog
now = timezone.now()
for minutes, (fields, message_id) in enumerate(json.loads({data!r})):
    MessageLog.objects.create(message_id=message_id, created_at=now - timedelta(minutes=minutes), **fields)
"""

#: What overflows, in the list as Chromium lays it out: the page, the table's box, each visible cell.
MEASURE = """() => {
    const results = document.querySelector("#changelist-form .results");
    const edge = results.getBoundingClientRect();
    const cells = [...document.querySelectorAll("#result_list th, #result_list td")]
        .filter((cell) => cell.getClientRects().length);
    const name = (cell) => `${cell.className || cell.tagName}: ${cell.innerText.trim()}`;
    return {
        page: document.documentElement.scrollWidth - window.innerWidth,
        sideways: results.scrollWidth - results.clientWidth,
        overflowing: cells.filter((cell) => cell.scrollWidth > cell.clientWidth).map(name),
        outside: cells.filter((cell) => {
            const box = cell.getBoundingClientRect();
            return box.left < edge.left - 0.5 || box.right > edge.right + 0.5;
        }).map(name),
        headers: [...document.querySelectorAll("#result_list thead th")]
            .filter((cell) => cell.getClientRects().length).map((cell) => cell.innerText.trim()),
        rowHeights: [...document.querySelectorAll("#result_list tbody tr")]
            .map((row) => row.getBoundingClientRect().height),
    };
}"""


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """The demo, running, with the messages above in its history (only read: shared by the tests here)."""
    demo = DemoRun(tmp_path_factory.mktemp("history") / "demo.sqlite3")
    try:
        demo.wait_ready()
        demo.shell(SEED.format(data=json.dumps(list(zip(MESSAGES, IDS, strict=True)))))
        yield demo
    finally:
        demo.stop()


def open_history(browser, demo, **context):
    page = browser.new_context(**context).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{demo.site}admin/login/?next=/{HISTORY}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(f"**/{HISTORY}")
    return page


def assert_nothing_cut(found):
    assert found["page"] <= 0, f"the page scrolls sideways by {found['page']} px"
    assert found["sideways"] <= 0, f"the list scrolls sideways by {found['sideways']} px"
    assert not found["overflowing"], f"content wider than its cell: {found['overflowing']}"
    assert not found["outside"], f"cells beyond the list's edge: {found['outside']}"


def test_history_at_1280_px_shows_every_column_on_one_line(chromium, history):
    page = open_history(chromium, history, viewport={"width": 1280, "height": 900})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    found = page.evaluate(MEASURE)
    shot(page, "history-1280")
    assert_nothing_cut(found)
    assert found["headers"] == [
        "",
        "TIME",
        "MESSAGE ID",
        "RECIPIENT",
        "KIND",
        "TEMPLATE",
        "CHANNEL",
        "STATUS",
        "ERROR",
    ]
    heights = found["rowHeights"]
    assert len(heights) == len(MESSAGES) and max(heights) - min(heights) < 2, f"one line per message: {heights}"

    html = page.content()
    for message_id in filter(None, IDS):
        assert message_id in html
        assert page.locator(f'button.engagelab-id[title="{message_id}"]').inner_text() == f"…{message_id[-8:]}"
    # A click copies the whole id, where the list shows its end.
    page.locator(f'button.engagelab-id[title="{IDS[1]}"]').click()
    assert page.evaluate("navigator.clipboard.readText()") == IDS[1]
    assert "engagelab-id--copied" in page.locator(f'button.engagelab-id[title="{IDS[1]}"]').get_attribute("class")
    page.context.close()


def test_history_at_390_px_is_a_card_per_message(chromium, history):
    page = open_history(chromium, history, viewport={"width": 390, "height": 844}, is_mobile=True)
    found = page.evaluate(MEASURE)
    shot(page, "history-390")
    assert_nothing_cut(found)
    assert found["headers"] == ["", "TIME"], "the select-all box and the time's sort"
    for message_id in filter(None, IDS):
        assert page.locator(f'button.engagelab-id[title="{message_id}"]').is_visible()
    page.context.close()
