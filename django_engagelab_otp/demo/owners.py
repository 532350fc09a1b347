"""Who owns a phone number or e-mail address: the user of its confirmed ``EngageLabDevice``.

One table answers it for both sign-ins: the code sign-in finds the person by
the recipient they typed (and makes them an account the first time: "sign in
or sign up with a code"), the password sign-in sends its second factor to the
device of the user whose password was right.
"""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from django_engagelab_otp.contrib.otp.models import EngageLabDevice

#: The device a person signs in with (django-two-factor-auth looks for this name too).
DEVICE_NAME = "default"


def is_email(recipient: str) -> bool:
    """Whether ``recipient`` is an e-mail address (else a phone number), for what the pages say of it."""
    return "@" in recipient


def device_of(user: AbstractBaseUser) -> EngageLabDevice | None:
    """The device ``user``'s codes go to, or ``None`` when the account has none."""
    return EngageLabDevice.objects.devices_for_user(user, confirmed=True).filter(name=DEVICE_NAME).first()


def find_or_sign_up(recipient: str) -> tuple[EngageLabDevice, bool]:
    """The device of whoever owns ``recipient`` (normalized, as the forms give it), and whether it is new.

    Called only once a code sent to ``recipient`` was typed right: the account
    is made for the person who proved the number or address is theirs.
    """
    # One transaction: on SQLite (IMMEDIATE, the example's settings) two first
    # sign-ins of one recipient cannot both miss the lookup and make two accounts.
    with transaction.atomic():
        device = (
            # Case aside, as Django's password reset finds an e-mail address: one
            # person typing Ada@… once and ada@… later keeps one account.
            EngageLabDevice.objects.filter(recipient__iexact=recipient, name=DEVICE_NAME, confirmed=True)
            .select_related("user")
            .order_by("pk")
            .first()
        )
        if device is not None:
            return device, False
        return _sign_up(recipient), True


def _sign_up(recipient: str) -> EngageLabDevice:
    # The username is a handle, not the number or address: it shows in the
    # admin and in error reports, where personal data has no business.
    user = get_user_model().objects.create_user(
        username=f"user-{uuid.uuid4().hex[:12]}",
        email=recipient if is_email(recipient) else "",
        password=None,  # unusable: this person signs in with codes
    )
    return EngageLabDevice.objects.create(user=user, name=DEVICE_NAME, recipient=recipient, confirmed=True)
