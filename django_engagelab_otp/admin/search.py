"""What the operator types in the search box, turned into indexed lookups.

A term can be a message id (matched exactly) or a recipient: a phone number in
any usual format (``+86 187-0123-5678``, ``0086 18701235678``, ``(+86) 187
0123 5678``) or an e-mail address, read the way the services read what they
send and matched exactly against what the history stores
(:func:`privacy.recipient_lookups`, which also knows about hashed recipients,
those hashed before a ``SECRET_KEY`` rotation included).
A partial number or address matches by prefix. Every lookup is an equality
or a ``LIKE 'prefix%'`` that the recipient index serves: never ``%term%``.
"""

from __future__ import annotations

import re

from django.db.models import Q

from .. import validation
from ..conf import otp_settings
from ..exceptions import InvalidInputError
from ..privacy import recipient_lookups

# What people put between the digits of a phone number.
_PHONE = re.compile(r"^[+\d\s().\-/]+$")
_NOT_DIGIT = re.compile(r"\D")
#: E.164 numbers have at most 15 digits.
MAX_PHONE_DIGITS = 15


def search_filter(term: str) -> Q | None:
    """The condition a search term stands for, or None when it can match nothing."""
    term = term.strip()
    conditions = [Q(message_id=term)] if _is_message_id(term) else []
    recipient = recipient_filter(term)
    if recipient is not None:
        conditions.append(recipient)
    if not conditions:
        return None
    result = conditions[0]
    for condition in conditions[1:]:
        result |= condition
    return result


def _is_message_id(term: str) -> bool:
    try:
        return validation.message_id(term) == term
    except InvalidInputError:
        return False


def recipient_filter(term: str) -> Q | None:
    stored = recipient_lookups(term)
    if len(stored) > 1:  # hashed under SECRET_KEY and its fallbacks
        return Q(to__in=stored)
    if stored:
        return Q(to=stored[0])
    phone = _PHONE.match(term) is not None
    if otp_settings.HASH_RECIPIENTS:
        return None  # a keyed hash has no prefix to search by
    if phone:
        return _phone_prefix(term)
    if term and not any(char.isspace() for char in term):
        # The start of an e-mail address ("alice", "bob@exa"): domains are stored in lower case.
        local, at, domain = term.rpartition("@")
        return Q(to__startswith=f"{local}@{domain.lower()}" if at else term)
    return None


def _phone_prefix(term: str) -> Q | None:
    digits = _NOT_DIGIT.sub("", term)
    if term.startswith("00"):
        digits = digits[2:]  # the international call prefix used in much of the world
    if not digits or len(digits) > MAX_PHONE_DIGITS:
        return None
    return Q(to__startswith="+" + digits)
