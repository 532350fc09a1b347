"""Who counts as the same e-mail recipient: the canonical form sent, stored, hashed, counted and searched for."""

from __future__ import annotations

import json
import string

import idna
import pytest
from django.core.validators import EmailValidator
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from django_engagelab_otp import send_otp
from django_engagelab_otp.exceptions import InvalidInputError
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.privacy import read_recipient
from django_engagelab_otp.simulator.platform import _EMAIL as PLATFORM_EMAIL
from django_engagelab_otp.validation import recipient, validate_recipient
from tests.support.answers import accept

#: 64 + 1 + 247 = 312 characters: every label within 63, the whole within Django's 320.
TOO_LONG = "x" * 64 + "@" + ("a" * 60 + ".") * 4 + "com"


def refused(value: str) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as info:
        recipient(value)
    assert info.value.field == "to"
    return info.value


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("bob@EXAMPLE.com", "bob@example.com"),
        ('"bob"@example.com', "bob@example.com"),
        ('"b\\ob"@example.com', "bob@example.com"),
        ('"bob.smith"@Example.com', "bob.smith@example.com"),
        ("bob@bücher.example", "bob@xn--bcher-kva.example"),
        ("bob@Bücher.EXAMPLE", "bob@xn--bcher-kva.example"),
        ("bob@XN--BCHER-KVA.example", "bob@xn--bcher-kva.example"),
        ("bob@example。com", "bob@example.com"),
        ("bob@ｅｘａｍｐｌｅ.com", "bob@example.com"),
        ("bob@пример.рф", "bob@xn--e1afmkfd.xn--p1ai"),
        # IDNA 2008: ß is its own letter (the standard library's IDNA 2003 would send fass.de).
        ("bob@faß.de", "bob@xn--fa-hia.de"),
    ],
)
def test_spellings_of_one_address_fold_to_one(typed, canonical):
    assert recipient(typed) == canonical
    assert recipient(canonical) == canonical


@pytest.mark.parametrize(
    "kept",
    [
        "Bob@example.com",  # the local part's case is the mailbox owner's business
        "bob+otp@example.com",  # +tags are a convention, not a rule
        "b.o.b@gmail.com",  # Gmail ignores dots; other providers do not
        '"bob..smith"@example.com',  # two dots in a row need the quotes
        '"a,b"@example.com',
        '"a\\"b"@example.com',
    ],
)
def test_what_is_not_certain_is_sent_as_typed(kept):
    assert recipient(kept) == kept


def test_quotes_keep_only_the_backslashes_they_need():
    assert recipient('"\\a\\.\\.b"@example.com') == '"a..b"@example.com'


@pytest.mark.parametrize(
    "value",
    [
        "bob@localhost",  # the platform wants a dot in the domain
        "bob@[127.0.0.1]",  # an IP literal is no mailbox to send a code to
        '"a@b"@example.com',  # the platform refuses a second @, quoted or not
        '"a b"@example.com',
        "bob@☃.net",  # IDNA 2008 disallows symbols
        "bob@xn--n3h.net",  # … however they are spelled
        "bob@xn--abc.com",  # not punycode of anything valid
        "bob@exa_mple.com",
        '"bob@example.com',
    ],
)
def test_addresses_the_platform_would_refuse_are_refused(value):
    assert refused(value).message == "Enter a valid e-mail address."


def test_rfc_5321_lengths():
    assert len(TOO_LONG) == 312
    assert "too long" in refused(TOO_LONG).message
    assert "too long" in refused("x" * 65 + "@example.com").message
    longest = "x" * 64 + "@" + ("a" * 62 + ".") * 2 + "b" * 59 + ".com"
    assert len(longest) == 254 and recipient(longest) == longest
    assert "too long" in refused(longest.replace("@", "@b")).message


def test_the_length_is_that_of_what_is_sent():
    cjk = "".join(chr(0x4E00 + 97 * n) for n in range(72))
    typed = "x" * 64 + "@" + ".".join(cjk[n : n + 12] for n in range(0, 72, 12)) + ".com"
    assert len(typed) == 146, "but 272 octets once its domain is punycode"
    assert "too long" in refused(typed).message


