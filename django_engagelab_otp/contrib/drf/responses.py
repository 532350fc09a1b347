"""``EngageLabError`` → DRF ``Response``, from the one reading every flow shares (:mod:`..refusals`).

* 429 for this site's limits and the platform's 3004, with ``Retry-After``
  when the wait is known: ``{"detail": "Too many attempts. Please try again in 42 seconds.", "code": ...}``;
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


def refusal_response(error: EngageLabError, fields: Mapping[str, str] | Collection[str] = ()) -> Response:
    """The response for ``error``.

    ``fields`` names the request's fields a 400 may be keyed by: a collection
    of names (``serializer.fields``), or a mapping from the app's names
    (``"to"``, ``"code"``) to the caller's (``{"to": "phone"}``).
    """
    refusal = refusal_for(error)
    if refusal.status == status.HTTP_400_BAD_REQUEST:
        names = fields if isinstance(fields, Mapping) else {name: name for name in fields}
        key = names.get(refusal.field or "", api_settings.NON_FIELD_ERRORS_KEY)
        return Response({key: [refusal.text]}, status=refusal.status)
    headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after else None
    return Response({"detail": refusal.text, "code": refusal.key}, status=refusal.status, headers=headers)
