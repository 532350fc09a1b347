"""The history of every message sent through this app."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .privacy import is_hashed, mask_recipient


class Status(models.TextChoices):
    """Where a message stands: set by the send itself, then by the platform's callbacks."""

    # Set by the send itself. Queued: written when a send is enqueued for a
    # worker or read from a bulk file; no request has been made for it yet.
    QUEUED = "queued", _("Queued")
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Unknown")
    # Reported later by the platform's callbacks (message_status values).
    PLAN = "plan", _("Planned")
    TARGET_VALID = "target_valid", _("Recipient valid")
    TARGET_INVALID = "target_invalid", _("Recipient invalid")
    SENT = "sent", _("Sent")
    SENT_FAILED = "sent_failed", _("Sending failed")
    DELIVERED = "delivered", _("Delivered")
    DELIVERED_FAILED = "delivered_failed", _("Delivery failed")
    VERIFIED = "verified", _("Verified")
    VERIFIED_FAILED = "verified_failed", _("Verification failed")
    VERIFIED_TIMEOUT = "verified_timeout", _("Verification timed out")


# The groups of statuses, defined once: the lifecycle, the admin's filters and
# the index of open messages below all read them.

#: The message did not reach its recipient.
FAILURE_STATUSES: frozenset[str] = frozenset(
    {Status.FAILED, Status.TARGET_INVALID, Status.SENT_FAILED, Status.DELIVERED_FAILED}
)

#: The message reached its recipient; what follows is only the verification outcome.
REACHED_STATUSES: frozenset[str] = frozenset(
    {Status.DELIVERED, Status.VERIFIED, Status.VERIFIED_FAILED, Status.VERIFIED_TIMEOUT}
)

#: Nothing more is expected about delivery. A failure is final unless the
#: platform falls back to another channel (see ``history.lifecycle``).
FINAL_STATUSES: frozenset[str] = FAILURE_STATUSES | REACHED_STATUSES


#: Messages still under way: the condition of the partial index the admin's filters use.
# Sorted, so that a query's SQL matches the index's predicate exactly:
# PostgreSQL uses a partial index only when the query implies its predicate.
OPEN = ~models.Q(status__in=sorted(str(status) for status in FINAL_STATUSES))


class MessageLog(models.Model):
    """One row per send: written ``pending`` before the request, settled after it."""

    class Kind(models.TextChoices):
        OTP = "otp", _("OTP (platform code)")
        CUSTOM = "custom", _("Custom message")
        CODE = "code", _("Own code")

    Status = Status

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        WHATSAPP = "whatsapp", _("WhatsApp")
        EMAIL = "email", _("E-mail")
        VOICE = "voice", _("Voice")

    message_id = models.CharField(_("message id"), max_length=64, unique=True, null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    to = models.CharField(_("recipient"), max_length=320)
    recipients = models.JSONField(
        _("all recipients"),
        default=list,
        blank=True,
        help_text=_("Every recipient when one message went to several; empty otherwise."),
    )
    template_id = models.CharField(_("template"), max_length=128)
    language = models.CharField(_("language"), max_length=16, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True, help_text=_("Secrets are redacted."))
    send_channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    error_code = models.IntegerField(_("error code"), null=True, blank=True)
    error_message = models.TextField(_("error message"), blank=True)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    cost = models.DecimalField(_("cost"), max_digits=14, decimal_places=6, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=8, blank=True)
    verify_attempts = models.PositiveIntegerField(_("verification attempts"), default=0)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    #: What makes a send happen at most once when it is asked for again: a bulk
    #: run's batch id and line (``bulk:<batch>:<line>``), or the key given to an
    #: enqueue (``task:<key>``). Empty for ordinary sends.
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=200, unique=True, null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The admin list is newest first, optionally narrowed by one filter:
            # each index serves "WHERE x = ? ORDER BY created_at DESC, id DESC
            # LIMIT n" without sorting (read backwards for oldest first), and the
            # date drill-down's probes. template_id's also lists the templates.
            models.Index(fields=["-created_at", "-id"], name="engagelab_log_created"),
            models.Index(fields=["status", "-created_at", "-id"], name="engagelab_log_status_time"),
            models.Index(fields=["send_channel", "-created_at", "-id"], name="engagelab_log_channel_time"),
            models.Index(fields=["kind", "-created_at", "-id"], name="engagelab_log_kind_time"),
            models.Index(fields=["template_id", "-created_at", "-id"], name="engagelab_log_template_time"),
            # Recipient search, exact or by prefix (LIKE '+86187%'): the pattern
            # operator class makes LIKE use the index whatever the collation.
            models.Index(fields=["to"], opclasses=["varchar_pattern_ops"], name="engagelab_log_to_prefix"),
            # Messages without a final status are few: "final status: no" and
            # "lost messages" read only them (admin/filters.py asks OPEN).
            models.Index(fields=["-created_at", "-id"], condition=OPEN, name="engagelab_log_open"),
            # A bulk run's rows, by the prefix of their keys (the summary, a resumed run);
            # only rows that have a key are indexed.
            models.Index(
                fields=["idempotency_key"],
                opclasses=["varchar_pattern_ops"],
                condition=models.Q(idempotency_key__isnull=False),
                name="engagelab_log_key_prefix",
            ),
        ]

    def __str__(self) -> str:
        # The admin shows it as the page's title and in its breadcrumbs: in the reader's language.
        return gettext("%(kind)s to %(recipient)s (%(status)s)") % {
            "kind": self.get_kind_display(),
            "recipient": self.masked_to,
            "status": self.get_status_display(),
        }

    def __repr__(self) -> str:
        return f"<MessageLog {self.pk} {self.kind} {self.masked_to} {self.status} {self.message_id}>"

    @property
    def masked_to(self) -> str:
        return mask_recipient(self.to)

    @property
    def recipient(self) -> str | None:
        """The (first) recipient in clear: set by the send that returned this row, else ``to`` unless hashed.

        With ``HASH_RECIPIENTS`` the history keeps only a keyed hash; the row a
        send returns still knows whom it sent to, for the caller to use.
        """
        sent = self.__dict__.get("_recipient")
        if sent is not None:
            return sent
        return None if is_hashed(self.to) else self.to

    @recipient.setter
    def recipient(self, value: str) -> None:
        self.__dict__["_recipient"] = value


