"""Proving a callback genuine: the ``X-CALLBACK-ID`` signature (:mod:`..signing`), its nonce, ``Authorization``.

What is refused, and how (nothing refused is written):

* 401: no credentials, malformed ones, another username, a wrong signature,
  a wrong ``Authorization`` header — the caller is not known to be the platform.
* 403: a correctly signed callback whose timestamp is outside
  ``WEBHOOK_TOLERANCE`` seconds of now, or whose nonce was already used —
  the platform's own signature, but replayed or stale.
* 503: no credentials are configured (and ``WEBHOOK_ALLOW_UNSIGNED`` is
  off), the nonce store (Django's cache) cannot be reached, or only one of
  ``WEBHOOK_USERNAME`` / ``WEBHOOK_SECRET`` is set (``manage.py check`` says so).
  The platform retries later.

A nonce is *claimed* (``cache.add``: atomic, also across processes with
Redis) before the body is processed and *released* when processing fails, so
that the platform's retry of a callback we failed to store is accepted; it is
kept once the callback has been stored, so a replay is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import time
from dataclasses import dataclass, field

from django.core.cache import caches
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from ..conf import otp_settings
from ..signing import sign

_META_HEADER = "HTTP_X_CALLBACK_ID"
_FIELDS = ("timestamp", "nonce", "username", "signature")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_TOKEN = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?$")  # printable ASCII
_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
_NONCE_PREFIX = "engagelab_otp:callback-nonce:"


class Rejected(Exception):
    """A callback refused before anything was written: ``status`` and a short ``reason``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class CallbackId:
    """The parts of an ``X-CALLBACK-ID`` header."""

    timestamp: str
    nonce: str
    username: str
    signature: str


def parse_callback_id(value: str) -> CallbackId:
    """The header's four parts; :class:`Rejected` (401) unless each is present once and well formed."""
    parts: dict[str, str] = {}
    for segment in value.split(";"):
        if not segment.strip():
            continue
        name, equals, content = segment.partition("=")
        name = name.strip()
        if not equals or name not in _FIELDS or name in parts:
            raise Rejected(401, "malformed X-CALLBACK-ID")
        parts[name] = content.strip()
    if len(parts) != len(_FIELDS):
        raise Rejected(401, "malformed X-CALLBACK-ID")
    if not (
        _TIMESTAMP.match(parts["timestamp"])
        and _TOKEN.match(parts["nonce"])
        and _TOKEN.match(parts["username"])
        and _SIGNATURE.match(parts["signature"])
    ):
        raise Rejected(401, "malformed X-CALLBACK-ID")
    return CallbackId(**parts)


@dataclass
class Claim:
    """A nonce this request holds; :meth:`release` gives it back when processing failed."""

    key: str | None = None
    cache_alias: str = "default"
    released: bool = field(default=False, repr=False)

    def release(self) -> None:
        if self.key and not self.released:
            self.released = True
            # On a cache failure the key simply expires; the answer is an error already.
            with contextlib.suppress(Exception):
                caches[self.cache_alias].delete(self.key)


def authenticate(request: HttpRequest, *, now: float | None = None) -> Claim:
    """Check the request against the configured credentials; return the claimed nonce.

    Raises :class:`Rejected`. With no credentials configured every callback is
    refused (503), unless ``WEBHOOK_ALLOW_UNSIGNED`` opts out for development.
    """
    expected_authorization = otp_settings.WEBHOOK_AUTHORIZATION
    if expected_authorization and not constant_time_compare(
        request.META.get("HTTP_AUTHORIZATION", "").strip(), str(expected_authorization).strip()
    ):
        raise Rejected(401, "invalid Authorization")
    username, secret = otp_settings.WEBHOOK_USERNAME, otp_settings.WEBHOOK_SECRET
    if not username and not secret:
        if expected_authorization or otp_settings.WEBHOOK_ALLOW_UNSIGNED:
            return Claim()
        # Fail closed: anyone could otherwise mark any message verified.
        raise Rejected(503, "callback credentials not configured")
    if not (username and secret):
        raise Rejected(503, "callback signature half configured")
    tolerance = otp_settings.WEBHOOK_TOLERANCE
    parsed = verify_callback_id(
        request.META.get(_META_HEADER, ""), username=str(username), secret=str(secret), tolerance=tolerance, now=now
    )
    return claim_nonce(parsed.username, parsed.nonce, ttl=2 * tolerance + 60)


def verify_callback_id(
    header: str, *, username: str, secret: str, tolerance: int = 300, now: float | None = None
) -> CallbackId:
    """Check an ``X-CALLBACK-ID`` value (everything but the nonce's novelty); :class:`Rejected` otherwise."""
    if not header:
        raise Rejected(401, "missing X-CALLBACK-ID")
    parsed = parse_callback_id(header)
    valid_user = constant_time_compare(parsed.username, username)
    valid_signature = hmac.compare_digest(sign(secret, parsed.timestamp, parsed.nonce, username), parsed.signature)
    if not (valid_user and valid_signature):
        raise Rejected(401, "invalid signature")
    # Checked only once the signature holds, so that 403 always means "ours, but stale or replayed".
    current = int(time.time() if now is None else now)
    if abs(current - int(parsed.timestamp)) > tolerance:
        raise Rejected(403, "stale timestamp")
    return parsed


def claim_nonce(username: str, nonce: str, *, ttl: int) -> Claim:
    """Claim a nonce once; :class:`Rejected` 403 when it was already used."""
    alias = otp_settings.WEBHOOK_NONCE_CACHE
    key = _NONCE_PREFIX + hashlib.sha256(f"{username}\n{nonce}".encode()).hexdigest()
    try:
        claimed = caches[alias].add(key, 1, timeout=max(ttl, 1))
    except Exception as error:  # any cache failure: refuse, the platform retries
        raise Rejected(503, "nonce store unavailable") from error
    if not claimed:
        raise Rejected(403, "replayed nonce")
    return Claim(key, alias)
