"""Signals sent by the services (and, for callbacks, by the webhook view)."""

from django.dispatch import Signal

# Sent by the services with ``send_robust``: a receiver that raises is logged
# (logger ``django.dispatch``) and never turns a settled send into an error.

#: The platform accepted a message. sender: MessageLog. kwargs: ``log`` (the
#: settled MessageLog: ``accepted``, with ``message_id`` and ``send_channel``).
message_sent = Signal()

#: A send failed or its outcome is unknown. sender: MessageLog. kwargs: ``log``
#: (the settled MessageLog: ``failed`` or ``unknown``), ``error`` (EngageLabError).
message_failed = Signal()

#: The platform judged a code. sender: MessageLog. kwargs: ``message_id``,
#: ``verified`` (bool), ``log`` (the MessageLog, or None when another site sent it).
otp_verified = Signal()

# Callbacks (sent by the webhook view once the batch is committed; each event is
# a typed object from django_engagelab_otp.history.events that keeps the raw row).

#: A callback moved a message's status (sent once per message and batch, only on a
#: real change). sender: MessageLog. kwargs: ``log`` (the saved MessageLog),
#: ``event`` (MessageStatusEvent that set the new status), ``previous_status`` (str).
message_status_changed = Signal()

#: A platform notification (insufficient_balance, insufficient_verification_rate,
#: template_audit_result, …). sender: MessageEvent. kwargs: ``event`` (NotificationEvent).
notification_received = Signal()

#: A recipient replied (uplink_message, e.g. "STOP"). sender: MessageEvent.
#: kwargs: ``event`` (UplinkEvent), ``log`` (the MessageLog replied to, or None).
uplink_received = Signal()

#: An account event (account_login, key_manage, msg_history, template_manage,
#: api_call). sender: MessageEvent. kwargs: ``event`` (SystemEvent).
system_event_received = Signal()
