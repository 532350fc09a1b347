"""Typed callback events: one class per kind of row the platform POSTs.

Each event carries the normalized fields an application needs and ``raw``,
the row exactly as received (after removing what no database can store: NUL
characters and unpaired surrogates). Events are what the signals send::

    from django.dispatch import receiver
    from django_engagelab_otp.signals import uplink_received

    @receiver(uplink_received)
    def unsubscribe(sender, event, log, **kwargs):
        if event.body.strip().upper() == "STOP":
            ...

``key`` is what makes a row unique: the same key arriving twice is stored once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from ..privacy import hide_recipients, mask_recipient


@dataclass(frozen=True, kw_only=True)
class CallbackEvent:
    """What every row has: when it happened, which platform service sent it, the raw row."""

    kind: ClassVar[str]

    #: ``itime``: when the platform says it happened.
    occurred_at: datetime
    #: ``server``: the platform service that reported it (e.g. ``"otp"``).
    server: str = ""
    #: The row as received.
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: Tells apart rows of one kind, message, event and second (see ``MessageEvent.discriminator``).
    discriminator: str = field(default="", repr=False)
    #: The discriminators this row had under ``SECRET_KEY_FALLBACKS`` (a keyed hash changes with the
    #: key): a row stored before a rotation and retried after it is recognised by one of them.
    former_discriminators: tuple[str, ...] = field(default=(), repr=False, compare=False)

    # Every kind also has ``event`` (the status or event name stored in
    # ``MessageEvent.event``) and ``message_id`` ("" for kinds about no message).

    @property
    def key(self) -> tuple[str, str, str, datetime, str]:
        """The deduplication key: (kind, message_id, event, occurred_at, discriminator)."""
        return (self.kind, self.message_id, self.event, self.occurred_at, self.discriminator)  # type: ignore[attr-defined]

    def record_fields(self) -> dict[str, Any]:
        """Column values for a ``MessageEvent`` row (without ``log``)."""
        return {
            "kind": self.kind,
            "message_id": self.message_id,  # type: ignore[attr-defined]
            "event": self.event,  # type: ignore[attr-defined]
            "occurred_at": self.occurred_at,
            "discriminator": self.discriminator,
            "raw": hide_recipients(self.raw),  # HASH_RECIPIENTS: no number kept here either
        }


@dataclass(frozen=True, kw_only=True)
class MessageStatusEvent(CallbackEvent):
    """A step in a message's life (``plan``, ``sent``, ``delivered``, ``verified``…)."""

    kind: ClassVar[str] = "message_status"

    message_id: str
    #: ``status.message_status``, normalized (``sent_fail`` → ``sent_failed``).
    status: str
    #: ``channel``: the channel this status is about.
    channel: str = ""
    #: ``status.status_data.current_send_channel``: the channel the platform is
    #: using now (differs from ``channel`` after a fallback). Falls back to ``channel``.
    current_send_channel: str = ""
    to: str = field(default="", repr=False)
    #: ``status.error_code`` (None when 0 or absent) and ``status.error_detail.message``.
    error_code: int | None = None
    error_message: str = ""
    #: ``status.billing``: what this step cost (usually on ``sent``).
    cost: Decimal | None = None
    currency: str = ""
    template_key: str = ""
    business_id: str = ""
    custom_args: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def event(self) -> str:
        return self.status

    @property
    def masked_to(self) -> str:
        return mask_recipient(self.to)

    def record_fields(self) -> dict[str, Any]:
        return {
            **super().record_fields(),
            "channel": self.channel,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "cost": self.cost,
            "currency": self.currency,
        }


@dataclass(frozen=True, kw_only=True)
class NotificationEvent(CallbackEvent):
    """An account notice: ``insufficient_balance``, ``insufficient_verification_rate``,
    ``template_audit_result``. ``data`` is ``notification.notification_data``."""

    kind: ClassVar[str] = "notification"
    message_id: ClassVar[str] = ""

    event: str
    data: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, kw_only=True)
class UplinkEvent(CallbackEvent):
    """A recipient's reply to a message (``uplink_message``), e.g. ``STOP``.

    ``sender`` / ``recipient`` / ``body`` come from ``response.response_data``
    (``from``, ``to``, ``body``); ``data`` is that object whole.
    """

    kind: ClassVar[str] = "uplink"

    #: The message replied to ("" when the row names none).
    message_id: str = ""
    event: str
    business_id: str = ""
    sender: str = field(default="", repr=False)
    recipient: str = field(default="", repr=False)
    body: str = field(default="", repr=False)
    message_sid: str = ""
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def masked_sender(self) -> str:
        return mask_recipient(self.sender)


@dataclass(frozen=True, kw_only=True)
class SystemEvent(CallbackEvent):
    """Something done on the account: ``account_login``, ``key_manage``, ``msg_history``,
    ``template_manage``, ``api_call``. ``data`` is ``system_event.data``."""

    kind: ClassVar[str] = "system_event"
    message_id: ClassVar[str] = ""

    event: str
    data: dict[str, Any] = field(default_factory=dict, repr=False)
