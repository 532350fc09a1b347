"""The second step of the password sign-in: the code, checked through the person's device."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from django_engagelab_otp.contrib.otp.models import EngageLabDevice
from django_engagelab_otp.forms import WRONG_CODE, VerifyOTPForm

#: When the first send of a sign-in was refused and no code has gone out since.
NO_CODE = _("No code has been sent yet. Send a new code, then type it here.")


class DeviceCodeForm(VerifyOTPForm):
    """``VerifyOTPForm``'s code field and client rates, with the code checked by ``device.verify_token()``.

    The device adds django-otp's back-off after a wrong code and forgets a code
    once it worked; its ``refusal`` says why a code was not taken, and lands
    where the plain form would put it.
    """

    def __init__(self, device: EngageLabDevice, *args: Any, **kwargs: Any) -> None:
        super().__init__(device.message_id, *args, **kwargs)
        self.device = device

    @sensitive_variables()  # the code typed
    def call(self, cleaned: dict[str, Any]) -> None:
        if not self.device.message_id:
            self.add_error(None, NO_CODE)
        elif self.device.verify_token(cleaned["code"]):
            self.verified = True
        elif (refusal := self.device.refusal) is not None:
            self.add_error(refusal.field if refusal.field in self.fields else None, refusal.message)
        else:  # refused before the platform was asked: not a code at all
            self.add_error("code", WRONG_CODE)
