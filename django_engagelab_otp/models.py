"""The history of every message sent through this app."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .privacy import mask_recipient


class MessageLog(models.Model):
    """One row per send: written ``pending`` before the request, settled after it."""

    class Kind(models.TextChoices):
        OTP = "otp", _("OTP (platform code)")
        CUSTOM = "custom", _("Custom message")
        CODE = "code", _("Own code")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Unknown")

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        WHATSAPP = "whatsapp", _("WhatsApp")
        EMAIL = "email", _("E-mail")
        VOICE = "voice", _("Voice")

    message_id = models.CharField(_("message id"), max_length=64, unique=True, null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    to = models.CharField(_("recipient"), max_length=320)
    recipients = models.JSONField(
        _("all recipients"), default=list, blank=True,
        help_text=_("Every recipient when one message went to several; empty otherwise."),
    )
    template_id = models.CharField(_("template"), max_length=128)
    language = models.CharField(_("language"), max_length=16, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True, help_text=_("Secrets are redacted."))
    send_channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    error_code = models.IntegerField(_("error code"), null=True, blank=True)
    error_message = models.TextField(_("error message"), blank=True)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    verify_attempts = models.PositiveIntegerField(_("verification attempts"), default=0)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("message history")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The admin list is newest first, optionally narrowed by one filter
            # or a recipient: each index serves "WHERE x = ? ORDER BY created_at DESC".
            models.Index(fields=["-created_at", "-id"], name="engagelab_log_created"),
            models.Index(fields=["status", "-created_at"], name="engagelab_log_status"),
            models.Index(fields=["send_channel", "-created_at"], name="engagelab_log_channel"),
            models.Index(fields=["kind", "-created_at"], name="engagelab_log_kind"),
            models.Index(fields=["template_id", "-created_at"], name="engagelab_log_template"),
            models.Index(fields=["to", "-created_at"], name="engagelab_log_to"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.masked_to} ({self.status})"

    def __repr__(self) -> str:
        return f"<MessageLog {self.pk} {self.kind} {self.masked_to} {self.status} {self.message_id}>"

    @property
    def masked_to(self) -> str:
        return mask_recipient(self.to)

    @property
    def is_settled(self) -> bool:
        return self.status != self.Status.PENDING
