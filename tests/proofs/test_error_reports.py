"""Django's error reports of a failure deep inside a send, a verification or a callback show no secret.

A failure nobody planned for (a bug, a library raising what it should not)
escapes as a 500 and Django reports it: with ``DEBUG`` off in the mail
``AdminEmailHandler`` sends (``include_html=True`` attaches the full page),
under DEBUG on the technical 500 page. Both list the variables of every
frame, the request and the settings. Here an exception is raised from as deep
as a request goes (inside urllib3, where the headers and the body are
variables) or from the middle of a callback batch: through the send form, the
verify form and the callback view of a site, and through the client, the
services, the forms and the commands on their own. Each report is rendered
(``ExceptionReporter``, HTML and text) and searched.

With DEBUG off none of these may appear: the dev secret, its Basic token, the
webhook secret, the webhook ``Authorization`` value, an OTP code, a full
phone number. Under DEBUG Django hides nothing but the settings, by design:
the page shows the request's own fields (the number and code the person
typed, the body the platform posted) but still no credential.
"""

from __future__ import annotations

import base64
import html
import logging
import re
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import django
import httpcore._backends.anyio
import pytest
import urllib3.connection
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, RequestFactory
from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter

from django_engagelab_otp import (
    acheck_otp,
    asend_code,
    asend_custom_message,
    asend_otp,
    averify_otp,
    check_otp,
    send_code,
    send_custom_message,
    send_otp,
    verify_otp,
)
from django_engagelab_otp.backends import get_backend
from django_engagelab_otp.demo import settings as example_settings
from django_engagelab_otp.forms import SendOTPForm, VerifyOTPForm
from django_engagelab_otp.history import callbacks
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.signing import callback_id
from tests.support.aio import run
from tests.support.proof import figure
from tests.support.settings import configure
from tests.support.webhooks import body as callback_body
from tests.support.webhooks import status_row

pytestmark = pytest.mark.django_db

SUITE = "reports"
DEV_KEY = "report-key"
DEV_SECRET = "devsecret-H3w8Pz1Kd6"
TOKEN = base64.b64encode(f"{DEV_KEY}:{DEV_SECRET}".encode()).decode()
WEBHOOK_USERNAME = "engagelab-callbacks"
WEBHOOK_SECRET = "hooksecret-V5r2Nc7Jt4"
AUTHORIZATION_TOKEN = "hookauth-B6m3Xs9Fq2"
AUTHORIZATION = f"Bearer {AUTHORIZATION_TOKEN}"
#: A number found in no timestamp, id or hash by chance; the national part is searched (any format).
PHONE = "+8613912345678"
NATIONAL = "13912345678"
CODE = "0wnC0de7Qx"
TEMPLATE = "report-otp"
DEEP = "a failure deep inside urllib3"
CREDENTIALS = {
    "dev secret": DEV_SECRET,
    "Basic token": TOKEN,
    "webhook secret": WEBHOOK_SECRET,
    "webhook authorization": AUTHORIZATION_TOKEN,
}


# ---------------------------------------------------------------------- fixtures


class Deep:
    """urllib3's ``HTTPConnection.request`` raising, once armed: a failure below requests, the headers in hand."""

    def __init__(self) -> None:
        self.armed = False


@pytest.fixture
def deep(monkeypatch) -> Deep:
    switch = Deep()
    real = urllib3.connection.HTTPConnection.request

    def request(self: Any, method: str, url: str, body: Any = None, headers: Any = None, **options: Any) -> Any:
        if switch.armed:
            raise RuntimeError(DEEP)
        return real(self, method, url, body=body, headers=headers, **options)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "request", request)
    return switch


@pytest.fixture
def adeep(monkeypatch) -> Deep:
    """The async stack's twin of ``deep``: a failure inside httpcore, while the encoded headers go out.

    Raised from ``anyio.fail_after`` within httpcore's ``write``: the frames
    above hold the bytes being written (the Basic header, then the body).
    """
    switch = Deep()
    real = httpcore._backends.anyio.anyio.fail_after

    def fail_after(*args: Any, **kwargs: Any) -> Any:
        if switch.armed and sys._getframe(1).f_code.co_name == "write":  # not while connecting
            raise RuntimeError(DEEP)
        return real(*args, **kwargs)

    monkeypatch.setattr(httpcore._backends.anyio.anyio, "fail_after", fail_after)
    return switch


