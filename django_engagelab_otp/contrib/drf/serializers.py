"""What the OTP API reads and answers (also its OpenAPI schema, through drf-spectacular)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ... import validate_recipient
from .request_ids import RequestIdError, redeem


class RecipientField(serializers.CharField):
    """A phone number (international form) or e-mail address, read as the services send to it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 320)
        kwargs.setdefault("help_text", _("A phone number in international form (+8618701235678) or an e-mail address."))
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        # The destination rules (countries, premium-rate numbers) apply before anything is sent.
        return validate_recipient(super().to_internal_value(data))


class SendSerializer(serializers.Serializer):
    to = RecipientField()


class SentSerializer(serializers.Serializer):
    request_id = serializers.CharField(help_text=_("Give it back with the code to verify/."))
    channel = serializers.CharField(help_text=_("How the code is travelling: sms, whatsapp, email or voice."))


class VerifySerializer(serializers.Serializer):
    to = RecipientField()
    request_id = serializers.CharField(max_length=1000)
    code = serializers.CharField(max_length=32, trim_whitespace=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            attrs["message_id"] = redeem(attrs["request_id"], attrs["to"], max_age=self.context["max_age"])
        except RequestIdError as error:
            raise serializers.ValidationError({"request_id": [error.message]}) from None
        return attrs


class VerifiedSerializer(serializers.Serializer):
    verified = serializers.BooleanField(help_text=_("Always true; the hook on_verified() may add more."))


class FieldErrorsSerializer(serializers.Serializer):
    """400: DRF's usual shape, messages keyed by the request's field names."""

    to = serializers.ListField(child=serializers.CharField(), required=False)
    request_id = serializers.ListField(child=serializers.CharField(), required=False)
    code = serializers.ListField(child=serializers.CharField(), required=False)
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
    detail = serializers.CharField(required=False, help_text=_("A request DRF could not read (bad JSON)."))


class DetailSerializer(serializers.Serializer):
    """415, 429 and 503: one sentence for the person and, for a refusal, a stable key for programs."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False, help_text=_("engagelab_3004, engagelab_ThrottledError …"))
