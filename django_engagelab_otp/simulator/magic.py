"""Magic recipients: addresses that make the simulator fail on purpose.

Every behaviour has a name, a phone number and (except the WhatsApp fallback)
an e-mail address. The numbers lie in Ofcom's range kept for drama,
``+44 20 7946 0000``–``0999``: they are valid for ``phonenumbers`` (so an
application's own validation lets them through) and never belong to anyone.
The last three digits tell the family apart:

* ``1xx``–``5xx`` answer an error code: the first digit of the code and its
  last two (``+44 20 7946 0513`` → 5013, ``0100`` → 1000, ``0204`` → 2004).
* ``7xx`` are accepted and play a particular life in the callbacks.
* ``9xx`` break the HTTP exchange itself.

The e-mail addresses are ``<name>@simulator.test`` (``error-5013@simulator.test``).
Any other recipient is an ordinary one: accepted, delivered.

Faults that happen after the platform has acted (everything except the empty
503) record the message as sent, as a real outage would: the code can still
be read and verified, and a client that retries sends a second message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..errors import ERROR_CODES

#: The drama range: ``+44 20 7946 0`` followed by three digits.
PHONE_PREFIX = "+44207946"
EMAIL_DOMAIN = "simulator.test"


class Family(str, Enum):
    ERROR = "error"
    LIFECYCLE = "lifecycle"
    FAULT = "fault"


class Fault(str, Enum):
    """Ways an HTTP exchange can go wrong; the server acts them out."""

    SLOW = "slow"  # answers correctly after Platform.slow_ms
    HTML_502 = "html-502"  # a proxy's HTML error page
    EMPTY_503 = "empty-503"  # an empty 503: nothing behind the proxy took the request
    BROKEN_JSON = "broken-json"  # 200 with a truncated JSON body
    NO_MESSAGE_ID = "no-message-id"  # 200 with valid JSON lacking message_id
    DROP = "drop"  # the connection is closed before any answer
    RESET = "reset"  # headers and part of the body, then a TCP reset
    HANG = "hang"  # no answer at all until Platform.hang_seconds have passed
    STALL = "stall"  # headers and half the body, then silence until hang_seconds
    DRIP = "drip"  # the whole answer, one byte every Platform.drip_seconds


#: Faults that concern the connection rather than the answer's content.
CONNECTION_FAULTS = frozenset({Fault.DROP, Fault.RESET, Fault.HANG, Fault.STALL})


class Life(str, Enum):
    """Lifecycles played in the callbacks (see callbacks.py)."""

    DELIVERED = "delivered"  # plan → sent (billed) → delivered: every ordinary recipient
    WHATSAPP_FALLBACK = "whatsapp-fallback"  # answered on whatsapp, fails there, delivered by sms
    STUCK = "stuck"  # plan → sent, then nothing: never a final status
    UNDELIVERED = "undelivered"  # plan → sent → delivered_failed (handset off, 5018)


@dataclass(frozen=True)
class Magic:
    name: str
    family: Family
    phone: str
    email: str | None
    description: str
    error_code: int | None = None
    fault: Fault | None = None
    life: Life | None = None


def _phone(suffix: int) -> str:
    return f"{PHONE_PREFIX}{suffix:04d}"


def _error_suffix(code: int) -> int:
    return int(str(code)[0]) * 100 + code % 100


def _errors() -> list[Magic]:
    # 2001, 3001 and 3002 concern the request itself (credentials, body): send
    # a wrong key or a broken body to see them.
    skip = {2001, 3001, 3002}
    return [
        Magic(
            f"error-{code}",
            Family.ERROR,
            _phone(_error_suffix(code)),
            f"error-{code}@{EMAIL_DOMAIN}",
            f"{row.http_status} {{code: {code}}}: {row.description}",
            error_code=code,
        )
        for code, row in sorted(ERROR_CODES.items())
        if code not in skip
    ]


_LIVES = [
    (700, Life.WHATSAPP_FALLBACK, False, "accepted on whatsapp; callbacks show WhatsApp failing and SMS delivering"),
    (701, Life.STUCK, True, "accepted; callbacks stop after sent (no final status ever)"),
    (702, Life.UNDELIVERED, True, "accepted; callbacks end in delivered_failed (5018, handset off)"),
]

_FAULTS = [
    (900, Fault.SLOW, "correct answer after Platform.slow_ms (default 3000 ms)"),
    (902, Fault.HTML_502, "HTTP 502 with an HTML page (message sent)"),
    (903, Fault.EMPTY_503, "HTTP 503 with an empty body (message not sent)"),
    (910, Fault.BROKEN_JSON, "HTTP 200 with truncated JSON (message sent)"),
    (911, Fault.NO_MESSAGE_ID, "HTTP 200 with JSON but no message_id (message sent)"),
    (920, Fault.DROP, "connection closed without an answer (message sent)"),
    (921, Fault.RESET, "headers and part of the body, then a TCP reset (message sent)"),
    (930, Fault.HANG, "no answer until Platform.hang_seconds (default 30 s), then closed (message sent)"),
    (931, Fault.STALL, "headers and half the body, then silence until hang_seconds (message sent)"),
    (940, Fault.DRIP, "the full answer one byte every Platform.drip_seconds (default 0.25 s) (message sent)"),
]


def _build() -> list[Magic]:
    table = _errors()
    for suffix, life, has_email, text in _LIVES:
        email = f"lifecycle-{life.value}@{EMAIL_DOMAIN}" if has_email else None
        table.append(Magic(f"lifecycle-{life.value}", Family.LIFECYCLE, _phone(suffix), email, text, life=life))
    for suffix, fault, text in _FAULTS:
        name = f"fault-{fault.value}"
        table.append(Magic(name, Family.FAULT, _phone(suffix), f"{name}@{EMAIL_DOMAIN}", text, fault=fault))
    return table


#: Every magic recipient, in documentation order.
MAGIC: tuple[Magic, ...] = tuple(_build())

_BY_ADDRESS: dict[str, Magic] = {}
for _magic in MAGIC:
    _BY_ADDRESS[_magic.phone] = _magic
    if _magic.email:
        _BY_ADDRESS[_magic.email] = _magic
_BY_NAME = {magic.name: magic for magic in MAGIC}


def lookup(recipient: str) -> Magic | None:
    """The magic behaviour of a recipient, or ``None`` for an ordinary one."""
    if not isinstance(recipient, str):
        return None
    key = recipient.strip()
    key = key.lower() if "@" in key else "+" + "".join(ch for ch in key if ch.isdigit())
    return _BY_ADDRESS.get(key)


def by_name(name: str) -> Magic:
    """A magic recipient by its name (``"error-5013"``, ``"fault-drop"``)."""
    return _BY_NAME[name]


def table_markdown() -> str:
    """The table of magic recipients, for the documentation."""
    lines = ["| name | phone | e-mail | behaviour |", "|---|---|---|---|"]
    for magic in MAGIC:
        lines.append(
            f"| `{magic.name}` | `{magic.phone}` | {f'`{magic.email}`' if magic.email else '—'} | {magic.description} |"
        )
    return "\n".join(lines)
