"""The public functions: validate, write the history row, call the client, settle.

Every send writes its ``MessageLog`` row as ``pending`` before the request and
settles it (``accepted``, ``failed`` or ``unknown``) before returning or
raising, so that a crash in between still leaves evidence. OTP codes are
never stored: ``code`` parameters are redacted and ``/v1/codes`` codes are
not written at all. The abuse limits (:mod:`.limits`) are claimed before the
row and the request; a refusal writes no row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from functools import partial
from typing import Any

from django.db import DatabaseError, IntegrityError, router, transaction
from django.dispatch import Signal
from django.utils import timezone

from . import limits, validation
from .conf import otp_settings
from .errors import failure
from .exceptions import EngageLabError
from .models import MessageLog
from .privacy import Masked, redact_params, stored_recipient
from .signals import message_failed, message_sent, otp_verified
from .transport import get_client
from .webhooks.processing import catch_up

logger = logging.getLogger("django_engagelab_otp")

__all__ = [
    "send_otp",
    "send_custom_message",
    "send_code",
    "verify_otp",
    "check_otp",
    "attempts_left",
    "is_locked",
]

Status = MessageLog.Status
_CHANNEL_LENGTH = MessageLog._meta.get_field("send_channel").max_length


def send_otp(
    to: str,
    template_id: str | None = None,
    *,
    language: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> MessageLog:
    """Have the platform generate a code and send it to ``to`` (``POST /v1/messages``).

    Returns the settled ``MessageLog`` (``accepted``, with ``message_id`` and
    ``send_channel``); raises ``EngageLabError`` (with ``.log``) otherwise, or
    ``ThrottledError`` (without a row) when an abuse limit refuses first.
    """
    to = validation.recipient(to, region=otp_settings.DEFAULT_REGION)
    template = _template_id(template_id)
    lang = validation.language(language or otp_settings.LANGUAGE)
    values = validation.params(params)
    return _send(
        MessageLog.Kind.OTP,
        to,
        template,
        lang,
        values,
        lambda client: client.send_message(to, template, language=lang, params=values),
    )


def send_custom_message(
    to: str | Sequence[str],
    template_id: str,
    *,
    params: Mapping[str, Any] | None = None,
) -> MessageLog:
    """Send a custom template's content to one or several recipients (``POST /v1/custom-messages``)."""
    targets = validation.recipients(to, region=otp_settings.DEFAULT_REGION)
    template = validation.template_id(template_id)
    values = validation.params(params)
    return _send(
        MessageLog.Kind.CUSTOM,
        targets,
        template,
        "",
        values,
        lambda client: client.send_custom_message(targets, template, params=values),
        # Notifications the site decides to send (an order shipped) are not a
        # button anyone can press: no cooldown, no daily cap.
        throttle=False,
    )


