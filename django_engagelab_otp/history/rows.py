"""A callback row → its typed event, as the history stores and replays it.

A row of a kind this code does not know, or missing what its kind needs, is
refused with :class:`RowError` (the message names the reason, never the
row's content). Nothing accepted can make a database refuse to store it: NUL
characters and unpaired surrogates are removed from strings, numbers are kept
within their columns (sizes read from the models), rows nested deeper than
:data:`MAX_DEPTH` are refused. The same reading replays rows stored earlier.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone as dj_timezone

from ..models import MessageEvent
from ..privacy import keyed_hashes
from ..strict_json import whole_number
from .events import CallbackEvent, MessageStatusEvent, NotificationEvent, SystemEvent, UplinkEvent
from .lifecycle import normalize

#: Deepest nesting kept in a row (the documented rows are four levels deep).
MAX_DEPTH = 16


def _max_length(name: str) -> int:
    return MessageEvent._meta.get_field(name).max_length


_ID_LENGTH = _max_length("message_id")
_EVENT_LENGTH = _max_length("event")
_CHANNEL_LENGTH = _max_length("channel")
_CURRENCY_LENGTH = _max_length("currency")
#: Kept of the platform's error text.
_ERROR_LENGTH = 2000
#: What an IntegerField holds on every database.
_INT32 = 2**31 - 1
_COST = MessageEvent._meta.get_field("cost")
_COST_LIMIT = Decimal(10) ** (_COST.max_digits - _COST.decimal_places)
_COST_STEP = Decimal(1).scaleb(-_COST.decimal_places)
# itime in seconds; larger values are taken as milliseconds. Up to the year 9999.
_MS_THRESHOLD = 10**11
_LATEST = 253402300799

_EVENT_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")


class RowError(ValueError):
    """One row cannot be used; the message names the reason (no row content)."""


def parse_row(row: Any, *, clean: bool = True, stored: str | None = None) -> CallbackEvent:
    """One row → its typed event; raises :class:`RowError` when it cannot be used.

    ``clean``: remove NULs and unpaired surrogates from its strings.
    ``stored``: the row comes from ``MessageEvent.raw`` (sanitized when it was
    received, its recipients perhaps hashed since); this is its stored
    ``discriminator``.
    """
    if not isinstance(row, dict):
        raise RowError("row is not an object")
    if stored is not None:
        return replace(_event(row), discriminator=stored)
    row = _sanitize(row, clean)
    event = _event(row)
    current, *former = _discriminators(event, row)
    return replace(event, discriminator=current, former_discriminators=tuple(former))


def _discriminators(event: CallbackEvent, row: dict[str, Any]) -> list[str]:
    """What tells this row from another of the same kind, message, event and second (a keyed hash).

    A status: its recipient and channel (one message may go to several
    numbers). Another kind: its own part of the row (two template reviews in
    one second differ in their data). A retried row gives the same value.
    Under ``SECRET_KEY`` first, then under its fallbacks (the values the row
    had before a rotation).
    """
    if isinstance(event, MessageStatusEvent):
        part: Any = [event.to, event.channel]
    else:
        part = {name: row.get(name) for name in _OWN_PARTS}
    text = json.dumps(part, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return [digest[:32] for digest in keyed_hashes(text, "callback-row")]


#: The part of a row that is the event itself (the rest is envelope: server, itime).
_OWN_PARTS = ("notification", "response", "system_event", "message_id")


def _event(row: dict[str, Any]) -> CallbackEvent:
    status = row.get("status")
    if isinstance(status, dict) and "message_status" in status:
        return _status_event(row, status)
    if isinstance(row.get("notification"), dict):
        return _named_event(NotificationEvent, row, row["notification"], "notification_data")
    if isinstance(row.get("response"), dict):
        return _uplink_event(row, row["response"])
    if isinstance(row.get("system_event"), dict):
        return _named_event(SystemEvent, row, row["system_event"], "data")
    raise RowError("unknown row kind")


def _named_event(
    kind: type[NotificationEvent] | type[SystemEvent], row: dict[str, Any], part: dict[str, Any], data: str
) -> CallbackEvent:
    """A notification or a system event: an event name and an object of data."""
    return kind(
        occurred_at=_occurred_at(row),
        server=_text(row.get("server")),
        raw=row,
        event=_event_name(part.get("event")),
        data=_object(part.get(data)),
    )


def _status_event(row: dict[str, Any], status: dict[str, Any]) -> MessageStatusEvent:
    data = _object(status.get("status_data"))
    billing = _object(status.get("billing"))
    channel = _channel(row.get("channel"))
    cost = _decimal(billing.get("cost"))
    return MessageStatusEvent(
        occurred_at=_occurred_at(row, data.get("msg_time")),
        server=_text(row.get("server")),
        raw=row,
        message_id=_identifier(row.get("message_id") or data.get("message_id")),
        status=normalize(_event_name(status.get("message_status"))),
        channel=channel,
        current_send_channel=_channel(data.get("current_send_channel")) or channel,
        to=_text(row.get("to")),
        error_code=_int32(status.get("error_code")),
        error_message=_text(_object(status.get("error_detail")).get("message"))[:_ERROR_LENGTH],
        cost=cost,
        currency=_text(billing.get("currency"))[:_CURRENCY_LENGTH] if cost is not None else "",
        template_key=_text(data.get("template_key")),
        business_id=_text(data.get("business_id")),
        custom_args=_object(row.get("custom_args")),
    )


def _uplink_event(row: dict[str, Any], response: dict[str, Any]) -> UplinkEvent:
    data = _object(response.get("response_data"))
    message_id = row.get("message_id")
    return UplinkEvent(
        occurred_at=_occurred_at(row),
        server=_text(row.get("server")),
        raw=row,
        message_id=_identifier(message_id) if message_id not in (None, "") else "",
        event=_event_name(response.get("event")),
        business_id=_text(row.get("business_id")),
        sender=_text(data.get("from")),
        recipient=_text(data.get("to")),
        body=_text(data.get("body"), strip=False),
        message_sid=_text(data.get("message_sid")),
        data=data,
    )


# ------------------------------------------------------------------ field rules


def _text(value: Any, *, strip: bool = True) -> str:
    if isinstance(value, str):
        return value.strip() if strip else value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _identifier(value: Any) -> str:
    text = _text(value)
    if not text:
        raise RowError("row has no message_id")
    if len(text) > _ID_LENGTH:
        raise RowError("message_id too long")
    return text


def _event_name(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > _EVENT_LENGTH or not _EVENT_NAME.match(text):
        raise RowError("row has no valid event or status")
    return text


def _channel(value: Any) -> str:
    text = _text(value).lower()
    return text if len(text) <= _CHANNEL_LENGTH else ""


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _numeric(value: Any) -> float | int | None:
    """A JSON number, or ASCII digits as text; None for anything else ("²", "①" and "٣" included)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return whole_number(value)


