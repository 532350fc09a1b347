"""The last step of both sign-ins: a code proved the person, so they are signed in."""

from __future__ import annotations

import django_otp
from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from django_engagelab_otp.contrib.otp.models import EngageLabDevice

#: How the person signed in, for the account page: the method and the message id of the code.
SIGNED_IN = "signed_in"

#: What the account page says about each method: whole sentences, for translators.
METHODS = {
    "code": _("You are signed in with a code."),
    "password": _("You are signed in with a password and a code."),
}


def sign_in(request: HttpRequest, device: EngageLabDevice, *, method: str, message_id: str) -> HttpResponse:
    """Sign ``device``'s user in, verified by ``device`` (django-otp), remember how; off to ``LOGIN_REDIRECT_URL``."""
    # Django's login() first: it gives the session a new key (another user's data is dropped).
    # The backend is named: a code found this user, not authenticate(), and a
    # site with several backends (allauth's …) would otherwise refuse to choose.
    login(request, device.user, backend="django.contrib.auth.backends.ModelBackend")
    # Then django-otp's: request.user.is_verified() is true from now on, in this session.
    django_otp.login(request, device)
    device.set_last_used_timestamp()
    request.session[SIGNED_IN] = {"method": method, "message_id": message_id}
    return redirect(settings.LOGIN_REDIRECT_URL)
