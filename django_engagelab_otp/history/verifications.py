"""Verifications on a message's row: the attempt counter, and when the right code came.

At most ``MAX_VERIFY_ATTEMPTS`` codes are checked per message.

An attempt is counted on the message's history row (``verify_attempts``)
with one conditional UPDATE before the platform is asked: of simultaneous
attempts, no more than the limit pass. The UPDATE commits at once (see
:mod:`.database`): no rollback of the caller's undoes it, and no row lock is
held while the platform answers. Message ids this site did not send have no
row: they are counted in the limits' cache, as units taken with
``cache.add`` (:func:`..limits_cache.take_unit`), per UTC day with the day
before carried over. So are all attempts on SQLite, which cannot write
beside a caller's transaction (the row's count is kept too, for the admin).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connections
from django.db.models import F, QuerySet
from django.utils import timezone

from ..conf import otp_settings
from ..errors import failure
from ..exceptions import EngageLabError
from ..limits_cache import DAY, Claim, Full, cache_errors, cache_key, take_unit, units_taken
from ..models import MessageLog
from .database import history_db, writes_beside

logger = logging.getLogger("django_engagelab_otp.limits")


@dataclass
class Attempt:
    """One verification attempt, counted before the code is checked (on the row, in the cache, or both)."""

    message_id: str
    on_row: bool
    #: The unit held in the cache, for a message id this site did not send.
    claim: Claim | None = None

    def refund(self) -> None:
        """The platform never answered: this was no attempt."""
        if self.on_row:
            _rows(self.message_id).filter(verify_attempts__gt=0).update(verify_attempts=F("verify_attempts") - 1)
        if self.claim is not None:
            try:
                self.claim.give_back()
            except Exception as error:
                logger.error("EngageLab verification attempt not given back: %s", type(error).__name__)


def reserve(message_id: str) -> Attempt:
    """Count an attempt for ``message_id``, or raise ``VerificationLockedError`` when none is left."""
    limit = otp_settings.MAX_VERIFY_ATTEMPTS
    rows = _rows(message_id)
    changes = {"verify_attempts": F("verify_attempts") + 1, "updated_at": timezone.now()}
    if not writes_beside(connections[rows.db]):
        # SQLite: the row's count goes with any rollback of the caller's, so the
        # cache counts too, and either one reaching the limit locks the message.
        if limit > 0 and rows.filter(verify_attempts__gte=limit).exists():
            raise _locked(message_id, limit)
        attempt = _reserve_in_cache(message_id, limit)
        attempt.on_row = bool(rows.update(**changes))
        return attempt
    if (rows.filter(verify_attempts__lt=limit) if limit > 0 else rows).update(**changes):
        return Attempt(message_id, on_row=True)
    if rows.exists():
        raise _locked(message_id, limit)
    return _reserve_in_cache(message_id, limit)


def _reserve_in_cache(message_id: str, limit: int) -> Attempt:
    """The count kept in the limits' cache: for ids this site did not send, and on SQLite."""
    if limit <= 0:
        return Attempt(message_id, on_row=False)
    with cache_errors():
        try:
            claim = take_unit(cache_key("verify", message_id), limit, DAY, carry_over=True)
        except Full:
            raise _locked(message_id, limit) from None
    return Attempt(message_id, on_row=False, claim=claim)


def left(message_id: str) -> int | None:
    """How many attempts ``message_id`` has left; ``None`` when ``MAX_VERIFY_ATTEMPTS`` is off."""
    limit = otp_settings.MAX_VERIFY_ATTEMPTS
    if limit <= 0:
        return None
    on_row = _rows(message_id).values_list("verify_attempts", flat=True).first() or 0
    with cache_errors():
        in_cache = units_taken(cache_key("verify", message_id), limit, DAY, carry_over=True)
    return max(0, limit - max(on_row, in_cache))


def _locked(message_id: str, limit: int) -> EngageLabError:
    logger.warning("EngageLab verification of %s refused: %d wrong codes already", message_id, limit)
    return failure("verify_locked", f"message {message_id} had {limit} wrong codes; request a new one")


def verified(message_id: str) -> None:
    """The right code was given: the row's ``verified_at`` (a callback may say so later too)."""
    now = timezone.now()
    _rows(message_id).update(verified_at=now, updated_at=now)


def _rows(message_id: str) -> QuerySet[MessageLog]:
    # Counted where no rollback of the caller's undoes it, without a row lock
    # kept while the platform is asked (see history.database).
    return MessageLog.objects.using(history_db()).filter(message_id=message_id)