@pytest.fixture
def sim(make_engagelab_simulator, settings):
    simulator = make_engagelab_simulator(dev_key=DEV_KEY, dev_secret=DEV_SECRET)
    simulator.platform.announce_codes = False
    simulator.platform.ensure_template(TEMPLATE)
    configure(
        settings,
        TEMPLATE_ID=TEMPLATE,
        MAX_RETRIES=0,
        RESEND_COOLDOWN=0,
        WEBHOOK_USERNAME=WEBHOOK_USERNAME,
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        WEBHOOK_AUTHORIZATION=AUTHORIZATION,
    )
    return simulator


@pytest.fixture
def site(settings, sim) -> Client:
    """The example project (its pages and the callback URL), answering failures with Django's 500."""
    settings.ROOT_URLCONF = "django_engagelab_otp.demo.urls"
    settings.TEMPLATES = example_settings.TEMPLATES
    settings.STATICFILES_DIRS = example_settings.STATICFILES_DIRS
    return Client(raise_request_exception=False, HTTP_ACCEPT="text/html")


@pytest.fixture
def admin_mails(settings) -> Iterator[list[Any]]:
    """The mails ADMINS get for a 500, the page attached (``include_html=True``), as Django sends them."""
    # Django 6 takes addresses; (name, address) pairs are deprecated there and all 5.2 knows.
    settings.ADMINS = ["ops@example.com"] if django.VERSION >= (6,) else [("Ops", "ops@example.com")]
    settings.DEBUG = False
    handler = AdminEmailHandler(include_html=True)
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        yield mail.outbox
    finally:
        logger.removeHandler(handler)


# ---------------------------------------------------------------------- what is searched


def secrets(sim: Any, *, personal: bool = True) -> dict[str, str]:
    """The credentials, and with ``personal`` the number and every code (the site's and the platform's)."""
    found = dict(CREDENTIALS)
    if personal:
        codes = {CODE} | {message.code for message in sim.platform.messages if message.code}
        found.update({"phone number": NATIONAL, **{f"code {code}": code for code in codes}})
    return found


#: Where pprint cuts a long str or bytes value into pieces on several lines: 'abc'\n 'def', b'abc'\n b'def'.
_CUT = re.compile(r"""['"]\s*\n\s*b?['"]""")


def leaks(texts: dict[str, str], hidden: dict[str, str]) -> list[tuple[str, str]]:
    """Which hidden values a text holds, in HTML or not, whole or cut by pprint."""
    joined = {place: _CUT.sub("", html.unescape(text)) for place, text in texts.items()}
    return [(place, name) for place, text in joined.items() for name, value in hidden.items() if value in text]


def reported(request: Any = None, error: BaseException | None = None) -> dict[str, str]:
    """The report of ``error`` (by default the exception being handled), as a page and as text."""
    reporter = ExceptionReporter(request, *((type(error), error, error.__traceback__) if error else sys.exc_info()))
    return {"html": reporter.get_traceback_html(), "text": reporter.get_traceback_text()}


def report_of(call: Callable[[], Any]) -> dict[str, str]:
    """The report of the deep failure ``call`` meets (it must meet it)."""
    with pytest.raises(RuntimeError, match=DEEP):
        try:
            call()
        except RuntimeError:
            texts = reported()
            raise
    return texts


def mailed(outbox: list[Any]) -> dict[str, str]:
    texts = {}
    for number, message in enumerate(outbox):
        texts[f"mail {number} subject"] = message.subject
        texts[f"mail {number} text"] = message.body
        for index, (content, _type) in enumerate(getattr(message, "alternatives", [])):
            texts[f"mail {number} html {index}"] = content
    return texts


def check(record_property: Any, case: str, texts: dict[str, str], hidden: dict[str, str]) -> None:
    found = leaks(texts, hidden)
    figure(record_property, SUITE, case=case, places=len(texts), searched=len(hidden), leaks=len(found))
    assert texts, "no report was made"
    assert found == [], found


# ---------------------------------------------------------------------- the pieces on their own


