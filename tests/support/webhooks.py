"""Shared by the webhook tests: a URLconf with the callback, row builders, signed posts."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from django.test import override_settings
from django.urls import include, path

from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.signing import callback_id
from tests.support.settings import engagelab

# Used with @pytest.mark.urls("tests.support.webhooks").
urlpatterns = [path("engagelab/", include("django_engagelab_otp.urls"))]

URL = "/engagelab/callback/"
REDIS_URL = "redis://127.0.0.1:6379/0"
USERNAME = "engagelab-callbacks"
SECRET = "webhook-secret-do-not-leak"
T0 = 1_700_000_000


def signed_settings(**extra: Any) -> override_settings:
    """ENGAGELAB_OTP of the test settings with callback signatures switched on."""
    return engagelab(WEBHOOK_USERNAME=USERNAME, WEBHOOK_SECRET=SECRET, **extra)


def status_row(
    message_id: str,
    status: str,
    itime: int = T0,
    *,
    channel: str = "sms",
    current: str | None = None,
    cost: Any = None,
    currency: str = "USD",
    error_code: int = 0,
    error_message: str | None = None,
    to: str = "+8618701235678",
) -> dict[str, Any]:
    state: dict[str, Any] = {
        "message_status": status,
        "status_data": {
            "msg_time": itime,
            "message_id": message_id,
            "current_send_channel": current or channel,
            "template_key": "login-otp",
            "business_id": "b-1",
        },
        "error_code": error_code,
    }
    if cost is not None:
        state["billing"] = {"cost": cost, "currency": currency}
    if error_message is not None:
        state["error_detail"] = {"message": error_message}
    return {
        "message_id": message_id,
        "to": to,
        "server": "otp",
        "channel": channel,
        "itime": itime,
        "custom_args": {},
        "status": state,
    }


def notification_row(event: str = "insufficient_balance", itime: int = T0, **data: Any) -> dict[str, Any]:
    return {"server": "otp", "itime": itime, "notification": {"event": event, "notification_data": data}}


def uplink_row(message_id: str, body: str = "STOP", itime: int = T0) -> dict[str, Any]:
    return {
        "server": "otp",
        "itime": itime,
        "message_id": message_id,
        "business_id": "b-1",
        "response": {
            "event": "uplink_message",
            "response_data": {
                "message_sid": "sid-1",
                "account_sid": "acc-1",
                "from": "+8618701235678",
                "to": "10690",
                "body": body,
            },
        },
    }


def system_row(event: str = "account_login", itime: int = T0, **data: Any) -> dict[str, Any]:
    return {"server": "otp", "itime": itime, "system_event": {"event": event, "data": data}}


def body(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps({"total": len(rows), "rows": rows}).encode()


def signed_headers(
    *, nonce: str | None = None, timestamp: int | None = None, secret: str = SECRET, username: str = USERNAME
) -> dict[str, str]:
    return {"HTTP_X_CALLBACK_ID": callback_id(secret, username, timestamp=timestamp, nonce=nonce)}


def post(client: Any, payload: bytes | list[dict[str, Any]], *, signed: bool = False, **headers: Any) -> Any:
    """POST a body (or rows) to the callback, signed with a fresh nonce when ``signed``.

    Unsigned posts opt into ``WEBHOOK_ALLOW_UNSIGNED`` (the tests of the rows need no signatures); with
    credentials configured (``signed_settings``) that changes nothing: they are still required.
    """
    data = payload if isinstance(payload, bytes) else body(payload)
    if signed:
        headers = {**signed_headers(timestamp=int(time.time())), **headers}
        return client.generic("POST", URL, data, content_type="application/json", **headers)
    with engagelab(WEBHOOK_ALLOW_UNSIGNED=True):
        return client.generic("POST", URL, data, content_type="application/json", **headers)


def make_log(message_id: str, channel: str = "sms", **fields: Any) -> MessageLog:
    return MessageLog.objects.create(
        kind=MessageLog.Kind.OTP,
        to="+8618701235678",
        template_id="login-otp",
        message_id=message_id,
        send_channel=channel,
        status=MessageLog.Status.ACCEPTED,
        **fields,
    )


@contextmanager
def redis_cache() -> Iterator[dict[str, Any]]:
    """A RedisCache configuration with a key prefix of its own; its keys are deleted afterwards.

    (``cache.clear()`` would flush the whole Redis database, other tests' keys included.)
    """
    prefix = f"test-webhook-{uuid.uuid4().hex}"
    server = redis.Redis.from_url(REDIS_URL)
    server.ping()  # fails loudly when Redis is not there
    try:
        yield {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}
    finally:
        keys = list(server.scan_iter(match=f"{prefix}:*"))
        if keys:
            server.delete(*keys)
        server.close()


def redis_keys(cache: dict[str, Any]) -> dict[bytes, int]:
    """The keys this cache configuration holds in Redis, with their time to live (seconds)."""
    server = redis.Redis.from_url(REDIS_URL)
    try:
        return {key: server.ttl(key) for key in server.scan_iter(match=f"{cache['KEY_PREFIX']}:*")}
    finally:
        server.close()
