"""The README is the PyPI page: a short quickstart whose claims, code and links hold."""

from __future__ import annotations

import configparser
import importlib
import re

from django_engagelab_otp.conf import DEFAULTS, SETTINGS
from tests.support.constants import ROOT
from tests.support.docs import DOCS, README, code_blocks, imported_names, page, run_as_a_project

CONFIG = configparser.ConfigParser()
CONFIG.read(ROOT / "setup.cfg")
#: The documentation site's address, as setup.cfg gives it to PyPI.
SITE = dict(line.split(" = ", 1) for line in CONFIG["metadata"]["project_urls"].strip().splitlines())["Documentation"]


def headings(text: str) -> list[str]:
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.findall(r"^#{1,6} (.+)$", prose, re.M)


def slug(heading: str) -> str:
    """The anchor MkDocs gives a heading (Python-Markdown's toc slugify, on its text)."""
    text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def test_short_enough_to_read_on_pypi():
    assert len(README.encode()) <= 12 * 1024


def test_opens_with_the_title_and_what_the_app_does():
    title, blank, pitch = README.split("\n", 3)[:3]
    assert (title, blank) == ("# django-engagelab-otp", "")
    assert pitch.startswith("A pluggable Django app") and "EngageLab" in README.split("\n\n")[1]


def test_contributor_commands_only_at_the_end():
    sections = re.split(r"^## ", README, flags=re.M)
    names = [part.split("\n", 1)[0] for part in sections[1:]]
    assert names[-2:] == ["Contributing", "License"]
    before = "".join(sections[: names.index("Contributing") + 1])
    assert "make test" not in before and "make docs" not in before
    contributing = code_blocks("sh", sections[names.index("Contributing") + 1])[0]
    assert [line.split("#")[0].strip() for line in contributing.splitlines()] == ["make test", "make docs"]
    makefile = (ROOT / "Makefile").read_text()
    for target in ("test", "docs", "demo"):
        assert re.search(rf"^{target}:", makefile, re.M), target


def test_every_link_leads_somewhere():
    """Site links name a page under docs/ (and one of its headings); other links name a file of the checkout."""
    assert SITE.endswith("/") and SITE in README
    assert re.search(rf"^site_url: {re.escape(SITE)}$", (ROOT / "mkdocs.yml").read_text(), re.M)
    site_links = re.findall(rf"\]\({re.escape(SITE)}([\w-]*)/?(?:#([\w-]+))?\)", README)
    assert len(site_links) >= 10
    for path, anchor in site_links:
        name = f"{path or 'index'}.md"
        assert (DOCS / name).is_file(), name
        if anchor:
            assert anchor in {slug(heading) for heading in headings(page(name))}, (name, anchor)
    for target in re.findall(r"\]\((?!https?://)([^)#]+)\)", README):
        assert (ROOT / target).is_file(), target
    assert "](CHANGELOG.md)" in README


def test_settings_shown_exist():
    blocks = "\n".join(code_blocks("python", README))
    shown = set(re.findall(r'^    "([A-Z_]+)":', blocks, re.M))
    assert {"TEMPLATE_ID", "WEBHOOK_SECRET"} <= shown <= set(DEFAULTS)
    for variable in re.findall(r"`(ENGAGELAB_OTP_\w+)`", README):
        assert any(setting.env == variable for setting in SETTINGS.values()), variable


def test_every_name_imported_exists():
    blocks = "\n".join(code_blocks("python", README))
    assert len(imported_names(blocks)) >= 3
    for module in re.findall(r'include\("(django_engagelab_otp[\w.]*)"\)', blocks):
        assert hasattr(importlib.import_module(module), "urlpatterns"), module


def test_the_example_tests_pass(tmp_path):
    """The README's test file, run by pytest as a project of its own would."""
    (block,) = [block for block in code_blocks("python", README) if block.startswith("# tests/test_otp.py\n")]
    result = run_as_a_project(tmp_path, {"test_otp.py": block})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout
