"""A bulk run: lines streamed in, requests made by a pool of threads, the history written in batches.

* **Constant memory.** The file is read as it streams; at most a chunk of
  units waits to be sent, and each is forgotten once its row is settled.
* **Concurrency.** ``concurrency`` threads make the requests. The HTTP
  backend keeps one session per thread, so each thread keeps its own
  connection alive for the whole run: no handshake after the first request.
  (A single pooled session is not documented as safe to share between
  threads; one per thread is, and costs nothing more.)
* **The history in batches.** Rows are written ``queued`` a chunk at a time,
  before any request. The main thread alone writes: each step (:meth:`Run._step`)
  settles the requests that came back and takes the next rows (``pending``)
  in one transaction, one commit for many messages.
* **Resumable.** Each row's key is ``bulk:<batch>:<line or group>``. A rerun
  of the batch skips the rows accepted or of unknown outcome, settles
  ``unknown`` those an earlier run left ``pending`` (a crash mid-request),
  and sends the ``queued`` and ``failed`` ones.
* **Stopping.** SIGINT or SIGTERM (once) stops taking new rows: the requests
  under way finish and are settled, the rows taken but not started go back
  to ``queued``: a rerun then sends each line exactly once. A SIGKILL leaves
  the rows of the last steps ``pending``: at most four times ``concurrency``
  rows handed to the threads plus one step's answers (``concurrency``), which
  the rerun settles ``unknown``.
* **Rate.** Each request leaves in a slot of ``SEND_RATE`` (:func:`..send_rate.paced`); the
  threads are woken on time (:func:`..send_rate.punctual`).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from queue import Empty, SimpleQueue
from typing import Any

from django.db import IntegrityError

from .. import send_rate, services
from ..backends import Backend, SendResult, get_backend
from ..exceptions import EngageLabError
from ..history import batches, callbacks
from ..history.database import history_db
from ..models import MessageLog, Status
from ..signals import message_failed, message_sent
from .plan import Defaults, Refused, Unit, plan
from .report import Failures, Summary, error_label
from .source import Line

logger = logging.getLogger("django_engagelab_otp.bulk")

#: Units whose rows are written (queued) at a time.
CHUNK = 256
#: Longest wait, in seconds, before the answers that came back are settled.
STEP_SECONDS = 0.25
_ERROR_LENGTH = 2000


@dataclass
class Outcome:
    result: SendResult | None = None
    error: EngageLabError | None = None
    #: An exception that is not the backend's (a bug): the request may have gone.
    bug: BaseException | None = None
    #: Whether the request was made (not refused by a limit of this site first).
    requested: bool = False


class Run:
    """One run of a batch; :func:`..send_lines` builds and calls it."""

    def __init__(
        self,
        batch: str,
        defaults: Defaults,
        *,
        concurrency: int = 8,
        dry_run: bool = False,
        failures: Failures | None = None,
        progress: Any = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.batch = batch
        self.defaults = defaults
        self.concurrency = max(1, concurrency)
        #: Rows taken and handed to the threads: three times their number waits behind the requests under
        #: way, so that no thread waits while the main thread writes the next chunk's rows (on a busy
        #: database that takes as long as two or three requests; with twice, every thread stood idle after
        #: most chunk writes, a tenth of a run at concurrency 32).
        self.window = 4 * self.concurrency
        self.dry_run = dry_run
        self.failures = failures or Failures(None)
        self.progress = progress
        self.stop = stop or threading.Event()
        self.summary = Summary(batch=batch, dry_run=dry_run)
        self._backend: Backend | None = None
        self.database = ""

    # ------------------------------------------------------------------ the main thread

    def __call__(self, lines: Iterable[Line]) -> Summary:
        started = time.monotonic()
        with _stopped_by_signals(self.stop):
            try:
                if self.dry_run:
                    for item in plan(lines, self.defaults):
                        self._refused(item) if isinstance(item, Refused) else self._count(len(item.lines))
                else:
                    self._backend = get_backend()  # a configuration error before any row
                    self.database = history_db()
                    with send_rate.punctual():
                        self._send(self._prepared(plan(lines, self.defaults)))
            finally:
                self.failures.close()
        self.summary.interrupted = self.stop.is_set()
        self.summary.seconds = time.monotonic() - started
        self.summary.failures_file = self.failures.path if self.failures.written else None
        return self.summary

    def _send(self, chunks: Iterator[list[Unit]]) -> None:
        ready: deque[Unit] = deque()
        running: dict[Future[Outcome], Unit] = {}
        # Each request's future, as it finishes: one wait per answer, whatever the number under way
        # (concurrent.futures.wait() visits every future twice on each call).
        done: SimpleQueue[Future[Outcome]] = SimpleQueue()
        answered: list[tuple[Unit, Outcome]] = []
        exhausted = False
        last = time.monotonic()
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="engagelab-bulk")
        try:
            while True:
                stopping = self.stop.is_set()
                if not (stopping or exhausted) and len(ready) < self.window:
                    chunk = next(chunks, None)
                    exhausted = chunk is None
                    ready.extend(chunk or ())
                    continue
                _harvest(done, running, answered)
                if stopping:
                    self._give_back(running, answered)
                free = self.window - len(running)
                wanted = [] if stopping or (running and free < self.concurrency) else _pop(ready, free)
                late = answered and (time.monotonic() - last >= STEP_SECONDS or not running)
                if wanted or late or len(answered) >= self.concurrency:
                    for unit in self._step(answered, wanted):
                        future = pool.submit(self._attempt, unit)
                        running[future] = unit
                        future.add_done_callback(done.put)
                    answered, last = [], time.monotonic()
                if not running and not answered and (stopping or (exhausted and not ready)):
                    break
                if running:
                    _harvest(done, running, answered, timeout=STEP_SECONDS / 5)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        self.summary.not_sent += sum(len(unit.lines) for unit in ready)

    def _prepared(self, items: Iterator[Unit | Refused]) -> Iterator[list[Unit]]:
        """Chunks of units whose rows are written ``queued``, the lines done before skipped."""
        chunk: list[Unit] = []
        for item in items:
            if isinstance(item, Refused):
                self._refused(item)
                continue
            chunk.append(item)
            if len(chunk) >= CHUNK:
                yield self._write(chunk)
                chunk = []
        if chunk:
            yield self._write(chunk)

    def _write(self, chunk: list[Unit]) -> list[Unit]:
        keys = {batches.key(self.batch, unit.key): unit for unit in chunk}
        for key, unit in keys.items():
            unit.log = unit.send.row(status=Status.QUEUED, idempotency_key=key)
        # The rows an earlier run wrote are skipped by their keys; one query then reads every row's id and status.
        batches.write([unit.log for unit in keys.values() if unit.log is not None], using=self.database)
        found = batches.known(list(keys), using=self.database)
        sendable, abandoned = [], []
        for key, unit in keys.items():
            pk, status = found[key]
            assert unit.log is not None
            unit.log.pk = pk
            unit.log._state.adding = False
            if status in batches.SENDABLE:
                sendable.append(unit)
            elif status == Status.PENDING:
                abandoned.append(unit)
            else:
                self.summary.skipped += len(unit.lines)
                self._count(len(unit.lines))
        if abandoned:
            batches.abandon([unit.log.pk for unit in abandoned if unit.log is not None], using=self.database)
            note = EngageLabError("left pending by an earlier run of its batch, which may have sent it")
            for unit in abandoned:
                self._settled(unit, Status.UNKNOWN, note)
        return sendable

    def _step(self, answered: list[tuple[Unit, Outcome]], wanted: list[Unit]) -> list[Unit]:
        """One transaction: the answers settled, the next rows taken. The units to send now."""
        logs = [self._outcome(unit, outcome) for unit, outcome in answered]
        ids = [unit.log.pk for unit in wanted if unit.log is not None]
        try:
            with batches.tick(self.database):
                batches.settle(logs, using=self.database)
                taken = batches.take(ids, using=self.database) if ids else set()
        except IntegrityError:  # the platform repeated a message id: the same step, row by row
            with batches.tick(self.database):
                batches.settle(logs, using=self.database, one_by_one=True)
                taken = batches.take(ids, using=self.database) if ids else set()
        self._told(answered)
        for unit in wanted:
            if unit.log is None or unit.log.pk not in taken:  # another run of the batch has it
                self.summary.skipped += len(unit.lines)
                self._count(len(unit.lines))
        return [unit for unit in wanted if unit.log is not None and unit.log.pk in taken]

    def _give_back(self, running: dict[Future[Outcome], Unit], answered: list[tuple[Unit, Outcome]]) -> None:
        """Stopping: the rows whose requests have not started go back to ``queued``."""
        cancelled = [future for future in running if future.cancel()]
        if not cancelled:
            return
        units = [running.pop(future) for future in cancelled]
        batches.give_back([unit.log.pk for unit in units if unit.log is not None], using=self.database)
        self.summary.not_sent += sum(len(unit.lines) for unit in units)

    # ------------------------------------------------------------------ outcomes

    def _outcome(self, unit: Unit, outcome: Outcome) -> MessageLog:
        log = unit.log
        assert log is not None
        self.summary.requests += outcome.requested
        if outcome.result is not None:
            log.status = Status.ACCEPTED
            log.message_id = outcome.result.message_id
            log.send_channel = outcome.result.send_channel[: MessageLog._meta.get_field("send_channel").max_length]
            log.error_code = log.http_status = None
            log.error_message = ""
        elif outcome.error is not None:
            log.status = Status.UNKNOWN if outcome.error.outcome_unknown else Status.FAILED
            log.error_code, log.http_status = outcome.error.code, outcome.error.http_status
            log.error_message = outcome.error.message[:_ERROR_LENGTH]
        else:
            log.status = Status.UNKNOWN
            log.error_message = f"{type(outcome.bug).__name__} during the request"
        return log

    def _told(self, answered: list[tuple[Unit, Outcome]]) -> None:
        """After the commit: counts, failures file, signals, and callbacks that overtook the answers."""
        accepted = []
        for unit, outcome in answered:
            assert unit.log is not None
            if outcome.result is not None:
                self.summary.sent += len(unit.lines)
                self._count(len(unit.lines))
                accepted.append(unit.log.message_id or "")
                if message_sent.has_listeners():
                    message_sent.send_robust(sender=MessageLog, log=unit.log)
                continue
            error = outcome.error or EngageLabError(f"{type(outcome.bug).__name__} during the request")
            if outcome.bug is not None:
                logger.error("EngageLab bulk %s: %r during the request", self.batch, outcome.bug)
            self._settled(unit, unit.log.status, error)
            if message_failed.has_listeners():
                message_failed.send_robust(sender=MessageLog, log=unit.log, error=error)
        if accepted:
            try:
                callbacks.catch_up_ids(accepted, using=self.database)
            except Exception as error:  # not lost: the next callback of each message links them
                logger.error("EngageLab bulk %s: early callbacks not replayed yet (%s)", self.batch, error)

    def _settled(self, unit: Unit, status: str, error: EngageLabError) -> None:
        lines = len(unit.lines)
        if status == Status.UNKNOWN:
            self.summary.unknown += lines
        else:
            self.summary.failed += lines
        label = error_label(error)
        self.summary.errors[label if status != Status.UNKNOWN else f"unknown: {label}"] += lines
        for line in unit.lines:
            self.failures.write(line, status, error, unit.log.pk if unit.log else None)
        self._count(lines)

    def _refused(self, refused: Refused) -> None:
        self.summary.invalid += 1
        self.summary.errors[f"invalid {refused.error.field or 'input'}"] += 1
        self.failures.write(refused.line, "invalid", refused.error)
        self._count(1)

    def _count(self, lines: int) -> None:
        self.summary.lines += lines
        if self.progress is not None:
            self.progress.update(lines)

    # ------------------------------------------------------------------ a pool thread

    def _attempt(self, unit: Unit) -> Outcome:
        """The request of one unit: the limits of one recipient, the platform's rate, the call."""
        send = unit.send
        try:
            unit.claim = services.claim_limits(send)
        except EngageLabError as error:
            return Outcome(error=error)
        requested = False
        try:
            with send_rate.paced():
                assert self._backend is not None
                requested = True
                return Outcome(result=send.call(self._backend), requested=True)
        except EngageLabError as error:
            if not error.outcome_unknown:
                unit.claim.release()
            return Outcome(error=error, requested=requested)
        except Exception as error:
            return Outcome(bug=error, requested=requested)


def _harvest(
    done: SimpleQueue[Future[Outcome]],
    running: dict[Future[Outcome], Unit],
    answered: list[tuple[Unit, Outcome]],
    timeout: float = 0.0,
) -> None:
    """Move the requests that finished from ``running`` to ``answered``, waiting up to ``timeout`` for one."""
    try:
        future = done.get(timeout=timeout) if timeout else done.get_nowait()
        while True:
            unit = running.pop(future, None)
            if unit is not None:  # not one given back (cancelled) when the run stopped
                answered.append((unit, future.result()))
            future = done.get_nowait()
    except Empty:
        return


def _pop(ready: deque[Unit], count: int) -> list[Unit]:
    return [ready.popleft() for _ in range(min(count, len(ready)))]


@contextlib.contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM ask the run to stop cleanly; a second one stops it at once (KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def ask(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        logger.warning("EngageLab bulk run: stopping (%s); the requests under way finish", signal.Signals(signum).name)

    previous = {number: signal.signal(number, ask) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
