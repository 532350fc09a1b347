"""The demo site: its code pages show sends, verifications and every error family; its settings and launcher.

The sign-ins themselves (who is signed in, as whom, and every refusal on the
way) are in ``test_signin_code.py`` and ``test_signin_password.py``.
"""

import re
import socket
import sqlite3
import subprocess
import time
import urllib.request

import pytest
from django.conf import global_settings
from django.contrib.auth.hashers import check_password
from django.test import override_settings

from django_engagelab_otp.demo.code_signin import PENDING
from django_engagelab_otp.demo.launcher import MEMBER_PASSWORD, MEMBER_PHONE, MEMBER_USERNAME
from django_engagelab_otp.errors import ERROR_CODES
from django_engagelab_otp.exceptions import UNAVAILABLE, wrong_code_message
from django_engagelab_otp.models import MessageLog
from tests.support import answers
from tests.support.constants import API, PHONE, ROOT
from tests.support.demo import DEMO, MANAGE, READY, DemoRun, free_port
from tests.support.pages import alert, escaped, field_errors, page
from tests.support.settings import configure

EXAMPLE = ROOT / "django_engagelab_otp" / "demo"
MASKED = "+86 187****5678"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("example_site"),
]


def accept(api, message_id="msg-7f3a9c", channel="sms"):
    answers.accept(api, message_id=message_id, channel=channel)


def request_code(client, to=PHONE, language=""):
    return client.post("/", {"to": to, "language": language})


def text(code):
    return str(ERROR_CODES[code].user_message)


# ------------------------------------------------------------------ pages


def test_home_page_is_a_finished_page(client):
    response = client.get("/")
    assert response.status_code == 200
    html = page(response)
    assert "/static/example/site.css" in html
    assert 'name="to"' in html and 'name="language"' in html
    assert 'autocomplete="username"' in html
    assert "csrfmiddlewaretoken" in html
    assert '<meta name="viewport"' in html
    assert "/admin/django_engagelab_otp/messagelog/" in html


def test_stylesheet_exists_with_focus_error_and_responsive_rules():
    css = (EXAMPLE / "static" / "example" / "site.css").read_text()
    for rule in ("system-ui", ":focus-visible", ".field-errors", ".alert-error", "@media (max-width", ".card"):
        assert rule in css


def test_request_then_verify_then_success(client, api):
    accept(api, "msg-7f3a9c", "whatsapp")
    response = request_code(client, "+86 187 0123 5678", "en")
    assert response.status_code == 302 and response.url == "/verify/"
    assert client.session[PENDING]["message_id"] == "msg-7f3a9c"

    html = page(client.get("/verify/"))
    assert MASKED in html and "WhatsApp" in html
    assert PHONE not in html and "msg-7f3a9c" not in html, "the page shows neither the number nor the message id"
    assert 'autocomplete="one-time-code"' in html

    api.post(API + "verifications", json={"message_id": "msg-7f3a9c", "verify_code": "000000", "verified": False})
    response = client.post("/verify/", {"code": "000000"})
    assert response.status_code == 200
    assert escaped(wrong_code_message(4)) in page(response)

    verified = {"message_id": "msg-7f3a9c", "verify_code": "482910", "verified": True}
    api.replace("POST", API + "verifications", json=verified)
    response = client.post("/verify/", {"code": "482910"})
    assert response.status_code == 302 and response.url == "/account/"
    assert PENDING not in client.session

    html = page(client.get("/account/"))
    assert MASKED in html and "msg-7f3a9c" in html
    assert "/admin/django_engagelab_otp/messagelog/?q=msg-7f3a9c" in html
    assert MessageLog.objects.get(message_id="msg-7f3a9c").verified_at is not None


def test_verify_page_says_where_simulator_codes_appear(client, api, settings):
    accept(api, "msg-7f3a9c")
    request_code(client)
    assert "simulator prints each code" not in page(client.get("/verify/"))
    configure(settings, API_URL="http://127.0.0.1:8025/v1/")
    assert "simulator prints each code" in page(client.get("/verify/"))


