"""The public functions: validate, throttle, write the history, call the backend, tell.

Every send writes its ``MessageLog`` row as ``pending`` before the request and
settles it (``accepted``, ``failed`` or ``unknown``) before returning or
raising (:mod:`.history.sends`), so that a crash in between still leaves
evidence. The abuse limits (:mod:`.limits`) are claimed before the row and
the request; a refusal writes no row.

Each function has an async twin for async views (``asend_otp`` …,
``averify_otp``) that takes the same steps: a send is prepared (checked,
limits claimed, ``pending`` row), its request made, its row settled
(:class:`_Sending`); a verification counts its attempt, asks, and tells
(:class:`_Check`). Only the request differs: awaited on the backend's async
call (:func:`.backends.call_async`). The database and cache steps run in
Django's thread for sync code, each to its end (:func:`.sync_steps.to_the_end`):
a cancellation during the request settles the row ``unknown`` and keeps the
cooldown, as an interrupt does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import DatabaseError, transaction
from django.dispatch import Signal
from django.utils.translation import get_language
from django.views.decorators.debug import sensitive_variables

from . import limits, validation
from .backends import Backend, SendResult, VerifyResult, call_async, get_backend
from .conf import otp_settings, template_language
from .errors import failure
from .exceptions import EngageLabError, InvalidInputError
from .history import callbacks, database, sends, verifications
from .models import MessageLog, Status
from .privacy import Masked
from .signals import message_failed, message_sent, otp_verified
from .sync_steps import to_the_end

logger = logging.getLogger("django_engagelab_otp")

#: A template's parameters as a caller gives them (checked, numbers turned into text).
Params = Mapping[str, Any] | None


@sensitive_variables()  # hidden from error reports: this frame and those below (_send, its steps, the backend)
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
    return _send(_personal(MessageLog.Kind.OTP, to, template_id, language, params))


@sensitive_variables()
def send_custom_message(
    to: str | Sequence[str],
    template_id: str,
    *,
    params: Mapping[str, Any] | None = None,
) -> MessageLog:
    """Send a custom template's content to one or several recipients (``POST /v1/custom-messages``)."""
    return _send(_custom(to, template_id, params))


