"""The contract every backend keeps: the calls the services make, and what they return.

A backend is what ``ENGAGELAB_OTP["BACKEND"]`` names: a class built with the
connection settings as keyword arguments (:func:`~django_engagelab_otp.backends.backend_options`)
and shared by every thread of the process. This package ships two:

* :class:`~django_engagelab_otp.backends.http.HTTPBackend` — the EngageLab REST API (the default);
* :class:`~django_engagelab_otp.backends.locmem.LocmemBackend` — in memory, for tests.

To write another (a second provider, a queue, a recorder), implement
:class:`Backend`. Its rules are what the services rely on:

* A send returns a :class:`SendResult` once the platform accepted the
  message, and raises an ``EngageLabError`` otherwise — built from the error
  table (``errors.error_for(code, …)`` for a platform answer,
  ``errors.failure(name, …)`` for a failure without a code) so that
  ``retryable``, ``outcome_unknown``, the form field and the user's text are
  right. Any other exception is treated as a bug: the message's row is
  settled ``unknown``.
* ``outcome_unknown`` must be set when the request may have been acted on
  (a timeout after it left): the services then keep the resend cooldown.
* Nothing a backend raises, logs or returns may hold the dev secret or a
  code.
* No ORM, no forms, no Django settings: a backend gets what it needs as
  arguments.

The async services (``asend_otp`` …) call a backend's async calls when it
has them (:class:`AsyncBackend`: both shipped backends do), under the same
rules. A backend without them still serves: its sync call then runs in a
worker thread (``asgiref.sync.sync_to_async``), one per call in flight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

#: A template's parameters, as the services pass them (names and values checked, numbers as text).
Params = Mapping[str, str] | None


@dataclass(frozen=True)
class SendResult:
    """A message the platform accepted."""

    message_id: str
    #: The channel the platform is using now (``sms``, ``whatsapp``, ``email``, ``voice``);
    #: a fallback may move it later, which the callbacks report.
    send_channel: str
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class VerifyResult:
    """The platform's verdict on a code. The code itself is not kept."""

    message_id: str
    verified: bool


@runtime_checkable
class Backend(Protocol):
    """What the services call. Constructed as ``Backend(dev_key=…, dev_secret=…, api_url=…, timeout=…,
    max_retries=…, retry_backoff=…, retry_backoff_max=…, retry_jitter=…)``; must be thread-safe."""

    def send_message(
        self, to: str, template_id: str, *, language: str | None = None, params: Params = None
    ) -> SendResult:
        """``POST /v1/messages``: the platform generates the code and sends it to ``to``."""
        ...

    def send_custom_message(self, to: str | Sequence[str], template_id: str, *, params: Params = None) -> SendResult:
        """``POST /v1/custom-messages``: a custom template's content to one or several recipients."""
        ...

    def send_code(
        self, to: str, code: str, template_id: str, *, language: str | None = None, params: Params = None
    ) -> SendResult:
        """``POST /v1/codes``: deliver a code the caller generated."""
        ...

    def verify(self, message_id: str, code: str) -> VerifyResult:
        """``POST /v1/verifications``: check a code against the platform's OTP for ``message_id``."""
        ...

    def list_templates(self) -> list[dict[str, Any]]:
        """``GET /v1/template-configs``."""
        ...

    def get_template(self, template_id: str) -> dict[str, Any]:
        """``GET /v1/template-configs/{id}``."""
        ...

    def create_template(self, template: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /v1/template-configs``."""
        ...

    def delete_template(self, template_id: str) -> dict[str, Any]:
        """``DELETE /v1/template-configs/{id}``."""
        ...

    def close(self) -> None:
        """Release connections; the next call may open new ones."""
        ...


@runtime_checkable
class AsyncBackend(Protocol):
    """The async calls a backend may add, for the async services; each answers as its sync twin does.

    Optional: without them the async services run the sync calls in a worker
    thread. A backend that has them is used from any number of event loops
    (one per thread, or a new one per request under some servers).
    """

    async def asend_message(
        self, to: str, template_id: str, *, language: str | None = None, params: Params = None
    ) -> SendResult:
        """``POST /v1/messages``, awaited."""
        ...

    async def asend_custom_message(
        self, to: str | Sequence[str], template_id: str, *, params: Params = None
    ) -> SendResult:
        """``POST /v1/custom-messages``, awaited."""
        ...

    async def asend_code(
        self, to: str, code: str, template_id: str, *, language: str | None = None, params: Params = None
    ) -> SendResult:
        """``POST /v1/codes``, awaited."""
        ...

    async def averify(self, message_id: str, code: str) -> VerifyResult:
        """``POST /v1/verifications``, awaited."""
        ...

    async def aclose(self) -> None:
        """Release the running event loop's connections."""
        ...
