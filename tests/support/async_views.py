"""Async views, written as docs/sending.md's "From async views" shows (used with ``pytest.mark.urls``)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from django_engagelab_otp import asend_otp, averify_otp
from django_engagelab_otp.exceptions import EngageLabError
from django_engagelab_otp.forms import SendOTPForm, VerifyOTPForm


async def send(request: HttpRequest) -> JsonResponse:
    try:
        log = await asend_otp(request.POST["to"])
    except EngageLabError as error:
        return JsonResponse({"error": str(error.user_message)}, status=400)
    return JsonResponse({"message_id": log.message_id})


async def verify(request: HttpRequest) -> JsonResponse:
    verified = await averify_otp(request.POST["message_id"], request.POST["code"])
    return JsonResponse({"verified": verified})


async def send_form(request: HttpRequest) -> JsonResponse:
    form = SendOTPForm(request.POST, request=request)
    if await form.ais_valid():
        return JsonResponse({"message_id": form.log.message_id})
    return JsonResponse({"errors": form.errors}, status=400)


async def verify_form(request: HttpRequest, message_id: str) -> JsonResponse:
    form = VerifyOTPForm(message_id, request.POST, request=request)
    if await form.ais_valid():
        return JsonResponse({"verified": form.verified})
    return JsonResponse({"errors": form.errors}, status=400)


urlpatterns = [
    path("send/", send),
    path("verify/", verify),
    path("form/send/", send_form),
    path("form/verify/<str:message_id>/", verify_form),
]
