"""``EngageLabDevice``: a django-otp device whose codes the platform generates, sends and checks.

Unlike django-otp's side-channel devices it holds no code: the platform
generates it (``send_otp``) and checks it (``verify_otp``); the device keeps
only the message id of the last code sent. The app's limits apply as to any
send (resend cooldown, daily cap, destination rules, ``MAX_VERIFY_ATTEMPTS``).

django-otp's callers do not expect refusals: ``OTPTokenForm`` shows what
``generate_challenge()`` returns, and django-two-factor-auth's login calls
it without catching anything. So nothing here raises: a refusal is returned
as the text the person reads (and shown as a django message where the
request is reachable), kept in ``device.refusal`` for views of your own, and
logged.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import CooldownMixin, Device, ThrottlingMixin, TimestampMixin, VerifyNotAllowed

from ... import check_otp, is_locked, send_otp
from ...conf import otp_settings
from ...errors import FAILURES
from ...exceptions import EngageLabError, InvalidInputError, WrongCodeError
from ..recipients import clean_recipient_field
from ..refusals import Refusal, current_request, refusal_for, tell

#: What ``generate_challenge()`` answers once a code is on its way, by channel.
SENT_BY = {
    "sms": _("sent by text message"),
    "whatsapp": _("sent by WhatsApp"),
    "email": _("sent by e-mail"),
    "voice": _("sent by phone call"),
}
SENT = _("sent")


class EngageLabDevice(TimestampMixin, CooldownMixin, ThrottlingMixin, Device):
    """A person's phone number or e-mail address, as a django-otp device.

    ``generate_challenge()`` asks the platform to send a code (``send_otp``)
    and keeps its message id; ``verify_token()`` asks the platform whether a
    code is right (``verify_otp``). With django-otp's reasons,
    ``generate_is_allowed()`` reports the resend cooldown, and
    ``verify_is_allowed()`` a message locked after ``MAX_VERIFY_ATTEMPTS``
    wrong codes, and django-otp's back-off after a wrong code
    (``ThrottlingMixin``: 1, 2, 4 … seconds, times ``throttle_factor``).
    """

    #: Seconds django-otp's back-off waits after the first wrong code (doubling after each); 0 turns it off.
    throttle_factor: float = 1

    recipient = models.CharField(
        _("phone number or e-mail"),
        max_length=320,
        help_text=_("Phone numbers in international form, like +44 7911 123456."),
    )
    message_id = models.CharField(
        _("message id of the last code"),
        max_length=64,
        blank=True,
        editable=False,
        help_text=_("The platform's id of the code sent last; the code itself is never stored."),
    )

    #: The last refusal of this instance, for views that want more than django-otp passes on.
    refusal: Refusal | None = None

    class Meta:
        verbose_name = _("EngageLab device")
        verbose_name_plural = _("EngageLab devices")

    def clean(self) -> None:
        super().clean()
        clean_recipient_field(self, "recipient")

    # ------------------------------------------------------------ sending

    def get_cooldown_duration(self) -> float:
        # The app's own resend cooldown: django-otp reports it before the send refuses it.
        value = otp_settings.RESEND_COOLDOWN
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else 0

    def generate_challenge(self) -> str:
        """Have the platform send a code; what to tell the person (sent, or why not)."""
        allowed, data = self.generate_is_allowed()
        if not allowed:
            wait = (data["next_generation_at"] - timezone.now()).total_seconds()
            return self._refused(FAILURES["throttled"].exception(wait_seconds=wait, scope="cooldown"))
        try:
            log = send_otp(self.recipient)
        except EngageLabError as error:
            return self._refused(error)
        self.message_id = log.message_id or ""
        self.refusal = None
        self.cooldown_set(commit=False)
        self.save(update_fields=["message_id", "last_generated_timestamp"])
        return str(SENT_BY.get(log.send_channel, SENT))

    # ------------------------------------------------------------ verifying

    def get_throttle_factor(self) -> float:
        return self.throttle_factor

    def verify_is_allowed(self) -> tuple[bool, dict[str, Any] | None]:
        if self.message_id and self._locked():
            limit = otp_settings.MAX_VERIFY_ATTEMPTS
            return False, {
                "reason": VerifyNotAllowed.N_FAILED_ATTEMPTS,
                "failure_count": limit,
                "error_message": FAILURES["verify_locked"].user_message,
            }
        return super().verify_is_allowed()

    def verify_token(self, token: Any) -> bool:
        """Ask the platform whether ``token`` is the code sent last; never raises."""
        allowed, data = self.verify_is_allowed()
        if not allowed:
            # Not asked: kept so that a view of your own can say why (a stale wrong-code text would mislead).
            self.refusal = refusal_for(self._not_allowed(data or {}))
            return False
        if not self.message_id:
            return False
        try:
            check_otp(self.message_id, str(token))
        except InvalidInputError:  # not a code at all (letters a template never sends …): just wrong
            return False
        except WrongCodeError as error:  # counted on the message; django-otp's back-off starts too
            self.refusal = refusal_for(error)
            self.throttle_increment()
            return False
        except EngageLabError as error:  # used or expired (3003), an outage: the person should know
            self._refused(error)
            return False
        # A code works once: forget it, so a replay is not even sent to the platform.
        self.message_id = ""
        self.refusal = None
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True

    # ------------------------------------------------------------ helpers

    def _not_allowed(self, data: dict[str, Any]) -> EngageLabError:
        """The lock after ``MAX_VERIFY_ATTEMPTS``, or django-otp's back-off, as the app's own refusal."""
        if "locked_until" not in data:
            return FAILURES["verify_locked"].exception()
        wait = (data["locked_until"] - timezone.now()).total_seconds()
        return FAILURES["throttled"].exception(wait_seconds=wait, scope="verify")

    def _locked(self) -> bool:
        try:
            return is_locked(self.message_id)
        except EngageLabError:  # the limits' cache failed: verify_otp will say so
            return False

    def _refused(self, error: EngageLabError) -> str:
        self.refusal = refusal_for(error)
        tell(current_request(), self.refusal)
        return self.refusal.text
