"""What may be shown of a recipient, and what is never stored or echoed."""

from __future__ import annotations

import pytest

from django_engagelab_otp.privacy import (
    HASH_PREFIX,
    REDACTED,
    SENSITIVE_PARAMS,
    Masked,
    hash_recipient,
    hide_recipients,
    is_hashed,
    keyed_hash,
    keyed_hashes,
    mailbox,
    mask_recipient,
    read_recipient,
    recipient_lookup,
    recipient_lookups,
    redact_params,
    scrub,
    stored_recipient,
)
from tests.support.constants import PHONE
from tests.support.settings import configure


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


def test_scrub_replaces_the_longest_secret_first_whatever_their_order():
    # "b" sorts after "abc": replaced first, it would leave "a" and "c" of the longer secret behind.
    assert scrub("x abc x", ["b", "abc"]) == f"x {REDACTED} x"
    assert scrub("x abc x", ["abc", "b"]) == f"x {REDACTED} x"
    assert scrub("code 0", [0]) == f"code {REDACTED}", "a secret that is falsy but not empty counts"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("1234", "****"),
        ("12345", "***45"),
        ("1234567", "*****67"),
        ("12345678901", "123****8901"),
        ("x@y@example.com", "x**@example.com"),
        ("hmac:" + "5e15e6caf15024f1" * 4, "hmac:5e15e6ca…"),
    ],
)
def test_masks_at_the_edges_of_each_size(value, masked):
    assert mask_recipient(value) == masked


def test_masked_masks_only_when_written():
    shown = Masked(PHONE)
    assert (str(shown), repr(shown), shown.value) == ("+86 187****5678", "+86 187****5678", PHONE)


# ---------------------------------------------------------------- keyed hashes

#: keyed_hash(PHONE, "recipient") under the test settings' SECRET_KEY: rows hashed by one version
#: are found by the next only while the hash stays the same.
PHONE_HASH = "5e15e6caf15024f1962e23e2e7c1267dbd427202d253451c6968bf2b778fc4ed"
#: The same under the key "old-key".
PHONE_HASH_OLD = "f25f80b4c333aabade43a2347ec59aaa0f25a937897f7fa1a7fc5dfa2e8d1329"


def test_keyed_hashes_stay_the_same_and_differ_by_purpose_and_key():
    assert keyed_hash(PHONE, "recipient") == PHONE_HASH
    assert keyed_hash(PHONE, "recipient", secret="old-key") == PHONE_HASH_OLD
    assert keyed_hash(PHONE, "limits") != PHONE_HASH
    assert hash_recipient(PHONE) == HASH_PREFIX + PHONE_HASH


def test_keyed_hashes_cover_the_fallback_keys_each_once(settings):
    assert keyed_hashes(PHONE, "recipient") == [PHONE_HASH]
    settings.SECRET_KEY_FALLBACKS = ["old-key", settings.SECRET_KEY, "old-key"]
    assert keyed_hashes(PHONE, "recipient") == [PHONE_HASH, PHONE_HASH_OLD]


def test_email_addresses_are_hashed_in_lower_case():
    assert hash_recipient("Bob@Example.com") == hash_recipient("bob@example.com")
    assert hash_recipient("bob@example.com") == HASH_PREFIX + keyed_hash("bob@example.com", "recipient")
    assert is_hashed(hash_recipient("bob@example.com")) and not is_hashed(PHONE)


@pytest.mark.parametrize(
    ("value", "box"),
    [
        (PHONE, PHONE),
        ("Bob@Example.COM", "bob@example.com"),
        ("Bob+news@x.com", "bob@x.com"),
        ("a+b+c@x.com", "a@x.com"),
        ("+tag@x.com", "+tag@x.com"),
    ],
)
def test_mailbox(value, box):
    assert mailbox(value) == box


def test_stored_recipient_follows_hash_recipients(settings):
    assert stored_recipient(PHONE) == PHONE
    configure(settings, HASH_RECIPIENTS=True)
    assert stored_recipient(PHONE) == HASH_PREFIX + PHONE_HASH


# ---------------------------------------------------------------- finding what a person typed


