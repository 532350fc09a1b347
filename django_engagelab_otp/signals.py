"""Signals sent by the services (and, for callbacks, by the webhook view)."""

from django.dispatch import Signal

#: The platform accepted a message. kwargs: ``log`` (MessageLog).
message_sent = Signal()

#: A send failed or its outcome is unknown. kwargs: ``log``, ``error`` (EngageLabError).
message_failed = Signal()

#: A code was checked. kwargs: ``message_id``, ``verified`` (bool), ``log`` (MessageLog or None).
otp_verified = Signal()
