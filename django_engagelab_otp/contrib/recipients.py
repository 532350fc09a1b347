"""A model field that holds a recipient, stored as the services send to it."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Model

from .. import validate_recipient


def clean_recipient_field(instance: Model, name: str) -> None:
    """Normalize ``instance.<name>`` (E.164, or an e-mail address in canonical form), or raise a field error.

    Called from ``Model.clean()`` rather than set as a field validator, which a
    migration would pin to the core's module path.
    """
    try:
        setattr(instance, name, validate_recipient(getattr(instance, name)))
    except ValidationError as error:
        raise ValidationError({name: error}) from None
