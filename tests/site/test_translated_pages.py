"""The example site in each of its languages: every page, every error, with no English left.

One walk through both sign-ins (each page, each refusal a person can meet on
the way) is taken in English, then in each language the browser asks for
with Accept-Language. A Latin-letter word of an English page must not appear
on the same page in the other language, save names (``ALLOWED``) and the few
words a language shares with English (``SHARED``).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils.translation import get_language_info

from django_engagelab_otp.contrib.otp.models import EngageLabDevice
from django_engagelab_otp.demo.settings import LANGUAGES
from django_engagelab_otp.simulator.magic import by_name
from tests.support.pages import page
from tests.support.visible_text import latin_words, visible_text

pytestmark = pytest.mark.django_db

#: Names, written the same in every language: the platform, its channels, the package,
#: and each language's own name (the switcher's and the message language's choices).
ALLOWED = frozenset(
    {"engagelab", "otp", "sms", "whatsapp", "api", "django-engagelab-otp"}
    | {get_language_info(code)["name_local"].lower() for code, _name in LANGUAGES}
)
#: Words a language writes as English does (compared without case): German's and Spanish's own words
#: ("in", "no"), and the ID that Chinese, Japanese and Spanish pages write as English does.
SHARED = {
    "de": frozenset({"code", "codes", "e-mail", "optional", "in", "region", "terminal"}),
    "zh-hans": frozenset({"id"}),
    "zh-hant": frozenset({"id"}),
    "ja": frozenset({"id"}),
    "th": frozenset(),
    "es": frozenset({"a", "demo", "id", "local", "no", "terminal"}),
}
#: Usernames: data the walk makes, not texts of the site.
DATA = re.compile(r"\buser-[0-9a-f]{12}\b|\bmember-[a-z-]+")
PASSWORD = "correct horse battery staple"


def _member(phone: str, username: str) -> None:
    """A person with a password and a phone for the second factor."""
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    EngageLabDevice.objects.create(user=user, name="default", recipient=phone, confirmed=True)


def walk(client: Any, sim: Any, language: str, number: int) -> dict[str, str]:
    """Each page of the walk, as the text a person reads, by what happened just before it."""
    headers = {"accept-language": language}
    pages: dict[str, str] = {}
    phone, member_phone = f"+86187012356{number:02d}", f"+86187012357{number:02d}"
    _member(member_phone, f"member-{language}")

    def get(name: str, path: str) -> None:
        pages[name] = visible_text(page(client.get(path, headers=headers)))

    def post(name: str, path: str, data: dict[str, str]) -> None:
        pages[name] = visible_text(page(client.post(path, data, headers=headers, follow=True)))

    get("sign in with a code", "/")
    post("nothing typed", "/", {"to": "", "language": ""})
    post("not a phone number", "/", {"to": "12ab", "language": ""})
    post("a blocked number", "/", {"to": by_name("error-5013").phone, "language": ""})
    post("a region refused", "/", {"to": by_name("error-5017").phone, "language": ""})
    post("a code sent", "/", {"to": phone, "language": ""})
    post("another code at once", "/verify/resend/", {})
    post("no code typed", "/verify/", {"code": ""})
    code = sim.platform.last_code(phone)
    post("a wrong code", "/verify/", {"code": "000000" if code != "000000" else "111111"})
    post("the right code", "/verify/", {"code": code})
    post("signed out", "/sign-out/", {})
    get("sign in with a password", "/sign-in/password/")
    post("a wrong password", "/sign-in/password/", {"username": f"member-{language}", "password": "wrong"})
    post("the right password", "/sign-in/password/", {"username": f"member-{language}", "password": PASSWORD})
    post("its code", "/sign-in/password/code/", {"code": sim.platform.last_code(member_phone)})
    return pages


def english_left(english: str, translated: str, language: str) -> set[str]:
    """The words of the English page still on the translated one, names and shared words aside."""
    left = latin_words(DATA.sub("", english)) & latin_words(DATA.sub("", translated))
    return left - ALLOWED - SHARED[language]


@pytest.fixture
def english(visitor: Any, sim: Any) -> dict[str, str]:
    return walk(visitor, sim, "en", 0)


@pytest.mark.parametrize(
    ("language", "number", "sample"),
    [
        ("de", 1, "Mit einem Code anmelden"),
        ("zh-hans", 2, "使用验证码登录"),
        ("zh-hant", 3, "使用驗證碼登入"),
        ("ja", 4, "確認コードでログイン"),
        ("th", 5, "เข้าสู่ระบบด้วยรหัสยืนยัน"),
        ("es", 6, "Iniciar sesión con un código"),
    ],
)
def test_every_page_and_error_reads_in_the_language_asked_for(
    english: dict[str, str], example_site: None, sim: Any, language: str, number: int, sample: str
) -> None:
    from tests.site.conftest import SiteClient

    translated = walk(SiteClient(), sim, language, number)
    assert translated.keys() == english.keys()
    for name, text in translated.items():
        assert latin_words(english[name]) - ALLOWED, f"{name}: the English page has words to translate"
        assert text != english[name], f"{name}: not translated"
        assert not english_left(english[name], text, language), f"{name} ({language}): {text}"
    assert sample in translated["sign in with a code"]


def test_the_walk_sees_each_refusal(english: dict[str, str]) -> None:
    """Without this, a step that silently showed the wrong page would leave its errors untested."""
    assert "This field is required." in english["nothing typed"]
    assert "Enter a phone number with its country code" in english["not a phone number"]
    assert "The message could not be sent to this recipient." in english["a blocked number"]
    assert "Messages cannot be sent to numbers in this region." in english["a region refused"]
    assert re.search(r"You can ask for another in \d+ seconds", english["another code at once"])
    assert "You can try 4 more times." in english["a wrong code"]
    assert "You are signed in with a code." in english["the right code"]
    assert "You are signed out." in english["signed out"]
    assert "Please enter a correct username and password." in english["a wrong password"]
    assert "by SMS" in english["the right password"]
    assert "You are signed in with a password and a code." in english["its code"]


def test_the_english_leftover_check_can_fail() -> None:
    assert english_left("Sign in with a code", "使用验证码登录 (Sign in)", "zh-hans") == {"sign", "in"}


def test_the_language_switcher_changes_the_language(visitor: Any) -> None:
    response = visitor.post("/i18n/setlang/", {"language": "zh-hant", "next": "/sign-in/password/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/sign-in/password/"
    html = page(response)
    assert '<html lang="zh-hant">' in html
    assert "使用密碼登入" in html
    assert '<option value="zh-hant" lang="zh-hant" selected>繁體中文</option>' in html
