"""CHANGELOG.md keeps the Keep a Changelog form, and names the version the package says it is."""

from __future__ import annotations

import re

import django_engagelab_otp
from tests.support.constants import ROOT
from tests.support.docs import page

CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
KINDS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_releases_newest_first_each_with_a_date_and_a_link():
    releases = re.findall(r"^## \[([^\]]+)\](.*)$", CHANGELOG, re.M)
    assert releases[0] == ("Unreleased", "")
    versions = releases[1:]
    assert versions, "no release yet"
    assert versions[0][0] == django_engagelab_otp.__version__
    for name, rest in versions:
        assert re.fullmatch(r"\d+\.\d+\.\d+", name) and re.fullmatch(r" - \d{4}-\d{2}-\d{2}", rest), (name, rest)
    dates = [rest for _name, rest in versions]
    assert dates == sorted(dates, reverse=True)
    for name, _rest in releases:
        assert re.search(rf"^\[{re.escape(name)}\]: https://", CHANGELOG, re.M), name


def test_changes_are_grouped_by_kind():
    kinds = re.findall(r"^### (.+)$", CHANGELOG, re.M)
    assert kinds and set(kinds) <= KINDS


def test_the_site_shows_it():
    assert page("changelog.md").strip() == '--8<-- "CHANGELOG.md"'
