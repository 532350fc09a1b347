"""Destinations: allowed and denied countries, denied number types, refused before any request."""

from __future__ import annotations

from io import StringIO

import phonenumbers
import pytest
from django.core.checks import run_checks
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from phonenumbers import PhoneNumberType

from django_engagelab_otp import send_code, send_custom_message, send_otp
from django_engagelab_otp.checks import TAG
from django_engagelab_otp.exceptions import InvalidInputError
from django_engagelab_otp.forms import SendOTPForm
from django_engagelab_otp.management.base import Exit
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.simulator.magic import MAGIC
from django_engagelab_otp.validation import normalize_recipient, recipient, validate_recipient
from tests.support.settings import configure, engagelab

pytestmark = pytest.mark.django_db


def example(region: str, kind: int) -> str:
    number = phonenumbers.example_number_for_type(region, kind)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


PREMIUM_GB = example("GB", PhoneNumberType.PREMIUM_RATE)
PREMIUM_US = example("US", PhoneNumberType.PREMIUM_RATE)
SHARED_COST_FR = example("FR", PhoneNumberType.SHARED_COST)
GLOBAL_FREEPHONE = "+80012345678"  # +800: a number of no country

ORDINARY = [
    "+8618701235678",  # China, mobile
    "+6591234567",  # Singapore, mobile
    "+447911123456",  # +44 mobile
    "+442079460123",  # London, fixed line
    "+12025550143",  # US, fixed line or mobile
    "+33612345678",  # France, mobile
    "+4915123456789",  # Germany, mobile
    example("GB", PhoneNumberType.TOLL_FREE),
    example("GB", PhoneNumberType.VOIP),
]


@pytest.mark.parametrize("number", ORDINARY)
def test_ordinary_numbers_pass_the_defaults(number):
    assert recipient(number) == number


@pytest.mark.parametrize("magic", [m for m in MAGIC if m.phone], ids=lambda m: m.name)
def test_the_simulators_magic_numbers_pass_the_defaults(magic):
    assert recipient(magic.phone) == magic.phone


@pytest.mark.parametrize(
    ("number", "words"),
    [(PREMIUM_GB, "premium-rate"), (PREMIUM_US, "premium-rate"), (SHARED_COST_FR, "shared-cost")],
)
def test_premium_rate_and_shared_cost_numbers_are_refused_by_default(api, number, words):
    with pytest.raises(InvalidInputError) as info:
        send_otp(number)
    assert info.value.field == "to" and words in info.value.message and number not in info.value.message
    assert not api.calls and not MessageLog.objects.exists()


def test_denied_number_types_are_a_setting(settings):
    configure(settings, DENIED_NUMBER_TYPES=["MOBILE"])
    assert recipient(PREMIUM_GB) == PREMIUM_GB
    with pytest.raises(InvalidInputError, match="mobile numbers"):
        recipient("+8618701235678")
    configure(settings, DENIED_NUMBER_TYPES=[])
    assert recipient(SHARED_COST_FR) == SHARED_COST_FR


def test_allowed_countries(api, settings):
    configure(settings, ALLOWED_COUNTRIES=["GB", "SG"])
    assert recipient("+442079460123") and recipient("+6591234567")
    with pytest.raises(InvalidInputError) as info:
        send_otp("+8618701235678")
    assert info.value.field == "to" and "country" in info.value.message
    assert recipient("bob@example.com") == "bob@example.com", "e-mail addresses have no country"
    with pytest.raises(InvalidInputError):
        recipient(GLOBAL_FREEPHONE)
    assert not api.calls and not MessageLog.objects.exists()


def test_regions_are_those_phonenumbers_gives(settings):
    # +44 7911 belongs to Guernsey: an allow-list of "GB" alone refuses it.
    configure(settings, ALLOWED_COUNTRIES=["GB"])
    with pytest.raises(InvalidInputError):
        recipient("+447911123456")
    configure(settings, ALLOWED_COUNTRIES=["GB", "GG"])
    assert recipient("+447911123456")