@pytest.mark.parametrize(
    "typed",
    [PHONE, " +86 187 0123 5678 ", "0086 187 0123 5678", "86 187 0123 5678", "8618701235678"],
)
def test_a_recipient_is_read_in_any_usual_spelling(typed):
    assert read_recipient(typed) == PHONE
    assert recipient_lookup(typed) == PHONE and recipient_lookups(typed) == [PHONE]


def test_national_numbers_are_read_in_the_default_region(settings):
    assert read_recipient("187 0123 5678") is None
    configure(settings, DEFAULT_REGION="CN")
    assert read_recipient("187 0123 5678") == PHONE


@pytest.mark.parametrize("typed", [None, 8618701235678, "", "   ", "12", "bob@", "+86 187"])
def test_what_is_no_complete_recipient_finds_nothing(typed):
    assert read_recipient(typed) is None
    assert recipient_lookup(typed) is None and recipient_lookups(typed) == []


def test_addresses_are_read_in_their_canonical_form():
    assert read_recipient(" Bob@EXAMPLE.com ") == "Bob@example.com"


def test_with_hash_recipients_lookups_are_the_hashes_under_every_key(settings):
    configure(settings, HASH_RECIPIENTS=True)
    assert recipient_lookup("0086 187 0123 5678") == HASH_PREFIX + PHONE_HASH
    settings.SECRET_KEY_FALLBACKS = ["old-key"]
    assert recipient_lookups(PHONE) == [HASH_PREFIX + PHONE_HASH, HASH_PREFIX + PHONE_HASH_OLD]
    assert recipient_lookups("Bob@Example.com") == [
        HASH_PREFIX + keyed_hash("bob@example.com", "recipient"),
        HASH_PREFIX + keyed_hash("bob@example.com", "recipient", secret="old-key"),
    ]


# ---------------------------------------------------------------- callback rows


def reply_row(**data):
    return {"message_id": "m1", "to": PHONE, "response": {"event": "uplink", "response_data": data}}


def test_callback_rows_are_kept_as_they_came_without_hash_recipients():
    row = reply_row(**{"from": PHONE})
    assert hide_recipients(row) is row


def test_callback_rows_have_their_numbers_hashed(settings):
    configure(settings, HASH_RECIPIENTS=True)
    row = reply_row(**{"from": "86 187 0123 5678", "to": "+447911123456", "text": "STOP"})
    hidden = hide_recipients(row)
    assert hidden == {
        "message_id": "m1",
        "to": HASH_PREFIX + PHONE_HASH,
        "response": {
            "event": "uplink",
            "response_data": {"from": HASH_PREFIX + PHONE_HASH, "to": hash_recipient("+447911123456"), "text": "STOP"},
        },
    }
    assert row == reply_row(**{"from": "86 187 0123 5678", "to": "+447911123456", "text": "STOP"}), "a copy"
    assert hide_recipients(hidden) == hidden, "a hash is not hashed again"


def test_callback_rows_hash_an_unreadable_recipient_as_it_came_and_leave_other_values(settings):
    configure(settings, HASH_RECIPIENTS=True)
    row = {"to": "not a number", "response": {"response_data": {"from": 8618701235678, "to": None}}}
    assert hide_recipients(row) == {
        "to": hash_recipient("not a number"),
        "response": {"response_data": {"from": 8618701235678, "to": None}},
    }
    assert hide_recipients({"to": "", "response": "text"}) == {"to": "", "response": "text"}
    assert hide_recipients({"to": 42, "response": {"response_data": "x"}}) == {
        "to": 42,
        "response": {"response_data": "x"},
    }


def test_the_mailbox_of_an_address_whose_quoted_local_part_holds_an_at_sign():
    assert mailbox('"a@b"@example.com') == '"a@b"@example.com'


def test_a_value_that_is_no_number_is_masked_as_it_is():
    assert mask_recipient("Xyz12345") == "X***2345"


def test_an_unreadable_callback_recipient_is_hashed_exactly_as_it_came(settings):
    configure(settings, HASH_RECIPIENTS=True)
    hidden = hide_recipients({"to": "Not A Number"})
    assert hidden == {"to": HASH_PREFIX + keyed_hash("Not A Number", "recipient")}
