"""The README says what the code does: its tables and signatures are checked against the code."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands

import django_engagelab_otp
from django_engagelab_otp.conf import DEFAULTS, ENV_FALLBACK
from django_engagelab_otp.management.base import Exit

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def between(name: str) -> str:
    """The text between ``<!-- NAME:start ... -->`` and ``<!-- NAME:end -->``."""
    match = re.search(rf"<!-- {name}:start[^>]*-->\n(.*?)<!-- {name}:end -->", README, re.S)
    assert match, f"README.md has no {name} markers"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    """The cells of a Markdown table's body rows."""
    rows = [line.strip().strip("|").split(" | ") for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row] for row in rows[2:]]


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_opens_with_the_two_commands_and_a_pitch():
    title, rest = README.split("\n", 1)
    assert title == "# django-engagelab-otp"
    match = re.match(r"\n```sh\n(.*?)```\n\n(.+?)\n\n", rest, re.S)
    assert match, "the README must open with a sh block, then one paragraph"
    commands = [line.split("#")[0].strip() for line in match.group(1).splitlines()]
    assert commands == ["make demo", "make test"]
    assert "EngageLab" in match.group(2) and not match.group(2).startswith("#")
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_error_table_is_the_generated_one():
    result = subprocess.run(
        [sys.executable, "-m", "django_engagelab_otp.errors"], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert between("error-table") == result.stdout, (
        "README.md's error table is stale: paste the output of `python -m django_engagelab_otp.errors` "
        "between its error-table markers"
    )
    assert "| 5013 |" in result.stdout


def test_settings_table_has_every_key_with_its_default():
    rows = table_rows(between("settings"))
    documented = {row[0].strip("`"): row[1] for row in rows}
    assert list(documented) == list(DEFAULTS), "one row per key, in the order of conf.DEFAULTS"
    for key, default in DEFAULTS.items():
        assert documented[key] == f"`{default!r}`", key
    for row in rows:
        assert len(row) == 3 and row[2].endswith("."), row
    for key, variable in ENV_FALLBACK.items():
        assert variable in dict((row[0].strip("`"), row[2]) for row in rows)[key]


def test_exit_code_table_matches_the_commands():
    codes = [int(row[0]) for row in table_rows(between("exit-codes"))]
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
    assert f"### `{name}{bare} -> {returns}`" in README


def test_python_examples_name_what_exists():
    blocks = "\n".join(code_blocks("python"))
    imports = re.findall(r"^from (django_engagelab_otp[\w.]*) import ([\w, ]+)$", blocks, re.M)
    assert len(imports) >= 3
    for module, names in imports:
        loaded = importlib.import_module(module)
        for name in names.split(","):
            assert hasattr(loaded, name.strip()), f"{module}.{name.strip()}"
    for module in re.findall(r'include\("(django_engagelab_otp[\w.]*)"\)', blocks):
        assert hasattr(importlib.import_module(module), "urlpatterns"), module
    for signal in re.findall(r"`(\w+)` \(`", README.split("Signals in `django_engagelab_otp.signals`:")[1][:300]):
        assert hasattr(importlib.import_module("django_engagelab_otp.signals"), signal)


def test_every_command_shown_exists():
    shown = set(re.findall(r"manage\.py (engagelab_\w+)", README))
    assert {"engagelab_send", "engagelab_verify", "engagelab_templates"} <= shown
    commands = get_commands()
    for command in shown:
        assert commands.get(command) == "django_engagelab_otp", command


@pytest.mark.parametrize(
    "heading",
    [
        "Local simulator and testing your project",
        "Delivery callbacks",
        "Abuse limits and privacy",
        "Reliability",
        "Benchmarks",
    ],
)
def test_sections_other_parts_fill(heading):
    assert re.search(rf"^## {re.escape(heading)}\n\n\S", README, re.M)


def codes_in(text: str) -> set[int]:
    """``"5011, 5013, 5017–5020"`` → the codes it names."""
    codes: set[int] = set()
    for first, last in re.findall(r"(\d{4})(?:–(\d{4}))?", text):
        codes.update(range(int(first), int(last or first) + 1))
    return codes


def test_form_section_names_the_codes_the_error_table_places():
    from django_engagelab_otp.errors import ERROR_CODES

    section = README.split("## Forms", 1)[1].split("```", 1)[0]
    recipient = re.search(r"recipient problems \(([^)]*)\) under `to`", section)
    operator = re.search(r"Problems only an operator can fix \(([^)]*)\)", section)
    assert recipient and operator
    assert codes_in(recipient.group(1)) == {code for code, row in ERROR_CODES.items() if row.field == "to"}
    assert codes_in(operator.group(1)) == {code for code, row in ERROR_CODES.items() if row.operator}
