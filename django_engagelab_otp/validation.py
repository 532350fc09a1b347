"""Input checks made before any request: bad input never reaches the network.

Each function returns the normalized value or raises ``InvalidInputError``
naming the field, with a message fit for a form.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from phonenumbers import PhoneNumberType

from .conf import LANGUAGES, NUMBER_TYPES, otp_settings
from .email_address import canonical_email
from .exceptions import InvalidInputError

MAX_TEMPLATE_ID = 128
MAX_RECIPIENTS = 100
MAX_PARAMS = 50
MAX_PARAM_KEY = 64
MAX_PARAM_VALUE = 1000
MAX_MESSAGE_ID = 64

#: The phone number every text shows as an example (China Mobile's format, a number of no one).
PHONE_EXAMPLE = "+86 187 0123 5678"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_.:-]+")
_CODE = re.compile(r"[A-Za-z0-9]{4,10}")


def _text(value: Any, field: str, label: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(_("%(label)s must be text.") % {"label": label}, field=field)
    value = value.strip()
    if not value:
        raise InvalidInputError(_("%(label)s is required.") % {"label": label}, field=field)
    if _CONTROL.search(value) or _has_invisible(value):
        raise InvalidInputError(
            _("%(label)s contains control or invisible characters.") % {"label": label}, field=field
        )
    return value


def _has_invisible(value: str) -> bool:
    """Format characters (zero-width space, direction overrides, BOM): they make two values look alike."""
    return any(unicodedata.category(char) == "Cf" for char in value)


def recipient(value: Any, *, region: str | None = None) -> str:
    """An e-mail address in its canonical form (:func:`.email_address.canonical_email`), or a phone
    number returned in E.164 (``+8618701235678``).

    Numbers without ``+country`` are read in ``region`` when one is given.
    Phone numbers must also be a destination the settings allow (:func:`destination`).
    """
    text = _recipient_text(value)
    if "@" in text:
        return canonical_email(text)
    number, kind = _parse_phone(text, region)
    destination(number, kind)
    return _e164(number)


def normalize_recipient(value: Any, *, region: str | None = None) -> str:
    """Like :func:`recipient` without the destination rules: for finding what was sent, not for sending."""
    text = _recipient_text(value)
    return canonical_email(text) if "@" in text else _e164(_parse_phone(text, region)[0])


def _recipient_text(value: Any) -> str:
    value = _text(value, "to", _("The recipient"))
    if len(value) > 320:
        raise InvalidInputError(_("The recipient is too long."), field="to")
    return value


def _parse_phone(value: str, region: str | None) -> tuple[phonenumbers.PhoneNumber, int]:
    """A valid number and its type (``PhoneNumberType``)."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    # A number is valid exactly when the metadata gives it a type (is_valid_number asks the same question):
    # one lookup instead of two, the costliest step of checking a bulk file's line.
    kind = phonenumbers.number_type(number) if number is not None else PhoneNumberType.UNKNOWN
    if number is None or kind == PhoneNumberType.UNKNOWN:
        if not value.startswith("+") and region is None:
            message = _("Enter a phone number with its country code, like %(example)s, or an e-mail address.") % {
                "example": PHONE_EXAMPLE
            }
        else:
            message = _("Enter a valid phone number or e-mail address.")
        raise InvalidInputError(message, field="to")
    return number, kind


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# ------------------------------------------------------------------ destinations

#: How each number type is named to a person ("… cannot be sent to premium-rate numbers").
_TYPE_LABELS = {
    "FIXED_LINE": gettext_lazy("fixed-line"),
    "MOBILE": gettext_lazy("mobile"),
    "FIXED_LINE_OR_MOBILE": gettext_lazy("fixed-line or mobile"),
    "TOLL_FREE": gettext_lazy("toll-free"),
    "PREMIUM_RATE": gettext_lazy("premium-rate"),
    "SHARED_COST": gettext_lazy("shared-cost"),
    "VOIP": gettext_lazy("internet (VoIP)"),
    "PERSONAL_NUMBER": gettext_lazy("personal (forwarding)"),
    "PAGER": gettext_lazy("pager"),
    "UAN": gettext_lazy("company (UAN)"),
    "VOICEMAIL": gettext_lazy("voicemail"),
    "UNKNOWN": gettext_lazy("unrecognised"),
}


def destination(number: phonenumbers.PhoneNumber, kind: int | None = None) -> None:
    """Refuse a phone number the settings do not allow sending to.

    Countries are ISO region codes as ``phonenumbers`` reports them
    (``region_code_for_number``; ``"001"`` for numbers of no country), checked
    against ``ALLOWED_COUNTRIES`` (when set) and ``DENIED_COUNTRIES``; the
    number's type against ``DENIED_NUMBER_TYPES``. Premium-rate and shared-cost
    numbers are where SMS pumping earns its money. ``kind``: the number's
    type when the caller knows it already.
    """
    region = phonenumbers.region_code_for_number(number) or "ZZ"
    allowed = otp_settings.ALLOWED_COUNTRIES
    if (allowed is not None and region not in allowed) or region in otp_settings.DENIED_COUNTRIES:
        raise InvalidInputError(_("Messages cannot be sent to phone numbers of this country."), field="to")
    if kind is None:
        kind = phonenumbers.number_type(number)
    label = NUMBER_TYPES.get(kind, "UNKNOWN")
    if label in otp_settings.DENIED_NUMBER_TYPES:
        raise InvalidInputError(
            _("Messages cannot be sent to %(kind)s numbers.") % {"kind": _TYPE_LABELS.get(label, label)}, field="to"
        )


