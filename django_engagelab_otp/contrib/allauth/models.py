"""Phone numbers of accounts, for projects whose user model has none (``AccountAdapter`` uses it)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..recipients import clean_recipient_field


class UserPhone(models.Model):
    """One phone number per account, as allauth models it (``get_phone`` answers one)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="engagelab_phone"
    )
    # Unique: allauth finds the account of a number typed at login (get_user_by_phone).
    phone = models.CharField(_("phone number"), max_length=32, unique=True)
    verified = models.BooleanField(_("verified"), default=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")

    def __str__(self) -> str:
        return f"{self.user} ({_('verified') if self.verified else _('not verified')})"

    def clean(self) -> None:
        super().clean()
        clean_recipient_field(self, "phone")
