"""The gettext catalogs: complete, current with the sources and the compiled files; the texts they translate.

Every catalog of the package and of the demo site is checked for each
language: nothing left untranslated or fuzzy, every placeholder kept, every
text marked in the sources present, the ``.mo`` beside it compiled from it.
Then what a person reads comes out translated: the error table's messages,
the admin's list.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from django_engagelab_otp.errors import ERROR_CODES, FAILURES, SHORT_MEANINGS
from django_engagelab_otp.models import MessageLog
from tests.support.constants import ROOT

#: Where each catalog's sources are, and the catalog beside them.
PROJECTS = {"package": ROOT / "django_engagelab_otp", "demo site": ROOT / "django_engagelab_otp" / "demo"}
#: The package's catalog leaves the demo site out: the demo has its own (makemessages --ignore 'demo/*').
APART = {"package": ("demo",), "demo site": ()}
LANGUAGES = ("de", "zh_Hans", "zh_Hant", "ja", "th", "es")
#: What Python's %-formatting and str.format() read in a text: each must survive translation.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{\w*\}")

CATALOGS = [
    pytest.param(root / "locale" / language / "LC_MESSAGES" / "django.po", id=f"{project}-{language}")
    for project, root in PROJECTS.items()
    for language in LANGUAGES
]


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def mistakes(entry: polib.POEntry) -> list[str]:
    """What is wrong with one entry's translation: missing, fuzzy, or with placeholders not the msgid's."""
    if "fuzzy" in entry.flags:
        return [f"fuzzy: {entry.msgid!r}"]
    if not entry.translated():
        return [f"untranslated: {entry.msgid!r}"]
    if not entry.msgid_plural:
        same = placeholders(entry.msgstr) == placeholders(entry.msgid)
        return [] if same else [f"placeholders: {entry.msgid!r} -> {entry.msgstr!r}"]
    # A singular form may spell its number out ("eine Minute"); the other forms keep every placeholder.
    *singular, other = [entry.msgstr_plural[index] for index in sorted(entry.msgstr_plural)]
    wanted = placeholders(entry.msgid_plural)
    wrong = [form for form in singular if not set(placeholders(form)) <= set(wanted)]
    if placeholders(other) != wanted:
        wrong.append(other)
    return [f"placeholders: {entry.msgid_plural!r} -> {form!r}" for form in wrong]


@pytest.mark.parametrize("path", CATALOGS)
def test_the_catalog_is_complete(path: Path) -> None:
    catalog = polib.pofile(str(path))
    assert not catalog.metadata_is_fuzzy, "a fuzzy header: its charset and plural forms are ignored"
    assert catalog.metadata["Language"] == path.parts[-3]
    assert len(catalog) > 10
    problems = [problem for entry in catalog for problem in mistakes(entry)]
    problems += [f"obsolete: {entry.msgid!r}" for entry in catalog.obsolete_entries()]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", CATALOGS)
def test_the_compiled_catalog_is_compiled_from_this_one(path: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "django.mo"
    polib.pofile(str(path)).save_as_mofile(str(fresh))
    assert _translations(path.with_suffix(".mo")) == _translations(fresh), "run compilemessages"


def _translations(mo: Path) -> dict[tuple[str, str], object]:
    return {
        (entry.msgctxt or "", entry.msgid): (entry.msgstr, sorted(entry.msgstr_plural.items()))
        for entry in polib.mofile(str(mo))
    }


@pytest.mark.parametrize(("project", "root"), PROJECTS.items())
def test_every_marked_text_is_in_the_catalogs(project: str, root: Path, tmp_path: Path, monkeypatch) -> None:
    """makemessages, run on a copy of the sources, finds no text the catalogs lack (nor one they have too many)."""
    copy = tmp_path / root.name
    ignore = shutil.ignore_patterns("__pycache__", "*.mo", "*.sqlite3", "static", *APART[project])
    shutil.copytree(root, copy, ignore=ignore)
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["de"], verbosity=0, no_obsolete=True)
    extracted = {(e.msgid, e.msgid_plural) for e in polib.pofile(str(copy / "locale/de/LC_MESSAGES/django.po"))}
    for language in LANGUAGES:
        catalog = polib.pofile(str(root / "locale" / language / "LC_MESSAGES" / "django.po"))
        assert {(e.msgid, e.msgid_plural) for e in catalog} == extracted, f"{project} {language}: run makemessages"


# ------------------------------------------------------------------ what comes out translated


def test_every_user_message_of_the_error_table_is_translated() -> None:
    messages = [row.user_message for row in (*ERROR_CODES.values(), *FAILURES.values())]
    with translation.override("en"):
        english = [str(message) for message in messages]
    with translation.override("de"):
        german = [str(message) for message in messages]
    assert not [text for text, translated in zip(english, german, strict=True) if text == translated]
    with translation.override("de"):
        assert str(ERROR_CODES[5011].user_message) == "Geben Sie eine gültige Telefonnummer ein."
    with translation.override("zh-hans"):
        assert str(ERROR_CODES[5013].user_message) == "无法向该接收方发送消息。"


def test_every_short_meaning_of_the_table_is_in_the_catalogs() -> None:
    """The table holds its short meanings as plain words: SHORT_MEANINGS names them for makemessages."""
    with translation.override("en"):
        assert {str(row.short) for row in ERROR_CODES.values()} == {str(text) for text in SHORT_MEANINGS}
    with translation.override("de"):
        assert str(ERROR_CODES[5013].short) == "gesperrte Nummer"


@pytest.mark.django_db
def test_the_admin_list_in_german(admin_client) -> None:
    MessageLog.objects.create(
        kind=MessageLog.Kind.OTP,
        to="+8618701235678",
        template_id="login-otp",
        status=MessageLog.Status.FAILED,
        send_channel=MessageLog.Channel.SMS,
        error_code=5013,
        http_status=400,
    )
    middleware = ["django.middleware.locale.LocaleMiddleware", *_middleware()]
    with override_settings(MIDDLEWARE=middleware):
        html = admin_client.get(
            reverse("admin:django_engagelab_otp_messagelog_changelist"), headers={"accept-language": "de"}
        ).content.decode()
    titles = " ".join(re.findall(r'<th scope="col"[^>]*>.*?<(?:a|span)[^>]*>([^<]+)<', html, re.S))
    filters = " ".join(re.findall(r"<summary>\s*([^<]+?)\s*</summary>", html))
    for german in ("Zeit", "Nachrichten-ID", "Empfänger", "Art", "Kanal", "Status", "Fehler"):
        assert german in titles, titles
    for german in ("Nach Vorlage", "Nach Endstatus", "Nach Nachrichtenverlust", "Nach Erstellungszeit"):
        assert german in filters, filters
    for english in ("message id", "recipient", "channel", "final status", "lost messages"):
        assert english not in titles + filters
    assert "Nachrichtenverlauf" in html and "Fehlgeschlagen" in html and "gesperrte Nummer" in html


def _middleware() -> list[str]:
    from django.conf import settings

    return list(settings.MIDDLEWARE)


def test_a_history_row_and_an_event_are_named_in_the_readers_language() -> None:
    """The admin's page titles and breadcrumbs: ``MessageLog.__str__`` and ``MessageEvent.__str__``."""
    import datetime

    from django_engagelab_otp.models import MessageEvent

    log = MessageLog(kind=MessageLog.Kind.OTP, to="+8618701235678", status=MessageLog.Status.FAILED)
    event = MessageEvent(event="delivered", message_id="1234", occurred_at=datetime.datetime(2026, 11, 30, 10, 44))
    with translation.override("en"):
        assert str(log) == f"OTP (platform code) to {log.masked_to} (Failed)"
        assert str(event) == "delivered 1234 at 2026-11-30 10:44:00"
    with translation.override("de"):
        assert str(log) == f"OTP (Code der Plattform) an {log.masked_to} (Fehlgeschlagen)"
        assert str(event) == "delivered 1234 am 2026-11-30 10:44:00"
    with translation.override("zh-hans"):
        assert str(log) == f"发往 {log.masked_to} 的OTP（平台验证码）（失败）"