def test_denied_countries_and_numbers_of_no_country(settings):
    configure(settings, DENIED_COUNTRIES=["CN", "001"])
    with pytest.raises(InvalidInputError, match="country"):
        recipient("+8618701235678")
    with pytest.raises(InvalidInputError, match="country"):
        recipient(GLOBAL_FREEPHONE)
    assert recipient("+6591234567")


def test_one_name_given_as_text_and_in_lower_case_still_counts(settings):
    configure(settings, DENIED_COUNTRIES="cn")
    with pytest.raises(InvalidInputError):
        recipient("+8618701235678")
    assert recipient("+6591234567")
    configure(settings, DENIED_COUNTRIES=(), DENIED_NUMBER_TYPES="mobile")
    with pytest.raises(InvalidInputError, match="mobile numbers"):
        recipient("+6591234567")


def test_the_form_shows_the_refusal_under_to(api, settings):
    configure(settings, DENIED_COUNTRIES=["CN"])
    form = SendOTPForm({"to": "+86 187 0123 5678"})
    assert not form.is_valid()
    assert list(form.errors) == ["to"] and "country" in form.errors["to"][0]
    form = SendOTPForm({"to": PREMIUM_GB})
    assert not form.is_valid() and "premium-rate" in form.errors["to"][0]
    assert not api.calls and not MessageLog.objects.exists()


def test_every_send_applies_the_rules(api, settings):
    configure(settings, DENIED_COUNTRIES=["CN"])
    with pytest.raises(InvalidInputError):
        send_code("+8618701235678", "482910", "my-code")
    with pytest.raises(InvalidInputError) as info:
        send_custom_message(["+6591234567", "+8618701235678"], "order-shipped")
    assert info.value.message.startswith("Recipient 2:") and info.value.field == "to"
    assert not api.calls and not MessageLog.objects.exists()


def test_the_form_field_validator_applies_them(settings):
    configure(settings, DENIED_COUNTRIES=["CN"])
    with pytest.raises(ValidationError):
        validate_recipient("+8618701235678")


def test_finding_a_number_is_not_refused(settings):
    # The admin's search and recipient_lookup read numbers that may no longer be sent to.
    configure(settings, DENIED_COUNTRIES=["CN"])
    assert normalize_recipient("+86 187 0123 5678") == "+8618701235678"
    assert normalize_recipient(PREMIUM_GB) == PREMIUM_GB


def test_the_send_command_refuses_with_exit_2(api, settings):
    configure(settings, DENIED_COUNTRIES=["CN"])
    with pytest.raises(CommandError) as info:
        call_command("engagelab_send", "--to", "+8618701235678", stdout=StringIO())
    assert info.value.returncode == Exit.USAGE and "country" in str(info.value)
    assert not api.calls


# ---------------------------------------------------------------- checks


def ids(**changes):
    with engagelab(**changes):
        return {message.id.split(".")[1]: message for message in run_checks(tags=[TAG])}


@pytest.mark.parametrize(
    ("changes", "check_id", "word"),
    [
        ({"ALLOWED_COUNTRIES": ["GB", "UK"]}, "E014", "'UK'"),
        ({"ALLOWED_COUNTRIES": ["GB", "Britain"]}, "E014", "'Britain'"),
        ({"DENIED_COUNTRIES": 44}, "E014", "44"),
        ({"DENIED_NUMBER_TYPES": ["PREMIUM"]}, "E015", "'PREMIUM'"),
        ({"DENIED_NUMBER_TYPES": 7}, "E015", "7"),
    ],
)
def test_wrong_destination_settings_are_reported(changes, check_id, word):
    found = ids(**changes)
    assert list(found) == [check_id] and word in found[check_id].msg and found[check_id].hint


def test_good_destination_settings_pass():
    assert ids(ALLOWED_COUNTRIES=["GB", "GG", "001"], DENIED_COUNTRIES=("CN",), DENIED_NUMBER_TYPES={"VOIP"}) == {}
    assert ids(ALLOWED_COUNTRIES=[], DENIED_NUMBER_TYPES=[]) == {}
