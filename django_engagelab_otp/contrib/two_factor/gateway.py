"""``EngageLabGateway``: the gateway interface of django-two-factor-auth (``send_sms``, ``make_call``).

two-factor generates the token itself (TOTP) and asks the gateway to deliver
it, so the token goes out through ``/v1/codes`` (``send_code``): text
messages with ``CODE_TEMPLATE_ID`` (or ``TEMPLATE_ID``), calls with
``VOICE_TEMPLATE_ID``. The app's limits apply as to any send.

two-factor's login calls the gateway without catching anything, so a refusal
here must never raise: it is logged, and shown to the person as a django
message when the request is reachable (two-factor's own
``two_factor.middleware.threadlocals.ThreadLocals`` middleware, as its
Twilio gateway uses it).
"""

from __future__ import annotations

from typing import Any

from ... import send_code
from ...conf import otp_settings
from ...errors import FAILURES
from ...exceptions import EngageLabError
from ..refusals import Refusal, current_request, refusal_for, tell


class EngageLabGateway:
    """Delivers two-factor's tokens; ``refusal`` holds the last refusal (``None`` after a send)."""

    def __init__(self) -> None:
        self.refusal: Refusal | None = None

    def send_sms(self, device: Any, token: str) -> None:
        """Text ``token`` to ``device.number`` (two-factor's ``PhoneDevice``)."""
        self._deliver(device, token, otp_settings.CODE_TEMPLATE_ID or otp_settings.TEMPLATE_ID, "CODE_TEMPLATE_ID")

    def make_call(self, device: Any, token: str) -> None:
        """Have the platform call ``device.number`` and read ``token`` (a voice template)."""
        # No fallback: a text template would send a text message where a call was chosen.
        self._deliver(device, token, otp_settings.VOICE_TEMPLATE_ID, "VOICE_TEMPLATE_ID")

    def _deliver(self, device: Any, token: str, template_id: str | None, setting: str) -> None:
        self.refusal = None
        try:
            if not template_id:
                raise FAILURES["configuration"].exception(f"ENGAGELAB_OTP[{setting!r}] is not set")
            send_code(_e164(device.number), str(token), template_id)
        except EngageLabError as error:
            self.refusal = refusal_for(error)
            tell(current_request(), self.refusal)


def _e164(number: Any) -> str:
    # A phonenumber_field PhoneNumber, or a plain string in tests and custom devices.
    return getattr(number, "as_e164", None) or str(number)
