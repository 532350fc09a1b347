"""The order of a message's life, so that its status only moves forward.

Callbacks carry no event id and may arrive twice or out of order (``delivered``
before ``sent``). A status is applied only when it is further along than the
one stored; final statuses are never left.
"""

from __future__ import annotations

from .models import MessageLog

S = MessageLog.Status

#: How far along each status is. Equal ranks do not replace each other.
RANK: dict[str, int] = {
    S.PENDING: 0,
    S.UNKNOWN: 1,
    S.ACCEPTED: 2,
    S.PLAN: 3,
    S.TARGET_VALID: 4,
    S.SENT: 5,
    S.DELIVERED: 6,
    S.VERIFIED_FAILED: 7,
    S.VERIFIED: 8,
    S.VERIFIED_TIMEOUT: 8,
    # Failures end the message wherever they happen.
    S.FAILED: 9,
    S.TARGET_INVALID: 9,
    S.SENT_FAILED: 9,
    S.DELIVERED_FAILED: 9,
}

#: Statuses after which nothing more is expected about delivery.
FINAL_STATUSES: frozenset[str] = frozenset(
    {
        S.FAILED,
        S.TARGET_INVALID,
        S.SENT_FAILED,
        S.DELIVERED,
        S.DELIVERED_FAILED,
        S.VERIFIED,
        S.VERIFIED_FAILED,
        S.VERIFIED_TIMEOUT,
    }
)

#: Statuses that mean the message did not reach its recipient.
FAILURE_STATUSES: frozenset[str] = frozenset({S.FAILED, S.TARGET_INVALID, S.SENT_FAILED, S.DELIVERED_FAILED})


def normalize(status: str) -> str:
    """The platform's spelling variants mapped to ours (``sent_fail`` → ``sent_failed``)."""
    return {"sent_fail": S.SENT_FAILED, "delivered_fail": S.DELIVERED_FAILED}.get(status, status)


def can_move(current: str, new: str) -> bool:
    """Whether a message at ``current`` may move to ``new``."""
    return RANK.get(normalize(new), -1) > RANK.get(current, 0)
