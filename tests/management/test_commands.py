"""The ``engagelab_send``, ``engagelab_verify`` and ``engagelab_templates`` commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from urllib3.exceptions import MaxRetryError, NewConnectionError

from django_engagelab_otp.management.base import Exit
from django_engagelab_otp.models import MessageLog
from tests.support.answers import refusal
from tests.support.constants import API, PHONE, ROOT
from tests.support.settings import configure

SECRET = settings.ENGAGELAB_OTP["DEV_SECRET"]
MASKED = "+86 187****5678"
BLOCKED = "+6591234567"


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def fails(*args: str, code: int, secrets: tuple[str, ...] = ()) -> str:
    """Run a command that must fail; return its one-line message after checking it leaks nothing."""
    with pytest.raises(CommandError) as info:
        run(*args)
    message = str(info.value)
    assert info.value.returncode == code, message
    assert "\n" not in message and "Traceback" not in message
    for secret in (SECRET, *secrets):
        assert secret not in message
    return message


def body(call) -> dict:
    return json.loads(call.request.body)


def never_connected() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Connection refused")
    return requests.ConnectionError(MaxRetryError(None, API, reason))


# ---------------------------------------------------------------------- engagelab_send


@pytest.mark.django_db
def test_send_otp_prints_id_channel_and_masked_recipient(api):
    api.post(API + "messages", json={"message_id": "m1", "send_channel": "whatsapp"})
    out, err = run("engagelab_send", "--to", PHONE, "--language", "en", "--param", "name=Bob", "--param", "x=a=b")
    assert "m1" in out and "whatsapp" in out and MASKED in out and PHONE not in out
    assert err == ""
    assert body(api.calls[0]) == {
        "to": PHONE,
        "template": {"id": "login-otp", "language": "en", "params": {"name": "Bob", "x": "a=b"}},
    }
    log = MessageLog.objects.get()
    assert (log.status, log.message_id, log.kind) == ("accepted", "m1", "otp")


@pytest.mark.django_db
def test_send_json_is_one_object_for_machines(api):
    api.post(API + "messages", json={"message_id": "m2", "send_channel": "sms"})
    out, _err = run("engagelab_send", "--to", PHONE, "--template", "other", "--json")
    data = json.loads(out)
    assert data == {
        "message_id": "m2",
        "send_channel": "sms",
        "status": "accepted",
        "kind": "otp",
        "to": MASKED,
        "log_id": MessageLog.objects.get().pk,
    }
    # No LANGUAGE setting: the site's language (en-us) chooses the template's.
    assert body(api.calls[0])["template"] == {"id": "other", "language": "en"}


@pytest.mark.django_db
def test_send_custom_to_several_recipients(api):
    api.post(API + "custom-messages", json={"message_id": "c1", "send_channel": "sms"})
    out, _err = run(
        "engagelab_send", "--kind", "custom", "--to", PHONE, "--to", "bob@example.com", "--template", "news", "--json"
    )
    assert json.loads(out)["to"] == [MASKED, "b**@example.com"]
    assert body(api.calls[0]) == {"to": [PHONE, "bob@example.com"], "template": {"id": "news"}}
    assert MessageLog.objects.get().recipients == [PHONE, "bob@example.com"]


@pytest.mark.django_db
def test_send_custom_code_param_is_never_printed_or_stored(api):
    api.post(API + "custom-messages", status=400, json={"code": 5001, "message": "sending 482910 failed"})
    message = fails(
        "engagelab_send",
        "--kind",
        "custom",
        "--to",
        PHONE,
        "--template",
        "verify",
        "--param",
        "code=482910",
        code=Exit.REFUSED,
        secrets=("482910",),
    )
    assert "[5001]" in message
    assert body(api.calls[0]) == {"to": PHONE, "template": {"id": "verify", "params": {"code": "482910"}}}
    assert MessageLog.objects.get().params == {"code": "[redacted]"}


@pytest.mark.django_db
def test_send_own_code(api):
    api.post(API + "codes", json={"message_id": "k1", "send_channel": "email"})
    out, _err = run("engagelab_send", "--kind", "code", "--code", "482910", "--to", "bob@example.com")
    assert "k1" in out and "b**@example.com" in out and "482910" not in out
    assert body(api.calls[0]) == {
        "to": "bob@example.com",
        "code": "482910",
        "template": {"id": "login-otp", "language": "en"},
    }
    assert "482910" not in json.dumps(list(MessageLog.objects.values()), default=str)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, text",
    [
        (["--to", PHONE, "--to", "+6591234567"], "one recipient"),
        (["--kind", "custom", "--to", PHONE], "needs --template"),
        (["--kind", "custom", "--to", PHONE, "--template", "t", "--language", "en"], "--language"),
        (["--kind", "code", "--to", PHONE], "needs --code"),
        (["--to", PHONE, "--code", "482910"], "only for --kind code"),
        (["--to", PHONE, "--param", "name"], "KEY=VALUE"),
        (["--to", PHONE, "--param", "=Bob"], "KEY=VALUE"),
        (["--to", PHONE, "--param", "a=1", "--param", "a=2"], "twice"),
        (["--to", "12345"], "country code"),
        (["--to", "not-an-address@"], "e-mail"),
        (["--to", PHONE, "--template", "x" * 129], "128"),
        (["--kind", "code", "--to", PHONE, "--code", "48"], "4 to 10"),
    ],
)
def test_send_refuses_bad_arguments_before_any_request(api, args, text):
    message = fails("engagelab_send", *args, code=Exit.USAGE, secrets=("482910",))
    assert text in message
    assert len(api.calls) == 0
    assert not MessageLog.objects.exists()


@pytest.mark.django_db
def test_send_without_default_template(api, settings):
    configure(settings, TEMPLATE_ID=None)
    assert "TEMPLATE_ID" in fails("engagelab_send", "--to", PHONE, code=Exit.CONFIGURATION)
    assert len(api.calls) == 0


def test_send_unknown_kind_is_refused_by_the_parser():
    with pytest.raises(CommandError, match="invalid choice"):
        run("engagelab_send", "--to", PHONE, "--kind", "fax")


UNKNOWN = Exit.OUTCOME_UNKNOWN


@pytest.mark.django_db
@pytest.mark.parametrize(
    "answer, code, texts, status, calls",
    [
        (refusal(5013), Exit.REFUSED, ["RecipientError: [5013] platform text 5013"], "failed", 1),
        (refusal(2001, 401), Exit.REFUSED, ["AuthenticationError", "HTTP 401"], "failed", 1),
        (refusal(3004), Exit.REFUSED, ["RateLimitError"], "failed", 1),
        (refusal(4001), Exit.REFUSED, ["TemplateError"], "failed", 1),
        (refusal(1000, 500), Exit.UNAVAILABLE, ["[1000]", "later"], "failed", 3),
        ({"status": 503, "body": ""}, Exit.UNAVAILABLE, ["ServerError", "HTTP 503"], "failed", 3),
        ({"status": 502, "body": "<html>Bad gateway</html>"}, UNKNOWN, ["check the history"], "unknown", 1),
        ({"status": 200, "json": {"send_channel": "sms"}}, UNKNOWN, ["without message_id"], "unknown", 1),
        ({"body": requests.ReadTimeout("read timed out")}, UNKNOWN, ["TransportError"], "unknown", 1),
        ({"body": requests.ConnectTimeout("connect timed out")}, Exit.UNAVAILABLE, ["could not connect"], "failed", 3),
    ],
)
def test_send_platform_failures_end_with_one_line_and_an_exit_code(api, answer, code, texts, status, calls):
    api.post(API + "messages", **answer)
    message = fails("engagelab_send", "--to", PHONE, code=code)
    for text in texts:
        assert text in message
    log = MessageLog.objects.get()
    assert log.status == status
    assert f"history row {log.pk}: {status}" in message
    assert len(api.calls) == calls


@pytest.mark.django_db
def test_send_when_the_platform_cannot_be_reached(api):
    api.post(API + "messages", body=never_connected())
    assert "could not connect" in fails("engagelab_send", "--to", PHONE, code=Exit.UNAVAILABLE)


@pytest.mark.django_db
def test_send_without_credentials_is_a_configuration_error(api, settings, monkeypatch):
    monkeypatch.delenv("ENGAGELAB_OTP_DEV_KEY", raising=False)
    monkeypatch.delenv("ENGAGELAB_OTP_DEV_SECRET", raising=False)
    settings.ENGAGELAB_OTP = {"TEMPLATE_ID": "login-otp"}
    message = fails("engagelab_send", "--to", PHONE, code=Exit.CONFIGURATION)
    assert message.startswith("ConfigurationError: ") and "DEV_SECRET" in message
    assert len(api.calls) == 0 and not MessageLog.objects.exists()


@pytest.mark.django_db
def test_unexpected_errors_are_one_line_without_secrets(api):
    def explode(request):
        raise ValueError(f"boom with {SECRET} and 482910\nsecond line")

    api.add_callback("POST", API + "codes", callback=explode)
    message = fails(
        "engagelab_send", "--kind", "code", "--code", "482910", "--to", PHONE, code=Exit.INTERNAL, secrets=("482910",)
    )
    assert message.startswith("Unexpected ValueError: boom with [redacted] and [redacted] second line")
    assert "--traceback" in message
    assert MessageLog.objects.get().status == "unknown"


@pytest.mark.django_db
def test_interrupt_during_a_send(api):
    def interrupt(request):
        raise KeyboardInterrupt

    api.add_callback("POST", API + "messages", callback=interrupt)
    assert fails("engagelab_send", "--to", PHONE, code=Exit.INTERRUPTED) == "Interrupted."
    assert MessageLog.objects.get().status == "unknown"


# ---------------------------------------------------------------------- engagelab_verify


@pytest.mark.django_db
def test_verify_correct_code(api):
    MessageLog.objects.create(kind="otp", to=PHONE, template_id="login-otp", message_id="m1", status="accepted")
    api.post(API + "verifications", json={"message_id": "m1", "verify_code": "123456", "verified": True})
    out, _err = run("engagelab_verify", "m1", "123456")
    assert out.startswith("Verified") and "123456" not in out
    assert body(api.calls[0]) == {"message_id": "m1", "verify_code": "123456"}
    log = MessageLog.objects.get()
    assert log.verify_attempts == 1 and log.verified_at is not None


@pytest.mark.django_db
def test_verify_wrong_code_exits_1(api):
    api.post(API + "verifications", json={"message_id": "m1", "verify_code": "123456", "verified": False})
    message = fails("engagelab_verify", "m1", "123456", code=Exit.NO, secrets=("123456",))
    assert message.startswith("Not verified")


@pytest.mark.django_db
@pytest.mark.parametrize("verified, code", [(True, None), (False, Exit.NO)])
def test_verify_json(api, verified, code):
    api.post(API + "verifications", json={"message_id": "m1", "verify_code": "123456", "verified": verified})
    out = StringIO()
    try:
        call_command("engagelab_verify", "m1", "123456", "--json", stdout=out)
    except CommandError as error:
        assert error.returncode == code
    else:
        assert code is None
    assert json.loads(out.getvalue()) == {"message_id": "m1", "verified": verified}


@pytest.mark.django_db
def test_verify_expired_code_hides_the_code_the_platform_echoes(api):
    api.post(API + "verifications", status=400, json={"code": 3003, "message": "verify_code 123456 already used"})
    message = fails("engagelab_verify", "m1", "123456", code=Exit.REFUSED, secrets=("123456",))
    assert message == "RequestError: [3003] verify_code [redacted] already used; HTTP 400"


@pytest.mark.django_db
def test_verify_refused_counts_an_attempt(api):
    log = MessageLog.objects.create(kind="otp", to=PHONE, template_id="login-otp", message_id="m1", status="accepted")
    api.post(API + "verifications", status=400, json={"code": 3003, "message": "expired"})
    message = fails("engagelab_verify", "m1", "123456", code=Exit.REFUSED, secrets=("123456",))
    assert message.startswith("RequestError: [3003] expired; HTTP 400")
    log.refresh_from_db()
    assert log.verify_attempts == 1 and log.verified_at is None


@pytest.mark.django_db
@pytest.mark.parametrize("args", [("m1", "12"), ("m1", "12 34 56"), ("bad id!", "123456")])
def test_verify_refuses_bad_input_before_any_request(api, args):
    fails("engagelab_verify", *args, code=Exit.USAGE, secrets=("123456",))
    assert len(api.calls) == 0


@pytest.mark.django_db
def test_verify_broken_answer(api):
    api.post(API + "verifications", json={"message_id": "m1"})
    assert "verified" in fails("engagelab_verify", "m1", "123456", code=Exit.OUTCOME_UNKNOWN)


# ---------------------------------------------------------------------- engagelab_templates

TEMPLATES = [
    {
        "template_id": "login-otp",
        "send_channel_strategy": "whatsapp|sms",
        "status": 2,
        "created_time": "2024-05-01 10:00:00",
        "description": "Login code " + "long " * 20,
    },
    {"template_id": "order-shipped", "send_channel_strategy": "sms", "status": 1, "created_time": 1714557600},
    {"template_id": "ms", "status": "approved", "created_time": 1714557600123},
]


def test_templates_list_is_a_table(api):
    api.get(API + "template-configs", json=TEMPLATES)
    out, _err = run("engagelab_templates", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["TEMPLATE", "CHANNELS", "STATUS", "CREATED", "DESCRIPTION"]
    assert lines[1].split()[:3] == ["login-otp", "whatsapp|sms", "2"] and lines[1].endswith("…")
    assert lines[2].split() == ["order-shipped", "sms", "1", "2024-05-01", "10:00"]
    assert lines[3].split() == ["ms", "approved", "2024-05-01", "10:00"]
    # Columns line up.
    assert lines[1].index("whatsapp") == lines[0].index("CHANNELS") == lines[2].index("sms")


def test_templates_list_empty_and_json(api):
    api.get(API + "template-configs", json=[])
    assert run("engagelab_templates", "list")[0].strip() == "No templates."
    api.get(API + "template-configs", json=TEMPLATES)
    assert json.loads(run("engagelab_templates", "list", "--json")[0]) == TEMPLATES


def test_templates_show_pretty_and_json(api):
    api.get(API + "template-configs/a%2Fb", json=TEMPLATES[1])
    out, _err = run("engagelab_templates", "show", "a/b")
    assert out.startswith("{\n") and json.loads(out) == TEMPLATES[1]
    out, _err = run("engagelab_templates", "show", "a/b", "--json")
    assert "\n" not in out.strip() and json.loads(out) == TEMPLATES[1]


def test_templates_show_unknown(api):
    api.get(API + "template-configs/nope", status=400, json={"code": 4001, "message": "resource does not exist"})
    assert "[4001]" in fails("engagelab_templates", "show", "nope", code=Exit.REFUSED)


def test_templates_create_from_file(api, tmp_path):
    template = {"template_id": "new-otp", "send_channel_strategy": "sms", "verify_code_config": {"verify_code_len": 6}}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template), encoding="utf-8")
    api.post(API + "template-configs", json={"code": 0, "message": "success"})
    out, _err = run("engagelab_templates", "create", str(path))
    assert "new-otp" in out and "created" in out
    assert body(api.calls[0]) == template
    out, _err = run("engagelab_templates", "create", str(path), "--json")
    assert json.loads(out) == {"template_id": "new-otp", "created": True, "message": "success"}


@pytest.mark.parametrize(
    "content, text",
    [
        (None, "no such file"),
        ("{not json", "not valid JSON: "),
        ("[1, 2]", "one JSON object"),
        ('{"description": "x"}', 'needs a "template_id"'),
        ('{"template_id": 7}', "template id must be text"),
        ('{"template_id": " "}', "template id is required"),
        (b"\xff\xfe", "cannot be read"),
    ],
)
def test_templates_create_explains_a_bad_file(api, tmp_path, content, text):
    path = tmp_path / "t.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    message = fails("engagelab_templates", "create", str(path), code=Exit.USAGE)
    assert text in message and str(path) in message
    assert len(api.calls) == 0


def test_templates_create_refused_by_the_platform(api, tmp_path):
    path = tmp_path / "t.json"
    path.write_text('{"template_id": "dup"}', encoding="utf-8")
    api.post(API + "template-configs", status=400, json={"code": 3002, "message": "template_id already exists"})
    assert "already exists" in fails("engagelab_templates", "create", str(path), code=Exit.REFUSED)


@pytest.mark.parametrize("flag", ["--yes", "--no-input", "--noinput"])
def test_templates_delete_without_asking(api, flag):
    api.delete(API + "template-configs/old", json={"code": 0, "message": "success"})
    out, _err = run("engagelab_templates", "delete", "old", flag)
    assert out.strip() == "Template old deleted."
    assert len(api.calls) == 1


class FakeTTY:
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    "answer, deleted", [("yes", True), ("YES ", True), ("no", False), ("", False), (EOFError, False)]
)
def test_templates_delete_asks_first(api, monkeypatch, answer, deleted):
    prompts = []

    def fake_input(prompt: str) -> str:
        prompts.append(prompt)
        if answer is EOFError:
            raise EOFError
        return answer

    monkeypatch.setattr(sys, "stdin", FakeTTY())
    monkeypatch.setattr("builtins.input", fake_input)
    api.delete(API + "template-configs/old", json={"code": 0, "message": "success"})
    if deleted:
        assert "deleted" in run("engagelab_templates", "delete", "old")[0]
    else:
        assert "Cancelled" in fails("engagelab_templates", "delete", "old", code=Exit.NO)
    assert "old" in prompts[0]
    assert len(api.calls) == (1 if deleted else 0)


def test_templates_delete_refuses_without_a_terminal(api, monkeypatch):
    monkeypatch.setattr(sys, "stdin", StringIO(""))
    assert "--yes" in fails("engagelab_templates", "delete", "old", code=Exit.USAGE)
    assert len(api.calls) == 0


def test_templates_needs_an_action():
    with pytest.raises(CommandError, match="required"):
        run("engagelab_templates")
    with pytest.raises(CommandError, match="invalid choice"):
        run("engagelab_templates", "rename")


@pytest.mark.parametrize(
    "args, text",
    [
        (["show"], "needs a template ID"),
        (["create"], "needs a FILE.json"),
        (["delete", "--yes"], "needs a template ID"),
        (["list", "x"], "takes no argument"),
    ],
)
def test_templates_checks_the_argument(api, args, text):
    assert text in fails("engagelab_templates", *args, code=Exit.USAGE)
    assert len(api.calls) == 0


def test_templates_platform_unreachable(api):
    api.get(API + "template-configs", body=never_connected())
    assert "could not connect" in fails("engagelab_templates", "list", code=Exit.UNAVAILABLE)


# ---------------------------------------------------------------------- real processes


class _Platform(BaseHTTPRequestHandler):
    """Accepts every send but to ``BLOCKED``, and refuses every code as already used, echoing it back."""

    def do_POST(self) -> None:
        sent = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        if self.path.endswith("/verifications"):
            status, answer = 400, {"code": 3003, "message": f"verify_code {sent['verify_code']} already used"}
        elif sent.get("to") == BLOCKED:
            status, answer = 400, {"code": 5013, "message": "number is on the block list"}
        else:
            status, answer = 200, {"message_id": "p1", "send_channel": "sms"}
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@pytest.fixture
def platform():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Platform)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/"
    server.shutdown()
    server.server_close()


def manage(
    tmp_path: Path, engagelab_otp: str, *args: str, database: str = "sqlite:///:memory:"
) -> subprocess.CompletedProcess:
    """``python -m django ARGS`` in a new process, with tests.settings plus ``ENGAGELAB_OTP``.

    The database is SQLite whatever the suite runs on: unmigrated in memory
    unless ``database`` names a file.
    """
    (tmp_path / "cmd_settings.py").write_text(f"from tests.settings import *\n\nENGAGELAB_OTP = {engagelab_otp}\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ENGAGELAB_OTP_", "DJANGO_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]), DATABASE_URL=database)
    return subprocess.run(
        [sys.executable, "-m", "django", *args, "--settings=cmd_settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line(result: subprocess.CompletedProcess, code: int) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert SECRET not in result.stderr + result.stdout
    return lines[0]


def test_process_send_then_refused_verification(tmp_path, platform):
    settings_dict = repr({**settings.ENGAGELAB_OTP, "API_URL": platform, "MAX_RETRIES": 0})
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    migrated = manage(tmp_path, settings_dict, "migrate", "--verbosity=0", database=database)
    assert migrated.returncode == 0, migrated.stderr
    sent = manage(tmp_path, settings_dict, "engagelab_send", "--to", PHONE, "--json", database=database)
    assert sent.returncode == 0 and sent.stderr == "", sent.stderr
    assert json.loads(sent.stdout)["message_id"] == "p1"
    # The services log the failure too; without a logging set-up that must not reach the terminal.
    blocked = manage(tmp_path, settings_dict, "engagelab_send", "--to", BLOCKED, database=database)
    line = assert_one_line(blocked, Exit.REFUSED)
    assert line == "CommandError: RecipientError: [5013] number is on the block list; HTTP 400; history row 2: failed"
    refused = manage(tmp_path, settings_dict, "engagelab_verify", "p1", "482910", database=database)
    line = assert_one_line(refused, Exit.REFUSED)
    assert line.startswith("CommandError: RequestError: [3003] verify_code [redacted] already used; HTTP 400")
    assert "482910" not in refused.stderr + refused.stdout


def test_process_configuration_error_is_one_line(tmp_path):
    # No credentials: the system check would print a block; the command says it on one line.
    result = manage(tmp_path, "{'TEMPLATE_ID': 'login-otp'}", "engagelab_send", "--to", PHONE)
    assert assert_one_line(result, Exit.CONFIGURATION).startswith("CommandError: ConfigurationError: ")


def test_process_database_not_migrated_is_one_line(tmp_path):
    result = manage(tmp_path, repr(settings.ENGAGELAB_OTP), "engagelab_send", "--to", PHONE)
    assert "has 'migrate' been run?" in assert_one_line(result, Exit.CONFIGURATION)


def test_process_delete_without_terminal_refuses(tmp_path):
    result = manage(tmp_path, repr(settings.ENGAGELAB_OTP), "engagelab_templates", "delete", "old")
    assert "--yes" in assert_one_line(result, Exit.USAGE)
