"""What a page that asks for a code says: where the code went (masked), and where the simulator shows it.

Both sign-ins end on such a page (``example/verify_code.html``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.utils.html import conditional_escape, format_html
from django.utils.translation import gettext_lazy as _

from django_engagelab_otp.conf import otp_settings
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.privacy import mask_recipient

#: By channel, whole sentences, so that each language can order them its own way.
SENT = {
    "sms": _("We sent a code to %(to)s by SMS."),
    "whatsapp": _("We sent a code to %(to)s on WhatsApp."),
    "email": _("We sent a code to %(to)s by e-mail."),
    "voice": _("We are calling %(to)s to read you a code."),
    "": _("We sent a code to %(to)s."),
}
#: After "Send a new code".
NEW_CODE = _("A new code is on its way.")
#: When a sign-in's first send was refused: the refusal shows above, and the page offers a new code.
NOT_SENT = _("No code is on its way to %(to)s yet.")


def describe(to: str, channel: str | None, *, sent: bool = True) -> dict[str, Any]:
    """The context the code page needs: the sentence about ``to`` (shown masked) and the simulator hint."""
    sentence = SENT.get(channel or "", SENT[""]) if sent else NOT_SENT
    recipient = format_html('<strong class="recipient">{}</strong>', mask_recipient(to))
    return {
        "sent": format_html(conditional_escape(sentence).replace("%(to)s", "{}"), recipient),
        "local_api": _is_local(otp_settings.API_URL),
    }


def channel_of(message_id: str) -> str:
    """The channel the platform chose for a message, as its row in the history says."""
    row = MessageLog.objects.filter(message_id=message_id).values_list("send_channel", flat=True).first()
    return row or ""


def _is_local(url: str) -> bool:
    """Whether codes go to a simulator on this machine (whose console shows them)."""
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")
