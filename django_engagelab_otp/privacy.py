"""Masking and redaction: what may be shown of a recipient or a parameter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import phonenumbers

REDACTED = "[redacted]"

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


def mask_recipient(value: str) -> str:
    """``+8618701235678`` → ``+86 187****5678``; ``bob@example.com`` → ``b**@example.com``."""
    if not value:
        return ""
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