@pytest.mark.parametrize("url", ["/verify/", "/account/"])
def test_pages_without_a_pending_code_go_home(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response.url == "/"


def test_resend_sends_a_new_code_for_the_same_recipient(client, api, no_cooldown):
    accept(api, "msg-first")
    request_code(client)
    api.replace("POST", API + "messages", json={"message_id": "msg-second", "send_channel": "sms"})
    response = client.post("/verify/resend/", follow=True)
    assert response.redirect_chain == [("/verify/", 302)]
    assert "A new code is on its way." in page(response)
    assert client.session[PENDING]["message_id"] == "msg-second"
    assert list(MessageLog.objects.values_list("to", flat=True)) == [PHONE, PHONE]


def test_resend_too_soon_shows_the_rate_limit(client, api, no_cooldown):
    accept(api, "msg-first")
    request_code(client)
    api.replace("POST", API + "messages", status=400, json={"code": 3004, "message": "frequency limit"})
    response = client.post("/verify/resend/", follow=True)
    html = page(response)
    assert 'class="alert alert-error"' in html and escaped(text(3004)) in html
    assert client.session[PENDING]["message_id"] == "msg-first", "the first code stays valid"


def test_resend_within_the_cooldown_says_how_long_to_wait(client, api):
    accept(api, "msg-first")
    request_code(client)
    response = client.post("/verify/resend/", follow=True)
    html = page(response)
    assert 'class="alert alert-error"' in html and re.search(r"You can ask for another in \d+ seconds\.", html)
    assert len(api.calls) == 1, "the cooldown refuses before any request"
    assert client.session[PENDING]["message_id"] == "msg-first", "the first code stays valid"


def test_resend_is_post_only(client):
    assert client.get("/verify/resend/").status_code == 405


# ------------------------------------------------------------------ errors on the pages


@pytest.mark.parametrize("code", [5011, 5012, 5013, 5017, 5018, 5019, 5020])
def test_recipient_problems_show_under_the_field(client, api, code):
    api.post(API + "messages", status=400, json={"code": code, "message": "platform detail"})
    response = request_code(client)
    assert response.status_code == 200
    html = page(response)
    assert escaped(text(code)) in field_errors(html, "to")
    assert not alert(html)
    assert 'aria-invalid="true"' in html
    assert "platform detail" not in html


@pytest.mark.parametrize("code", [3004, 5001, 1000])
def test_rate_limit_and_outages_show_above_the_form(client, api, code):
    api.post(API + "messages", status=ERROR_CODES[code].http_status, json={"code": code, "message": "platform detail"})
    html = page(request_code(client))
    assert escaped(text(code)) in alert(html)
    assert not field_errors(html, "to")
    assert "platform detail" not in html


@pytest.mark.parametrize("code", [2001, 2004, 4001])
def test_operator_problems_show_the_generic_text(client, api, code, caplog):
    api.post(API + "messages", status=ERROR_CODES[code].http_status, json={"code": code, "message": "platform detail"})
    html = page(request_code(client))
    assert escaped(UNAVAILABLE) in alert(html)
    assert "platform detail" not in html and str(code) not in html
    assert any(r.levelname == "ERROR" and str(code) in r.getMessage() for r in caplog.records)


def test_expired_code_shows_above_the_form(client, api):
    accept(api, "msg-7f3a9c")
    request_code(client)
    api.post(API + "verifications", status=400, json={"code": 3003, "message": "already verified"})
    html = page(client.post("/verify/", {"code": "123456"}))
    assert escaped(text(3003)) in alert(html)


def test_invalid_recipient_shows_under_the_field_without_a_request(client, api):
    html = page(request_code(client, "12345"))
    assert field_errors(html, "to")
    assert len(api.calls) == 0


# ------------------------------------------------------------------ settings, .env.example, manage.py


def test_env_example_documents_every_variable():
    source = (EXAMPLE / "settings.py").read_text()
    used = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z0-9_]+)"', source))
    assert {"DATABASE_URL", "ENGAGELAB_OTP_DEV_SECRET", "ENGAGELAB_OTP_WEBHOOK_SECRET"} <= used
    documented = set(re.findall(r"^#? ?([A-Z0-9_]+)=", (EXAMPLE / ".env.example").read_text(), re.M))
    assert used == documented


def example_env(**extra):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENGAGELAB_", "DJANGO_"))}
    env.update({"DATABASE_URL": "sqlite:///:memory:", "DEBUG": "true", **extra})
    return env


