"""Forms that send and verify OTPs and show platform errors as form errors.

They are thin adapters over :mod:`django_engagelab_otp.services`, the way
``AuthenticationForm`` authenticates in ``clean()``: ``is_valid()`` sends (or
verifies), and every ``EngageLabError`` lands where the error table puts it
(:meth:`EngageLabError.as_validation_error`), on a field or as a non-field
error. Problems only an operator can fix show a generic text to the user; the
details go to the log.

In an async view, ``await form.ais_valid()`` does the same: the fields and
the client rates are checked in Django's thread for sync code, and the
platform is called through the async services.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django import forms
from django.http import HttpRequest
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from . import limits, services, validation
from .conf import LANGUAGES, otp_settings
from .errors import FAILURES
from .exceptions import EngageLabError, InvalidInputError
from .models import MessageLog

logger = logging.getLogger("django_engagelab_otp.forms")

__all__ = ["SendOTPForm", "VerifyOTPForm"]

#: How each template language is offered to a person: in its own language.
LANGUAGE_NAMES: dict[str, Any] = {
    "default": _("Template default"),
    "zh_CN": "简体中文",
    "zh_HK": "繁體中文",
    "en": "English",
    "ja": "日本語",
    "th": "ไทย",
    "es": "Español",
}

#: What a person reads after a wrong code (the error table's ``wrong_code`` row).
WRONG_CODE = FAILURES["wrong_code"].user_message


class EngageLabErrorsMixin:
    """A form that calls the platform once its fields are valid, and shows a refusal where it belongs.

    ``clean()`` applies the client rates for :attr:`action`, then calls
    :meth:`call`; every ``EngageLabError`` lands where the error table puts it.
    """

    #: The request the form serves; its client IP and user are rate-limited when given.
    request: HttpRequest | None = None
    #: What the client rates count a submission as: ``"send"`` or ``"verify"``.
    action: str = ""
    #: Set while :meth:`ais_valid` checks the fields: the platform is called after, awaited.
    _awaiting_call = False

    def call(self, cleaned: dict[str, Any]) -> None:
        """The platform call, made with valid data."""
        raise NotImplementedError

    async def acall(self, cleaned: dict[str, Any]) -> None:
        """The platform call, awaited (:meth:`ais_valid`)."""
        raise NotImplementedError

    @sensitive_variables()
    async def ais_valid(self) -> bool:
        """``is_valid()`` for async views: the same checks and errors, the platform call awaited."""
        self._awaiting_call = True
        try:
            # Cleaning is sync code (field validators, the client rates' cache): Django's thread for it.
            valid = await sync_to_async(self.is_valid)()  # type: ignore[attr-defined]
        finally:
            self._awaiting_call = False
        if not valid:
            return False
        try:
            await self.acall(self.cleaned_data)  # type: ignore[attr-defined]
        except EngageLabError as error:
            self.add_engagelab_error(error)
        return not self.errors  # type: ignore[attr-defined]

    @sensitive_variables()  # the recipient and the code typed, in this frame and the services' below
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        if not self.errors:  # type: ignore[attr-defined]
            try:
                limits.check_client(self.request, self.action)
                if not self._awaiting_call:
                    self.call(cleaned)
            except EngageLabError as error:
                self.add_engagelab_error(error)
        return cleaned

    @sensitive_variables()
    def read(self, name: str, reader: Callable[[Any], Any]) -> Any:
        """A field's value read by ``reader`` (a :mod:`.validation` function), for ``clean_<name>()``."""
        try:
            return reader(self.cleaned_data[name])  # type: ignore[attr-defined]
        except InvalidInputError as error:
            # Raised from clean_<name>(), which names the field itself.
            raise error.as_validation_error(fields=()) from None

    def add_engagelab_error(self, error: EngageLabError) -> None:
        if error.operator and error.log is None:
            # Failed sends were already logged at ERROR when their row was settled;
            # the rest (configuration, verification) are logged here. repr() holds
            # the code and the platform's text, never a credential or an OTP code.
            logger.error("EngageLab is unavailable to %s: %r", type(self).__name__, error)
        # A field the form lacks (template_id, params, message_id) makes a non-field error.
        self.add_error(None, error.as_validation_error(self.fields))  # type: ignore[attr-defined]


class SendOTPForm(EngageLabErrorsMixin, forms.Form):
    """Ask for a recipient and send it an OTP; ``form.log`` is the ``MessageLog`` once valid.

    ``template_id`` defaults to ``ENGAGELAB_OTP["TEMPLATE_ID"]``; ``params``
    fills the template's variables; ``request`` applies the client rates.
    """

    to = forms.CharField(
        label=_("Phone number or e-mail"),
        max_length=320,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True, "spellcheck": "false"}),
        help_text=format_lazy(
            _("Phone numbers start with their country code, like {}."), validation.PHONE_EXAMPLE.replace(" ", "\u00a0")
        ),
    )
    language = forms.ChoiceField(
        label=_("Message language"),
        required=False,
        choices=[(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES],
        # Django's own message repeats what was sent, control characters and all.
        error_messages={"invalid_choice": _("Select one of the languages offered.")},
    )

    def __init__(
        self,
        *args: Any,
        template_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        request: HttpRequest | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.template_id = template_id or otp_settings.TEMPLATE_ID
        self.params = params
        self.log: MessageLog | None = None

    action = "send"

    def clean_to(self) -> str:
        return self.read("to", partial(validation.recipient, region=otp_settings.DEFAULT_REGION))

    @sensitive_variables()
    def call(self, cleaned: dict[str, Any]) -> None:
        language = cleaned.get("language") or None
        self.log = services.send_otp(cleaned["to"], self.template_id, language=language, params=self.params)

    @sensitive_variables()
    async def acall(self, cleaned: dict[str, Any]) -> None:
        language = cleaned.get("language") or None
        self.log = await services.asend_otp(cleaned["to"], self.template_id, language=language, params=self.params)


class CodeInput(forms.TextInput):
    """A text input that never writes the typed code back into the page (like a password field)."""

    def format_value(self, value: Any) -> str | None:
        return None


class VerifyOTPForm(EngageLabErrorsMixin, forms.Form):
    """Check the code a person typed for ``message_id``; ``form.verified`` is True once valid.

    ``request`` applies the client rates. After ``MAX_VERIFY_ATTEMPTS`` wrong
    codes the message is locked and the form says to request a new code.
    """

    code = forms.CharField(
        label=_("Code"),
        max_length=10,
        widget=CodeInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false", "autocapitalize": "off"}
        ),
    )

    def __init__(self, message_id: str, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.message_id = message_id
        self.verified = False

    action = "verify"

    def clean_code(self) -> str:
        return self.read("code", validation.code)

    @sensitive_variables()
    def call(self, cleaned: dict[str, Any]) -> None:
        services.check_otp(self.message_id, cleaned["code"])
        self.verified = True

    @sensitive_variables()
    async def acall(self, cleaned: dict[str, Any]) -> None:
        await services.acheck_otp(self.message_id, cleaned["code"])
        self.verified = True
