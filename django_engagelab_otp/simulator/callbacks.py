"""Callbacks: each accepted message plays out its life as signed POSTs.

A background worker keeps a schedule of rows. For every recipient of an
accepted message it plans, ``step_delay`` seconds apart:

* ordinary recipients: ``plan`` → ``sent`` (with ``billing``) → ``delivered``;
* ``lifecycle-whatsapp-fallback``: ``plan`` on whatsapp → ``sent`` on sms
  (``current_send_channel`` becomes ``sms``; ``error_detail`` says why) →
  ``delivered`` on sms. No failure status is sent for the WhatsApp attempt,
  since a failure status is final for a receiver;
* ``lifecycle-stuck``: ``plan`` → ``sent``, then nothing ever again;
* ``lifecycle-undelivered``: ``plan`` → ``sent`` → ``delivered_failed`` (5018).

Verifications add a ``verified`` or ``verified_failed`` row; a platform code
that expires unverified adds ``verified_timeout``. Rows that are due together
travel in one ``{"total": N, "rows": [...]}`` batch (at most ``max_batch``).

Signing: with a username and a secret, every POST carries
``X-CALLBACK-ID: timestamp=..;nonce=..;username=..;signature=..`` where the
signature is ``hex(HMAC-SHA256(secret, f"{timestamp}{nonce}{username}"))``,
and the configured ``Authorization`` value when there is one.

Retries: a POST that fails (no 2xx within ``timeout`` seconds) is tried again
``retry_delay`` × 1, 2, 4 … seconds later, up to ``max_attempts`` in all. Each
attempt is signed afresh, with a new timestamp and nonce: a receiver accepts a
nonce once, and may have recorded the first attempt's nonce before failing,
so re-sending the same signature would be refused as a replay. Deduplication
of the rows themselves is the receiver's job, as with the real platform.

Holding: inside ``with dispatcher.held():`` rows are scheduled as usual but
none is posted; those that fell due go out together when the block ends. A
test holds the callbacks while its client records the answer to a send, so
that the rows cannot arrive before the message id they name is stored.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..signing import HEADER, callback_id
from .magic import Life, lookup
from .platform import Message, Platform

logger = logging.getLogger("django_engagelab_otp.simulator")

#: What one message costs on each channel, reported on ``sent`` rows.
PRICES = {"sms": 0.0065, "whatsapp": 0.0041, "email": 0.0008, "voice": 0.012, "pwa": 0.0}
CURRENCY = "USD"
USER_AGENT = "EngageLab-Simulator-Callback/1.0"

Rows = Callable[[], list[dict[str, Any]]]


@dataclass
class Delivery:
    """One POST attempt, kept for tests and the debug endpoint."""

    attempt: int
    rows: list[dict[str, Any]]
    status: int | None = None
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(order=True)
class _Job:
    due: float
    order: int
    rows: Rows | list[dict[str, Any]] = field(compare=False)
    attempt: int = field(default=1, compare=False)


class CallbackDispatcher:
    """Plays message lifecycles to ``url`` from a background thread."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        secret: str | None = None,
        authorization: str | None = None,
        step_delay: float = 1.0,
        retry_delay: float = 1.0,
        max_attempts: int = 4,
        timeout: float = 3.0,
        max_batch: int = 100,
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("the callback URL must be an http(s) URL")
        self.url = url
        self.username = username
        self._secret = secret
        self._authorization = authorization
        self.step_delay = step_delay
        self.retry_delay = retry_delay
        self.max_attempts = max(1, max_attempts)
        self.timeout = timeout
        self.max_batch = max_batch
        self.deliveries: deque[Delivery] = deque(maxlen=1000)
        self._jobs: list[_Job] = []
        self._order = itertools.count()
        self._busy = 0
        self._condition = threading.Condition()
        self._stopping = False
        self._holds = 0
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<CallbackDispatcher url={self.url!r} signed={bool(self.username and self._secret)}>"

    # ------------------------------------------------------------------ life

    def attach(self, platform: Platform) -> None:
        platform.listeners.append(self.on_event)

    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="engagelab-simulator-callbacks", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._condition:
            self._stopping = True
            self._jobs.clear()
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Post nothing inside the block; rows due by its end are posted after it (blocks nest)."""
        with self._condition:
            self._holds += 1
        try:
            yield
        finally:
            with self._condition:
                self._holds -= 1
                self._condition.notify_all()

    def pending(self) -> int:
        """Scheduled POSTs and rows not yet delivered (including future ones)."""
        with self._condition:
            return len(self._jobs) + self._busy

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no row is due now and none is being posted."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._busy or (self._jobs and self._jobs[0].due <= time.monotonic()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._condition.wait(min(left, 0.05))
            return True

    # ------------------------------------------------------------------ scheduling

    def on_event(self, event: str, message: Message) -> None:
        """Platform listener: schedule the rows this event leads to."""
        if event == "accepted":
            for recipient in message.recipients:
                self._plan_life(message, recipient)
        elif event in ("verified", "verify_failed"):
            status = "verified" if event == "verified" else "verified_failed"
            self._schedule(0, lambda: [status_row(message, message.to, status, message.channel)])

    def _plan_life(self, message: Message, recipient: str) -> None:
        channel = message.channels[recipient]
        special = lookup(recipient)
        life = special.life if special and special.life else Life.DELIVERED
        final = channel
        note = ""
        if life is Life.WHATSAPP_FALLBACK:
            final, note = "sms", "whatsapp: the recipient could not be reached; falling back to sms"
        billing = {"cost": PRICES.get(final, 0.0), "currency": CURRENCY}
        steps: list[tuple[str, str, dict[str, Any]]] = [
            ("plan", channel, {}),
            ("sent", final, {"billing": billing, "note": note}),
        ]
        if life is Life.UNDELIVERED:
            steps.append(
                ("delivered_failed", final, {"error_code": 5018, "note": "handset problem (off or suspended)"})
            )
        elif life is not Life.STUCK:
            steps.append(("delivered", final, {}))
        for index, (status, on, extra) in enumerate(steps):
            self._schedule(index * self.step_delay, _row_maker(message, recipient, status, on, extra))
        if message.verifiable and message.expires_at and life is not Life.STUCK and recipient == message.to:
            self._schedule(max(0.0, message.expires_at - time.time()), lambda: _timeout_rows(message))

    def _schedule(self, delay: float, rows: Rows | list[dict[str, Any]], attempt: int = 1) -> None:
        with self._condition:
            if self._stopping:
                return
            heapq.heappush(self._jobs, _Job(time.monotonic() + delay, next(self._order), rows, attempt))
            self._condition.notify_all()

    # ------------------------------------------------------------------ worker

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            fresh = [row for job in batch if job.attempt == 1 for row in _rows_of(job)]
            if fresh:
                self._post(fresh, 1)
            for job in batch:
                if job.attempt > 1:
                    self._post(_rows_of(job), job.attempt)
            with self._condition:
                self._busy = 0
                self._condition.notify_all()

    def _next_batch(self) -> list[_Job] | None:
        with self._condition:
            while True:
                if self._stopping:
                    return None
                now = time.monotonic()
                if self._holds:
                    self._condition.wait()  # held(): woken when the block ends
                    continue
                if self._jobs and self._jobs[0].due <= now:
                    batch = []
                    while self._jobs and self._jobs[0].due <= now and len(batch) < self.max_batch:
                        batch.append(heapq.heappop(self._jobs))
                    self._busy = len(batch)
                    return batch
                wait = self._jobs[0].due - now if self._jobs else None
                self._condition.wait(wait)

    def _post(self, rows: list[dict[str, Any]], attempt: int) -> None:
        if not rows:
            return
        body = json.dumps({"total": len(rows), "rows": rows}, ensure_ascii=False).encode()
        headers = self.headers()
        delivery = Delivery(attempt, rows, headers=headers)
        try:
            delivery.status = self._send(body, headers)
            if not delivery.ok:
                delivery.error = f"HTTP {delivery.status}"
        except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out, garbled
            delivery.error = f"{type(error).__name__}: {error}"
        self.deliveries.append(delivery)
        if delivery.ok:
            logger.debug("callback: %d rows posted (HTTP %s)", len(rows), delivery.status)
            return
        if attempt < self.max_attempts:
            wait = self.retry_delay * 2 ** (attempt - 1)
            logger.warning(
                "callback POST to %s failed (%s), attempt %d of %d; again in %.1f s",
                self.url,
                delivery.error,
                attempt,
                self.max_attempts,
                wait,
            )
            self._schedule(wait, rows, attempt + 1)
        else:
            logger.warning("callback POST to %s failed (%s); %d rows dropped", self.url, delivery.error, len(rows))

    def _send(self, body: bytes, headers: dict[str, str]) -> int:
        # http.client rather than urllib: header names go out exactly as documented
        # (X-CALLBACK-ID), and no proxy from the environment is involved.
        parts = urlsplit(self.url)
        connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(parts.hostname or "", parts.port, timeout=self.timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def headers(self) -> dict[str, str]:
        """Headers of one POST, freshly signed."""
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if self.username and self._secret:
            headers[HEADER] = callback_id(self._secret, self.username)
        if self._authorization:
            headers["Authorization"] = self._authorization
        return headers


# ---------------------------------------------------------------------- rows


def status_row(
    message: Message,
    recipient: str,
    status: str,
    channel: str,
    *,
    billing: dict[str, Any] | None = None,
    error_code: int = 0,
    note: str = "",
) -> dict[str, Any]:
    """One message-status row in the documented shape."""
    body: dict[str, Any] = {
        "message_status": status,
        "status_data": {
            "msg_time": int(message.created_at),
            "message_id": message.message_id,
            "current_send_channel": channel,
            "template_key": message.template_id,
            "business_id": "",
        },
        "error_code": error_code,
        "error_detail": {"message": note},
    }
    if billing is not None:
        body["billing"] = billing
    return {
        "message_id": message.message_id,
        "to": recipient,
        "server": "otp",
        "channel": channel,
        "itime": int(time.time()),
        "custom_args": {},
        "status": body,
    }


def _row_maker(message: Message, recipient: str, status: str, channel: str, extra: dict[str, Any]) -> Rows:
    return lambda: [status_row(message, recipient, status, channel, **extra)]


def _timeout_rows(message: Message) -> list[dict[str, Any]]:
    if message.verified:
        return []
    return [status_row(message, message.to, "verified_timeout", message.channel)]


def _rows_of(job: _Job) -> list[dict[str, Any]]:
    return job.rows() if callable(job.rows) else job.rows