def manage(*args, **env):
    return subprocess.run(
        [*MANAGE, *args],
        env=example_env(**env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_site_passes_system_checks():
    result = manage(
        "check",
        "--fail-level",
        "WARNING",
        ENGAGELAB_OTP_DEV_KEY="k",
        ENGAGELAB_OTP_DEV_SECRET="s",
        ENGAGELAB_OTP_WEBHOOK_USERNAME="hook",
        ENGAGELAB_OTP_WEBHOOK_SECRET="hook-secret",
        CACHE_URL="redis://127.0.0.1:6379/1",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_example_settings_come_from_the_environment():
    code = (
        "from django.conf import settings as s; "
        "print(s.ENGAGELAB_OTP['API_URL'], s.ENGAGELAB_OTP['TEMPLATE_ID'], s.ENGAGELAB_OTP['WEBHOOK_USERNAME'], "
        "s.DEBUG, s.ALLOWED_HOSTS)"
    )
    result = manage(
        "shell",
        "-c",
        code,
        ENGAGELAB_OTP_API_URL="http://127.0.0.1:9/v1/",
        ENGAGELAB_OTP_TEMPLATE_ID="signup",
        ENGAGELAB_OTP_WEBHOOK_USERNAME="hook",
        DEBUG="false",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="demo.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-5:] == ["http://127.0.0.1:9/v1/", "signup", "hook", "False", "['demo.example.com']"]


def test_example_sqlite_waits_for_locks_instead_of_failing(tmp_path):
    """docs/callbacks.md, "On SQLite": the options that keep a send and its callbacks from failing each other."""
    code = (
        "from django.db import connection as c; c.ensure_connection(); pragma = c.cursor().execute; "
        "print(c.transaction_mode, c.settings_dict['OPTIONS']['timeout'], "
        "pragma('PRAGMA journal_mode').fetchone()[0], pragma('PRAGMA synchronous').fetchone()[0])"
    )
    result = manage("shell", "-c", code, DATABASE_URL=f"sqlite:///{tmp_path / 'site.sqlite3'}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-4:] == ["IMMEDIATE", "20", "wal", "1"]  # synchronous 1 is NORMAL
    # An option given in the URL wins.
    result = manage("shell", "-c", code, DATABASE_URL=f"sqlite:///{tmp_path / 'site.sqlite3'}?timeout=60")
    assert result.stdout.split()[-4:-2] == ["IMMEDIATE", "60"]


def test_production_mode_without_secret_key_is_one_line():
    result = manage("check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------ the demo (what `make demo` runs)


def test_demo_refuses_a_busy_port_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*DEMO, "--port", str(port), "--database", str(tmp_path / "d.sqlite3")],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"demo: port {port} on 127.0.0.1 is in use; stop what listens there or choose another port "
        "(see `python -m django_engagelab_otp.demo --help`)."
    )
    assert not (tmp_path / "d.sqlite3").exists()


def test_demo_takes_its_ports_from_the_environment(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            DEMO,
            env={
                **example_env(),
                "DEMO_PORT": str(port),
                "SIMULATOR_PORT": str(free_port()),
                "DEMO_DATABASE": str(tmp_path / "d"),
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.startswith(f"demo: port {port} on 127.0.0.1 is in use;"), result.stderr
    assert not (tmp_path / "d").exists()


def test_demo_refuses_a_wrong_port_variable_in_one_line():
    result = subprocess.run(
        DEMO,
        env={**example_env(), "DEMO_PORT": "80000"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].endswith("argument --port: '80000' is not a port number (1-65535)")
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_demo_serves_then_stops_cleanly_and_twice_keeps_one_admin_and_one_member(tmp_path):
    database = tmp_path / "demo.sqlite3"
    for _ in range(2):
        run = DemoRun(database)
        try:
            run.wait_ready()
            time.sleep(1)  # anything the servers still had to say would show by now
            assert run.output.rstrip().endswith(READY), f"the instructions come last:\n{run.output}"
            with urllib.request.urlopen(run.site, timeout=10) as answer:
                assert answer.status == 200
            assert f"Open http://127.0.0.1:{run.port}/" in run.output and "admin / admin" in run.output
            assert f"Open http://127.0.0.1:{run.port}/sign-in/password/" in run.output
            assert f"{MEMBER_USERNAME} / {MEMBER_PASSWORD}" in run.output
            assert "System check identified no issues" in run.output
            assert run.interrupt() == 0
        finally:
            run.stop()
        assert "Stopped." in run.output and "Traceback" not in run.output
    with sqlite3.connect(database) as db:
        query = "SELECT password, is_superuser, is_staff FROM auth_user WHERE username = 'admin'"
        admins = db.execute(query).fetchall()
        query = (
            "SELECT u.password, u.is_staff, d.recipient, d.confirmed FROM auth_user u "
            "JOIN otp_engagelab_engagelabdevice d ON d.user_id = u.id WHERE u.username = ?"
        )
        members = db.execute(query, [MEMBER_USERNAME]).fetchall()
    assert len(admins) == 1 and admins[0][1:] == (1, 1)
    assert len(members) == 1 and members[0][1:] == (0, MEMBER_PHONE, 1), "one member, one phone, however often"
    with override_settings(PASSWORD_HASHERS=global_settings.PASSWORD_HASHERS):
        assert check_password("admin", admins[0][0])
        assert check_password(MEMBER_PASSWORD, members[0][0])
