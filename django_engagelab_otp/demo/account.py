"""The page only a person signed in with a code sees, and signing out."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django_otp.decorators import otp_required

from django_engagelab_otp.privacy import mask_recipient

from .owners import is_email
from .signin import METHODS, SIGNED_IN

SIGNED_OUT = _("You are signed out.")


# otp_required, not login_required: an admin session (a password alone) is signed in but not verified.
# The sign-in page named here, not settings.OTP_LOGIN_URL: django-otp reads that once, at import.
@otp_required(login_url="request_code", redirect_field_name=None)
def account(request: HttpRequest) -> HttpResponse:
    recipient = request.user.otp_device.recipient
    how = request.session.get(SIGNED_IN) or {}
    context = {
        "recipient": mask_recipient(recipient),
        "recipient_label": _("E-mail address") if is_email(recipient) else _("Phone number"),
        "signed_in_with": METHODS.get(how.get("method")),
        "message_id": how.get("message_id", ""),
    }
    return render(request, "example/account.html", context)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.success(request, SIGNED_OUT)  # after logout(): it empties the session
    return redirect(settings.LOGOUT_REDIRECT_URL)
