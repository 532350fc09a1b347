"""What the platform answers, registered on the ``api`` fixture (a ``responses`` mock)."""

from __future__ import annotations

from typing import Any

from .constants import API


def accept(api: Any, path: str = "messages", message_id: str = "m1", channel: str = "sms") -> None:
    """The platform accepts the next send to ``path``."""
    api.post(API + path, json={"message_id": message_id, "send_channel": channel})


def refusal(code: int, http: int = 400) -> dict[str, Any]:
    """The keyword arguments of an error answer with ``code``."""
    return {"status": http, "json": {"code": code, "message": f"platform text {code}"}}


def requests_to(api: Any, path: str = "messages") -> int:
    """How many requests reached ``path``."""
    return sum(1 for call in api.calls if call.request.url == API + path)
