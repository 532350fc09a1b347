"""Sign in with a password and a code: Django's ``AuthenticationForm``, then a code sent to the user's device.

The password alone signs no one in. Once it is right, the user's id waits in
the session until the code sent to their ``EngageLabDevice`` (:mod:`.owners`)
is typed right; only then does ``login()`` run. The device is django-otp's:
after a wrong code it makes the next try wait (1, 2, 4 … seconds), and it
forgets a code once it worked.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from django_engagelab_otp.contrib.otp.models import EngageLabDevice

from . import code_page
from .forms import DeviceCodeForm
from .owners import device_of
from .signin import sign_in

PENDING_USER = "password_pending_user"  # whose password was right, until their code is

NO_DEVICE = _("This account has no phone number or e-mail address to send a code to.")


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("password")
@sensitive_variables()
def password(request: HttpRequest) -> HttpResponse:
    form = AuthenticationForm(request, request.POST if request.method == "POST" else None)
    if form.is_valid():
        device = device_of(form.get_user())
        if device is None:
            form.add_error(None, NO_DEVICE)
        else:
            request.session[PENDING_USER] = device.user_id
            _send(request, device)
            return redirect("password_code")
    return render(request, "example/password.html", {"form": form})


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("code")
@sensitive_variables()
def code(request: HttpRequest) -> HttpResponse:
    device = _pending_device(request)
    if device is None:
        return redirect("password_sign_in")
    form = DeviceCodeForm(device, request.POST if request.method == "POST" else None, request=request)
    if form.is_valid():
        del request.session[PENDING_USER]
        return sign_in(request, device, method="password", message_id=form.message_id)
    waiting = bool(device.message_id)
    context = {
        "form": form,
        **code_page.describe(device.recipient, code_page.channel_of(device.message_id), sent=waiting),
        "resend_url": reverse("password_resend"),
        "restart_url": reverse("password_sign_in"),
        "restart_label": _("Sign in as someone else"),
    }
    return render(request, "example/verify_code.html", context)


@require_POST
@sensitive_variables()
def resend(request: HttpRequest) -> HttpResponse:
    device = _pending_device(request)
    if device is None:
        return redirect("password_sign_in")
    if _send(request, device):
        messages.success(request, code_page.NEW_CODE)
    return redirect("password_code")


def _send(request: HttpRequest, device: EngageLabDevice) -> bool:
    """Have the device send a code; a refusal (cooldown, a blocked number, an outage) shows on the next page."""
    device.generate_challenge()  # never raises: a refusal is kept in device.refusal
    if device.refusal is not None:
        messages.error(request, device.refusal.message)
        return False
    return True


def _pending_device(request: HttpRequest) -> EngageLabDevice | None:
    user = get_user_model().objects.filter(pk=request.session.get(PENDING_USER), is_active=True).first()
    return device_of(user) if user is not None else None
