"""Abuse limits: what a public "send me a code" button may spend.

* A **resend cooldown** per recipient and template (``RESEND_COOLDOWN``) and a
  **daily cap** per recipient (``DAILY_LIMIT``) guard ``send_otp`` and
  ``send_code``. Both are claimed atomically *before* the platform is called
  and given back when the send was refused or failed, so that a failure does
  not lock a person out; a send whose outcome is unknown keeps them, since its
  message may have gone.
* **Client rates** (``IP_RATE``, ``USER_RATE``) guard the forms given a
  request, in fixed windows as django-ratelimit counts them.

State lives in Django's cache framework, counted with ``cache.add`` alone
(:mod:`.limits_cache` says why): with a shared cache such as Redis the limits
hold across processes and machines. Refusals raise ``ThrottledError``, are
logged at WARNING with the recipient masked, and write no history row: no
message was sent. (The verification attempt counter lives with the history:
:mod:`.history.verifications`.)
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from django.http import HttpRequest

from .conf import otp_settings, parse_rate
from .errors import failure
from .exceptions import EngageLabError
from .limits_cache import DAY, Claim, Full, Window, cache_errors, cache_key, cache_keys, take_alone, take_unit
from .privacy import mailbox, mask_recipient, stored_recipient

logger = logging.getLogger("django_engagelab_otp.limits")


# ---------------------------------------------------------------------- sends


@dataclass
class SendClaim:
    """The limits one send holds while its request is out."""

    claims: list[Claim] = field(default_factory=list)

    def release(self) -> None:
        """The send was refused or failed: give back the cooldown and the day's count.

        Never raises: the send's own error is what the caller must see.
        """
        keys = tuple(key for claim in self.claims for key in claim.keys)
        self.claims = []
        try:
            Claim(keys).give_back()
        except Exception as error:  # the cache went away; the claims expire on their own
            logger.error("EngageLab limits could not be given back: %s", type(error).__name__)


#: What an unthrottled send holds.
NO_CLAIM = SendClaim()


def claim_send(recipient: str, template_id: str) -> SendClaim:
    """Claim the cooldown and one of the day's messages for ``recipient``, or raise ``ThrottledError``.

    ``recipient`` is normalized (E.164 or e-mail). Of simultaneous claims for
    one recipient and template, exactly one wins; of simultaneous claims for
    one recipient, no more than the day's limit.
    """
    box = mailbox(recipient)
    cooldown, limit = otp_settings.RESEND_COOLDOWN, otp_settings.DAILY_LIMIT
    takes: list[tuple[str, Callable[[], Claim]]] = []
    # The keys under SECRET_KEY_FALLBACKS hold what was claimed before a rotation: it still counts.
    if cooldown > 0:
        key, *former = cache_keys("cooldown", f"{template_id}\n{box}")
        takes.append(("cooldown", partial(take_alone, key, cooldown, former=former)))
    if limit > 0:
        key, *former = cache_keys("daily", box)
        takes.append(("daily", partial(take_unit, key, limit, DAY, former=former)))
    claim = SendClaim()
    with cache_errors():
        for scope, take in takes:
            try:
                claim.claims.append(take())
            except Full as full:
                claim.release()  # the cooldown, when the day's limit refuses
                raise _refuse(scope, full.wait, recipient) from None
            except BaseException:
                claim.release()
                raise
    return claim


def _refuse(scope: str, wait: float, recipient: str = "", action: str = "send") -> EngageLabError:
    """The refusal, logged: for a recipient (masked, or its hash's mask) or for the client of a request."""
    error = failure("throttled", f"refused by the {scope} limit", wait_seconds=wait, scope=scope)
    if error.wait_seconds is not None:
        error.message += f"; try again in {error.wait_seconds} s"
    subject = f"send to {mask_recipient(stored_recipient(recipient))}" if recipient else f"{action} from a client"
    logger.warning("EngageLab %s refused by the %s limit (%s s to wait)", subject, scope, error.wait_seconds)
    return error


# ---------------------------------------------------------------------- client rates


def _ip_key(request: HttpRequest) -> str | None:
    return client_ip(request)


def _user_key(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)
    return str(user.pk) if user is not None and user.is_authenticated else None


#: The client rates by scope: the setting that holds the rate, and how a request is keyed.
_CLIENT_SCOPES: tuple[tuple[str, str, Callable[[HttpRequest], str | None]], ...] = (
    ("ip", "IP_RATE", _ip_key),
    ("user", "USER_RATE", _user_key),
)


def check_client(request: HttpRequest | None, action: str) -> None:
    """Count one ``action`` (``"send"``, ``"verify"``) for the request's client IP and user.

    Raises ``ThrottledError`` when either rate is exceeded. Sending and
    verifying are counted apart. No request, no limit: a form built without
    one (a management command, a test) is not a public button.
    """
    if request is None:
        return
    for scope, setting, key_of in _CLIENT_SCOPES:
        rate = getattr(otp_settings, setting)
        value = key_of(request) if rate else None
        if value is None:
            continue
        count, seconds = parse_rate(rate)
        key = cache_key(f"{action}:{scope}", value)
        with cache_errors():
            try:
                take_unit(key, count, _window(key, seconds))
            except Full as full:
                raise _refuse(scope, full.wait, action=action) from None


def _window(key: str, seconds: int) -> Window:
    # Each client's windows start at a moment of their own (from its key's hash), as
    # django-ratelimit's do, so that all the counts do not start afresh at once.
    return Window(seconds, offset=int(key[-8:], 16) % seconds)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, from ``CLIENT_IP`` or ``REMOTE_ADDR``; IPv6 addresses as their /64.

    One IPv6 subscriber usually holds a whole /64, so its addresses count as one.
    """
    getter = otp_settings.CLIENT_IP  # already a callable (conf imports a dotted path)
    text = getter(request) if getter else request.META.get("REMOTE_ADDR")
    if not text:
        logger.warning("EngageLab client rate not applied: no client address (see CLIENT_IP)")
        return None
    try:
        address = ipaddress.ip_address(str(text).strip())
    except ValueError:
        return str(text)[:100]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)