@sensitive_variables()
def send_code(
    to: str,
    code: str,
    template_id: str | None = None,
    *,
    language: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> MessageLog:
    """Deliver a code the caller generated (``POST /v1/codes``); the platform will not verify it."""
    return _send(_personal(MessageLog.Kind.CODE, to, template_id, language, params, code))


@sensitive_variables()
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
    with database.released():
        check = _Check.start(message_id, code)
        try:
            result = check.backend.verify(check.message_id, check.code)
        except EngageLabError as error:
            check.unanswered(error)
            raise
        return check.answered(result)


@sensitive_variables()
def check_otp(message_id: str, code: str) -> None:
    """:func:`verify_otp` for callers that prefer an exception: ``WrongCodeError`` for a wrong code.

    The error carries ``attempts_left`` and the text a person reads; it is a
    plain refusal (nothing to roll back: the attempt is already counted).
    """
    if not verify_otp(message_id, code):
        raise _wrong_code(message_id)


# ---------------------------------------------------------------------- async twins


@sensitive_variables()  # a coroutine's own frame only: each step below is marked too
async def asend_otp(
    to: str, template_id: str | None = None, *, language: str | None = None, params: Params = None
) -> MessageLog:
    """:func:`send_otp` for async code: the same checks, limits, row, signals and errors; the request awaited."""
    return await _asend(_personal(MessageLog.Kind.OTP, to, template_id, language, params))


@sensitive_variables()
async def asend_custom_message(to: str | Sequence[str], template_id: str, *, params: Params = None) -> MessageLog:
    """:func:`send_custom_message` for async code."""
    return await _asend(_custom(to, template_id, params))


@sensitive_variables()
async def asend_code(
    to: str, code: str, template_id: str | None = None, *, language: str | None = None, params: Params = None
) -> MessageLog:
    """:func:`send_code` for async code."""
    return await _asend(_personal(MessageLog.Kind.CODE, to, template_id, language, params, code))


@sensitive_variables()
async def averify_otp(message_id: str, code: str) -> bool:
    """:func:`verify_otp` for async code: the attempt counted first, the same lock and signal."""
    try:
        check = await to_the_end(_Check.start, message_id, code)
        try:
            result = await call_async(check.backend, "verify", check.message_id, check.code)
        except EngageLabError as error:
            await to_the_end(check.unanswered, error)
            raise
        return await to_the_end(check.answered, result)
    finally:
        await to_the_end(database.release)


@sensitive_variables()
async def acheck_otp(message_id: str, code: str) -> None:
    """:func:`check_otp` for async code: ``WrongCodeError`` for a wrong code."""
    if not await averify_otp(message_id, code):
        raise await to_the_end(_wrong_code, message_id)


def attempts_left(message_id: str) -> int | None:
    """How many more codes ``message_id`` accepts before it is locked; ``None`` when there is no limit."""
    return verifications.left(validation.message_id(message_id))


def is_locked(message_id: str) -> bool:
    """Whether ``message_id`` had ``MAX_VERIFY_ATTEMPTS`` wrong codes: no further code is checked."""
    return attempts_left(message_id) == 0


# ---------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _Send:
    """A send, its input checked: what the history row records and the backend is given."""

    kind: str
    to: str | list[str]
    template_id: str
    language: str
    params: dict[str, str]
    #: Whether the resend cooldown and the daily cap apply.
    throttle: bool = True
    #: ``send_code``'s code: sent, never stored or shown.
    code: str = field(default="", repr=False)

    @property
    def options(self) -> dict[str, Any]:
        return {"language": self.language, "params": self.params}

    @property
    def personal(self) -> bool:
        """Whether the abuse limits of one recipient apply (OTPs and own codes)."""
        return self.throttle and isinstance(self.to, str)

    def row(self, *, status: str = Status.PENDING, idempotency_key: str | None = None) -> MessageLog:
        """This send's history row, not saved yet."""
        return sends.build(
            self.kind,
            self.to,
            self.template_id,
            self.language,
            self.params,
            status=status,
            idempotency_key=idempotency_key,
        )

    def call(self, backend: Backend) -> SendResult:
        """The request this send makes."""
        name, args, options = self._request()
        return getattr(backend, name)(*args, **options)

    @sensitive_variables()
    async def acall(self, backend: Backend) -> SendResult:
        """The request this send makes, awaited (in a thread for a backend without async calls)."""
        name, args, options = self._request()
        return await call_async(backend, name, *args, **options)

    def _request(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        """The backend call of this kind of send: its name and arguments."""
        if self.kind == MessageLog.Kind.CUSTOM:
            return "send_custom_message", (self.to, self.template_id), {"params": self.params}
        if self.kind == MessageLog.Kind.CODE:
            return "send_code", (self.to, self.code, self.template_id), self.options
        return "send_message", (self.to, self.template_id), self.options


def _personal(
    kind: str,
    to: Any,
    template_id: str | None,
    language: str | None,
    params: Mapping[str, Any] | None,
    code: Any = None,
) -> _Send:
    """An OTP or an own code to one recipient: the default template and language apply."""
    return _Send(
        kind,
        validation.recipient(to, region=otp_settings.DEFAULT_REGION),
        _template_id(template_id),
        _language(language),
        validation.params(params),
        code=validation.code(code) if kind == MessageLog.Kind.CODE else "",
    )


def _custom(to: Any, template_id: Any, params: Mapping[str, Any] | None) -> _Send:
    return _Send(
        MessageLog.Kind.CUSTOM,
        validation.recipients(to, region=otp_settings.DEFAULT_REGION),
        validation.template_id(template_id),
        "",
        validation.params(params),
        # Notifications the site decides to send (an order shipped) are not a
        # button anyone can press: no cooldown, no daily cap.
        throttle=False,
    )


def _language(value: str | None) -> str:
    """The given language, else the ``LANGUAGE`` setting, else the one of the person being served."""
    if value:
        return validation.language(value)
    if otp_settings.given("LANGUAGE") is not None:
        return otp_settings.LANGUAGE
    return template_language(get_language())


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


def _send(send: _Send) -> MessageLog:
    with database.released():  # the history's own connection, if the send needed it
        sending = _Sending(send)
        sending.prepare()
        try:
            result = send.call(sending.backend)
        except BaseException as error:
            sending.failed(error)
            raise
        return sending.accepted(result)


@sensitive_variables()
async def _asend(send: _Send) -> MessageLog:
    sending = _Sending(send)
    try:
        try:
            await to_the_end(sending.prepare)
            result = await send.acall(sending.backend)
        except BaseException as error:  # a cancellation included: the row is settled unknown
            await to_the_end(sending.failed, error)
            raise
        return await to_the_end(sending.accepted, result)
    finally:
        await to_the_end(database.release)


@dataclass
class _Sending:
    """One send's steps around its request, the same for ``send_*`` and ``asend_*``.

    :meth:`prepare` claims the limits and writes the ``pending`` row (a
    refusal writes none); after the request, :meth:`accepted` or
    :meth:`failed` settles the row, logs and tells.
    """

    send: _Send = field(repr=False)
    backend: Backend | None = field(default=None, repr=False)
    log: MessageLog | None = None
    claim: limits.SendClaim = field(default_factory=limits.SendClaim)

    @sensitive_variables()
    def prepare(self) -> None:
        """Claim the limits and write the ``pending`` row; a refusal raises before any row."""
        self.backend = get_backend()  # a configuration error is raised here, before any row
        # A refusal is raised here, before any row: no message was sent.
        claim = claim_limits(self.send)
        try:
            self.log = sends.record(
                self.send.kind, self.send.to, self.send.template_id, self.send.language, self.send.params
            )
        except BaseException:
            claim.release()
            raise
        self.claim = claim

    @sensitive_variables()
    def failed(self, error: BaseException) -> None:
        """The request raised ``error``: the row ``failed``, or ``unknown`` when it may have been acted on."""
        if self.log is None:  # refused before any row
            return
        if isinstance(error, EngageLabError):
            settle_failed(self.log, error, self.claim)
        else:  # a bug, an interrupt, a cancellation: the outcome is unknown and the limits are kept
            sends.interrupted(self.log, error)

    @sensitive_variables()
    def accepted(self, result: SendResult) -> MessageLog:
        """The platform accepted the message: the row settled, logged, told; early callbacks caught up."""
        log = self.log
        assert log is not None  # prepared
        database = sends.accepted(log, result.message_id, result.send_channel)
        logger.info(
            "EngageLab %s %s to %s accepted on %s", log.kind, result.message_id, Masked(log.to), result.send_channel
        )
        _notify(message_sent, log=log)
        # The platform may call back before the id above is committed; such rows
        # are stored unlinked. Looked for once the id is visible to the callback
        # view: at once when it was written in autocommit (the usual case, and on
        # the history's own connection), else when the caller's transaction commits.
        transaction.on_commit(partial(_catch_up, log, database), using=database)
        return log


# ------------------------------------------------------------------ for workers and bulk runs

#: A checked send, as :func:`prepare` returns it.
Send = _Send


def prepare(
    kind: str,
    to: Any,
    template_id: str | None = None,
    *,
    language: str | None = None,
    params: Mapping[str, Any] | None = None,
    code: Any = None,
) -> _Send:
    """A send of ``kind`` checked as the public functions check it, not made yet: ``InvalidInputError`` otherwise.

    For sends made later or elsewhere (a worker, a bulk run): nothing is
    claimed, written or requested here.
    """
    if kind == MessageLog.Kind.CUSTOM:
        return _custom(to, template_id, params)
    if kind not in (MessageLog.Kind.OTP, MessageLog.Kind.CODE):
        raise InvalidInputError(f"Unknown kind of send {kind!r}.", field="kind")
    return _personal(kind, to, template_id, language, params, code)


def claim_limits(send: _Send) -> limits.SendClaim:
    """The resend cooldown and the day's count for a personal send (``ThrottledError`` when refused)."""
    return limits.claim_send(send.to, send.template_id) if send.personal else limits.NO_CLAIM


def deliver(
    send: _Send, log: MessageLog, claim: limits.SendClaim = limits.NO_CLAIM, *, hand_back_retryable: bool = False
) -> MessageLog:
    """Make the request of ``send`` for its row ``log`` (written already) and settle the row, as a send does.

    ``hand_back_retryable``: a failure the error table marks safe to repeat is
    raised without settling the row or giving the limits back, for a worker
    that will try again (the row stays ``pending`` until it does).
    """
    with database.released():
        sending = _Sending(send, get_backend(), log, claim)
        try:
            result = send.call(sending.backend)
        except EngageLabError as error:
            if hand_back_retryable and error.retryable and not error.outcome_unknown:
                raise
            sending.failed(error)
            raise
        except BaseException as error:
            sending.failed(error)
            raise
        return sending.accepted(result)


def settle_failed(log: MessageLog, error: EngageLabError, claim: limits.SendClaim = limits.NO_CLAIM) -> None:
    """Settle ``log`` after ``error``: ``failed`` (its limits given back) or ``unknown`` (kept); logged and told."""
    if not error.outcome_unknown:  # refused or never sent: no one is kept waiting for it
        claim.release()
    _failed(log, error)


@dataclass
class _Check:
    """One verification's steps around its request, the same for ``verify_otp`` and ``averify_otp``."""

    message_id: str
    code: str = field(repr=False)
    backend: Backend = field(repr=False)
    attempt: verifications.Attempt

    @classmethod
    @sensitive_variables()
    def start(cls, message_id: str, code: str) -> _Check:
        """Check the input and count the attempt (``VerificationLockedError`` when none is left)."""
        message_id = validation.message_id(message_id)
        code = validation.code(code)
        backend = get_backend()
        return cls(message_id, code, backend, verifications.reserve(message_id))

    def unanswered(self, error: EngageLabError) -> None:
        """The request raised ``error``."""
        if error.code is None:  # no answer from the platform: that was no attempt
            self.attempt.refund()

    def answered(self, result: VerifyResult) -> bool:
        """The platform's verdict: a right code sets the row's ``verified_at``; told and logged."""
        verified = result.verified
        if verified:
            verifications.verified(self.message_id)
        found = MessageLog.objects.filter(message_id=self.message_id).first() if otp_verified.has_listeners() else None
        _notify(otp_verified, message_id=self.message_id, verified=verified, log=found)
        logger.info("EngageLab verification of %s: %s", self.message_id, "verified" if verified else "wrong code")
        return verified


def _wrong_code(message_id: str) -> EngageLabError:
    """``WrongCodeError`` for ``message_id``, with the attempts it has left."""
    left = attempts_left(message_id)
    return failure("wrong_code", f"wrong code for message {message_id}", attempts_left=left)


@sensitive_variables()  # runs after the commit, outside the send's frames
def _catch_up(log: MessageLog, database: str) -> None:
    try:
        callbacks.catch_up(log, using=database)
    except DatabaseError as error:
        # Not lost: the rows are stored, and the message's next callback links them.
        logger.error("EngageLab %s: early callbacks not replayed yet (%s)", log.message_id, type(error).__name__)


def _failed(log: MessageLog, error: EngageLabError) -> None:
    status = sends.failed(log, error)
    # Logged once, here (callers seeing .log know it was): at ERROR when an operator
    # must act or the outcome is unknown. repr() holds the code and the platform's
    # text, already scrubbed; never a credential or a code.
    level = logging.ERROR if error.operator or error.outcome_unknown else logging.WARNING
    logger.log(level, "EngageLab %s to %s %s: %r", log.kind, Masked(log.to), status, error)
    _notify(message_failed, log=log, error=error)
