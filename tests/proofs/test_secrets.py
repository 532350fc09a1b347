"""Secrets stay secret on every path: a scan of everything the app writes, shows, logs or raises.

With every logger recording at DEBUG (SQL included), one test walks every
path: sends accepted, failed and of unknown outcome, a platform that echoes
what it was sent, wrong credentials, verifications right, wrong and locked,
signed callbacks good and forged, the commands (failures too), the example
site's forms and views, the admin's lists and detail pages, the signals and
their events, and the repr and str of every object and exception met. Then
the dev secret (and its Basic token), the webhook secret, the webhook
``Authorization`` value and every OTP code sent are searched for in all log
records (message, arguments and formatted line), exception texts and
tracebacks, reprs, every column of every table, every response body and
header the app served, and all command output. None may be found.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connection
from django.dispatch import Signal
from django.urls import reverse

from django_engagelab_otp import send_code, send_custom_message, send_otp, signals, verify_otp
from django_engagelab_otp.backends import get_backend
from django_engagelab_otp.conf import otp_settings
from django_engagelab_otp.demo import settings as example_settings
from django_engagelab_otp.exceptions import EngageLabError, VerificationLockedError
from django_engagelab_otp.forms import SendOTPForm, VerifyOTPForm
from django_engagelab_otp.models import MessageEvent, MessageLog
from django_engagelab_otp.signing import callback_id
from django_engagelab_otp.simulator.magic import by_name
from django_engagelab_otp.webhooks.parsing import parse_body
from tests.support.local_http import LocalServer
from tests.support.proof import figure, run_command
from tests.support.settings import configure
from tests.support.webhooks import URL as CALLBACK
from tests.support.webhooks import body, notification_row, status_row, uplink_row

pytestmark = pytest.mark.django_db

DEV_KEY = "scan-key"
DEV_SECRET = "devsecret-R8t3Kq9Zw2"
WRONG_SECRET = "wrongsecret-P4m7Vx2Lc8"
WEBHOOK_USERNAME = "engagelab-callbacks"
WEBHOOK_SECRET = "hooksecret-J6n1Bd5Yf3"
AUTHORIZATION_TOKEN = "hookauth-T9s4Gh7Qe1"
AUTHORIZATION = f"Bearer {AUTHORIZATION_TOKEN}"
#: Codes this site chose itself (send_code, custom verification templates, the command).
OWN_CODES = ("0wnCode4Ab", "0wnCode7Cd", "0wnCode2Ef", "0wnCode9Gh", "0wnCode5Jk", "0wnCode3Mn")
#: A template whose codes are 10 letters and digits: a code found by chance in a timestamp or an id is not a leak.
TEMPLATE = "scan-otp"
READ_TIMEOUT = 1.0
#: Longer than the read timeout: the answer never comes in time.
TOO_LONG = 5.0


def basic_token(key: str, secret: str) -> str:
    return base64.b64encode(f"{key}:{secret}".encode()).decode()


# ---------------------------------------------------------------------- evidence


@dataclass
class Evidence:
    """Every text the paths produced, with where it was found."""

    texts: list[tuple[str, str]] = field(default_factory=list)

    def add(self, place: str, value: Any) -> None:
        if isinstance(value, (bytes, bytearray, memoryview)):
            value = bytes(value).decode("utf-8", "replace")
        self.texts.append((place, value if isinstance(value, str) else repr(value)))
        if not isinstance(value, str):
            self.texts.append((place, str(value)))

    def object(self, place: str, value: Any) -> None:
        self.texts += [(f"{place}:repr", repr(value)), (f"{place}:str", str(value))]

    def exception(self, error: BaseException) -> None:
        """Its texts, its traceback and those of the exceptions it carries."""
        place = f"exception:{type(error).__name__}"
        self.object(place, error)
        self.add(f"{place}:traceback", "".join(traceback.format_exception(error)))
        if isinstance(error, EngageLabError):
            self.add(f"{place}:message", error.message)
            self.add(f"{place}:user_message", str(error.user_message))
            self.add(f"{place}:args", error.args)
            self.add(f"{place}:form", _validation_texts(error.as_validation_error()))
        for inner in (error.__cause__, error.__context__):
            if inner is not None and inner is not error:
                self.object(f"{place}:chained", inner)

    def response(self, place: str, response: Any) -> Any:
        self.add(f"page:{place}", response.content)
        self.add(f"page:{place}:headers", dict(response.items()))
        return response

    def leaks(self, secrets: dict[str, str]) -> list[tuple[str, str]]:
        return [(place, name) for place, text in self.texts for name, secret in secrets.items() if secret in text]


def _validation_texts(error: ValidationError) -> list[str]:
    return [str(message) for message in error.messages]


@contextlib.contextmanager
def every_log_record() -> Iterator[list[logging.LogRecord]]:
    """Every record any logger emits, at DEBUG, whatever handlers the loggers have; SQL logged too."""
    records: list[logging.LogRecord] = []
    loggers = [logging.getLogger()] + [
        value for value in logging.root.manager.loggerDict.values() if isinstance(value, logging.Logger)
    ]
    levels = [(logger, logger.level) for logger in loggers]
    real = logging.Logger.callHandlers

    def call_handlers(self: logging.Logger, record: logging.LogRecord) -> None:
        records.append(record)
        real(self, record)

    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    logging.Logger.callHandlers = call_handlers  # type: ignore[method-assign]
    debug_cursor, connection.force_debug_cursor = connection.force_debug_cursor, True
    try:
        yield records
    finally:
        connection.force_debug_cursor = debug_cursor
        logging.Logger.callHandlers = real  # type: ignore[method-assign]
        for logger, level in levels:
            logger.setLevel(level)


def _record_texts(evidence: Evidence, records: list[logging.LogRecord]) -> None:
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    for record in records:
        place = f"log:{record.name}"
        evidence.add(place, str(record.msg))
        evidence.add(place, record.args)
        evidence.add(place, formatter.format(record))


# ---------------------------------------------------------------------- the paths


@dataclass
class Walk:
    """What the paths need: the evidence, the simulator and the Django test clients."""

    evidence: Evidence
    sim: Any
    settings: Any
    client: Any
    admin_client: Any

    def attempt(self, call: Callable[[], Any]) -> Any:
        """Run a call that may fail; keep its exception (or its result) as evidence."""
        try:
            result = call()
        except EngageLabError as error:
            self.evidence.exception(error)
            return None
        self.evidence.object("result", result)
        return result

    def command(self, name: str, *args: str) -> None:
        run = run_command(name, *args)
        self.evidence.add(f"command:{name}", run.text)
        if run.error is not None:
            self.evidence.exception(run.error)

    def configure(self, **values: Any) -> None:
        configure(self.settings, **values)


def _phone(number: int) -> str:
    return f"+861870000{number:04d}"


def walk_sends(walk: Walk) -> None:
    walk.attempt(lambda: send_otp(_phone(1), params={"name": "Bob"}))
    walk.attempt(lambda: send_code("bob@example.com", OWN_CODES[0], TEMPLATE))
    # A custom verification template takes its code as a parameter.
    walk.attempt(lambda: send_custom_message(_phone(2), TEMPLATE, params={"code": OWN_CODES[1]}))
    walk.attempt(lambda: send_custom_message([_phone(3), "carol@example.com"], "demo-notice", params={"order": "1"}))
    # Refused by the platform, and of unknown outcome.
    walk.attempt(lambda: send_otp(by_name("error-5013").phone))
    walk.attempt(lambda: send_code(by_name("error-5013").phone, OWN_CODES[2], TEMPLATE))
    walk.attempt(lambda: send_code(by_name("fault-html-502").phone, OWN_CODES[2], TEMPLATE))
    walk.attempt(lambda: send_otp(by_name("fault-broken-json").phone))
    walk.attempt(lambda: send_code(by_name("fault-hang").phone, OWN_CODES[3], TEMPLATE))
    walk.attempt(lambda: send_otp(by_name("fault-reset").phone))
    # Refused by this site's own limits: the same recipient again at once.
    walk.attempt(lambda: send_otp(_phone(1)))
    # The client on its own, below the services.
    client = get_backend()
    walk.evidence.object("client", client)
    walk.evidence.object("session.auth", client.session.auth)
    walk.attempt(lambda: client.send_code(_phone(4), OWN_CODES[4], TEMPLATE))


def walk_platform_echo(walk: Walk) -> None:
    """A platform (or proxy) that quotes back the Authorization header and the body it received."""

    def echo(number: int, seen: Any) -> tuple[int, dict[str, Any]]:
        quoted = f"rejected {seen.headers.get('Authorization')} for {seen.body.decode()}"
        return 400, {"code": 3002, "message": quoted}

    with LocalServer(behaviour=echo) as server:
        walk.configure(API_URL=server.url)
        walk.attempt(lambda: send_code(_phone(5), OWN_CODES[5], TEMPLATE))
        walk.attempt(lambda: send_custom_message(_phone(6), TEMPLATE, params={"code": OWN_CODES[5]}))
        walk.attempt(lambda: verify_otp("1700000000000000001", OWN_CODES[5]))
        walk.command("engagelab_send", "--kind=code", f"--to={_phone(7)}", f"--code={OWN_CODES[5]}")
        walk.command("engagelab_verify", "1700000000000000002", OWN_CODES[5])
    assert len(server.requests) == 5
    walk.configure(API_URL=walk.sim.url)


def walk_wrong_credentials(walk: Walk) -> None:
    walk.configure(DEV_SECRET=WRONG_SECRET)
    walk.attempt(lambda: send_otp(_phone(8)))
    walk.command("engagelab_send", f"--to={_phone(9)}")
    walk.command("engagelab_templates", "list")
    walk.configure(DEV_SECRET=DEV_SECRET)


def walk_verification(walk: Walk) -> None:
    log = walk.attempt(lambda: send_otp(_phone(10)))
    code = walk.sim.platform.last_code(_phone(10))
    walk.attempt(lambda: verify_otp(log.message_id, "Wr0ngCode1"))
    walk.attempt(lambda: verify_otp(log.message_id, code))
    walk.attempt(lambda: verify_otp(log.message_id, code))  # already verified: 3003
    # Locked after MAX_VERIFY_ATTEMPTS wrong codes: the right one is then refused without a request.
    log = walk.attempt(lambda: send_otp(_phone(11)))
    code = walk.sim.platform.last_code(_phone(11))
    for _ in range(otp_settings.MAX_VERIFY_ATTEMPTS):
        walk.attempt(lambda: verify_otp(log.message_id, "Wr0ngCode2"))
    with pytest.raises(VerificationLockedError) as locked:
        verify_otp(log.message_id, code)
    walk.evidence.exception(locked.value)
    form = VerifyOTPForm(log.message_id, {"code": code})
    assert not form.is_valid()
    walk.evidence.object("form", form)
    walk.evidence.add("form:errors", form.errors.as_json())
    # No answer in time.
    log = walk.attempt(lambda: send_otp(_phone(12)))
    code = walk.sim.platform.last_code(_phone(12))
    walk.sim.platform.configure(latency_ms=TOO_LONG * 1000)
    walk.attempt(lambda: verify_otp(log.message_id, code))
    walk.sim.platform.configure(latency_ms=0)
    # The forms on their own.
    form = SendOTPForm({"to": _phone(13)})
    form.is_valid()
    walk.evidence.object("form", form)
    walk.evidence.add("form:errors", form.errors.as_json())


def walk_commands(walk: Walk) -> None:
    walk.command("engagelab_send", f"--to={_phone(20)}")
    walk.command("engagelab_send", f"--to={_phone(21)}", "--json")
    walk.command(
        "engagelab_send", "--kind=code", f"--to={_phone(22)}", f"--code={OWN_CODES[0]}", f"--template={TEMPLATE}"
    )
    walk.command(
        "engagelab_send",
        "--kind=custom",
        f"--to={_phone(23)}",
        f"--template={TEMPLATE}",
        "--param=code=" + OWN_CODES[1],
    )
    walk.command("engagelab_send", "--kind=code", f"--to={by_name('error-5013').phone}", f"--code={OWN_CODES[2]}")
    walk.command("engagelab_send", "--kind=code", f"--to={by_name('fault-drop').phone}", f"--code={OWN_CODES[3]}")
    walk.command("engagelab_send", f"--to={_phone(20)}")  # the cooldown
    walk.command("engagelab_send", "--kind=code", f"--to={_phone(24)}", "--code=12")  # refused input
    message_id = MessageLog.objects.get(to=_phone(20)).message_id
    code = walk.sim.platform.last_code(_phone(20))
    walk.command("engagelab_verify", message_id, "Wr0ngCode3")
    walk.command("engagelab_verify", message_id, code, "--json")
    walk.command("engagelab_verify", message_id, code)  # already verified
    walk.command("engagelab_templates", "list")
    walk.command("engagelab_templates", "show", TEMPLATE)


def walk_callbacks(walk: Walk) -> None:
    now = int(time.time())
    rows = []
    for log in MessageLog.objects.exclude(message_id=None):
        rows += [status_row(log.message_id, "sent", now, cost="0.0065"), status_row(log.message_id, "delivered", now)]
    rows += [notification_row("insufficient_balance", now), uplink_row(rows[0]["message_id"], "STOP", now)]
    payload = body(rows)
    for event in parse_body(payload).events:
        walk.evidence.object("event", event)

    def post(name: str, status: int, header: str | None, authorization: str | None = AUTHORIZATION) -> None:
        headers = {}
        if header is not None:
            headers["HTTP_X_CALLBACK_ID"] = header
        if authorization is not None:
            headers["HTTP_AUTHORIZATION"] = authorization
        response = walk.client.generic("POST", CALLBACK, payload, content_type="application/json", **headers)
        walk.evidence.response(f"callback:{name}", response)
        assert response.status_code == status, (name, response.content)

    good = callback_id(WEBHOOK_SECRET, WEBHOOK_USERNAME)
    post("good", 200, good)
    post("replayed", 403, good)
    post("stale", 403, callback_id(WEBHOOK_SECRET, WEBHOOK_USERNAME, timestamp=now - 3600))
    post("forged", 401, callback_id("not-the-secret", WEBHOOK_USERNAME))
    post("other user", 401, callback_id(WEBHOOK_SECRET, "someone-else"))
    post("unsigned", 401, None)
    post("wrong authorization", 401, callback_id(WEBHOOK_SECRET, WEBHOOK_USERNAME), "Bearer guess")
    post("no authorization", 401, callback_id(WEBHOOK_SECRET, WEBHOOK_USERNAME), None)
    assert MessageEvent.objects.exists()


def walk_site(walk: Walk) -> None:
    """The example project's pages, as a person uses them."""
    client, page = walk.client, walk.evidence.response
    page("home", client.get("/"))
    assert page("request", client.post("/", {"to": _phone(30), "language": "en"})).status_code == 302
    page("verify", client.get("/verify/"))
    code = walk.sim.platform.last_code(_phone(30))
    page("wrong code", client.post("/verify/", {"code": "Wr0ngCode4"}))
    page("resend (cooldown)", client.post("/verify/resend/"))
    page("verify after resend", client.get("/verify/"))
    assert page("right code", client.post("/verify/", {"code": code})).status_code == 302
    page("verified", client.get("/verified/"))
    page("refused recipient", client.post("/", {"to": by_name("error-5013").phone}))
    page("bad recipient", client.post("/", {"to": "12345"}))
    page("unknown outcome", client.post("/", {"to": by_name("fault-no-message-id").phone}))
    # The right code while the platform does not answer in time.
    assert page("request again", client.post("/", {"to": _phone(31)})).status_code == 302
    code = walk.sim.platform.last_code(_phone(31))
    walk.sim.platform.configure(latency_ms=TOO_LONG * 1000)
    page("code during an outage", client.post("/verify/", {"code": code}))
    walk.sim.platform.configure(latency_ms=0)


