"""Sign in with a code: a phone number or e-mail address, then the code sent to it.

"Sign in or sign up": whoever types the right code is signed in as the owner
of that number or address (:mod:`.owners`), and gets an account the first
time. An account with a password is the exception: the code alone would skip
its first factor, so it is sent to the password sign-in.

The message id of the code waited for is kept in the session, never in the
page; the recipient is shown masked.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from django_engagelab_otp.forms import SendOTPForm, VerifyOTPForm

from . import code_page
from .owners import find_or_sign_up, is_email
from .signin import sign_in

PENDING = "otp_pending"  # the code being waited for: message id, recipient, language, channel

#: By kind of recipient (e-mail address or not): whole sentences, for translators.
WELCOME = {
    False: _("Welcome! Your account is new: this phone number signs you in from now on."),
    True: _("Welcome! Your account is new: this e-mail address signs you in from now on."),
}
HAS_PASSWORD = {
    False: _("This phone number belongs to an account with a password: please sign in with your password."),
    True: _("This e-mail address belongs to an account with a password: please sign in with your password."),
}
DISABLED = _("This account is disabled.")


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
        del request.session[PENDING]  # a code signs in once
        return _sign_in(request, pending)
    return render(request, "example/verify_code.html", {"form": form, **_page(pending)})


@require_POST
@sensitive_variables()
def resend_code(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING)
    if not pending:
        return redirect("request_code")
    form = SendOTPForm({"to": pending["to"], "language": pending["language"]}, request=request)
    if form.is_valid():
        _remember(request, form)
        messages.success(request, code_page.NEW_CODE)
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("verify_code")


def _sign_in(request: HttpRequest, pending: dict[str, Any]) -> HttpResponse:
    device, created = find_or_sign_up(pending["to"])
    if not device.user.is_active:
        messages.error(request, DISABLED)
        return redirect("request_code")
    if device.user.has_usable_password():
        messages.error(request, HAS_PASSWORD[is_email(pending["to"])])
        return redirect("password_sign_in")
    response = sign_in(request, device, method="code", message_id=pending["message_id"])
    if created:
        messages.success(request, WELCOME[is_email(pending["to"])])
    return response


def _remember(request: HttpRequest, form: SendOTPForm) -> None:
    log = form.log
    request.session[PENDING] = {
        "message_id": log.message_id,
        "to": form.cleaned_data["to"],  # log.to may be a hash (HASH_RECIPIENTS)
        "language": form.cleaned_data.get("language") or "",
        "channel": log.send_channel,
    }


def _page(pending: dict[str, Any]) -> dict[str, Any]:
    return {
        **code_page.describe(pending["to"], pending.get("channel")),
        "resend_url": reverse("resend_code"),
        "restart_url": reverse("request_code"),
        "restart_label": _("Use another number or e-mail"),
    }