def _occurred_at(row: dict[str, Any], fallback: Any = None) -> datetime:
    seconds = _numeric(row.get("itime"))
    if not seconds:
        seconds = _numeric(fallback)
    if not seconds or not 0 < seconds <= _LATEST * 1000:
        raise RowError("row has no valid itime")
    if seconds > _MS_THRESHOLD:
        seconds = seconds / 1000
    if seconds > _LATEST:
        raise RowError("row has no valid itime")
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment if settings.USE_TZ else dj_timezone.make_naive(moment)


def _int32(value: Any) -> int | None:
    number = _numeric(value)
    if number is None or number != int(number) or not -_INT32 <= number <= _INT32:
        return None
    return int(number) or None


def _decimal(value: Any) -> Decimal | None:
    # Decimal() would also read digits of other scripts ("٣" is 3): an amount is written in ASCII.
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) or not str(value).isascii():
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or abs(number) >= _COST_LIMIT:
        return None
    return number.quantize(_COST_STEP)


# ---------------------------------------------------------------- storability


def _sanitize(value: Any, clean: bool, depth: int = 0) -> Any:
    """``value`` safe for any database (a cleaned copy when ``clean``); refused when nested too deep."""
    if depth > MAX_DEPTH:
        raise RowError("row nested too deeply")
    if isinstance(value, dict):
        items = [(key, _sanitize(item, clean, depth + 1)) for key, item in value.items()]
        return {_clean(key): item for key, item in items} if clean else value
    if isinstance(value, list):
        items = [_sanitize(item, clean, depth + 1) for item in value]
        return items if clean else value
    if clean and isinstance(value, str):
        return _clean(value)
    return value


def _clean(text: str) -> str:
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text