def walk_admin(walk: Walk) -> None:
    client, page = walk.admin_client, walk.evidence.response
    for model in ("messagelog", "messageevent"):
        changelist = reverse(f"admin:django_engagelab_otp_{model}_changelist")
        page(f"admin:{model}", client.get(changelist))
        page(f"admin:{model}:search", client.get(changelist, {"q": "+86187"}))
    for log in MessageLog.objects.all():
        page(
            "admin:messagelog:detail",
            client.get(reverse("admin:django_engagelab_otp_messagelog_change", args=[log.pk])),
        )
    for event in MessageEvent.objects.all():
        url = reverse("admin:django_engagelab_otp_messageevent_change", args=[event.pk])
        page("admin:messageevent:detail", client.get(url))


def dump_database(evidence: Evidence) -> None:
    """Every column of every row of every table, and the sessions decoded."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - introspected names
            for row in cursor.fetchall():
                for cell in row:
                    evidence.add(f"db:{table}", cell)
    for session in Session.objects.all():
        evidence.add("db:session decoded", session.get_decoded())


@contextlib.contextmanager
def signal_events(evidence: Evidence) -> Iterator[None]:
    """The keyword arguments of every signal the app sends, as receivers get them."""
    every: list[Signal] = [value for value in vars(signals).values() if isinstance(value, Signal)]

    def receiver(sender: Any, signal: Signal, **kwargs: Any) -> None:
        for name, value in kwargs.items():
            evidence.object(f"signal:{name}", value)

    for signal in every:
        signal.connect(receiver, weak=False, dispatch_uid="secret-scan")
    try:
        yield
    finally:
        for signal in every:
            signal.disconnect(dispatch_uid="secret-scan")


# ---------------------------------------------------------------------- the scan


@pytest.fixture
def walk(make_engagelab_simulator, settings, client, admin_client):
    sim = make_engagelab_simulator(dev_key=DEV_KEY, dev_secret=DEV_SECRET)
    sim.platform.announce_codes = False  # the simulator's console line for the demo is not the app's
    sim.platform.hang_seconds = TOO_LONG
    sim.platform.ensure_template(TEMPLATE)
    sim.platform.templates[TEMPLATE]["verify_code_config"] = {
        "verify_code_type": 7,  # digits, lower and upper case
        "verify_code_len": 10,
        "verify_code_ttl": 5,
    }
    configure(
        settings,
        TEMPLATE_ID=TEMPLATE,
        TIMEOUT=(2, READ_TIMEOUT),
        WEBHOOK_USERNAME=WEBHOOK_USERNAME,
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        WEBHOOK_AUTHORIZATION=AUTHORIZATION,
    )
    # The example project's pages, admin and callback URL.
    settings.ROOT_URLCONF = "django_engagelab_otp.demo.urls"
    settings.TEMPLATES = example_settings.TEMPLATES
    settings.STATICFILES_DIRS = example_settings.STATICFILES_DIRS
    return Walk(Evidence(), sim, settings, client, admin_client)


def secrets_of(walk: Walk) -> dict[str, str]:
    codes = set(OWN_CODES) | {m.code for m in walk.sim.platform.messages if m.code}
    return {
        "dev secret": DEV_SECRET,
        "Basic token": basic_token(DEV_KEY, DEV_SECRET),
        "wrong dev secret": WRONG_SECRET,
        "wrong Basic token": basic_token(DEV_KEY, WRONG_SECRET),
        "webhook secret": WEBHOOK_SECRET,
        "webhook authorization": AUTHORIZATION_TOKEN,
        **{f"OTP code {code}": code for code in sorted(codes)},
    }


def test_no_secret_is_logged_raised_stored_or_shown_on_any_path(
    walk, record_property, capsys, django_capture_on_commit_callbacks
):
    evidence = walk.evidence
    # execute=True runs the callbacks' after-commit work (their signals) inside the test's transaction.
    with every_log_record() as records, signal_events(evidence), django_capture_on_commit_callbacks(execute=True):
        for path in (
            walk_sends,
            walk_platform_echo,
            walk_wrong_credentials,
            walk_verification,
            walk_commands,
            walk_callbacks,
            walk_site,
            walk_admin,
        ):
            path(walk)
        for row in [*MessageLog.objects.all(), *MessageEvent.objects.all()]:
            evidence.object(f"model:{type(row).__name__}", row)
        evidence.object("settings", otp_settings)
    _record_texts(evidence, records)
    dump_database(evidence)
    captured = capsys.readouterr()
    evidence.add("stdout", captured.out)
    evidence.add("stderr", captured.err)

    secrets = secrets_of(walk)
    leaks = evidence.leaks(secrets)
    places = {place.split(":")[0] for place, _text in evidence.texts}
    codes = sum(1 for name in secrets if name.startswith("OTP code"))
    figure(record_property, "secrets", places=len(evidence.texts), secrets=len(secrets), codes=codes, leaks=len(leaks))
    # The walk went everywhere it claims to.
    statuses = set(MessageLog.objects.values_list("status", flat=True))
    assert {"accepted", "failed", "unknown"} <= statuses
    assert {"log", "exception", "page", "command", "db", "signal", "event", "model", "result"} <= places
    assert codes >= 15
    # The echoing platform's texts were met, with what it quoted back scrubbed.
    assert any("[redacted]" in text for place, text in evidence.texts if place.startswith("exception"))
    assert leaks == [], sorted(set(leaks))


def test_the_scan_finds_a_planted_secret_in_each_kind_of_place(walk):
    """The scan is not blind: a secret put where the app must never put one is found."""
    evidence = walk.evidence
    with every_log_record() as records:
        logging.getLogger("django_engagelab_otp.planted").debug("with %s", DEV_SECRET)
    _record_texts(evidence, records)
    evidence.exception(EngageLabError(f"with {WEBHOOK_SECRET}"))
    MessageLog.objects.create(kind="otp", to=_phone(40), template_id=TEMPLATE, params={"code": OWN_CODES[0]})
    dump_database(evidence)
    found = {place.split(":")[0] for place, _name in evidence.leaks(secrets_of(walk))}
    assert found == {"log", "exception", "db"}