def send_code(
    to: str,
    code: str,
    template_id: str | None = None,
    *,
    language: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> MessageLog:
    """Deliver a code the caller generated (``POST /v1/codes``); the platform will not verify it."""
    to = validation.recipient(to, region=otp_settings.DEFAULT_REGION)
    secret = validation.code(code)
    template = _template_id(template_id)
    lang = validation.language(language or otp_settings.LANGUAGE)
    values = validation.params(params)
    return _send(
        MessageLog.Kind.CODE,
        to,
        template,
        lang,
        values,
        lambda client: client.send_code(to, secret, template, language=lang, params=values),
    )


def verify_otp(message_id: str, code: str) -> bool:
    """Check a code typed by the user against the platform's OTP for ``message_id``.

    Returns ``True`` or ``False``; raises ``EngageLabError`` when the
    platform refuses, for example 3003: expired or already verified. Its
    ``.log`` stays ``None`` (no send was settled) and it is not logged here:
    the caller decides. Each attempt is counted on the message's row before
    the platform is asked (one the platform never answered is given back); a
    message that had ``MAX_VERIFY_ATTEMPTS`` raises ``VerificationLockedError``
    without a request. A right code sets the row's ``verified_at``.
    """
    message_id = validation.message_id(message_id)
    code = validation.code(code)
    client = get_client()
    attempt = limits.reserve_attempt(message_id)
    try:
        verified = client.verify(message_id, code).verified
    except EngageLabError as error:
        if error.code is None:  # no answer from the platform: that was no attempt
            attempt.refund()
        raise
    if verified:
        now = timezone.now()
        MessageLog.objects.filter(message_id=message_id).update(verified_at=now, updated_at=now)
    log = MessageLog.objects.filter(message_id=message_id).first() if otp_verified.has_listeners() else None
    _notify(otp_verified, message_id=message_id, verified=verified, log=log)
    logger.info("EngageLab verification of %s: %s", message_id, "verified" if verified else "wrong code")
    return verified


def check_otp(message_id: str, code: str) -> None:
    """:func:`verify_otp` for callers that prefer an exception: ``WrongCodeError`` for a wrong code.

    The error carries ``attempts_left`` and the text a person reads; it is a
    plain refusal (nothing to roll back: the attempt is already counted).
    """
    if not verify_otp(message_id, code):
        left = attempts_left(message_id)
        raise failure("wrong_code", f"wrong code for message {message_id}", attempts_left=left)


def attempts_left(message_id: str) -> int | None:
    """How many more codes ``message_id`` accepts before it is locked; ``None`` when there is no limit."""
    return limits.attempts_left(validation.message_id(message_id))


def is_locked(message_id: str) -> bool:
    """Whether ``message_id`` had ``MAX_VERIFY_ATTEMPTS`` wrong codes: no further code is checked."""
    return attempts_left(message_id) == 0


# ---------------------------------------------------------------------- helpers


def _template_id(value: str | None) -> str:
    value = value or otp_settings.TEMPLATE_ID
    if not value:
        raise failure("configuration", "No template id given and ENGAGELAB_OTP['TEMPLATE_ID'] is not set.")
    return validation.template_id(value)


def _notify(signal: Signal, **kwargs: Any) -> None:
    """Send ``signal`` to every receiver even if one fails (Django logs the failure).

    By then the message's fate is settled; a broken receiver must not turn a
    sent message into an exception that invites sending it again.
    """
    signal.send_robust(sender=MessageLog, **kwargs)


def _send(
    kind: str,
    to: str | list[str],
    template_id: str,
    language: str,
    params: dict[str, str],
    call: Callable[[Any], Any],
    *,
    throttle: bool = True,
) -> MessageLog:
    client = get_client()  # a configuration error is raised here, before any row
    many = isinstance(to, list)
    # A refusal is raised here, before any row: no message was sent.
    claim = limits.claim_send(to, template_id) if throttle and not many else limits.NO_CLAIM
    try:
        log = MessageLog.objects.create(
            kind=kind,
            to=stored_recipient(to[0] if many else to),
            recipients=[stored_recipient(value) for value in to] if many and len(to) > 1 else [],
            template_id=template_id,
            language=language,
            params=redact_params(params),
        )
    except BaseException:
        claim.release()
        raise
    try:
        result = call(client)
    except EngageLabError as error:
        if not error.outcome_unknown:  # refused or never sent: no one is kept waiting for it
            claim.release()
        _settle_failed(log, error)
        raise
    except BaseException as error:
        # A bug or an interrupt after the row was written: the outcome is unknown.
        _settle(log, Status.UNKNOWN, error_message=f"{type(error).__name__} during the request")
        raise
    log.recipient = to if isinstance(to, str) else to[0]
    log.message_id = result.message_id
    log.send_channel = result.send_channel[:_CHANNEL_LENGTH]  # a channel newer than this code must not crash
    _settle_accepted(log)
    logger.info("EngageLab %s %s to %s accepted on %s", kind, result.message_id, Masked(log.to), result.send_channel)
    _notify(message_sent, log=log)
    # The platform may call back before the id above is committed; such rows
    # are stored unlinked. Looked for once the id is visible to the callback
    # view (at once in autocommit, else when the caller's transaction commits).
    transaction.on_commit(partial(_catch_up, log), using=router.db_for_write(MessageLog))
    return log


def _settle_accepted(log: MessageLog) -> None:
    """Record the platform's id; a duplicate id must not leave the row pending.

    The platform's ids are unique, but a restarted simulator or a platform bug
    can repeat one. The message was accepted all the same, so the row is
    settled without the id and says why.
    """
    connection = transaction.get_connection(router.db_for_write(MessageLog))
    # In autocommit mode a failed UPDATE harms nothing; inside the caller's
    # transaction only a savepoint keeps that transaction usable.
    guard = transaction.atomic(using=connection.alias) if connection.in_atomic_block else nullcontext()
    try:
        with guard:
            _settle(log, Status.ACCEPTED, "message_id", "send_channel")
    except IntegrityError:
        duplicate, log.message_id = log.message_id, None
        logger.error("EngageLab answered with message id %s, which another history row already holds", duplicate)
        _settle(
            log,
            Status.ACCEPTED,
            "message_id",
            "send_channel",
            error_message=f"accepted, but the platform's message id {duplicate} is already held by another row",
        )


def _catch_up(log: MessageLog) -> None:
    try:
        catch_up(log)
    except DatabaseError as error:
        # Not lost: the rows are stored, and the message's next callback links them.
        logger.error("EngageLab %s: early callbacks not replayed yet (%s)", log.message_id, type(error).__name__)


def _settle_failed(log: MessageLog, error: EngageLabError) -> None:
    status = Status.UNKNOWN if error.outcome_unknown else Status.FAILED
    log.error_code = error.code
    log.http_status = error.http_status
    _settle(log, status, "error_code", "http_status", error_message=error.message[:2000])
    error.log = log
    # Logged once, here (callers seeing .log know it was): at ERROR when an operator
    # must act or the outcome is unknown. repr() holds the code and the platform's
    # text, already scrubbed; never a credential or a code.
    level = logging.ERROR if error.operator or error.outcome_unknown else logging.WARNING
    logger.log(level, "EngageLab %s to %s %s: %r", log.kind, Masked(log.to), status, error)
    _notify(message_failed, log=log, error=error)


def _settle(log: MessageLog, status: str, *fields: str, error_message: str | None = None) -> None:
    log.status = status
    update = ["status", "updated_at", *fields]
    if error_message is not None:
        log.error_message = error_message
        update.append("error_message")
    log.save(update_fields=update)
