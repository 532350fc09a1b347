"""The callbacks' signature, as the platform computes it.

When a username and secret are configured in the EngageLab console, every
callback carries::

    X-CALLBACK-ID: timestamp={ts};nonce={nonce};username={username};signature={sig}
    sig = hex(HMAC-SHA256(key=secret, msg=f"{ts}{nonce}{username}"))

:mod:`.webhooks.signature` checks it; the simulator signs with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "X-CALLBACK-ID"


def sign(secret: str, timestamp: str | int, nonce: str, username: str) -> str:
    """The documented signature: ``hex(HMAC-SHA256(secret, f"{timestamp}{nonce}{username}"))``."""
    message = f"{timestamp}{nonce}{username}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def callback_id(secret: str, username: str, *, timestamp: int | None = None, nonce: str | None = None) -> str:
    """A signed ``X-CALLBACK-ID`` value, as the platform sends it (now and with a fresh nonce unless given)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = secrets.token_hex(16) if nonce is None else nonce
    return f"timestamp={ts};nonce={nonce};username={username};signature={sign(secret, ts, nonce, username)}"
