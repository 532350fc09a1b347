"""The opaque request id ``send`` hands out and ``verify`` takes back, bound to one recipient.

It is the platform's message id signed with the site's key
(``django.core.signing``) together with a keyed hash of the recipient, so a
client cannot forge one, change one, or use one issued for another number.
No server state: any process with the same ``SECRET_KEY`` accepts it until
it expires.
"""

from __future__ import annotations

from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

SALT = "django_engagelab_otp.contrib.drf.request_id"

INVALID = _("This request id is not valid. Please request a new code.")
EXPIRED = _("This request id has expired. Please request a new code.")
FOREIGN = _("This request id was issued for another recipient.")


class RequestIdError(ValueError):
    """A request id that cannot be used; ``message`` is what the client reads."""

    def __init__(self, message: object) -> None:
        super().__init__(message)
        self.message = message


def issue(message_id: str, recipient: str) -> str:
    """The request id for the message sent to ``recipient`` (both as the services normalized them)."""
    return signing.dumps({"m": message_id, "r": _digest(recipient)}, salt=SALT, compress=True)


def redeem(request_id: str, recipient: str, *, max_age: int) -> str:
    """The message id inside ``request_id``, or ``RequestIdError`` (tampered, expired, another recipient's)."""
    try:
        data = signing.loads(request_id, salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise RequestIdError(EXPIRED) from None
    except signing.BadSignature:
        raise RequestIdError(INVALID) from None
    if not isinstance(data, dict) or not isinstance(data.get("m"), str) or not isinstance(data.get("r"), str):
        raise RequestIdError(INVALID)
    if not constant_time_compare(data["r"], _digest(recipient)):
        raise RequestIdError(FOREIGN)
    return data["m"]


def _digest(recipient: str) -> str:
    # A hash, not the number: request ids end up in client logs.
    return salted_hmac(SALT, recipient, algorithm="sha256").hexdigest()[:32]