@pytest.mark.django_db
def test_a_312_character_address_is_refused_before_any_request(api):
    with pytest.raises(InvalidInputError) as info:
        send_otp(TOO_LONG)
    assert info.value.field == "to" and "254" in info.value.message
    assert len(api.calls) == 0 and not MessageLog.objects.exists()


@pytest.mark.django_db
def test_the_platform_and_the_history_get_the_canonical_form(api):
    accept(api)
    log = send_otp('"Bob"@Bücher.Example')
    assert json.loads(api.calls[0].request.body)["to"] == "Bob@xn--bcher-kva.example"
    assert log.to == "Bob@xn--bcher-kva.example"


def test_lookups_and_the_validator_read_the_same_form():
    assert read_recipient(' "bob"@Bücher.example ') == "bob@xn--bcher-kva.example"
    assert validate_recipient("bob@BÜCHER.example") == "bob@xn--bcher-kva.example"


# ---------------------------------------------------------------- properties

_ATEXT = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~"
_atom = st.text(_ATEXT, min_size=1, max_size=12)
_dot_atom = st.lists(_atom, min_size=1, max_size=4).map(".".join)
#: Content that needs quotes (specials, dots in a row), with what must be escaped.
_quoted_content = st.text(_ATEXT + '.(),:;<>[]"\\', min_size=1, max_size=20)
_label = st.text(string.ascii_letters + string.digits + "üßéøçñкирλ日本", min_size=1, max_size=20)
_tld = st.sampled_from(["com", "example", "de", "рф", "XN--P1AI", "Test"])
_domain = st.builds(lambda labels, tld: ".".join([*labels, tld]), st.lists(_label, min_size=1, max_size=3), _tld)


def _quote(content: str, data: st.DataObject) -> str:
    """``content`` quoted, each character escaped or not (a backslash and a quote always)."""
    chars = [f"\\{c}" if c in '"\\' or data.draw(st.booleans()) else c for c in content]
    return '"' + "".join(chars) + '"'


def _accepted(address: str) -> str:
    try:
        return recipient(address)
    except InvalidInputError:
        assume(False)
        raise


def _is_sendable(address: str) -> None:
    local = address.rpartition("@")[0]
    assert address.isascii() and len(address) <= 254 and len(local) <= 64
    assert PLATFORM_EMAIL.match(address), "the platform would refuse it"
    EmailValidator(allowlist=[])(address)
    assert recipient(address) == address, "the canonical form is its own"


@settings(max_examples=300, deadline=None)
@given(st.one_of(_dot_atom, _quoted_content), _domain, st.data())
def test_every_spelling_of_an_address_has_one_canonical_form(content, domain, data):
    canonical = _accepted(f"{_quote(content, data)}@{domain}")
    _is_sendable(canonical)
    ascii_domain = canonical.rpartition("@")[2]
    unicode_domain = idna.decode(ascii_domain)
    local = canonical.rpartition("@")[0]
    for spelling in (
        f"{_quote(content, data)}@{domain.upper() if domain.isascii() else domain}",
        f"{local}@{ascii_domain.upper()}",
        f"{local}@{unicode_domain}",
        f"{_quote(content, data)}@{unicode_domain}",
    ):
        assert recipient(spelling) == canonical, spelling
    if _is_dot_atom(content):
        assert canonical == f"{content}@{ascii_domain}", "unnecessary quotes go, the local part is kept as typed"


def _is_dot_atom(content: str) -> bool:
    return all(part and set(part) <= set(_ATEXT) for part in content.split("."))


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.emails(), st.builds("{}@{}".format, st.text(max_size=80), st.text(max_size=80))))
def test_whatever_is_typed_is_refused_or_sendable(typed):
    try:
        canonical = recipient(typed)
    except InvalidInputError as error:
        assert error.field == "to" and error.message
        return
    _is_sendable(canonical)
