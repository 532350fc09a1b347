"""The order of a message's life, so that its status only moves forward.

Callbacks carry no event id and may arrive twice or out of order (``delivered``
before ``sent``). So a message's status is not taken from the last row that
arrived: it is *replayed* from every status row known for it, in the order the
platform says they happened (``itime``). Replaying the same set of rows always
gives the same answer, whatever order or batches they came in, and a status
row that arrives late can only change the answer when the platform's own
timeline says it should.

The rules of one step (:func:`can_move`):

* Within one channel a status only moves forward (:data:`RANK`).
* Once the message reached its recipient (``delivered``) only the
  verification outcome may follow; nothing moves it back, not even a late
  failure of an earlier channel.
* A failure (``sent_failed``, ``delivered_failed``, ``target_invalid``) ends
  the attempt on its channel. Only two things leave it: the platform falling
  back to another channel (a later row on a different channel, e.g. WhatsApp
  failed, then SMS is planned, sent, delivered), or later proof that the
  message did arrive (``delivered`` or ``verified``).
* A later row on a different channel while the message is still under way
  means the platform moved on (its failure row may still be on its way): the
  message follows it to the new channel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..models import FAILURE_STATUSES, REACHED_STATUSES
from ..models import Status as S

#: How far along each status is. Equal ranks do not replace each other.
RANK: dict[str, int] = {
    # Before any request: enqueued (or read from a bulk file), then about to be sent.
    S.QUEUED: 0,
    S.PENDING: 1,
    S.UNKNOWN: 2,
    S.ACCEPTED: 3,
    S.PLAN: 4,
    S.TARGET_VALID: 5,
    S.SENT: 6,
    S.DELIVERED: 7,
    S.VERIFIED_FAILED: 8,
    S.VERIFIED: 9,
    S.VERIFIED_TIMEOUT: 9,
    # Failures end the attempt wherever they happen.
    S.FAILED: 10,
    S.TARGET_INVALID: 10,
    S.SENT_FAILED: 10,
    S.DELIVERED_FAILED: 10,
}

#: Statuses that prove the message arrived, even after a reported failure.
PROOF_STATUSES: frozenset[str] = frozenset({S.DELIVERED, S.VERIFIED})

_SPELLINGS = {"sent_fail": S.SENT_FAILED, "delivered_fail": S.DELIVERED_FAILED}


def normalize(status: str) -> str:
    """The platform's spelling variants mapped to ours (``sent_fail`` → ``sent_failed``)."""
    return _SPELLINGS.get(status, status)


def can_move(current: str, new: str, *, current_channel: str = "", new_channel: str = "") -> bool:
    """Whether a message at ``current`` moves to ``new``, reported *later* than ``current``.

    ``current_channel`` is the channel ``current`` is about (for a failure: the
    channel that failed); ``new_channel`` the channel the new row reports.
    Without channels, only the ranks decide and failures stay final.
    """
    new = normalize(new)
    if new not in RANK:
        return False  # a status this version does not know changes nothing
    if current in REACHED_STATUSES:
        return new in REACHED_STATUSES and RANK[new] > RANK[current]
    if new in PROOF_STATUSES:
        return True
    switched = bool(current_channel and new_channel and new_channel != current_channel)
    if current in FAILURE_STATUSES:
        return switched
    return switched or RANK[new] > RANK.get(current, 0)


class StatusReport(Protocol):
    """What :func:`replay` reads of a status row (a ``MessageStatusEvent``)."""

    status: str
    occurred_at: datetime
    channel: str
    current_send_channel: str


@dataclass(frozen=True)
class Standing:
    """Where a message stands after its status rows."""

    status: str
    #: The channel the message is on ("" when no row named one).
    channel: str
    #: The row that set ``status`` (None when no row moved the message).
    event: Any = None


def replay(reports: Iterable[StatusReport], start: str = S.ACCEPTED) -> Standing:
    """Fold a message's status rows, in the order they happened, into its status."""
    status, channel, failed_on, decided = start, "", "", None
    for report in chronological(reports):
        new = normalize(report.status)
        now_on = report.current_send_channel or report.channel
        against = failed_on if status in FAILURE_STATUSES else channel
        if not can_move(status, new, current_channel=against, new_channel=now_on):
            continue
        status, decided = new, report
        channel = now_on or channel
        failed_on = (report.channel or now_on) if new in FAILURE_STATUSES else ""
    return Standing(status, channel, decided)


def chronological(reports: Iterable[StatusReport]) -> list[StatusReport]:
    """Rows sorted by when they happened.

    ``itime`` has a resolution of one second, so a fallback often reports the
    failure of one channel and the first steps on the next in the same second.
    Within a second, a channel that failed is taken to have come first (the
    platform falls back *after* a failure), then each channel's rows by rank.
    """
    rows = list(reports)
    failed = {(row.occurred_at, row.channel) for row in rows if normalize(row.status) in FAILURE_STATUSES}

    def key(row: StatusReport) -> tuple:
        status = normalize(row.status)
        return (
            row.occurred_at,
            (row.occurred_at, row.channel) not in failed,
            row.channel,
            RANK.get(status, -1),
            status,
            row.current_send_channel,  # last, so that equal sets always replay alike
        )

    return sorted(rows, key=key)