CALLS: dict[str, Callable[[], Any]] = {
    "client.send_message": lambda: get_backend().send_message(PHONE, TEMPLATE),
    "client.send_code": lambda: get_backend().send_code(PHONE, CODE, TEMPLATE),
    "client.send_custom_message": lambda: get_backend().send_custom_message(PHONE, TEMPLATE, params={"code": CODE}),
    "client.verify": lambda: get_backend().verify("1700000000000000001", CODE),
    "send_otp": lambda: send_otp(PHONE),
    "send_code": lambda: send_code(PHONE, CODE),
    "send_custom_message": lambda: send_custom_message([PHONE, "+8613912345679"], TEMPLATE, params={"code": CODE}),
    "verify_otp": lambda: verify_otp("1700000000000000001", CODE),
    "check_otp": lambda: check_otp("1700000000000000001", CODE),
    "SendOTPForm": lambda: SendOTPForm({"to": PHONE}).is_valid(),
    "VerifyOTPForm": lambda: VerifyOTPForm("1700000000000000001", {"code": CODE}).is_valid(),
}


@pytest.mark.parametrize("debug", [False, True], ids=["report", "DEBUG"])
@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_failure_deep_in_a_call_is_reported_without_secrets(call, debug, sim, deep, settings, record_property):
    settings.DEBUG = debug
    deep.armed = True
    texts = report_of(CALLS[call])
    # The report went as deep as the failure: urllib3's frame is listed (its variables are not).
    assert "urllib3" in texts["text"] and "_request" in texts["text"]
    # DEBUG shows every variable (Django's choice): the arguments, not the credentials.
    check(record_property, f"{call} ({'DEBUG' if debug else 'report'})", texts, secrets(sim, personal=not debug))


def awaited(factory: Callable[[], Any]) -> Callable[[], Any]:
    """Await ``factory()`` from sync code, with no argument in the frames of the harness (asgiref's)."""

    async def call() -> Any:
        return await factory()

    return lambda: run(call)


ASYNC_CALLS: dict[str, Callable[[], Any]] = {
    "client.asend_message": awaited(lambda: get_backend().asend_message(PHONE, TEMPLATE)),
    "client.asend_code": awaited(lambda: get_backend().asend_code(PHONE, CODE, TEMPLATE)),
    "client.asend_custom_message": awaited(
        lambda: get_backend().asend_custom_message(PHONE, TEMPLATE, params={"code": CODE})
    ),
    "client.averify": awaited(lambda: get_backend().averify("1700000000000000001", CODE)),
    "asend_otp": awaited(lambda: asend_otp(PHONE)),
    "asend_code": awaited(lambda: asend_code(PHONE, CODE)),
    "asend_custom_message": awaited(lambda: asend_custom_message([PHONE], TEMPLATE, params={"code": CODE})),
    "averify_otp": awaited(lambda: averify_otp("1700000000000000001", CODE)),
    "acheck_otp": awaited(lambda: acheck_otp("1700000000000000001", CODE)),
    "SendOTPForm.ais_valid": awaited(lambda: SendOTPForm({"to": PHONE}).ais_valid()),
    "VerifyOTPForm.ais_valid": awaited(lambda: VerifyOTPForm("1700000000000000001", {"code": CODE}).ais_valid()),
}


@pytest.mark.parametrize("call", sorted(ASYNC_CALLS))
def test_a_failure_deep_in_an_async_call_is_reported_without_secrets(call, sim, adeep, settings, record_property):
    """Django hides a coroutine's variables only when it is marked itself: ours are, and httpx's and httpcore's."""
    settings.DEBUG = False
    adeep.armed = True
    texts = report_of(ASYNC_CALLS[call])
    assert "httpcore" in texts["text"] and "_arequest" in texts["text"] and "bytes_to_send" in texts["text"]
    check(record_property, f"{call} (report)", texts, secrets(sim))


@pytest.mark.parametrize(
    "arguments",
    [
        ["engagelab_send", f"--to={PHONE}"],
        ["engagelab_send", "--kind=code", f"--to={PHONE}", f"--code={CODE}"],
        ["engagelab_verify", "1700000000000000001", CODE],
    ],
    ids=lambda arguments: " ".join(arguments[:2]),
)
def test_a_command_failing_deep_is_reported_without_secrets(arguments, sim, deep, record_property):
    """The failure a command met, reported from the command's frame down (where it was caught).

    The frames above it (``call_command``'s, a scheduler's) hold the arguments
    their caller gave: not the app's to hide.
    """
    deep.armed = True
    with pytest.raises(CommandError) as failed:
        call_command(*arguments)
    texts = reported(error=failed.value.__cause__)
    assert DEEP in texts["text"]
    check(record_property, f"command {arguments[0]}", texts, secrets(sim))


