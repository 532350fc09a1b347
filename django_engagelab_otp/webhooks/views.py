"""The callback view: ``path("engagelab/", include("django_engagelab_otp.urls"))`` → ``/engagelab/callback/``.

Answers, in this order:

* 405 for anything but POST and HEAD; 200 for HEAD (a reachability probe).
* 400 for a body larger than ``WEBHOOK_MAX_BODY``; 411 for a chunked body
  the server did not pass on (no ``Content-Length``).
* 200 for the platform's configuration probe (an empty body or ``{}``),
  without authentication and without touching the database.
* 401 / 403 / 503 when authentication refuses (see :mod:`.signature`).
* 400 for a body that cannot be used (not JSON, no ``rows`` list).
* 200 once the rows are stored (rows that cannot be used are skipped and
  logged); 503 if the database failed, so that the platform retries.

The platform allows 3 seconds for an answer: a batch is applied with a fixed
number of queries (see :mod:`..history.callbacks`).
"""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from ..conf import otp_settings
from ..history import callbacks
from .parsing import InvalidBody, is_probe, parse_body
from .signature import Rejected, authenticate

logger = logging.getLogger("django_engagelab_otp.webhooks")


@csrf_exempt
@login_not_required
@transaction.non_atomic_requests  # the batch commits before we answer, whatever ATOMIC_REQUESTS says
@require_http_methods(["POST", "HEAD"])
@sensitive_post_parameters()
# The body is JSON, which no POST filter sees: the frames that hold it (and the
# rows, events and messages it becomes) show no variable in an error report.
@sensitive_variables()
def callback(request: HttpRequest) -> HttpResponse:
    if request.method == "HEAD":
        return HttpResponse()
    body = _read_body(request)
    if body is None:
        return _refuse(request, 400, "body too large")
    if not body and request.META.get("HTTP_TRANSFER_ENCODING"):
        # A WSGI server passes no chunked body on without a Content-Length: the
        # POST only looks empty. Taken for the probe, it would be answered 200
        # unauthenticated while its rows were lost. 411: send the length.
        return _refuse(request, 411, "chunked body without Content-Length")
    if is_probe(body):
        return JsonResponse({"ok": True})
    try:
        claim = authenticate(request)
    except Rejected as rejection:
        return _refuse(request, rejection.status, rejection.reason)
    try:
        response = _receive(request, body)
    except BaseException:
        claim.release()
        raise
    if response.status_code != 200:
        claim.release()  # nothing was stored: the platform's retry with this nonce must get through
    return response


def _receive(request: HttpRequest, body: bytes) -> HttpResponse:
    try:
        batch = parse_body(body)
    except InvalidBody as error:
        return _refuse(request, 400, str(error))
    try:
        summary = callbacks.apply(batch.events)
    except DatabaseError as error:
        logger.error(
            "EngageLab callback not stored (%s): answering 503 so that the platform retries", type(error).__name__
        )
        return JsonResponse({"ok": False, "error": "not stored, try again"}, status=503)
    if batch.skipped:
        logger.warning("EngageLab callback: skipped rows %s", dict(batch.skipped))
    logger.info(
        "EngageLab callback: %s rows, %s status changes, %s about unknown messages",
        summary.events,
        summary.status_changes,
        summary.unknown_messages,
    )
    return JsonResponse({"ok": True, "rows": summary.events, "skipped": sum(batch.skipped.values())})


def _read_body(request: HttpRequest) -> bytes | None:
    """The body, or None when it is larger than allowed (read without Django's upload limit)."""
    limit = otp_settings.WEBHOOK_MAX_BODY
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def _refuse(request: HttpRequest, status: int, reason: str) -> HttpResponse:
    level = logging.WARNING if status < 500 else logging.ERROR
    logger.log(
        level, "EngageLab callback refused (%s): %s from %s", status, reason, request.META.get("REMOTE_ADDR", "?")
    )
    response = JsonResponse({"ok": False, "error": reason}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'X-CALLBACK-ID realm="engagelab"'
    return response
