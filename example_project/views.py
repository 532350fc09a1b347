"""The three pages of the example: request a code, verify it, verified.

The message id of the code waiting for verification is kept in the session,
never in the page; the recipient is shown masked.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import conditional_escape, format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from django_engagelab_otp.conf import otp_settings
from django_engagelab_otp.forms import SendOTPForm, VerifyOTPForm
from django_engagelab_otp.privacy import mask_recipient

PENDING = "otp_pending"  # the code being waited for: message id, recipient, language, channel
VERIFIED = "otp_verified"  # what the success page shows


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("to")
@sensitive_variables()
def request_code(request: HttpRequest) -> HttpResponse:
    form = SendOTPForm(request.POST if request.method == "POST" else None, request=request)
    if form.is_valid():
        _remember(request, form)
        return redirect("verify_code")
    return render(request, "example/request_code.html", {"form": form})


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("code")
@sensitive_variables()
def verify_code(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING)
    if not pending:
        return redirect("request_code")
    form = VerifyOTPForm(pending["message_id"], request.POST if request.method == "POST" else None, request=request)
    if form.is_valid():
        request.session[VERIFIED] = {
            "message_id": pending["message_id"],
            "masked_to": mask_recipient(pending["to"]),
        }
        del request.session[PENDING]
        return redirect("verified")
    context = {"form": form, **_describe(pending)}
    return render(request, "example/verify_code.html", context)


@require_POST
@sensitive_variables()
def resend_code(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING)
    if not pending:
        return redirect("request_code")
    form = SendOTPForm({"to": pending["to"], "language": pending["language"]}, request=request)
    if form.is_valid():
        _remember(request, form)
        messages.success(request, _("A new code is on its way."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("verify_code")


def verified(request: HttpRequest) -> HttpResponse:
    result = request.session.get(VERIFIED)
    if not result:
        return redirect("request_code")
    return render(request, "example/verified.html", result)


def _remember(request: HttpRequest, form: SendOTPForm) -> None:
    log = form.log
    request.session[PENDING] = {
        "message_id": log.message_id,
        "to": form.cleaned_data["to"],  # log.to may be a hash (HASH_RECIPIENTS)
        "language": form.cleaned_data.get("language") or "",
        "channel": log.send_channel,
    }
    request.session.pop(VERIFIED, None)


#: What the verify page says, by channel: whole sentences, so that each language can order them its own way.
SENT = {
    "sms": _lazy("We sent a code to %(to)s by SMS."),
    "whatsapp": _lazy("We sent a code to %(to)s on WhatsApp."),
    "email": _lazy("We sent a code to %(to)s by e-mail."),
    "voice": _lazy("We are calling %(to)s to read you a code."),
    "": _lazy("We sent a code to %(to)s."),
}


def _describe(pending: dict[str, Any]) -> dict[str, Any]:
    sentence = SENT.get(pending.get("channel") or "", SENT[""])
    recipient = format_html('<strong class="recipient">{}</strong>', mask_recipient(pending["to"]))
    return {
        "sent": format_html(conditional_escape(sentence).replace("%(to)s", "{}"), recipient),
        "local_api": _is_local(otp_settings.API_URL),
    }


def _is_local(url: str) -> bool:
    """Whether codes go to a simulator on this machine (whose console shows them)."""
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")
