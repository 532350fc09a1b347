"""The documentation as the tests read it: README.md, the pages under docs/, their code blocks and tables."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from tests.support.constants import ROOT

DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def page(name: str) -> str:
    """The source of ``docs/NAME``."""
    return (DOCS / name).read_text(encoding="utf-8")


def pages() -> dict[str, str]:
    """Every page's source, by file name."""
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(DOCS.glob("*.md"))}


@cache
def hooks() -> ModuleType:
    """``docs/hooks.py``, the build's hooks, loaded without MkDocs."""
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rendered(name: str) -> str:
    """A page as the site shows it: its generated tables written in."""
    return hooks().expand(page(name))


def between(text: str, name: str) -> str:
    """The text between ``<!-- NAME:start ... -->`` and ``<!-- NAME:end -->``."""
    match = re.search(rf"<!-- {name}:start[^>]*-->\n(.*?)<!-- {name}:end -->", text, re.S)
    assert match, f"no {name} markers"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    """The cells of the body rows of every Markdown table in ``text``."""
    rows, header = [], True
    for line in text.splitlines():
        if not line.startswith("|"):
            header = True
            continue
        if header or re.fullmatch(r"\|(-+\|)+", line.replace(" ", "")):
            header = False
            continue
        rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


def code_blocks(language: str, text: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def section(text: str, heading: str) -> str:
    """The text under ``## heading``, up to the next heading of that level."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no section {heading!r}"
    return match.group(1)


def run_as_a_project(tmp_path: Path, files: dict[str, str]) -> subprocess.CompletedProcess:
    """Test files from the documentation, run by pytest as a project of its own would (the test settings)."""
    # A project's ROOT_URLCONF includes the callback URLs; the test settings' does not.
    files = {**files, "conftest.py": files.get("conftest.py", "import pytest\n")}
    files["conftest.py"] += (
        "\n\ndef pytest_collection_modifyitems(items):\n"
        "    for item in items:\n"
        '        item.add_marker(pytest.mark.urls("tests.support.webhooks"))\n'
    )
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    env = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "PYTEST_ADDOPTS")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "--rootdir", str(ROOT), "-c", str(ROOT / "setup.cfg")]
        + [str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )


def imported_names(blocks: str) -> list[tuple[str, str]]:
    """``(module, name)`` for each ``from django_engagelab_otp… import …`` line in ``blocks``; each name must exist."""
    imports = re.findall(r"^from (django_engagelab_otp[\w.]*) import ([\w, ]+)$", blocks, re.M)
    for module, names in imports:
        loaded = importlib.import_module(module)
        for name in names.split(","):
            assert hasattr(loaded, name.strip()), (module, name)
    return imports