class MessageEvent(models.Model):
    """One callback row from the platform, kept once (raw and normalized).

    Status rows are linked to their ``MessageLog`` when this site sent the
    message; rows for unknown messages are kept with ``log`` empty. The other
    row kinds (notifications, uplink replies, system events) are kept too.
    """

    class Kind(models.TextChoices):
        MESSAGE_STATUS = "message_status", _("Message status")
        NOTIFICATION = "notification", _("Notification")
        UPLINK = "uplink", _("Reply (uplink)")
        SYSTEM_EVENT = "system_event", _("System event")

    log = models.ForeignKey(
        MessageLog,
        verbose_name=_("message"),
        related_name="events",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.MESSAGE_STATUS)
    message_id = models.CharField(_("message id"), max_length=64, blank=True, db_index=True)
    #: message_status for status rows, the event name for the other kinds.
    event = models.CharField(_("event"), max_length=40)
    occurred_at = models.DateTimeField(_("occurred at"))
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    error_code = models.IntegerField(_("error code"), null=True, blank=True)
    error_message = models.TextField(_("error message"), blank=True)
    cost = models.DecimalField(_("cost"), max_digits=14, decimal_places=6, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=8, blank=True)
    raw = models.JSONField(_("raw row"), default=dict)
    #: What tells apart two rows of one kind, message, event and second: a keyed
    #: hash of the recipient and channel (a message sent to several numbers),
    #: or of a notice's data. A retried row has the same one.
    discriminator = models.CharField(_("discriminator"), max_length=32, blank=True, default="", editable=False)
    received_at = models.DateTimeField(_("received"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("callback event")
        verbose_name_plural = _("callback events")
        ordering = ["occurred_at", "id"]
        constraints = [
            # Rows carry no event id: the same report can arrive twice.
            models.UniqueConstraint(
                fields=["kind", "message_id", "event", "occurred_at", "discriminator"], name="engagelab_event_once"
            ),
        ]
        indexes = [
            models.Index(fields=["log", "occurred_at"], name="engagelab_event_log"),
            # The admin list: newest first, optionally one kind of row.
            models.Index(fields=["-occurred_at", "-id"], name="engagelab_event_time"),
            models.Index(fields=["kind", "-occurred_at", "-id"], name="engagelab_event_kind_time"),
        ]

    def __str__(self) -> str:
        return gettext("%(event)s %(message_id)s at %(time)s") % {
            "event": self.event,
            "message_id": self.message_id,
            "time": f"{self.occurred_at:%Y-%m-%d %H:%M:%S}",
        }
