"""``EngageLabError`` → DRF ``Response``, from the one reading every flow shares (:mod:`..refusals`).

* 429 for this site's limits and the platform's 3004, with ``Retry-After``
  when the wait is known (``{"detail": "A code was sent a moment ago. You can
  ask for another in 42 seconds.", "code": ...}``);
* 503 for problems an operator must fix and outages, with a generic text;
* 400 for the rest, keyed by the caller's field names (``{"to": [...]}``,
  ``{"code": [...]}``, else ``non_field_errors``).

Views return it, never raise: DRF's exception handling marks an
``ATOMIC_REQUESTS`` transaction for rollback, and a wrong code must stay
counted (``MessageLog.verify_attempts``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from rest_framework import status
from rest_framework.response import Response
from rest_framework.settings import api_settings

from ...exceptions import EngageLabError
from ..refusals import refusal_for


def refusal_response(
    error: EngageLabError, fields: Collection[str] = (), *, rename: Mapping[str, str] | None = None
) -> Response:
    """The response for ``error``.

    A 400 is keyed by the field the error concerns when the request has it
    (``fields``: its names, or ``serializer.fields``), else by
    ``non_field_errors``. ``rename`` maps the app's names (``"to"``,
    ``"code"``) to the caller's: ``rename={"to": "phone"}``.
    """
    refusal = refusal_for(error)
    if refusal.status == status.HTTP_400_BAD_REQUEST:
        renamed = rename or {}
        name = renamed.get(refusal.field or "", refusal.field)
        keep = name is not None and (name in fields or refusal.field in renamed)
        key = name if keep else api_settings.NON_FIELD_ERRORS_KEY
        return Response({key: [refusal.text]}, status=refusal.status)
    headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after else None
    return Response({"detail": refusal.text, "code": refusal.key}, status=refusal.status, headers=headers)
