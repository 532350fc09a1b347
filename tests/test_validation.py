"""Input checks made before any request."""

from __future__ import annotations

from decimal import Decimal

import phonenumbers
import pytest
from django import forms
from django.core.exceptions import ValidationError

from django_engagelab_otp import validation
from django_engagelab_otp.exceptions import InvalidInputError
from django_engagelab_otp.validation import validate_recipient
from tests.support.constants import PHONE
from tests.support.settings import engagelab


def refused(call, *args, **kwargs) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as info:
        call(*args, **kwargs)
    return info.value


# ---------------------------------------------------------------- recipients


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (PHONE, PHONE),
        ("+86 187 0123 5678", PHONE),
        ("  +86-187-0123-5678 ", PHONE),
        ("+44 7911 123456", "+447911123456"),
        ("+1 (202) 555-0143", "+12025550143"),
        ("bob@example.com", "bob@example.com"),
        ("Bob.Smith@EXAMPLE.com", "Bob.Smith@example.com"),
    ],
)
def test_recipient(value, expected):
    assert validation.recipient(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "12345",
        "+1",
        "+86 187",
        "+999 1234567",
        "phone",
        "bob@",
        "@example.com",
        "bob@@example.com",
        "a@b",
        "+86187012356789999",
        "+86187\n01235678",
        "bob\x00@example.com",
        None,
        8618701235678,
        ["+86"],
        "x" * 321 + "@example.com",
    ],
)
def test_recipient_refused(value):
    error = refused(validation.recipient, value)
    assert error.field == "to" and error.message


def test_national_numbers_need_a_region():
    error = refused(validation.recipient, "187 0123 5678")
    assert "country code" in error.message
    assert validation.recipient("187 0123 5678", region="CN") == PHONE
    assert validation.recipient("07911 123456", region="GB") == "+447911123456"
    assert "country code" not in refused(validation.recipient, "123", region="GB").message


def test_recipients_list_is_normalized_and_deduplicated():
    assert validation.recipients([PHONE, "+86 187 0123 5678", "bob@example.com", "bob@EXAMPLE.com"]) == [
        PHONE,
        "bob@example.com",
    ]
    assert validation.recipients((PHONE,)) == [PHONE]
    assert validation.recipients(PHONE) == PHONE


@pytest.mark.parametrize("value", [[], set(), {PHONE}, b"+86", 12, None, {"to": PHONE}])
def test_recipients_refused(value):
    assert refused(validation.recipients, value).field == "to"


def test_recipients_name_the_bad_one():
    error = refused(validation.recipients, [PHONE, "bob@example.com", "nope"])
    assert error.message.startswith("Recipient 3: ")


def test_recipients_have_a_maximum():
    many = [f"user{n}@example.com" for n in range(validation.MAX_RECIPIENTS)]
    assert len(validation.recipients(many)) == validation.MAX_RECIPIENTS
    assert "100" in refused(validation.recipients, [*many, "one@example.com"]).message


# ---------------------------------------------------------------- template, language


def test_template_id():
    assert validation.template_id("  login-otp ") == "login-otp"
    assert validation.template_id("x" * 128) == "x" * 128
    for value in ("", "  ", "x" * 129, None, 5, "a\nb"):
        assert refused(validation.template_id, value).field == "template_id"


@pytest.mark.parametrize("value", ["default", "zh_CN", "zh_HK", "en", "ja", "th", "es"])
def test_documented_languages(value):
    assert validation.language(value) == value


@pytest.mark.parametrize("value", ["fr", "EN", "", None, "zh-CN", ["en"]])
def test_other_languages_refused(value):
    error = refused(validation.language, value)
    assert error.field == "language" and "zh_CN" in error.message


# ---------------------------------------------------------------- params


def test_params_flat_text():
    assert validation.params(None) == {}
    assert validation.params({}) == {}
    assert validation.params(
        {"name": "Bob", "n": 3, "price": 9.5, "total": Decimal("12.50"), "big": Decimal("1E+2")}
    ) == {
        "name": "Bob",
        "n": "3",
        "price": "9.5",
        "total": "12.50",
        "big": "100",
    }
    assert validation.params({"note": "line one\nline two"}) == {"note": "line one\nline two"}


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"name": None}, ["'name'", "NoneType"]),
        ({"ok": True}, ["'ok'", "bool"]),
        ({"items": ["a"]}, ["'items'", "list"]),
        ({"nested": {"a": "b"}}, ["'nested'", "dict"]),
        ({"when": object()}, ["'when'", "object"]),
        ({"ratio": float("nan")}, ["'ratio'", "finite"]),
        ({"ratio": float("inf")}, ["'ratio'", "finite"]),
        ({"ratio": Decimal("NaN")}, ["'ratio'", "finite"]),
        ({"ratio": Decimal("sNaN")}, ["'ratio'", "finite"]),
        ({"ratio": Decimal("-Infinity")}, ["'ratio'", "finite"]),
        ({"huge": 10**5000}, ["'huge'", "too long"]),
        ({"huge": Decimal("1E+999999999")}, ["'huge'", "too long"]),
        ({"long": "x" * 1001}, ["'long'", "too long"]),
        ({"nul": "a\x00b"}, ["'nul'", "NUL"]),
        ({"": "x"}, ["names"]),
        ({3: "x"}, ["names", "3"]),
        ({"a\nb": "x"}, ["names"]),
        ({"k" * 65: "x"}, ["names"]),
        (["name"], ["mapping"]),
        ("name=Bob", ["mapping"]),
        ({f"k{n}": "v" for n in range(51)}, ["50"]),
    ],
)
def test_params_refused_with_a_message_naming_the_key(value, words):
    error = refused(validation.params, value)
    assert error.field == "params"
    for word in words:
        assert word in error.message


