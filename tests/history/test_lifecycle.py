"""The lifecycle rules: statuses move forward, final stays final, fallback follows the platform."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_engagelab_otp.history.lifecycle import PROOF_STATUSES, can_move, normalize, replay
from django_engagelab_otp.models import FAILURE_STATUSES, FINAL_STATUSES, REACHED_STATUSES, Status

#: The ``message_status`` values the platform reports in callbacks (ENGAGELAB_API.md).
CALLBACK_STATUSES = frozenset(Status.values) - {Status.PENDING, Status.UNKNOWN, Status.ACCEPTED, Status.FAILED}

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Report:
    status: str
    seconds: int
    channel: str = "sms"
    current: str = ""

    @property
    def occurred_at(self) -> datetime:
        return T0 + timedelta(seconds=self.seconds)

    @property
    def current_send_channel(self) -> str:
        return self.current or self.channel


WA_THEN_SMS = [
    Report("plan", 0, "whatsapp"),
    Report("sent", 1, "whatsapp"),
    Report("sent_failed", 5, "whatsapp"),
    Report("plan", 6),
    Report("sent", 7),
    Report("delivered", 9),
]


def outcome(reports):
    result = replay(reports)
    return result.status, result.channel


def test_forward_only_within_a_channel():
    assert can_move("accepted", "plan")
    assert can_move("sent", "delivered")
    assert not can_move("delivered", "sent")
    assert not can_move("sent", "plan")
    assert not can_move("sent", "sent")


def test_final_statuses_stay_final():
    for final in FINAL_STATUSES - {"verified_failed", "delivered"}:
        for new in CALLBACK_STATUSES - REACHED_STATUSES:
            assert not can_move(final, new), (final, new)
    assert not can_move("verified", "verified_timeout")
    assert not can_move("verified_timeout", "verified")


def test_verification_follows_delivery():
    assert can_move("delivered", "verified")
    assert can_move("delivered", "verified_failed")
    assert can_move("verified_failed", "verified")
    assert outcome([Report("delivered", 1), Report("verified_failed", 2), Report("verified", 3)])[0] == "verified"


def test_unknown_status_changes_nothing():
    assert not can_move("sent", "bounced_by_martians")
    assert outcome([Report("sent", 1), Report("bounced_by_martians", 2)])[0] == "sent"


def test_spelling_variants():
    assert normalize("sent_fail") == "sent_failed"
    assert normalize("delivered") == "delivered"
    assert outcome([Report("sent", 1), Report("sent_fail", 2)])[0] == "sent_failed"


def test_whatsapp_failure_then_sms_delivery_ends_delivered_by_sms():
    assert outcome(WA_THEN_SMS) == ("delivered", "sms")


def test_fallback_reported_in_the_same_second():
    # The WhatsApp failure and the whole SMS attempt carry one itime.
    reports = [Report("sent", 0, "whatsapp"), Report("sent_failed", 3, "whatsapp")]
    reports += [Report("plan", 3), Report("sent", 3)]
    assert outcome(reports) == ("sent", "sms")


def test_failure_row_that_already_names_the_next_channel():
    # channel says which attempt failed, current_send_channel where the platform went.
    reports = [Report("sent", 0, "whatsapp"), Report("sent_failed", 2, "whatsapp", current="sms")]
    assert outcome(reports) == ("sent_failed", "sms")
    assert outcome([*reports, Report("sent", 3), Report("delivered", 4)]) == ("delivered", "sms")


def test_channel_field_naming_the_template_channel():
    # Some rows keep channel=whatsapp and only current_send_channel tells the truth.
    reports = [
        Report("sent", 0, "whatsapp"),
        Report("sent_failed", 2, "whatsapp"),
        Report("sent", 3, "whatsapp", current="sms"),
        Report("delivered", 4, "whatsapp", current="sms"),
    ]
    assert outcome(reports) == ("delivered", "sms")


def test_failure_without_fallback_is_final():
    reports = [Report("plan", 0), Report("sent_failed", 2), Report("sent", 3), Report("plan", 4)]
    assert outcome(reports) == ("sent_failed", "sms")


def test_late_failure_of_an_earlier_channel_never_undoes_delivery():
    # The SMS delivery arrives, then the WhatsApp failure that happened before it.
    assert outcome([Report("delivered", 9), Report("sent_failed", 5, "whatsapp")]) == ("delivered", "sms")


def test_late_row_of_an_earlier_attempt_does_not_reopen_a_failure():
    # WhatsApp sent, failed; SMS failed too. A late WhatsApp "sent" changes nothing.
    reports = [Report("sent_failed", 5, "whatsapp"), Report("sent_failed", 8), Report("sent", 1, "whatsapp")]
    assert outcome(reports) == ("sent_failed", "sms")


def test_proof_of_delivery_beats_an_earlier_failure():
    assert outcome([Report("delivered_failed", 3), Report("delivered", 4)]) == ("delivered", "sms")
    # …but a timeout of the code proves nothing.
    assert outcome([Report("delivered_failed", 3), Report("verified_timeout", 400)])[0] == "delivered_failed"


def test_no_rows_keeps_the_start():
    result = replay([])
    assert (result.status, result.channel, result.event) == ("accepted", "", None)


@settings(max_examples=200, deadline=None)
@given(st.permutations(WA_THEN_SMS + [Report("sent_failed", 5, "whatsapp"), Report("plan", 0, "whatsapp")]))
def test_order_of_arrival_does_not_matter(reports):
    # Duplicates included: any order of arrival gives the orderly answer.
    assert outcome(reports) == ("delivered", "sms")


_report = st.builds(
    Report,
    st.sampled_from(sorted(CALLBACK_STATUSES | {"sent_fail"})),
    st.integers(0, 6),
    st.sampled_from(["sms", "whatsapp"]),
    st.sampled_from(["", "sms", "whatsapp"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_report, max_size=8), st.randoms())
def test_replay_is_a_function_of_the_set(reports, random):
    shuffled = list(reports)
    random.shuffle(shuffled)
    assert replay(shuffled).status == replay(reports).status


@settings(max_examples=300, deadline=None)
@given(st.lists(_report, max_size=8))
def test_proof_of_arrival_is_never_lost(reports):
    status = replay(reports).status
    if any(normalize(report.status) in PROOF_STATUSES for report in reports):
        assert status in REACHED_STATUSES
    if status in FAILURE_STATUSES:
        assert not any(normalize(report.status) in PROOF_STATUSES for report in reports)


@pytest.mark.parametrize("status", sorted(FAILURE_STATUSES - {"failed"}))
def test_each_failure_gives_way_to_a_fallback(status):
    assert outcome([Report(status, 1, "whatsapp"), Report("plan", 2)]) == ("plan", "sms")
