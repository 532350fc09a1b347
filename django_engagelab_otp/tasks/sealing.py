"""What a task must carry but no queue may read: sealed with AES-256-GCM.

An own code (``send_code``), a sensitive template parameter
(``privacy.SENSITIVE_PARAMS``) and, with ``HASH_RECIPIENTS``, the recipients
themselves cannot be read back from the history row, so the task carries
them. Queues keep their messages where anyone with access to the broker or
the task table can read them, so they travel sealed: AES-256-GCM with a key
derived from ``SECRET_KEY`` for this purpose alone, a fresh nonce each time,
and the row's id as associated data (a sealed value copied onto another
row's task does not open). A key rotated with ``SECRET_KEY_FALLBACKS`` still
opens what was sealed before the rotation.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils.crypto import salted_hmac

from ..errors import failure
from ..exceptions import EngageLabError

#: The format's first byte: how the rest is to be read.
_VERSION = b"\x01"
_NONCE = 12


def seal(secrets: dict[str, Any], *, row: int) -> str:
    """``secrets`` (JSON values) sealed for the task of history row ``row``; ``""`` when there are none."""
    if not secrets:
        return ""
    nonce = os.urandom(_NONCE)
    data = json.dumps(secrets, separators=(",", ":")).encode()
    sealed = AESGCM(_key(settings.SECRET_KEY)).encrypt(nonce, data, _row(row))
    return base64.urlsafe_b64encode(_VERSION + nonce + sealed).decode("ascii")


def unseal(token: str, *, row: int) -> dict[str, Any]:
    """What :func:`seal` sealed for ``row``; ``ConfigurationError`` when no key of the site opens it."""
    if not token:
        return {}
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise _unreadable(row) from None
    if raw[:1] != _VERSION or len(raw) <= 1 + _NONCE:
        raise _unreadable(row)
    nonce, sealed = raw[1 : 1 + _NONCE], raw[1 + _NONCE :]
    for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        try:
            return json.loads(AESGCM(_key(secret)).decrypt(nonce, sealed, _row(row)))
        except InvalidTag:
            continue
    raise _unreadable(row)


def _key(secret: Any) -> bytes:
    # 32 bytes of HMAC-SHA256: a key for AES-256 that belongs to this purpose only.
    return salted_hmac("django_engagelab_otp.tasks.sealing", "aes-256-gcm", secret=secret, algorithm="sha256").digest()


def _row(row: int) -> bytes:
    return f"MessageLog:{int(row)}".encode()


def _unreadable(row: int) -> EngageLabError:
    return failure(
        "configuration",
        f"the sealed part of history row {row}'s task cannot be opened (SECRET_KEY changed without "
        "SECRET_KEY_FALLBACKS?)",
    )
