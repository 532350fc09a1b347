"""Views that fail the way real ones do inside a request's transaction (used with ``pytest.mark.urls``)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path

from django_engagelab_otp import send_otp, verify_otp

from .constants import PHONE


def deny_wrong_codes(request: HttpRequest) -> HttpResponse:
    """A wrong code answered with PermissionDenied: Django rolls the request's transaction back."""
    if not verify_otp(request.POST["message_id"], request.POST["code"]):
        raise PermissionDenied
    return HttpResponse("verified")


def roll_back_wrong_codes(request: HttpRequest) -> HttpResponse:
    """What a DRF view does with any error it answers: set_rollback(True) on the request's transaction."""
    if not verify_otp(request.POST["message_id"], request.POST["code"]):
        transaction.set_rollback(True)
        return HttpResponse("wrong", status=400)
    return HttpResponse("verified")


def fail_after_sending(request: HttpRequest) -> HttpResponse:
    """A view that sends, then fails: the message went out and was paid for."""
    send_otp(request.POST.get("to", PHONE))
    raise RuntimeError("the view failed after the send")


urlpatterns = [
    path("deny/", deny_wrong_codes),
    path("roll-back/", roll_back_wrong_codes),
    path("fail/", fail_after_sending),
]