# ---------------------------------------------------------------- codes and message ids


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("123456", "123456"),
        (" 0042 ", "0042"),
        ("Ab3xYz9", "Ab3xYz9"),
        (123456, "123456"),
        ("1234567890", "1234567890"),
        ("１２３４５６", "123456"),
    ],
)
def test_code(value, expected):
    assert validation.code(value) == expected


@pytest.mark.parametrize("value", ["", "123", "12345678901", "12 34", "12-34", "١٢٣٤٥٦", None, True, 12.5])
def test_code_refused(value):
    assert refused(validation.code, value).field == "code"


@pytest.mark.parametrize(
    ("value", "expected"), [("1725407449772531712", "1725407449772531712"), (" m-1_a.b:c ", "m-1_a.b:c"), (17, "17")]
)
def test_message_id(value, expected):
    assert validation.message_id(value) == expected


@pytest.mark.parametrize("value", ["", "  ", None, False, "a b", "x" * 65, "../etc", "i\nd"])
def test_message_id_refused(value):
    assert refused(validation.message_id, value).field == "message_id"


# ---------------------------------------------------------------- the Django validator


class ContactForm(forms.Form):
    to = forms.CharField(validators=[validate_recipient])


def test_validator_in_a_form():
    assert ContactForm({"to": "+86 187 0123 5678"}).is_valid()
    form = ContactForm({"to": "12345"})
    assert not form.is_valid()
    assert form.errors["to"] == [
        "Enter a phone number with its country code, like +86 187 0123 5678, or an e-mail address."
    ]
    assert form.errors.as_data()["to"][0].code == "invalid"


def test_validator_reads_the_default_region_when_called():
    with pytest.raises(ValidationError):
        validate_recipient("187 0123 5678")
    with engagelab(DEFAULT_REGION="CN"):
        assert validate_recipient("187 0123 5678") == "+8618701235678"


def test_validate_recipient_returns_what_is_sent_and_applies_the_destination_rules():
    assert validate_recipient(" Bob@Example.COM ") == "Bob@example.com"
    assert validate_recipient("+86 187-0123-5678") == "+8618701235678"
    denied = engagelab(DENIED_COUNTRIES=["CN"])
    with denied, pytest.raises(ValidationError) as info:
        validate_recipient("+8618701235678")
    assert info.value.messages == ["Messages cannot be sent to phone numbers of this country."]


def test_validate_recipient_is_public():
    import django_engagelab_otp

    assert django_engagelab_otp.validate_recipient is validate_recipient


# ---------------------------------------------------------------- what each refusal says, exactly

COUNTRY_CODE = "Enter a phone number with its country code, like +86 187 0123 5678, or an e-mail address."
VALID_NUMBER = "Enter a valid phone number or e-mail address."
LANGUAGE_CHOICES = "default, zh_CN, zh_HK, en, ja, th, es"


@pytest.mark.parametrize(
    ("call", "value", "field", "message"),
    [
        (validation.recipient, None, "to", "The recipient must be text."),
        (validation.recipient, "  ", "to", "The recipient is required."),
        (validation.recipient, "+86\x7f187", "to", "The recipient contains control or invisible characters."),
        (validation.recipient, "x" * 321, "to", "The recipient is too long."),
        (validation.recipient, "x" * 320, "to", COUNTRY_CODE),
        (validation.recipient, "+999 1234567", "to", VALID_NUMBER),
        (validation.recipients, 12, "to", "Recipients must be text or a list of texts."),
        (validation.recipients, [], "to", "At least one recipient is required."),
        (validation.recipients, [PHONE, "nope"], "to", f"Recipient 2: {COUNTRY_CODE}"),
        (validation.template_id, 5, "template_id", "The template id must be text."),
        (validation.template_id, "", "template_id", "The template id is required."),
        (
            validation.template_id,
            "a\u200bb",
            "template_id",
            "The template id contains control or invisible characters.",
        ),
        (validation.template_id, "x" * 129, "template_id", "The template id must be at most 128 characters."),
        (validation.language, "fr", "language", f"Unknown language 'fr'; use one of: {LANGUAGE_CHOICES}."),
        (validation.language, "y" * 25, "language", f"Unknown language '{'y' * 20}'; use one of: {LANGUAGE_CHOICES}."),
        (validation.params, ["a"], "params", "Template parameters must be a mapping of names to texts."),
        (validation.params, {f"k{n}": "v" for n in range(51)}, "params", "Too many template parameters (at most 50)."),
        (
            validation.params,
            {"k" * 65: "v"},
            "params",
            f"Template parameter names must be non-empty texts of at most 64 characters, not {repr('k' * 65)[:64]}.",
        ),
        (validation.params, {"n": None}, "params", "Template parameter 'n' must be text or a number, not NoneType."),
        (validation.params, {"n": float("nan")}, "params", "Template parameter 'n' is not a finite number."),
        (
            validation.params,
            {"n": "x" * 1001},
            "params",
            "Template parameter 'n' is too long or contains a NUL character.",
        ),
        (validation.code, "12", "code", "Enter the code: 4 to 10 letters or digits."),
        (validation.message_id, " ", "message_id", "A message id is required."),
        (validation.message_id, "x" * 65, "message_id", "This is not a valid message id."),
    ],
)
def test_each_refusal_names_its_field_and_says_why(call, value, field, message):
    error = refused(call, value)
    assert (error.field, error.message) == (field, message)


