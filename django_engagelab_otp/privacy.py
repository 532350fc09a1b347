"""Masking, redaction and hashing: what may be shown or kept of a recipient or a parameter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import phonenumbers
from django.conf import settings
from django.utils.crypto import salted_hmac

from .conf import otp_settings
from .exceptions import InvalidInputError
from .validation import normalize_recipient

REDACTED = "[redacted]"

#: What a hashed recipient starts with in ``MessageLog.to`` (``HASH_RECIPIENTS``).
HASH_PREFIX = "hmac:"

#: Template parameters whose values are secrets and are never stored or logged
#: (compared without case). ``code`` fills verification-code templates.
SENSITIVE_PARAMS = frozenset({"code", "verify_code", "otp", "pin", "password"})


def redact_params(params: Mapping[str, str] | None, sensitive: Iterable[str] = SENSITIVE_PARAMS) -> dict[str, str]:
    """A copy of ``params`` safe to store: sensitive values replaced."""
    hidden = {name.lower() for name in sensitive}
    return {key: (REDACTED if key.lower() in hidden else value) for key, value in (params or {}).items()}


def scrub(text: str, secrets: Iterable[Any]) -> str:
    """``text`` with every non-empty secret value in it replaced by ``[redacted]``.

    For text that comes from elsewhere (a platform's error message) and may
    echo back what it was sent.
    """
    for secret in sorted({str(s) for s in secrets if s not in (None, "")}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


class Masked:
    """A recipient for a log line, masked only if the line is written.

    ``logger.info("to %s", Masked(to))`` costs nothing when INFO is off;
    parsing a number to mask it is not free on a hot path.
    """

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __str__(self) -> str:
        return mask_recipient(self.value)

    __repr__ = __str__


def mask_recipient(value: str) -> str:
    """``+8618701235678`` → ``+86 187****5678``; ``bob@example.com`` → ``b**@example.com``.

    A hashed recipient shows its first eight hex digits (``hmac:1a2b3c4d…``):
    enough to tell rows apart, nothing to recover.
    """
    if not value:
        return ""
    if is_hashed(value):
        return value[: len(HASH_PREFIX) + 8] + "…"
    if "@" in value:
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}{'*' * max(2, len(local) - 1)}@{domain}"
    try:
        number = phonenumbers.parse(value, None)
        country = f"+{number.country_code} "
        national = phonenumbers.national_significant_number(number)
    except phonenumbers.NumberParseException:
        country, national = "", value.lstrip("+")
    # Enough to recognise one's own number (its network and last digits), not to dial it.
    size = len(national)
    if size <= 4:
        return country + "*" * size
    head = 3 if size >= 11 else 1 if size >= 8 else 0
    tail = 4 if size >= 8 else 2
    return f"{country}{national[:head]}{'*' * (size - head - tail)}{national[-tail:]}"


# ------------------------------------------------------------------ keyed hashes


def keyed_hash(value: str, purpose: str, *, secret: str | bytes | None = None) -> str:
    """HMAC-SHA256 of ``value`` (hex) with a key derived from ``SECRET_KEY`` (or ``secret``) for ``purpose``.

    Phone numbers are few enough to be hashed one by one: a plain hash would
    hide nothing, a keyed one cannot be reversed without the site's key.
    Each purpose has its own key, so one hash tells nothing about another.
    What is written is keyed with ``SECRET_KEY`` alone; lookups use :func:`keyed_hashes`.
    """
    return salted_hmac(f"django_engagelab_otp.{purpose}", value, secret=secret, algorithm="sha256").hexdigest()


def keyed_hashes(value: str, purpose: str) -> list[str]:
    """:func:`keyed_hash` under ``SECRET_KEY``, then under each of ``SECRET_KEY_FALLBACKS``, each once.

    For finding what was written before the key was rotated (hashed rows,
    cooldowns, callback rows), as Django's own signing does. Without
    fallbacks, one hash: lookups cost nothing more.
    """
    hashes = [keyed_hash(value, purpose)]
    hashes += [keyed_hash(value, purpose, secret=key) for key in settings.SECRET_KEY_FALLBACKS]
    return list(dict.fromkeys(hashes))


def hash_recipient(value: str) -> str:
    """The keyed hash of a normalized recipient, as ``MessageLog.to`` holds it with ``HASH_RECIPIENTS``.

    E-mail addresses are hashed in lower case: a hash cannot be searched
    without regard to case afterwards, and ``Bob@`` and ``bob@`` are one
    mailbox nearly everywhere.
    """
    return HASH_PREFIX + keyed_hash(_hashed_form(value), "recipient")


def _hashed_form(value: str) -> str:
    return value.lower() if "@" in value else value


def mailbox(value: str) -> str:
    """The mailbox a normalized recipient reaches, for counting what it receives.

    ``value`` is what :func:`.validation.recipient` returns: an e-mail address
    is already in its canonical form (domain in punycode, no needless quotes),
    so ``"bob"@Bücher.example`` and ``bob@xn--bcher-kva.example`` count as one.
    On top of that the local part goes to lower case and loses its ``+tag``
    (``Bob+1@x.com`` → ``bob@x.com``): not certainly one mailbox, but varying
    them must not get around a limit. Phone numbers are already one form (E.164).
    """
    if "@" not in value:
        return value
    local, _at, domain = value.lower().rpartition("@")
    return f"{local.split('+', 1)[0] or local}@{domain}"


def is_hashed(value: str) -> bool:
    return value.startswith(HASH_PREFIX)


def stored_recipient(value: str) -> str:
    """What the history keeps for a normalized recipient: itself, or its keyed hash (``HASH_RECIPIENTS``)."""
    return hash_recipient(value) if otp_settings.HASH_RECIPIENTS else value


def recipient_lookup(typed: Any) -> str | None:
    """What ``MessageLog.to`` holds for the recipient a person typed, under the current settings.

    ``typed`` is read like a recipient given to ``send_otp`` (any usual phone
    format, ``DEFAULT_REGION`` for national numbers, ``00`` or nothing for
    ``+``; e-mail addresses in their canonical form); ``None`` when it is not
    a complete recipient. With ``HASH_RECIPIENTS`` the answer is the keyed
    hash, so only exact searches can match: a hash has no prefix to search.
    Rows written before ``SECRET_KEY`` was rotated hold another hash: search
    with :func:`recipient_lookups`.
    """
    return next(iter(recipient_lookups(typed)), None)


def recipient_lookups(typed: Any) -> list[str]:
    """Every value ``MessageLog.to`` may hold for what a person typed: :func:`recipient_lookup`'s first.

    With ``HASH_RECIPIENTS``, also the hashes under ``SECRET_KEY_FALLBACKS``
    (rows written before the key was rotated). Empty when ``typed`` is not a
    complete recipient.
    """
    value = read_recipient(typed)
    if value is None:
        return []
    if not otp_settings.HASH_RECIPIENTS:
        return [value]
    return [HASH_PREFIX + digest for digest in keyed_hashes(_hashed_form(value), "recipient")]


def read_recipient(text: Any) -> str | None:
    """``text`` as a normalized recipient (without the destination rules), or ``None``."""
    text = text.strip() if isinstance(text, str) else ""
    readings = [text]
    if text.startswith("00"):
        readings.append("+" + text[2:])
    elif text and not text.startswith("+") and "@" not in text:
        readings.append("+" + text)  # a country code without its "+"
    for reading in readings:
        try:
            return normalize_recipient(reading, region=otp_settings.DEFAULT_REGION)
        except InvalidInputError:
            continue
    return None


def hide_recipients(row: dict[str, Any]) -> dict[str, Any]:
    """A callback row as the history keeps it: with ``HASH_RECIPIENTS``, its numbers hashed.

    The platform names the recipient in a status row's ``to`` and both
    parties of a reply in ``response.response_data`` (``from``, ``to``).
    Without the setting the row is returned as it is.
    """
    if not otp_settings.HASH_RECIPIENTS:
        return row
    hidden = _hash_fields(row, ("to",))
    response = row.get("response")
    if isinstance(response, dict) and isinstance(response.get("response_data"), dict):
        data = _hash_fields(response["response_data"], ("from", "to"))
        hidden["response"] = {**response, "response_data": data}
    return hidden


def _hash_fields(mapping: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    copy = dict(mapping)
    for name in names:
        value = copy.get(name)
        if isinstance(value, str) and value and not is_hashed(value):
            # Read like what was sent, so that the hash matches MessageLog.to; one that
            # cannot be read is hashed as it came: it still must not be kept.
            copy[name] = hash_recipient(read_recipient(value) or value)
    return copy
