"""``OTPViewSet``: ``POST send/`` sends a code, ``POST verify/`` checks it.

``send`` answers an opaque ``request_id`` bound to the recipient; ``verify``
takes it back with the recipient and the code. Refusals are answered by
:func:`.responses.refusal_response` (returned, never raised, so a counted
wrong code is not rolled back under ``ATOMIC_REQUESTS``). The app's limits
apply: per recipient (cooldown, daily cap, wrong codes) in the services,
per client IP and user (``IP_RATE``, ``USER_RATE``) here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from ... import check_otp, send_otp
from ...exceptions import EngageLabError
from ...limits import check_client
from . import request_ids
from .responses import refusal_response
from .serializers import (
    DetailSerializer,
    FieldErrorsSerializer,
    SendSerializer,
    SentSerializer,
    VerifiedSerializer,
    VerifySerializer,
)

_REFUSALS = {
    400: OpenApiResponse(FieldErrorsSerializer, _("Refused: messages keyed by the request's field names.")),
    415: OpenApiResponse(DetailSerializer, _("The body is neither JSON nor a form.")),
    429: OpenApiResponse(
        DetailSerializer, _("Too many codes or attempts; Retry-After says how long to wait, if known.")
    ),
    503: OpenApiResponse(DetailSerializer, _("The message service is unavailable; try again later.")),
}
_RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description=_("Seconds to wait before asking again (this site's own limits)."),
)


class OTPViewSet(viewsets.ViewSet):
    """Send a one-time code to a phone number or e-mail address, then check it."""

    permission_classes = [AllowAny]
    # JSON or a plain form: the API has no files to upload.
    parser_classes = [JSONParser, FormParser]
    # The app's own limits hold per recipient and per client; DRF's throttles are the project's choice.
    throttle_classes: list[Any] = []
    #: Template of the codes; ``None``: ``ENGAGELAB_OTP["TEMPLATE_ID"]``.
    template_id: str | None = None
    #: Seconds a request id stays usable (the code itself expires sooner, on the platform).
    request_id_max_age: int = 30 * 60

    def on_verified(self, request: Request, recipient: str) -> Mapping[str, Any] | None:
        """Called once the code is right; what it returns is added to the answer (a token, a user id …)."""
        return None

    @extend_schema(request=SendSerializer, responses={200: SentSerializer, **_REFUSALS}, parameters=[_RETRY_AFTER])
    @action(detail=False, methods=["post"])
    def send(self, request: Request) -> Response:
        serializer = SendSerializer(data=request.data)
        if not serializer.is_valid():
            return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)
        to = serializer.validated_data["to"]
        try:
            check_client(request, "send")
            log = send_otp(to, self.template_id)
        except EngageLabError as error:
            return refusal_response(error, serializer.fields)
        request_id = request_ids.issue(log.message_id or "", to)
        return Response(SentSerializer({"request_id": request_id, "channel": log.send_channel}).data)

    @extend_schema(
        request=VerifySerializer, responses={200: VerifiedSerializer, **_REFUSALS}, parameters=[_RETRY_AFTER]
    )
    @action(detail=False, methods=["post"])
    def verify(self, request: Request) -> Response:
        serializer = VerifySerializer(data=request.data, context={"max_age": self.request_id_max_age})
        if not serializer.is_valid():
            return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)
        data = serializer.validated_data
        try:
            check_client(request, "verify")
            check_otp(data["message_id"], data["code"])
        except EngageLabError as error:  # a wrong code too (WrongCodeError): answered, the attempt stays counted
            return refusal_response(error, serializer.fields)
        extra = self.on_verified(request, data["to"]) or {}
        return Response({**extra, "verified": True})