def test_invisible_characters_are_refused_wherever_text_is_read():
    for invisible in ("\u200b", "\u202e", "\ufeff"):  # zero-width space, right-to-left override, BOM
        assert refused(validation.recipient, f"bob{invisible}@example.com").field == "to"
    assert validation.template_id("a\u00a0b") == "a\u00a0b", "a no-break space is visible"


# ---------------------------------------------------------------- sizes: the largest accepted, the smallest refused


def test_every_size_limit_accepts_its_maximum_and_refuses_one_more():
    assert validation.params({f"k{n}": "v" for n in range(50)})
    assert validation.params({"k" * 64: "v"}) == {"k" * 64: "v"}
    assert validation.params({"n": "x" * 1000}) == {"n": "x" * 1000}
    assert validation.params({"n": Decimal("1E+999")}) == {"n": "1" + "0" * 999}
    assert validation.params({"n": 10**999}) == {"n": str(10**999)}
    assert refused(validation.params, {"n": 10**1000}).message.endswith("is too long or contains a NUL character.")
    assert validation.message_id("x" * 64) == "x" * 64
    assert len(validation.recipients([f"u{n}@example.com" for n in range(100)])) == 100


def test_more_recipients_than_one_message_takes_are_refused_under_to():
    many = [f"u{n}@example.com" for n in range(101)]
    error = refused(validation.recipients, many)
    assert (error.field, error.message) == ("to", "At most 100 recipients can share one message.")


# ---------------------------------------------------------------- regions and destinations


def test_recipients_read_national_numbers_in_the_region_given():
    assert validation.recipients("187 0123 5678", region="CN") == PHONE
    assert validation.recipients(["187 0123 5678", "+447911123456"], region="CN") == [PHONE, "+447911123456"]


def test_allowed_countries_refuse_the_others():
    with engagelab(ALLOWED_COUNTRIES=["CN"]):
        assert validation.recipient(PHONE) == PHONE
        error = refused(validation.recipient, "+447911123456")
    assert (error.field, error.message) == ("to", "Messages cannot be sent to phone numbers of this country.")


def test_a_denied_number_type_is_named_in_words():
    premium = phonenumbers.example_number_for_type("GB", phonenumbers.PhoneNumberType.PREMIUM_RATE)
    error = refused(validation.destination, premium)
    assert (error.field, error.message) == ("to", "Messages cannot be sent to premium-rate numbers.")


def test_normalize_recipient_reads_like_recipient_without_the_destination_rules():
    assert validation.normalize_recipient("187 0123 5678", region="CN") == PHONE
    assert validation.normalize_recipient(" Bob@EXAMPLE.com ") == "Bob@example.com"
    assert validation.normalize_recipient('"bob"@example.com') == "bob@example.com"
    with engagelab(DENIED_COUNTRIES=["CN"]):
        assert validation.normalize_recipient("+86 187 0123 5678") == PHONE


def test_a_number_is_accepted_exactly_when_phonenumbers_calls_it_valid():
    """Validity is read from the number's type (one metadata lookup): the same verdict as ``is_valid_number``."""
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                numbers += [e164, e164[:-1], e164 + "0"]  # valid, one digit short, one too many
    numbers += ["+80012345678", "+8790123456", "+99912345678"]  # non-geographic, unassigned codes
    checked = 0
    with engagelab(DENIED_NUMBER_TYPES=[]):
        for text in numbers:
            try:
                expected = phonenumbers.is_valid_number(phonenumbers.parse(text))
            except phonenumbers.NumberParseException:
                expected = False
            try:
                validation.recipient(text)
                accepted = True
            except InvalidInputError:
                accepted = False
            assert accepted == expected, text
            checked += 1
    assert checked > 1000
