"""Masking and redaction: what may be shown of a recipient or a parameter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import phonenumbers

REDACTED = "[redacted]"

#: Template parameters whose values are secrets and are never stored or logged.
SENSITIVE_PARAMS = frozenset({"code"})


def redact_params(params: Mapping[str, str] | None, sensitive: Iterable[str] = SENSITIVE_PARAMS) -> dict[str, str]:
    """A copy of ``params`` safe to store: sensitive values replaced."""
    hidden = {name.lower() for name in sensitive}
    return {key: (REDACTED if key.lower() in hidden else value) for key, value in (params or {}).items()}


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
    if len(national) <= 4:
        return country + "*" * len(national)
    head = national[:3] if len(national) > 7 else national[:1]
    tail = national[-4:]
    return f"{country}{head}{'*' * (len(national) - len(head) - len(tail))}{tail}"
