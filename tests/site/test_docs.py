"""The documentation says what the code does: its tables and signatures are checked against the code.

The pages are the sources under docs/; the tables the code owns are written into them at build time
(docs/hooks.py), and ``make docs`` builds the site with ``--strict``, which also checks every link.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import importlib
import inspect
import io
import json
import re
import subprocess
import sys
import urllib.request
from importlib import metadata

import pytest
from django.core.management import get_commands

import django_engagelab_otp
from django_engagelab_otp.conf import DEFAULTS, SETTINGS
from django_engagelab_otp.conf import markdown_table as markdown_settings
from django_engagelab_otp.management.base import Exit
from tests.support.constants import ROOT
from tests.support.docs import (
    README,
    between,
    code_blocks,
    hooks,
    page,
    pages,
    rendered,
    run_as_a_project,
    section,
    table_rows,
)

#: Every page's source, and the README, as one text: for what may be shown anywhere.
EVERYWHERE = "\n".join([README, *pages().values()])
TESTING = page("testing.md")
CALLBACKS = page("callbacks.md")


def printed(module: str) -> str:
    result = subprocess.run([sys.executable, "-m", module], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_error_table_is_generated_into_its_page():
    assert "<!-- generated: error-table -->" in page("errors.md")
    table = printed("django_engagelab_otp.errors")
    assert "| 5013 |" in table
    assert table.rstrip("\n") in rendered("errors.md")


def test_settings_table_is_generated_into_its_page():
    assert "<!-- generated: settings -->" in page("settings.md")
    assert printed("django_engagelab_otp.conf") == markdown_settings()
    assert markdown_settings().rstrip("\n") in rendered("settings.md")
    assert list(DEFAULTS) == [row[0].strip("`") for row in table_rows(markdown_settings())]
    for setting in SETTINGS.values():
        assert setting.doc.endswith("."), setting.name
        assert not setting.env or setting.env in setting.doc, setting.name


def test_every_marker_is_written_and_an_unknown_one_is_an_error():
    for name, text in pages().items():
        assert not hooks().MARKER.search(hooks().expand(text)), name
    with pytest.raises(ValueError, match="no generated table is called 'setting'"):
        hooks().expand("<!-- generated: setting -->\n")


def test_every_page_is_in_the_navigation():
    config = (ROOT / "mkdocs.yml").read_text()
    listed = re.findall(r"^ +- [^:]+: ([\w-]+\.md)$", config, re.M)
    assert sorted(listed) == sorted(pages()), "mkdocs.yml's nav and docs/*.md differ"
    assert len(listed) == len(set(listed))


def test_exit_code_table_matches_the_commands():
    codes = [int(row[0]) for row in table_rows(between(page("commands.md"), "exit-codes"))]
    assert sorted(codes) == sorted({int(code) for code in Exit})


@pytest.mark.parametrize("name", ["send_otp", "send_custom_message", "send_code", "verify_otp"])
def test_public_functions_are_documented_with_their_signature(name):
    function = getattr(django_engagelab_otp, name)
    signature = inspect.signature(function)
    bare = signature.replace(
        parameters=[p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()],
        return_annotation=inspect.Signature.empty,
    )
    returns = signature.return_annotation
    returns = returns if isinstance(returns, str) else returns.__name__
    assert f"## `{name}{bare} -> {returns}`" in page("sending.md")


def test_python_examples_name_what_exists():
    blocks = "\n".join(code_blocks("python", EVERYWHERE))
    imports = re.findall(r"^from (django_engagelab_otp[\w.]*) import ([\w, ]+)$", blocks, re.M)
    assert len(imports) >= 3
    for module, names in imports:
        if module.startswith("django_engagelab_otp.contrib"):
            continue  # they need their host packages' apps: tests/contrib/test_readme_contrib.py
        loaded = importlib.import_module(module)
        for name in names.split(","):
            name = name.strip()
            if not hasattr(loaded, name):  # a submodule: `from package import module`
                importlib.import_module(f"{module}.{name}")
    for module in re.findall(r'include\("(django_engagelab_otp[\w.]*)"\)', blocks):
        assert hasattr(importlib.import_module(module), "urlpatterns"), module
    for signal in re.findall(
        r"`(\w+)` \(`", page("sending.md").split("Signals in `django_engagelab_otp.signals`:")[1][:300]
    ):
        assert hasattr(importlib.import_module("django_engagelab_otp.signals"), signal)


def test_every_command_shown_exists():
    shown = set(re.findall(r"manage\.py (engagelab_\w+)", EVERYWHERE))
    assert {"engagelab_send", "engagelab_verify", "engagelab_templates"} <= shown
    commands = get_commands()
    for command in shown:
        assert commands.get(command) == "django_engagelab_otp", command


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("testing.md", "Local simulator and testing your project"),
        ("callbacks.md", "Delivery callbacks"),
        ("limits.md", "Abuse limits and privacy"),
        ("reliability.md", "Reliability and benchmarks"),
    ],
)
def test_pages_other_parts_fill(name, title):
    assert re.match(rf"# {re.escape(title)}\n\n\S", page(name))
    assert "To be written" not in page(name)


@pytest.mark.parametrize("heading", ["Reliability", "Benchmarks"])
def test_the_figures_page_has_both_sections(heading):
    text = section(page("reliability.md"), heading)
    assert re.match(r"\n\S", text) and "To be written" not in text


def codes_in(text: str) -> set[int]:
    """``"5011, 5013, 5017–5020"`` → the codes it names."""
    codes: set[int] = set()
    for first, last in re.findall(r"(\d{4})(?:–(\d{4}))?", text):
        codes.update(range(int(first), int(last or first) + 1))
    return codes


def test_form_section_names_the_codes_the_error_table_places():
    from django_engagelab_otp.errors import ERROR_CODES

    section = page("forms.md").split("```", 1)[0]
    recipient = re.search(r"recipient problems \(([^)]*)\) under `to`", section)
    operator = re.search(r"Problems only an operator can fix \(([^)]*)\)", section)
    assert recipient and operator
    assert codes_in(recipient.group(1)) == {code for code, row in ERROR_CODES.items() if row.field == "to"}
    assert codes_in(operator.group(1)) == {code for code, row in ERROR_CODES.items() if row.operator}


# ---------------------------------------------------------------------- organisation


def test_make_targets_named_exist():
    makefile = (ROOT / "Makefile").read_text()
    named = set(re.findall(r"(?:^|`)make ([\w-]+)", EVERYWHERE, re.M))
    assert {"demo", "test", "docs", "reliability", "bench"} <= named
    for target in named:
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), target


def test_every_system_check_is_documented_and_only_those():
    sources = [ROOT / "django_engagelab_otp" / "checks.py", ROOT / "django_engagelab_otp" / "webhooks" / "checks.py"]
    ids = {found for path in sources for found in re.findall(r"""\b([EW]\d{3})\b['"]""", path.read_text())}
    ids |= {setting.check_id for setting in SETTINGS.values()}  # a value conf cannot use
    assert {"E001", "W101", "E101", "E102", "E103", "W102", "W103"} <= ids
    documented = set(re.findall(r"^\| `([EW]\d{3})` \|", EVERYWHERE, re.M))
    assert documented == ids


# ---------------------------------------------------------------------- the simulator page


def test_magic_table_is_generated_into_its_page():
    from django.core.management import call_command

    out = io.StringIO()
    call_command("engagelab_simulator", "--magic", stdout=out)
    assert "<!-- generated: magic -->" in TESTING
    assert "`+442079460513`" in out.getvalue()
    assert out.getvalue().rstrip("\n") in rendered("testing.md")


def test_simulator_options_are_the_commands_with_their_defaults():
    from django_engagelab_otp.management.commands.engagelab_simulator import Command

    parser = argparse.ArgumentParser()
    Command().add_arguments(parser)
    actions = {option: action for action in parser._actions for option in action.option_strings}
    own = {option for option in actions if option.startswith("--") and option != "--help"}
    rows = [row for row in table_rows(TESTING) if row[0].startswith("`--")]
    documented = {option for row in rows for option in re.findall(r"`(--[\w-]+)", row[0])}
    assert documented == own
    for row in rows:
        for option in re.findall(r"`(--[\w-]+)", row[0]):
            default = actions[option].default
            if default is None or default is False:
                continue
            assert (f"{default:g}" if isinstance(default, float) else str(default)) in row[1], option


def test_seeded_templates_are_listed_with_their_channels():
    from django_engagelab_otp.simulator.templates import SEED_TEMPLATES

    rows = [row for row in table_rows(TESTING) if row[0].startswith("`demo-")]
    documented = [(row[0].strip("`"), row[1]) for row in rows]
    seeded = [(t["template_id"], t["send_channel_strategy"].replace("|", ", ")) for t in SEED_TEMPLATES]
    assert documented == seeded


def test_debug_endpoints_answer_as_documented():
    from django_engagelab_otp.simulator import Simulator

    rows = [row for row in table_rows(TESTING) if "/_simulator/" in row[0]]
    assert len(rows) >= 5
    with Simulator() as sim:
        token = base64.b64encode(f"{sim.dev_key}:{sim.dev_secret}".encode()).decode()
        send = urllib.request.Request(
            sim.url + "messages",
            data=json.dumps({"to": "+8618701235678", "template": {"id": "demo-otp"}}).encode(),
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(send, timeout=10) as answer:
            assert answer.status == 200
        for row in rows:
            method, target = row[0].strip("`").split(" ", 1)
            example = re.search(r"`(\{.*?\})`", row[1])
            body = (example.group(1).encode() if example else b"") if method == "POST" else None
            request = urllib.request.Request(sim.base_url + target, method=method, data=body)
            with urllib.request.urlopen(request, timeout=10) as answer:
                data = json.loads(answer.read())
            assert answer.status == 200, target
            if target == "/_simulator/health":
                assert set(data) == {"status", "requests", "messages"}
            if target.startswith("/_simulator/last-code"):
                assert set(data) == {"to", "message_id", "code"} and data["code"] == sim.platform.last_code(data["to"])


def test_pytest_fixtures_are_registered_and_documented():
    from django_engagelab_otp import pytest_plugin

    plugins = {entry.name: entry.value for entry in metadata.entry_points(group="pytest11")}
    assert plugins.get("engagelab_otp") == "django_engagelab_otp.pytest_plugin"
    fixtures = {
        name
        for name, value in vars(pytest_plugin).items()
        if hasattr(value, "_fixture_function_marker") or hasattr(value, "_pytestfixturefunction")
    }
    rows = table_rows(TESTING)
    documented = {row[0].strip("`") for row in rows if row[0].startswith("`engagelab_") or row[0].startswith("`make_")}
    assert documented == fixtures == {"engagelab_simulator", "make_engagelab_simulator", "engagelab_outbox"}


def test_the_example_tests_pass(tmp_path):
    """The page's conftest and example tests, run by pytest as a project of its own would."""
    files = {}
    for block in code_blocks("python", TESTING):
        first, _newline, rest = block.partition("\n")
        if first in ("# conftest.py", "# tests/test_otp.py", "# tests/test_login.py"):
            files[first.removeprefix("# ").split("/")[-1]] = rest
    assert set(files) == {"conftest.py", "test_otp.py", "test_login.py"}
    result = run_as_a_project(tmp_path, files)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "5 passed" in result.stdout


# ---------------------------------------------------------------------- the callbacks page


def test_callback_signals_and_events_are_documented():
    from django.dispatch import Signal

    from django_engagelab_otp import signals
    from django_engagelab_otp.history import events

    text = CALLBACKS
    for name, value in vars(signals).items():
        if isinstance(value, Signal) and name not in ("message_sent", "message_failed", "otp_verified"):
            assert f"| `{name}` |" in text, name
    rows = {row[0].strip("`"): row[1] for row in table_rows(text) if row[0].endswith("Event`")}
    classes = {
        name: value
        for name, value in vars(events).items()
        if isinstance(value, type) and issubclass(value, events.CallbackEvent) and value is not events.CallbackEvent
    }
    assert set(rows) == set(classes)
    common = {field.name for field in dataclasses.fields(events.CallbackEvent)} | {"message_id", "event"}
    for name, cls in classes.items():
        for field in dataclasses.fields(cls):
            if field.name not in common:
                assert f"`{field.name}`" in rows[name], f"{name}.{field.name}"
    assert all(f"`{name}`" in text for name in common)


def test_callback_answers_that_need_no_database(client, settings):
    """The rows of the view's table that are decided before any row is stored."""
    from django_engagelab_otp.signing import callback_id

    rows = table_rows(CALLBACKS)
    answers = {int(code) for row in rows for code in re.findall(r"^(\d{3})\b", row[-1]) if len(row) == 2}
    assert answers == {200, 400, 401, 403, 405, 411, 503}
    settings.ROOT_URLCONF = "tests.support.webhooks"
    signed = {**settings.ENGAGELAB_OTP, "WEBHOOK_USERNAME": "cb", "WEBHOOK_SECRET": "cb-secret"}
    settings.ENGAGELAB_OTP = signed
    url = "/engagelab/callback/"

    def post(body, **headers):
        return client.post(url, body, content_type="application/json", **headers).status_code

    assert client.head(url).status_code == 200
    assert client.get(url).status_code == 405
    assert post("{}") == 200 and post("") == 200  # the console's probe, unauthenticated
    assert post("", HTTP_TRANSFER_ENCODING="chunked") == 411  # a body the server did not pass on
    assert post('{"rows": []}') == 401
    assert client.post(url, '{"rows": []}', content_type="application/json").has_header("WWW-Authenticate")
    stale = callback_id("cb-secret", "cb", timestamp=1_000_000_000)
    assert post('{"rows": []}', HTTP_X_CALLBACK_ID=stale) == 403
    assert post("[1]", HTTP_X_CALLBACK_ID=callback_id("cb-secret", "cb")) == 400
    settings.ENGAGELAB_OTP = {**signed, "WEBHOOK_MAX_BODY": 10}
    assert post('{"rows": [], "total": 0}', HTTP_X_CALLBACK_ID=callback_id("cb-secret", "cb")) == 400
    settings.ENGAGELAB_OTP = {**signed, "WEBHOOK_SECRET": None}
    assert post('{"rows": []}', HTTP_X_CALLBACK_ID=callback_id("cb-secret", "cb")) == 503
