"""allauth's account adapter, sending its phone codes through EngageLab.

* :class:`AccountAdapterMixin` sends allauth's codes (``send_verification_code_sms``,
  through ``/v1/codes``) and applies the app's destination rules to the
  numbers people type (``clean_phone``). Mix it into a project adapter that
  stores phone numbers itself.
* :class:`PhoneStorageMixin` stores them in this app's ``UserPhone`` table
  (``set_phone``, ``get_phone``, ``set_phone_verified``, ``get_user_by_phone``).
* :class:`AccountAdapter` is both on allauth's ``DefaultAccountAdapter``: the
  value for ``ACCOUNT_ADAPTER``.

A refusal never becomes a 500. The resend cooldown, the daily cap and the
platform's frequency limit (3004) answer allauth's own 429 (``respond_429``:
your ``429.html``, or headless's rate-limit response) with ``Retry-After``;
any other refusal (a blocked number, an outage) is an error message and the
flow goes on to its code page, where the person can change the number or ask
again, without allauth's "code sent" message.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.core.ratelimit import respond_429
from django.contrib import messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest

from ... import send_code, validate_recipient
from ...conf import otp_settings
from ...exceptions import EngageLabError
from ..refusals import Refusal, refusal_for
from .codes import sms_code

#: allauth's "we sent you a code" messages, not shown when the code was not sent.
SENT_MESSAGES = frozenset({"account/messages/phone_verification_sent.txt", "account/messages/login_code_sent.txt"})
#: Set on a request whose code was refused.
_REFUSED = "_engagelab_code_refused"


class AccountAdapterMixin:
    """Sends allauth's phone codes through ``/v1/codes`` and checks the numbers people type."""

    def send_verification_code_sms(self, user: AbstractBaseUser, phone: str, code: str, **kwargs: Any) -> None:
        template = otp_settings.CODE_TEMPLATE_ID or otp_settings.TEMPLATE_ID
        try:
            send_code(phone, sms_code(code), template)
        except EngageLabError as error:
            self.refuse_code(refusal_for(error))

    def clean_phone(self, phone: str) -> str:
        """allauth's checks, then the app's (country, number type): a ``ValidationError`` under the field."""
        return validate_recipient(super().clean_phone(phone))  # type: ignore[misc]

    def refuse_code(self, refusal: Refusal) -> None:
        """Answer a refused code: allauth's 429 for a limit, else an error message."""
        request = context.request
        if request is None:  # called outside a request (a shell, a task): nobody to tell
            return
        self.add_message(request, messages.ERROR, message=refusal.text)  # type: ignore[attr-defined]
        if refusal.too_many:
            response = respond_429(request)
            if refusal.retry_after:
                response["Retry-After"] = str(refusal.retry_after)
            raise ImmediateHttpResponse(response)
        setattr(request, _REFUSED, True)

    def add_message(
        self,
        request: HttpRequest,
        level: int,
        message_template: str | None = None,
        message_context: dict[str, Any] | None = None,
        extra_tags: str = "",
        message: str | None = None,
    ) -> None:
        if message_template in SENT_MESSAGES and getattr(request, _REFUSED, False):
            return  # "A code was sent" after we said it could not be
        super().add_message(request, level, message_template, message_context, extra_tags, message)  # type: ignore[misc]


class PhoneStorageMixin:
    """allauth's phone storage on this app's ``UserPhone`` table (add the app to ``INSTALLED_APPS``).

    The model is imported where it is used: a project that only mixes in
    ``AccountAdapterMixin`` imports this module without the app installed.
    """

    def set_phone(self, user: AbstractBaseUser, phone: str, verified: bool) -> None:
        from .models import UserPhone

        with transaction.atomic():
            # An unverified claim does not own a number: the account that proves it gets it.
            UserPhone.objects.filter(phone=phone, verified=False).exclude(user=user).delete()
            UserPhone.objects.update_or_create(user=user, defaults={"phone": phone, "verified": verified})

    def get_phone(self, user: AbstractBaseUser) -> tuple[str, bool] | None:
        from .models import UserPhone

        row = UserPhone.objects.filter(user=user).values_list("phone", "verified").first()
        return (row[0], row[1]) if row else None

    def set_phone_verified(self, user: AbstractBaseUser, phone: str) -> None:
        from .models import UserPhone

        UserPhone.objects.filter(user=user, phone=phone).update(verified=True)

    def get_user_by_phone(self, phone: str) -> AbstractBaseUser | None:
        from .models import UserPhone

        row = UserPhone.objects.filter(phone=phone).select_related("user").first()
        return row.user if row else None


class AccountAdapter(AccountAdapterMixin, PhoneStorageMixin, DefaultAccountAdapter):
    """``ACCOUNT_ADAPTER = "django_engagelab_otp.contrib.allauth.AccountAdapter"``."""
