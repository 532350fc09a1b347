"""How history values look in the admin: status badges, masked recipients, safe JSON."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping
from typing import Any

from django.db.models import Choices
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from ..errors import ERROR_CODES
from ..history.lifecycle import normalize
from ..models import FAILURE_STATUSES, MessageLog
from ..privacy import REDACTED, SENSITIVE_PARAMS, mask_recipient

S = MessageLog.Status

#: Colour group of each status (see admin.css): where the message stands.
BADGE_GROUPS: dict[str, str] = {
    S.QUEUED: "waiting",
    S.PENDING: "waiting",
    S.UNKNOWN: "unknown",
    S.ACCEPTED: "progress",
    S.PLAN: "progress",
    S.TARGET_VALID: "progress",
    S.SENT: "progress",
    S.DELIVERED: "success",
    S.VERIFIED: "success",
    # Delivered, but the person did not confirm the code.
    S.VERIFIED_FAILED: "warning",
    S.VERIFIED_TIMEOUT: "warning",
    **dict.fromkeys(FAILURE_STATUSES, "failure"),
}

#: Keys whose values are never shown, wherever they sit in a stored document.
SECRET_KEYS = frozenset({*SENSITIVE_PARAMS, "verify_code"})
#: Keys whose values are recipients (callback rows carry them in full).
RECIPIENT_KEYS = frozenset({"to", "from"})


def status_badge(status: str, label: str) -> SafeString:
    return format_html(
        '<span class="engagelab-badge engagelab-badge--{}">{}</span>', BADGE_GROUPS.get(status, "unknown"), label
    )


#: Characters of a long message id the list shows: its end, where the platform's ids
#: (19 digits, the first ones a clock) differ between messages sent close together.
ID_TAIL = 8
#: Ids up to this long are shown whole.
ID_WHOLE = 12


def message_id(value: str | None) -> SafeString | None:
    """The platform's id, compact for the list: its end in monospace, the whole in the title; a click copies it.

    Support staff compare it with the id in the EngageLab console, or paste it
    into the search box. ``copy.js`` does the copying.
    """
    if not value:
        return None
    shown = value if len(value) <= ID_WHOLE else f"…{value[-ID_TAIL:]}"
    return format_html(
        '<button type="button" class="engagelab-id" title="{}" data-copy="{}" aria-label="{}">{}</button>',
        value,
        value,
        _("Copy message id %(id)s") % {"id": value},
        shown,
    )


def masked_recipients(log: MessageLog, *, compact: bool = False) -> str:
    """``+86 187****5678``, or ``+86 187****5678 (+2)`` when one message went to several.

    ``compact`` (the list) shortens a long run of stars to four: an e-mail
    address's mask is as long as the address, and would widen its column.
    """
    masked = _LONG_MASK.sub("****", log.masked_to) if compact else log.masked_to
    others = max(len(log.recipients or []) - 1, 0)
    return f"{masked} (+{others})" if others else masked


_LONG_MASK = re.compile(r"\*{5,}")


def safe_document(value: Any) -> Any:
    """A copy of a stored JSON document with secrets redacted and recipients masked."""
    if isinstance(value, Mapping):
        return {key: _safe_item(str(key), item) for key, item in value.items()}
    if isinstance(value, list):
        return [safe_document(item) for item in value]
    return value


def _safe_item(key: str, value: Any) -> Any:
    if key.lower() in SECRET_KEYS:
        return REDACTED
    if key.lower() in RECIPIENT_KEYS and isinstance(value, str):
        return mask_recipient(value)
    return safe_document(value)


def json_block(value: Any) -> SafeString:
    """A stored document as indented JSON, made safe first."""
    text = json.dumps(safe_document(value), indent=2, ensure_ascii=False, sort_keys=True, default=str)
    return format_html('<pre class="engagelab-json">{}</pre>', text)


def moment(value: datetime.datetime | None, *, seconds: bool = True) -> str:
    """``2026-11-23 09:16:05``, in the current time zone: the one way times are written here.

    Year first, so that a column reads in order at a glance, whatever the
    language; to the second, since callbacks come seconds apart (the list of
    messages leaves them out, for room).
    """
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return formats.date_format(local, "Y-m-d H:i:s" if seconds else "Y-m-d H:i")


_SHORT_KINDS = {"otp": _("OTP"), "custom": _("Custom"), "code": _("Own code")}


def short_kind(kind: str) -> str:
    """The kind in a word, for the list (the detail page spells it out)."""
    return str(_SHORT_KINDS.get(kind, kind))


def money(cost: Any, currency: str) -> str:
    """``0.0035 USD``; empty when the platform reported no cost."""
    if cost is None:
        return ""
    return f"{cost.normalize():f} {currency}".strip()


def label(choices: type[Choices], value: str) -> str:
    """The label of a stored choice (the value itself when unknown).

    Cheaper than ``get_FOO_display()``, which rebuilds the field's choice
    mapping on every call: it counts on a list of many rows.
    """
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def error(code: int | None, http_status: int | None) -> SafeString | str:
    """``5013 blocked number``: the code and its short meaning, the platform's words in the title."""
    if code is None:
        return f"HTTP {http_status}" if http_status else ""
    row = ERROR_CODES.get(code)
    if row is None:
        return str(code)
    return format_html(
        '<span class="engagelab-error" title="{}">{} <small>{}</small></span>', row.description, code, row.short
    )


def timeline_note(log: MessageLog) -> str:
    """What the detail page says where the timeline would be, when no callback came (yet)."""
    if log.status == S.PENDING:
        return _("The send has not finished: no callback yet.")
    if log.status == S.FAILED:
        return _("The platform did not take the message: no callback will come.")
    if log.status == S.UNKNOWN:
        return _("Whether the platform took the message is unknown: callbacks will show it if it did.")
    return _("No callback received yet. They arrive within seconds when the callback URL is set up.")


def event_status(event: str) -> tuple[str, str]:
    """A callback's status as (status, label), in the spelling of ``MessageLog.Status``."""
    status = normalize(event)
    return status, label(S, status)