def test_the_search_finds_what_an_unmarked_frame_holds(sim, deep):
    """Not blind: a frame outside the app (this one) shows its variables, number and code."""
    deep.armed = True
    phone, code = PHONE, CODE
    try:
        get_backend().send_code(phone, code, TEMPLATE)
    except RuntimeError:
        texts = reported()
    assert {name for _place, name in leaks(texts, secrets(sim))} == {"phone number", f"code {CODE}"}


# ---------------------------------------------------------------------- a site: two forms and the callback


def _request_a_code(site: Client) -> None:
    assert site.post("/", {"to": PHONE}).status_code == 302


def _post_send_form(site: Client, sim: Any, deep: Deep) -> Any:
    deep.armed = True
    return site.post("/", {"to": PHONE, "language": "en"})


def _post_verify_form(site: Client, sim: Any, deep: Deep) -> Any:
    _request_a_code(site)
    code = sim.platform.last_code(PHONE)
    deep.armed = True
    return site.post("/verify/", {"code": code})


def _post_callback(site: Client, sim: Any, deep: Deep) -> Any:
    _request_a_code(site)
    log = MessageLog.objects.get()
    rows = [status_row(log.message_id, "delivered", int(time.time()), to=PHONE)]

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a failure in the middle of a callback batch")

    original, callbacks.insert_ignoring_duplicates = callbacks.insert_ignoring_duplicates, broken
    try:
        return site.generic(
            "POST",
            "/engagelab/callback/",
            callback_body(rows),
            content_type="application/json",
            HTTP_X_CALLBACK_ID=callback_id(WEBHOOK_SECRET, WEBHOOK_USERNAME),
            HTTP_AUTHORIZATION=AUTHORIZATION,
        )
    finally:
        callbacks.insert_ignoring_duplicates = original


POSTS = {"send form": _post_send_form, "verify form": _post_verify_form, "callback": _post_callback}


@pytest.mark.filterwarnings("ignore:Django 2028 will not have a default mailer")  # Django 6.1 asks for MAILERS
@pytest.mark.parametrize("post", sorted(POSTS))
def test_the_mail_to_admins_shows_no_secret(post, site, sim, deep, admin_mails, record_property):
    response = POSTS[post](site, sim, deep)
    assert response.status_code == 500
    texts = mailed(admin_mails)
    assert any("Traceback" in text for text in texts.values()) and any("<html" in text for text in texts.values())
    check(record_property, f"{post}: mail to ADMINS", texts, secrets(sim))


@pytest.mark.parametrize("post", sorted(POSTS))
def test_the_debug_page_shows_no_credential(post, site, sim, deep, settings, record_property):
    settings.DEBUG = True
    response = POSTS[post](site, sim, deep)
    assert response.status_code == 500
    page = response.content.decode()
    assert "Traceback" in page and "Settings" in page  # Django's technical page, with its settings section
    check(record_property, f"{post}: DEBUG page", {"page": page}, secrets(sim, personal=False))


# ---------------------------------------------------------------------- the settings section


def test_the_settings_and_the_environment_show_no_secret(sim, settings, record_property):
    """Django hides settings whose names hold API, AUTH, TOKEN, KEY, SECRET…, inside ENGAGELAB_OTP too."""
    # runserver passes the process's environment on in request.META, the credentials' variables with it.
    request = RequestFactory().get("/", ENGAGELAB_OTP_DEV_SECRET=DEV_SECRET, HTTP_AUTHORIZATION=AUTHORIZATION)
    texts: dict[str, str] = {}
    for debug in (False, True):
        settings.DEBUG = debug
        try:
            raise RuntimeError("any failure")
        except RuntimeError:
            for place, text in reported(request).items():
                texts[f"{place} (DEBUG {debug})"] = text
    shown = texts["text (DEBUG True)"]
    assert "ENGAGELAB_OTP" in shown and WEBHOOK_USERNAME in shown and "ENGAGELAB_OTP_DEV_SECRET" in shown
    check(record_property, "settings and environment", texts, CREDENTIALS)
