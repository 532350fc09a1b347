"""The canonical form of an e-mail address: what is sent, stored, hashed, counted and searched for.

Folded, because each spelling certainly reaches the same mailbox:

* the domain's case and its Unicode or ASCII spelling: ``Bücher.Example``,
  ``bücher.example`` and ``xn--bcher-kva.example`` are one domain, sent as the
  last (IDNA 2008 with the UTS 46 mapping, through the ``idna`` package);
* quotes RFC 5322 does not need: ``"bob"@example.com`` is ``bob@example.com``;
  ``"bob..smith"@example.com`` keeps its quotes (two dots in a row need them),
  written with the fewest backslashes.

Not folded, because no standard makes it so: the local part's case
(``Bob@`` and ``bob@`` may be two mailboxes, though rarely are), ``+tags``
and provider rules such as Gmail ignoring dots. The abuse limits fold case and
``+tags`` on top of this form (:func:`.privacy.mailbox`); nothing applies
provider rules, which change and which another provider may not share.

``idna`` rather than Python's ``encodings.idna``: the standard library speaks
IDNA 2003, which maps ``faß.de`` to ``fass.de`` (another domain since 2010,
with another owner) and accepts symbols such as ``☃.net`` that registries no
longer allow. ``idna`` already comes with ``requests``.
"""

from __future__ import annotations

import re

import idna
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext as _

from .exceptions import InvalidInputError

#: RFC 5321 (4.5.3.1): a path is at most 256 octets with its angle brackets, a local part 64.
MAX_ADDRESS = 254
MAX_LOCAL_PART = 64

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_NEEDS_BACKSLASH = re.compile(r'(["\\])')
# No "localhost": the platform wants a dot in the domain.
_valid = EmailValidator(allowlist=[])


def canonical_email(text: str) -> str:
    """``text`` (an e-mail address, trimmed) in its canonical form, or ``InvalidInputError`` on ``to``.

    ``"Bob"@Bücher.Example`` → ``Bob@xn--bcher-kva.example``. The result is
    ASCII, at most 254 octets with at most 64 before the ``@``, and passes
    Django's ``EmailValidator``; the same address however written gives the
    same result, and the result gives itself.
    """
    typed_local, _at, typed_domain = text.rpartition("@")
    local = _local_part(typed_local)
    address = f"{local}@{_domain(typed_domain)}"
    # The platform refuses a second "@" even inside quotes; Django's validator allows it.
    if "@" in local:
        raise _invalid()
    # Counted in octets, as SMTP counts them, and on what is sent: punycode is longer than Unicode.
    if len(local.encode()) > MAX_LOCAL_PART or len(address.encode()) > MAX_ADDRESS:
        raise InvalidInputError(
            _("The e-mail address is too long: at most %(max)d characters, %(local)d of them before the @.")
            % {"max": MAX_ADDRESS, "local": MAX_LOCAL_PART},
            field="to",
        )
    try:
        _valid(address)
    except ValidationError:
        raise _invalid() from None
    return address


def _local_part(text: str) -> str:
    """The local part with quotes only where RFC 5322 needs them (what is left unparsed, the validator judges)."""
    quoted = _QUOTED.fullmatch(text)
    if quoted is None:
        return text
    content = _QUOTED_PAIR.sub(r"\1", quoted.group(1))
    if _DOT_ATOM.fullmatch(content):
        return content
    return '"' + _NEEDS_BACKSLASH.sub(r"\\\1", content) + '"'


def _domain(text: str) -> str:
    """The domain as A-labels in lower case; an invalid one (or an IP literal) is refused."""
    try:
        encoded = idna.encode(text, uts46=True, std3_rules=True).decode("ascii")
        # An A-label that does not come back from its own U-label is not one (RFC 5891, 5.4).
        if idna.encode(idna.decode(encoded)).decode("ascii") != encoded:
            raise _invalid()
    except UnicodeError:  # idna.IDNAError, or a punycode label that does not decode
        raise _invalid() from None
    return encoded


def _invalid() -> InvalidInputError:
    return InvalidInputError(_("Enter a valid e-mail address."), field="to")
