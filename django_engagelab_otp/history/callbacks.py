"""Applying a batch of callback events to the history.

One transaction and a fixed set of statements, however many rows the batch
has: the message logs of the batch are read (and locked) at once, their known
status rows at once, the new rows are inserted at once (duplicates ignored by
the ``(kind, message_id, event, occurred_at, discriminator)`` constraint) and
the changed logs updated at once. Each message's status is replayed from all
its status rows (:func:`.lifecycle.replay`), so that
duplicates and rows arriving out of order give the same result as an orderly
stream.

Rows may also arrive before the send that they are about has saved its
message id (:func:`catch_up`).

Signals are sent after the transaction commits, never for a batch that was
rolled back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import router, transaction
from django.db.models import OuterRef, Subquery
from django.dispatch import Signal
from django.utils import timezone

from .. import signals
from ..models import FAILURE_STATUSES, REACHED_STATUSES, MessageEvent, MessageLog
from ..privacy import mask_recipient
from .bulk import insert_ignoring_duplicates, update_many
from .database import reset_state
from .events import CallbackEvent, MessageStatusEvent, NotificationEvent, SystemEvent, UplinkEvent
from .lifecycle import Standing, chronological, replay
from .rows import RowError, parse_row

logger = logging.getLogger("django_engagelab_otp.webhooks")  # what operators filter callbacks by

#: The MessageLog columns a callback may change.
LOG_FIELDS = ["status", "send_channel", "cost", "currency", "error_code", "error_message", "verified_at", "updated_at"]

_CHANNELS = frozenset(MessageLog.Channel.values)
_COST = MessageLog._meta.get_field("cost")
#: Sums beyond what the cost column holds are not recorded.
_COST_LIMIT = Decimal(10) ** (_COST.max_digits - _COST.decimal_places)
# Notifications an operator has to act on.
_ALERTS = frozenset({"insufficient_balance", "insufficient_verification_rate"})


@dataclass
class Summary:
    """What a batch did."""

    events: int = 0
    #: Status rows about messages this site has no log for (kept, unlinked).
    unknown_messages: int = 0
    #: Message logs whose status changed.
    status_changes: int = 0


def apply(events: Iterable[CallbackEvent]) -> Summary:
    """Store a batch of events, move the messages they concern, then (after commit) send the signals."""
    summary, unknown = _apply(events)
    if unknown:
        # A send may have saved one of these ids while this batch was applied
        # (its callback overtook its answer). Each side looks for the other
        # after its own commit, so one of them always replays the message.
        _apply((), recheck=unknown)
    return summary


def catch_up(log: MessageLog, *, using: str | None = None) -> None:
    """Replay status rows that arrived before ``log`` had its message id.

    The platform may call back before the send's answer is saved; those rows
    are stored unlinked (a message it did not know yet). Called by the send
    once the id is committed; one indexed query when nothing overtook it.
    """
    if log.message_id and catch_up_ids([log.message_id], using=using):
        log.refresh_from_db(using=using or router.db_for_write(MessageEvent), fields=LOG_FIELDS)


def catch_up_ids(message_ids: Sequence[str], *, using: str | None = None) -> set[str]:
    """:func:`catch_up` for many sends at once (a bulk run's batch); the ids that had rows to replay.

    One indexed query when nothing overtook them.
    """
    database = using or router.db_for_write(MessageEvent)
    overtaken = set(
        MessageEvent.objects.using(database)
        .filter(kind=MessageEvent.Kind.MESSAGE_STATUS, message_id__in=list(message_ids), log__isnull=True)
        .values_list("message_id", flat=True)
        .distinct()
    )
    if overtaken:
        _apply((), recheck=overtaken, using=database)
    return overtaken


def _apply(
    events: Iterable[CallbackEvent], recheck: AbstractSet[str] = frozenset(), *, using: str | None = None
) -> tuple[Summary, set[str]]:
    """One transaction; also replays the ``recheck`` messages from their stored rows. Returns the unknown ids too."""
    database = using or router.db_for_write(MessageEvent)
    unique: dict[tuple, CallbackEvent] = {}
    for event in _as_stored(list(events), database):
        unique.setdefault(event.key, event)
    batch = list(unique.values())
    statuses = [event for event in batch if isinstance(event, MessageStatusEvent)]
    others = [event for event in batch if not isinstance(event, MessageStatusEvent)]
    outbox: list[tuple[Signal, dict[str, Any]]] = []
    summary = Summary(events=len(batch))
    with transaction.atomic(using=database):
        logs = _lock_logs({event.message_id for event in batch if event.message_id} | recheck, database)
        moving = {event.message_id for event in statuses if event.message_id in logs} | (recheck & logs.keys())
        history, orphans = _history(moving, database)
        known_others = _known_keys(others, database)
        changed = _advance(logs, statuses, history, outbox, timezone.now(), recheck)
        stored_keys = {event.key for events in history.values() for event in events}
        records = [
            MessageEvent(log=logs.get(event.message_id), **event.record_fields())
            for event in batch
            if event.key not in stored_keys  # the constraint ignores the other duplicates
        ]
        insert_ignoring_duplicates(records, using=database)
        update_many(changed, LOG_FIELDS, using=database)
        if orphans:
            _link(orphans, database)
        for event in others:
            if event.key not in known_others:
                outbox.append(_announce(event, logs))
        transaction.on_commit(partial(_dispatch, outbox), using=database)
    unknown = {event.message_id for event in statuses if event.message_id not in logs}
    summary.unknown_messages = len(unknown)
    summary.status_changes = sum(1 for signal, _ in outbox if signal is signals.message_status_changed)
    return summary, unknown


# --------------------------------------------------------------------- reading


def _as_stored(events: list[CallbackEvent], database: str) -> list[CallbackEvent]:
    """The events, those stored before a ``SECRET_KEY`` rotation with the discriminator they were stored under.

    A discriminator is a keyed hash: retried after a rotation, a row gets
    another one and would be stored (and billed, and announced) twice. Given
    its stored discriminator back, it is the duplicate it is: the unique
    constraint ignores it and the replay sees one row. Rows are only ever
    stored under the current key, so the constraint keeps its meaning. One
    query, and only with ``SECRET_KEY_FALLBACKS``.
    """
    former = {value for event in events for value in event.former_discriminators}
    if not former:
        return events
    stored = set(
        MessageEvent.objects.using(database)
        .filter(
            kind__in={event.kind for event in events},
            occurred_at__in={event.occurred_at for event in events},
            discriminator__in=former,
        )
        .values_list("kind", "message_id", "event", "occurred_at", "discriminator")
    )
    return [_with_stored_discriminator(event, stored) for event in events]


def _with_stored_discriminator(event: CallbackEvent, stored: AbstractSet[tuple]) -> CallbackEvent:
    *same_row, _current = event.key
    for value in event.former_discriminators:
        if (*same_row, value) in stored:
            return replace(event, discriminator=value)
    return event


def _lock_logs(message_ids: set[str], database: str) -> dict[str, MessageLog]:
    if not message_ids:
        return {}
    # Locked in primary-key order, so that two batches touching the same
    # messages wait for each other instead of deadlocking or overwriting.
    rows = MessageLog.objects.using(database).select_for_update().filter(message_id__in=message_ids).order_by("pk")
    # Handed to signal receivers later: they save with the usual alias (see history.database).
    return {log.message_id: reset_state(log) for log in rows}


def _history(message_ids: set[str], database: str) -> tuple[dict[str, list[MessageStatusEvent]], set[str]]:
    """The status rows already stored for these messages, and those not yet linked to their log."""
    history: dict[str, list[MessageStatusEvent]] = defaultdict(list)
    orphans: set[str] = set()
    if not message_ids:
        return history, orphans
    rows = MessageEvent.objects.using(database).filter(
        kind=MessageEvent.Kind.MESSAGE_STATUS, message_id__in=message_ids
    )
    for log_id, raw, discriminator in rows.values_list("log_id", "raw", "discriminator"):
        try:
            event = parse_row(raw, stored=discriminator)
        except RowError:
            continue  # not written by this code: it cannot take part in the replay
        if isinstance(event, MessageStatusEvent) and event.message_id in message_ids:
            history[event.message_id].append(event)
            if log_id is None:
                orphans.add(event.message_id)
    return history, orphans


def _known_keys(events: Sequence[CallbackEvent], database: str) -> set[tuple]:
    """Which of these (non-status) events are already stored, so their signal is not sent twice."""
    if not events:
        return set()
    rows = (
        MessageEvent.objects.using(database)
        .filter(kind__in={event.kind for event in events}, occurred_at__in={event.occurred_at for event in events})
        .values_list("kind", "message_id", "event", "occurred_at", "discriminator")
    )
    return set(rows)


# --------------------------------------------------------------------- moving


def _advance(
    logs: dict[str, MessageLog],
    statuses: Sequence[MessageStatusEvent],
    history: dict[str, list[MessageStatusEvent]],
    outbox: list[tuple[Signal, dict[str, Any]]],
    now: datetime,
    recheck: AbstractSet[str],
) -> list[MessageLog]:
    arrived: dict[str, list[MessageStatusEvent]] = {message_id: [] for message_id in recheck if message_id in logs}
    for event in statuses:
        if event.message_id in logs:
            arrived.setdefault(event.message_id, []).append(event)
    changed = []
    for message_id, events in arrived.items():
        stored = {event.key for event in history.get(message_id, ())}
        fresh = [event for event in events if event.key not in stored]
        if not fresh and message_id not in recheck:
            continue  # only duplicates: nothing new happened
        log = logs[message_id]
        previous = log.status
        every = [*history.get(message_id, ()), *fresh]
        if not every:
            continue
        if _take(log, replay(every), every, now):
            changed.append(log)
        if log.status != previous:
            cause = _cause(log, fresh or every)
            outbox.append(
                (
                    signals.message_status_changed,
                    {"sender": MessageLog, "log": log, "event": cause, "previous_status": previous},
                )
            )
    return changed


def _take(log: MessageLog, standing: Standing, events: list[MessageStatusEvent], now: datetime) -> bool:
    """Write where the message stands into ``log``; whether anything changed."""
    before = [getattr(log, name) for name in LOG_FIELDS]
    event: MessageStatusEvent | None = standing.event
    # A message that reached its recipient stays there, whatever history says.
    if event is not None and not (log.status in REACHED_STATUSES and standing.status not in REACHED_STATUSES):
        if standing.status in FAILURE_STATUSES:
            log.error_code, log.error_message = event.error_code, event.error_message
        elif log.status in FAILURE_STATUSES:
            log.error_code, log.error_message = None, ""  # the platform fell back: that failure is over
        log.status = standing.status
        if standing.channel in _CHANNELS:
            log.send_channel = standing.channel
        if standing.status == MessageLog.Status.VERIFIED and log.verified_at is None:
            log.verified_at = event.occurred_at
    _bill(log, events)
    if [getattr(log, name) for name in LOG_FIELDS] == before:
        return False
    log.updated_at = now
    return True


def _bill(log: MessageLog, events: list[MessageStatusEvent]) -> None:
    """The message's cost: the sum of its billed steps (a fallback is billed on each channel)."""
    billed = [event for event in chronological(events) if event.cost is not None]
    if not billed:
        return
    currency = next((event.currency for event in billed if event.currency), "")
    total = sum((event.cost for event in billed if event.currency in ("", currency)), Decimal(0))
    if any(event.currency not in ("", currency) for event in billed):
        logger.warning("Callback billing for %s mixes currencies; only %s is summed", log.message_id, currency)
    if abs(total) >= _COST_LIMIT:
        logger.warning("Callback billing for %s is out of range; cost not recorded", log.message_id)
        return
    log.cost, log.currency = total, currency


def _cause(log: MessageLog, fresh: list[MessageStatusEvent]) -> MessageStatusEvent:
    """The row of this batch that explains the log's new status."""
    for event in reversed(chronological(fresh)):
        if event.status == log.status:
            return event
    return chronological(fresh)[-1]


def _link(message_ids: set[str], database: str) -> None:
    """Attach rows stored before their log was known (a callback that overtook the send's answer)."""
    own_log = MessageLog.objects.filter(message_id=OuterRef("message_id")).values("pk")[:1]
    orphans = MessageEvent.objects.using(database).filter(log__isnull=True, message_id__in=message_ids)
    orphans.update(log=Subquery(own_log))


# --------------------------------------------------------------------- telling


def _announce(event: CallbackEvent, logs: dict[str, MessageLog]) -> tuple[Signal, dict[str, Any]]:
    """Which signal tells the application about a non-status event, with what."""
    if isinstance(event, NotificationEvent):
        return signals.notification_received, {"sender": MessageEvent, "event": event}
    if isinstance(event, UplinkEvent):
        return signals.uplink_received, {"sender": MessageEvent, "event": event, "log": logs.get(event.message_id)}
    return signals.system_event_received, {"sender": MessageEvent, "event": event}


def _describe(event: CallbackEvent) -> None:
    """Log a stored non-status event (a reply's number masked, its text left out)."""
    if isinstance(event, NotificationEvent):
        level = logging.WARNING if event.event in _ALERTS else logging.INFO
        logger.log(level, "EngageLab notification: %s", event.event)
    elif isinstance(event, UplinkEvent):
        sender, message = mask_recipient(event.sender), event.message_id or "-"
        logger.info("EngageLab reply (%s) from %s to message %s", event.event, sender, message)
    elif isinstance(event, SystemEvent):
        logger.info("EngageLab system event: %s", event.event)


def _dispatch(outbox: list[tuple[Signal, dict[str, Any]]]) -> None:
    """Once committed: log and send the batch's signals; a failing receiver does not stop the others."""
    for signal, kwargs in outbox:
        _describe(kwargs["event"])
        for receiver, result in signal.send_robust(**kwargs):
            if isinstance(result, Exception):
                logger.error(
                    "A receiver of a callback signal failed: %s raised %r",
                    getattr(receiver, "__qualname__", receiver),
                    result,
                )
