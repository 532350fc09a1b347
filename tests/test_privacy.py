"""What may be shown of a recipient, and what is never stored or echoed."""

from __future__ import annotations

import pytest

from django_engagelab_otp.privacy import REDACTED, SENSITIVE_PARAMS, mask_recipient, redact_params, scrub


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+8618701235678", "+86 187****5678"),
        ("+447911123456", "+44 7*****3456"),
        ("+12025550143", "+1 2*****0143"),
        ("+35312345", "+353 ***45"),
        ("+3225550143", "+32 2***0143"),
        ("bob@example.com", "b**@example.com"),
        ("a@example.com", "a**@example.com"),
        ("robert.smith@example.com", "r***********@example.com"),
        ("+999", "***"),
        ("12345678", "1***5678"),
        ("", ""),
    ],
)
def test_mask_recipient(value, masked):
    assert mask_recipient(value) == masked


@pytest.mark.parametrize("value", ["+8618701235678", "+447911123456", "+3225550143", "+35312345", "123456789012"])
def test_masks_hide_a_third_of_the_digits_or_more(value):
    shown = mask_recipient(value).partition(" ")[2] or mask_recipient(value)
    assert shown.count("*") * 3 >= len(shown)


def test_redact_params():
    assert redact_params(
        {"name": "Bob", "code": "123456", "Code": "1", "OTP": "2", "pin": "3", "verify_code": "4"}
    ) == {
        "name": "Bob",
        "code": REDACTED,
        "Code": REDACTED,
        "OTP": REDACTED,
        "pin": REDACTED,
        "verify_code": REDACTED,
    }
    assert redact_params(None) == {}
    assert redact_params({"token": "t"}, sensitive=["TOKEN"]) == {"token": REDACTED}
    assert "code" in SENSITIVE_PARAMS


def test_redact_params_copies():
    params = {"code": "123456"}
    redact_params(params)
    assert params == {"code": "123456"}


def test_scrub():
    assert scrub("code 123456 for key abc, abcdef", ["abc", "abcdef", "123456"]) == (
        f"code {REDACTED} for key {REDACTED}, {REDACTED}"
    )
    assert scrub("nothing here", [None, "", "absent"]) == "nothing here"
    assert scrub("pin 4821", [4821]) == f"pin {REDACTED}"