def recipients(value: Any, *, region: str | None = None) -> str | list[str]:
    """One recipient, or a non-empty list of them (custom messages)."""
    if isinstance(value, str):
        return recipient(value, region=region)
    if not isinstance(value, Sequence) or isinstance(value, (bytes, bytearray)):
        raise InvalidInputError(_("Recipients must be text or a list of texts."), field="to")
    if not value:
        raise InvalidInputError(_("At least one recipient is required."), field="to")
    if len(value) > MAX_RECIPIENTS:
        raise InvalidInputError(
            _("At most %(max)d recipients can share one message.") % {"max": MAX_RECIPIENTS}, field="to"
        )
    seen: dict[str, None] = {}  # keeps the order; duplicates (once normalized) go
    for number, item in enumerate(value, start=1):
        try:
            seen.setdefault(recipient(item, region=region))
        except InvalidInputError as error:
            message = _("Recipient %(number)d: %(error)s") % {"number": number, "error": error.message}
            raise InvalidInputError(message, field="to") from None
    return list(seen)


def template_id(value: Any) -> str:
    value = _text(value, "template_id", _("The template id"))
    if len(value) > MAX_TEMPLATE_ID:
        raise InvalidInputError(
            _("The template id must be at most %(max)d characters.") % {"max": MAX_TEMPLATE_ID}, field="template_id"
        )
    return value


def language(value: Any) -> str:
    if value not in LANGUAGES:
        raise InvalidInputError(
            _("Unknown language %(value)r; use one of: %(choices)s.")
            % {"value": str(value)[:20], "choices": ", ".join(LANGUAGES)},
            field="language",
        )
    return value


def params(value: Any) -> dict[str, str]:
    """A flat mapping of text to text; numbers are turned into text.

    ``None``, booleans, lists, mappings and numbers that are not finite are
    refused with a message naming the parameter.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(_("Template parameters must be a mapping of names to texts."), field="params")
    if len(value) > MAX_PARAMS:
        raise InvalidInputError(
            _("Too many template parameters (at most %(max)d).") % {"max": MAX_PARAMS}, field="params"
        )
    result: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_PARAM_KEY or _CONTROL.search(key):
            raise InvalidInputError(
                _("Template parameter names must be non-empty texts of at most %(max)d characters, not %(key)s.")
                % {"max": MAX_PARAM_KEY, "key": repr(key)[:MAX_PARAM_KEY]},
                field="params",
            )
        result[key] = _param_value(key, item)
    return result


def _param_value(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise InvalidInputError(
            _("Template parameter %(key)r must be text or a number, not %(type)s.")
            % {"key": key, "type": type(value).__name__},
            field="params",
        )
    text = value if isinstance(value, str) else _number_text(key, value)
    if len(text) > MAX_PARAM_VALUE or "\x00" in text:
        raise _too_long(key)
    return text


def _number_text(key: str, value: int | float | Decimal) -> str:
    """A number as text; refused when it is not finite, or too long to build."""
    if isinstance(value, float) and not math.isfinite(value) or isinstance(value, Decimal) and not value.is_finite():
        raise InvalidInputError(_("Template parameter %(key)r is not a finite number.") % {"key": key}, field="params")
    huge_int = isinstance(value, int) and value.bit_length() > 4 * MAX_PARAM_VALUE
    if huge_int or isinstance(value, Decimal) and abs(value.adjusted()) > MAX_PARAM_VALUE:
        raise _too_long(key)
    # Decimals in plain notation: Decimal("1E+2") is sent as "100".
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _too_long(key: str) -> InvalidInputError:
    return InvalidInputError(
        _("Template parameter %(key)r is too long or contains a NUL character.") % {"key": key}, field="params"
    )


def code(value: Any) -> str:
    """An OTP code: 4 to 10 letters or digits (the platform's limits).

    Full-width digits typed through an input method (``１２３４``) count as digits.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        value = unicodedata.normalize("NFKC", value).strip()
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise InvalidInputError(_("Enter the code: 4 to 10 letters or digits."), field="code")
    return value


def message_id(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(_("A message id is required."), field="message_id")
    value = value.strip()
    if len(value) > MAX_MESSAGE_ID or not _MESSAGE_ID.fullmatch(value):
        raise InvalidInputError(_("This is not a valid message id."), field="message_id")
    return value


def validate_recipient(value: Any) -> str:
    """The recipient as the services send to it, or a ``ValidationError`` a form can show.

    A phone number comes back in E.164 (national numbers read in
    ``DEFAULT_REGION``), an e-mail address in its canonical form (domain in
    lower-case punycode, no needless quotes, within RFC 5321's lengths); the
    destination rules (countries, number types) apply, as they do when
    sending. Usable as a Django field validator too (its return value is then
    ignored)::

        to = forms.CharField(validators=[validate_recipient])
    """
    try:
        return recipient(value, region=otp_settings.DEFAULT_REGION)
    except InvalidInputError as error:
        raise ValidationError(error.message, code="invalid") from None
