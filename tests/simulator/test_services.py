"""The app's services against the simulator over HTTP (the ``engagelab_simulator`` fixture)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys

import pytest
import requests
from django.core.management import CommandError, call_command

from django_engagelab_otp import send_code, send_custom_message, send_otp, verify_otp
from django_engagelab_otp.errors import ERROR_CODES
from django_engagelab_otp.exceptions import EngageLabError, RateLimitError, RequestError
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.simulator.magic import MAGIC, Family, by_name
from tests.support.constants import PHONE, ROOT
from tests.support.settings import configure

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim(engagelab_simulator, settings):
    engagelab_simulator.platform.slow_ms = 10
    engagelab_simulator.platform.drip_seconds = 0.001
    # A hang outlasts the read timeout by far (the simulator's stop ends it), and the read timeout leaves a busy
    # machine time for every answer that should come: only the hang and the stall wait for it.
    engagelab_simulator.platform.hang_seconds = 60
    configure(settings, TIMEOUT=1.0, RETRY_BACKOFF=0, RETRY_JITTER=0)
    return engagelab_simulator


def test_fixture_points_the_settings_at_the_simulator(sim, settings):
    config = settings.ENGAGELAB_OTP
    assert config["API_URL"] == sim.url and config["DEV_KEY"] == "demo-key"
    assert config["BACKEND"] == "django_engagelab_otp.backends.http.HTTPBackend"
    assert "login-otp" in sim.platform.templates  # the configured TEMPLATE_ID works unchanged


def test_send_and_verify_otp(sim):
    log = send_otp(PHONE, params={"name": "Bob"})
    assert (log.status, log.send_channel) == ("accepted", "sms") and log.message_id
    assert sim.platform.message(log.message_id).params == {"name": "Bob"}
    assert verify_otp(log.message_id, "000000" if sim.platform.last_code(PHONE) != "000000" else "111111") is False
    assert verify_otp(log.message_id, sim.platform.last_code(PHONE)) is True
    with pytest.raises(RequestError) as info:
        verify_otp(log.message_id, sim.platform.last_code(PHONE))
    assert info.value.code == 3003
    log.refresh_from_db()
    assert log.verified_at is not None


def test_second_otp_within_the_lifetime_is_rate_limited(sim, settings):
    configure(settings, RESEND_COOLDOWN=0)  # the platform's own limit, 3004
    send_otp(PHONE)
    with pytest.raises(RateLimitError) as info:
        send_otp(PHONE)
    assert info.value.log.status == "failed" and info.value.log.error_code == 3004


def test_custom_messages_and_own_codes(sim):
    log = send_custom_message([PHONE, "bob@example.com"], "demo-notice", params={"order": "A-1"})
    assert log.status == "accepted" and log.recipients == [PHONE, "bob@example.com"]
    assert sim.platform.message(log.message_id).content == "Simulator: your order A-1 has shipped."
    log = send_code(PHONE, "482910", "demo-code")
    assert log.status == "accepted" and sim.platform.last_code(PHONE) == "482910"


@pytest.mark.parametrize("magic", [m for m in MAGIC if m.family is Family.ERROR], ids=lambda m: m.name)
def test_every_magic_error_becomes_the_tables_exception_and_a_failed_row(sim, magic):
    with pytest.raises(EngageLabError) as info:
        send_otp(magic.phone)
    error = info.value
    row = ERROR_CODES[magic.error_code]
    assert (type(error), error.code, error.http_status) == (row.exc_class, magic.error_code, row.http_status)
    log = MessageLog.objects.get()
    assert (log.status, log.error_code) == ("failed", magic.error_code)
    attempts = 3 if row.retryable else 1  # 1000 and 5016 are retried (MAX_RETRIES = 2)
    assert sim.platform.path_counts["/v1/messages"] == attempts


@pytest.mark.parametrize(
    "name, status",
    [
        ("fault-html-502", "unknown"),
        ("fault-empty-503", "failed"),
        ("fault-broken-json", "unknown"),
        ("fault-no-message-id", "unknown"),
        ("fault-drop", "unknown"),
        ("fault-reset", "unknown"),
        ("fault-hang", "unknown"),
        ("fault-stall", "unknown"),
    ],
)
def test_faults_settle_the_row_as_failed_or_unknown(sim, name, status):
    with pytest.raises(EngageLabError) as info:
        send_otp(by_name(name).phone)
    assert info.value.log.status == status
    assert info.value.outcome_unknown is (status == "unknown")
    # Nothing that may have been acted on is resent; a 503 without a body (nothing took it) is retried.
    assert sim.platform.path_counts["/v1/messages"] == (3 if name == "fault-empty-503" else 1)


@pytest.mark.parametrize("name", ["fault-slow", "fault-drip", "lifecycle-stuck"])
def test_slow_answers_within_the_timeout_succeed(sim, name):
    assert send_otp(by_name(name).phone).status == "accepted"


def test_error_rate_is_retried_by_the_client(sim):
    sim.platform.configure(error_rate=1)
    with pytest.raises(EngageLabError) as info:
        send_otp(PHONE)
    assert info.value.code in (1000, 5016)
    assert sim.platform.request_count == 3


# ---------------------------------------------------------------------- the management command


def command(*args: str) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "django", "engagelab_simulator", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_command_serves_until_ctrl_c():
    process = command("--port", "0", "--latency", "0", "--seed", "5")
    try:
        first = process.stdout.readline()
        assert first.startswith("EngageLab simulator listening on http://127.0.0.1:")
        url = first.split()[-1]
        answer = requests.post(
            url + "messages",
            json={"to": PHONE, "template": {"id": "demo-otp"}},
            auth=("demo-key", "demo-secret"),
            timeout=30,
        )
        assert answer.status_code == 200
        code = requests.get(url.replace("/v1/", "/_simulator/last-code"), params={"to": PHONE}, timeout=30).json()
        lines = []
        while not any(code["code"] in line for line in lines):
            lines.append(process.stdout.readline())
        assert "+86 187****5678" in lines[-1]
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Stopping the simulator." in out
    assert "Traceback" not in err and "Traceback" not in out


def test_command_stops_on_sigterm():
    process = command("--port", "0", "--callback-url", "http://127.0.0.1:9/cb/", "--webhook-secret", "s3cr3t-value")
    greeting = [process.stdout.readline()]
    while "Ctrl-C" not in greeting[-1]:
        greeting.append(process.stdout.readline())
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0 and "Traceback" not in err
    text = "".join(greeting) + out
    assert "callbacks: http://127.0.0.1:9/cb/ (unsigned)" in text and "s3cr3t-value" not in text


def test_command_refuses_a_busy_port(sim):
    with pytest.raises(CommandError) as info:
        call_command("engagelab_simulator", "--port", str(sim.port), stdout=io.StringIO())
    assert "Cannot listen on" in str(info.value) and info.value.returncode


def test_command_lists_magic_recipients():
    out = io.StringIO()
    call_command("engagelab_simulator", "--magic", stdout=out)
    assert by_name("error-5013").phone in out.getvalue() and "fault-hang@simulator.test" in out.getvalue()
