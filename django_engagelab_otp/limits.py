"""Abuse limits: what a public "send me a code" button may spend.

* A **resend cooldown** per recipient and template (``RESEND_COOLDOWN``) and a
  **daily cap** per recipient (``DAILY_LIMIT``) guard ``send_otp`` and
  ``send_code``. Both are claimed atomically *before* the platform is called
  and given back when the send was refused or failed, so that a failure does
  not lock a person out; a send whose outcome is unknown keeps them, since its
  message may have gone.
* **Client rates** (``IP_RATE``, ``USER_RATE``) guard the forms given a
  request, through django-ratelimit.

State lives in Django's cache framework (:mod:`.limits_cache`): with a shared
cache such as Redis the limits hold across processes and machines. Refusals
raise ``ThrottledError``, are logged at WARNING with the recipient masked,
and write no history row: no message was sent. (The verification attempt
counter lives with the history: :mod:`.history.attempts`.)
"""

from __future__ import annotations

import ipaddress
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import BaseCache
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from .conf import otp_settings
from .errors import failure
from .exceptions import EngageLabError, ThrottledError
from .limits_cache import PREFIX, cache_errors, cache_keys, limits_cache
from .privacy import mailbox, mask_recipient, stored_recipient

logger = logging.getLogger("django_engagelab_otp.limits")

DAY = 86400
#: Attempts to claim a key that expires while it is being read.
_CLAIM_TRIES = 3


# ---------------------------------------------------------------------- sends


@dataclass
class SendClaim:
    """The limits one send holds while its request is out."""

    cooldown_key: str | None = None
    token: str = ""
    daily_key: str | None = None

    def release(self) -> None:
        """The send was refused or failed: give back the cooldown and the day's count.

        Never raises: the send's own error is what the caller must see.
        """
        if self.cooldown_key is None and self.daily_key is None:
            return
        try:
            cache = limits_cache()
            if self.cooldown_key is not None:
                held = cache.get(self.cooldown_key)
                # Only our own claim: one that expired meanwhile may be another send's by now.
                if isinstance(held, tuple) and held[1:] == (self.token,):
                    cache.delete(self.cooldown_key)
            if self.daily_key is not None:
                cache.decr(self.daily_key)
        except Exception as error:  # the cache went away; the counts expire on their own
            logger.error("EngageLab limits could not be given back: %s", type(error).__name__)
        self.cooldown_key = self.daily_key = None


#: What an unthrottled send holds.
NO_CLAIM = SendClaim()


def claim_send(recipient: str, template_id: str) -> SendClaim:
    """Claim the cooldown and one of the day's messages for ``recipient``, or raise ``ThrottledError``.

    ``recipient`` is normalized (E.164 or e-mail). Of simultaneous claims for
    one recipient and template, exactly one wins: ``cache.add`` is atomic.
    """
    claim = SendClaim()
    with cache_errors():
        cache = limits_cache()
        cooldown = otp_settings.RESEND_COOLDOWN
        if cooldown > 0:
            keys = cache_keys("cooldown", f"{template_id}\n{mailbox(recipient)}")
            claim.cooldown_key = keys[0]
            claim.token = _claim_cooldown(cache, keys, cooldown, recipient)
        limit = otp_settings.DAILY_LIMIT
        if limit > 0:
            try:
                claim.daily_key = _count_today(cache, recipient, limit)
            except ThrottledError:
                claim.release()
                raise
    return claim


def _claim_cooldown(cache: BaseCache, keys: list[str], seconds: float, recipient: str) -> str:
    """Claim ``keys[0]``; the other keys are where a cooldown started before a ``SECRET_KEY`` rotation is held."""
    key, *former = keys
    earlier = cache.get_many(former) if former else {}
    if earlier:
        raise _refuse("cooldown", _left(next(iter(earlier.values())), seconds), recipient)
    token = secrets.token_hex(8)
    for _try in range(_CLAIM_TRIES):
        expires_at = time.time() + seconds
        if cache.add(key, (expires_at, token), timeout=math.ceil(seconds)):
            return token
        held = cache.get(key)
        if held is not None:  # else it expired between add and get: claim again
            raise _refuse("cooldown", _left(held, seconds), recipient)
    raise _refuse("cooldown", seconds, recipient)


def _left(held: object, seconds: float) -> float:
    """Seconds left of a held cooldown (a value this code did not write: the whole cooldown)."""
    return held[0] - time.time() if isinstance(held, tuple) else seconds


def _count_today(cache: BaseCache, recipient: str, limit: int) -> str | None:
    """Count one message in today's (UTC) total for ``recipient``; the key, or ``None`` if the cache keeps nothing."""
    now = time.time()
    day = int(now // DAY)
    left = (day + 1) * DAY - now
    key, *former = [f"{name}:{day}" for name in cache_keys("daily", mailbox(recipient))]
    # Today's messages counted before a SECRET_KEY rotation, under an old key.
    earlier = sum(n for n in cache.get_many(former).values() if isinstance(n, int)) if former else 0
    for _try in range(_CLAIM_TRIES):
        cache.add(key, 0, timeout=math.ceil(left) + 60)
        try:
            count = cache.incr(key)
        except ValueError:  # expired (or never kept: DummyCache) between add and incr
            continue
        if count + earlier > limit:
            cache.decr(key)
            raise _refuse("daily", left, recipient)
        return key
    logger.warning("EngageLab daily limit not counted: the cache %r keeps nothing", otp_settings.LIMITS_CACHE)
    return None


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
        with cache_errors():
            usage = get_usage(
                request,
                group=f"{PREFIX}{action}:{scope}",
                key=lambda _group, _request, value=value: value,
                rate=rate,
                increment=True,
            )
        if usage is not None and usage["should_limit"]:
            raise _refuse(scope, usage["time_left"], action=action)


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
