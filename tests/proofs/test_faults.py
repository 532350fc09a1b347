"""Every send survives every fault: one settled row, the documented exception, no second message.

The simulator acts out the platform's and the network's failures (its magic
recipients and knobs); a closed port and a listener whose accept queue is
full stand for a refused connection and a connect timeout. Each fault is met
through every public way of sending: the three functions, a list of
recipients, the form and the command. After each call:

* exactly one ``MessageLog`` row exists and it is settled (never ``pending``),
  ``unknown`` exactly when the error table says the outcome is unknown;
* the exception (or the form's error, or the command's exit code) is the one
  the error table documents for that failure;
* the simulator saw no request the client was not allowed to repeat, and
  recorded at most one message.
"""

from __future__ import annotations

import contextlib
import socket
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.forms.forms import NON_FIELD_ERRORS

from django_engagelab_otp import send_code, send_custom_message, send_otp, verify_otp
from django_engagelab_otp.errors import ERROR_CODES, FAILURES, ErrorCode
from django_engagelab_otp.exceptions import UNAVAILABLE, EngageLabError
from django_engagelab_otp.forms import SendOTPForm
from django_engagelab_otp.management.base import exit_code
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.simulator import Simulator
from django_engagelab_otp.simulator.magic import by_name
from tests.support.constants import PHONE
from tests.support.local_http import closed_port
from tests.support.proof import figure, is_clear, run_command
from tests.support.settings import configure

pytestmark = pytest.mark.django_db

OTHER = "+8618701235679"
READ_TIMEOUT = 0.75
CONNECT_TIMEOUT = 0.3
#: Longer than the read timeout: the answer never comes in time.
TOO_LONG = 5.0


# ---------------------------------------------------------------------- the faults


@dataclass(frozen=True)
class FaultMode:
    """One way for a send to go wrong, and what the error table says must come of it.

    ``documented`` names the table's row: a platform code or a key of
    ``FAILURES``; ``None`` for faults a send must survive with success.
    """

    name: str
    documented: int | str | None
    status: str
    recipient: str = PHONE
    knobs: dict[str, float] = field(default_factory=dict)
    #: Where the API URL points: the simulator, a closed port, or a listener that never accepts.
    endpoint: str = "simulator"
    #: Requests the simulator may see: more than one only for the codes the client repeats.
    requests: int = 1
    #: Messages the simulator records (the platform acted before the fault, or did not).
    sent: int = 1

    @property
    def row(self) -> ErrorCode | None:
        if self.documented is None:
            return None
        return ERROR_CODES[self.documented] if isinstance(self.documented, int) else FAILURES[self.documented]


def _magic(name: str) -> str:
    return by_name(name).phone


FAULTS: list[FaultMode] = [
    FaultMode("html-502", "proxy_error", "unknown", _magic("fault-html-502")),
    # Nothing behind the proxy took it: safe to repeat, and repeated (MAX_RETRIES 2).
    FaultMode("empty-503", "outage", "failed", _magic("fault-empty-503"), requests=3, sent=0),
    FaultMode("broken-json", "malformed", "unknown", _magic("fault-broken-json")),
    FaultMode("no-message-id", "malformed", "unknown", _magic("fault-no-message-id")),
    FaultMode("dropped-connection", "disconnected", "unknown", _magic("fault-drop")),
    FaultMode("reset-mid-body", "disconnected", "unknown", _magic("fault-reset")),
    FaultMode("hang", "timeout", "unknown", _magic("fault-hang")),
    # Headers and half the body, then silence: the read times out inside the body.
    FaultMode("stall-mid-body", "disconnected", "unknown", _magic("fault-stall")),
    FaultMode("slow-beyond-read-timeout", "timeout", "unknown", _magic("fault-slow"), {"slow_ms": TOO_LONG * 1000}),
    FaultMode("drip-beyond-read-timeout", "timeout", "unknown", _magic("fault-drip"), {"drip_seconds": TOO_LONG}),
    FaultMode("read-timeout", "timeout", "unknown", PHONE, {"latency_ms": TOO_LONG * 1000}),
    # The codes the client repeats by itself (MAX_RETRIES = 2): three requests, no message.
    FaultMode("platform-1000", 1000, "failed", _magic("error-1000"), requests=3, sent=0),
    FaultMode("platform-5016", 5016, "failed", _magic("error-5016"), requests=3, sent=0),
    FaultMode("connection-refused", "unreachable", "failed", endpoint="refused", requests=0, sent=0),
    FaultMode("connect-timeout", "unreachable", "failed", endpoint="backlog", requests=0, sent=0),
    # Slow answers that stay within the read timeout between two reads are no failure.
    FaultMode("slow-within-read-timeout", None, "accepted", _magic("fault-slow"), {"slow_ms": 50}),
    FaultMode("drip-within-read-timeout", None, "accepted", _magic("fault-drip"), {"drip_seconds": 0.002}),
]


@contextlib.contextmanager
def unaccepting_listener() -> Iterator[tuple[int, Callable[[], int]]]:
    """A port on 127.0.0.1 whose accept queue is full: new connections time out.

    Yields the port and a function that counts the connections that did get
    through (they wait, never accepted, in the queue).
    """
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(8):  # fill the queue until the kernel stops completing handshakes
            filler = socket.socket()
            filler.settimeout(0.1)
            try:
                filler.connect(("127.0.0.1", port))
            except OSError:
                filler.close()
                break
            fillers.append(filler)
        else:
            pytest.fail("the accept queue never filled up")

        def queued() -> int:
            listener.setblocking(False)
            count = 0
            with contextlib.suppress(BlockingIOError):
                while True:
                    connection, _address = listener.accept()
                    connection.close()
                    count += 1
            return count - len(fillers)

        yield port, queued
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


# ---------------------------------------------------------------------- the ways of sending


@dataclass(frozen=True)
class Sender:
    """A public way of sending, the simulator path it posts to, and how its failure surfaces."""

    name: str
    path: str
    send: Callable[[str], Any]
    surface: str  # "exception", "form" or "command"


def _form(to: str) -> SendOTPForm:
    form = SendOTPForm({"to": to})
    form.is_valid()
    return form


SENDERS = [
    Sender("send_otp", "/v1/messages", lambda to: send_otp(to), "exception"),
    Sender("send_code", "/v1/codes", lambda to: send_code(to, "482910", "demo-code"), "exception"),
    Sender(
        "send_custom_message",
        "/v1/custom-messages",
        lambda to: send_custom_message(to, "demo-notice", params={"order": "A-1"}),
        "exception",
    ),
    Sender(
        "send_custom_message[list]",
        "/v1/custom-messages",
        lambda to: send_custom_message([OTHER, to], "demo-notice", params={"order": "A-1"}),
        "exception",
    ),
    Sender("SendOTPForm", "/v1/messages", _form, "form"),
    Sender("engagelab_send", "/v1/messages", lambda to: run_command("engagelab_send", f"--to={to}"), "command"),
]


@pytest.fixture
def sim(make_engagelab_simulator, settings) -> Simulator:
    simulator = make_engagelab_simulator()
    configure(settings, TIMEOUT=(CONNECT_TIMEOUT, READ_TIMEOUT), RETRY_BACKOFF=0, RETRY_JITTER=0)
    simulator.platform.hang_seconds = TOO_LONG
    return simulator


def _point_at(settings: Any, url: str) -> None:
    configure(settings, API_URL=url)


def _surfaced(sender: Sender, to: str) -> tuple[EngageLabError | None, Any]:
    """The exception a call raised (functions), or what it returned: the row, the form, the command run."""
    if sender.surface == "exception":
        try:
            return None, sender.send(to)
        except EngageLabError as error:
            return error, None
    return None, sender.send(to)


def _check_surface(sender: Sender, mode: FaultMode, error: EngageLabError | None, value: Any) -> None:
    """The failure shows where and as the error table documents it."""
    row = mode.row
    if sender.surface == "exception":
        if row is None:
            assert error is None, repr(error)
            return
        assert type(error) is row.exc_class, repr(error)
        assert error.outcome_unknown is row.outcome_unknown and error.code == row.code
        assert error.log is not None and error.log.status == mode.status
        assert is_clear(error)
        return
    if sender.surface == "form":
        if row is None:
            assert value.errors == {} and value.log is not None
            return
        assert value.log is None
        shown = UNAVAILABLE if row.operator else row.user_message
        assert value.errors == {NON_FIELD_ERRORS: [str(shown)]}
        return
    if row is None:
        assert value.error is None and "Accepted:" in value.out
        return
    assert value.error is not None
    message = str(value.error)
    assert value.error.returncode == exit_code(row.exception()), message
    assert is_clear(message, max_length=None) and f": {mode.status}" in message


def _run(mode: FaultMode, sender: Sender, sim: Simulator, settings: Any) -> dict[str, Any]:
    """Make the fault happen, send once, and measure what it left behind."""
    for knob, value in mode.knobs.items():
        if knob == "latency_ms":
            sim.platform.configure(latency_ms=value)
        else:
            setattr(sim.platform, knob, value)
    with contextlib.ExitStack() as stack:
        queued: Callable[[], int] = lambda: 0  # noqa: E731
        if mode.endpoint == "refused":
            _point_at(settings, f"http://127.0.0.1:{closed_port()}/v1/")
        elif mode.endpoint == "backlog":
            port, queued = stack.enter_context(unaccepting_listener())
            _point_at(settings, f"http://127.0.0.1:{port}/v1/")
        error, value = _surfaced(sender, mode.recipient)
        rows = list(MessageLog.objects.all())
        reached_listener = queued()
    per_recipient = Counter(r for message in sim.platform.messages for r in message.recipients)
    return {
        "error": error,
        "value": value,
        "rows": rows,
        "requests": sim.platform.path_counts[sender.path],
        "messages": len(sim.platform.messages),
        "duplicates": sum(count - 1 for count in per_recipient.values()),
        "reached_listener": reached_listener,
    }


@pytest.mark.parametrize("sender", SENDERS, ids=lambda s: s.name)
@pytest.mark.parametrize("mode", FAULTS, ids=lambda m: m.name)
def test_a_send_survives_the_fault(mode, sender, sim, settings, record_property):
    seen = _run(mode, sender, sim, settings)
    rows = seen["rows"]
    figure(
        record_property,
        "faults",
        mode=mode.name,
        entry=sender.name,
        rows=len(rows),
        pending=sum(1 for row in rows if row.status == MessageLog.Status.PENDING),
        requests=seen["requests"],
        messages=seen["messages"],
        duplicates=seen["duplicates"],
    )
    assert len(rows) == 1, "exactly one history row per send"
    log = rows[0]
    assert log.status == mode.status != MessageLog.Status.PENDING
    _check_surface(sender, mode, seen["error"], seen["value"])
    assert seen["requests"] == mode.requests, "a request was repeated that may have been acted on"
    assert seen["messages"] == mode.sent and seen["duplicates"] == 0
    assert seen["reached_listener"] == 0
    if mode.row is not None:
        assert log.error_code == mode.row.code
    else:
        assert log.message_id == sim.platform.messages[0].message_id


def test_the_table_documents_every_fault_as_the_status_it_leaves():
    for mode in FAULTS:
        row = mode.row
        expected = "accepted" if row is None else "unknown" if row.outcome_unknown else "failed"
        assert mode.status == expected, mode.name


# ---------------------------------------------------------------------- verification under faults


@pytest.mark.parametrize(
    ("name", "documented", "requests"),
    [("connection-refused", "unreachable", 0), ("connect-timeout", "unreachable", 0), ("read-timeout", "timeout", 1)],
)
def test_a_verification_survives_the_fault(name, documented, requests, sim, settings, record_property):
    log = send_otp(PHONE)
    code = sim.platform.last_code(PHONE)
    before = sim.platform.path_counts["/v1/verifications"]
    row = FAILURES[documented]
    with contextlib.ExitStack() as stack:
        queued: Callable[[], int] = lambda: 0  # noqa: E731
        if name == "connection-refused":
            _point_at(settings, f"http://127.0.0.1:{closed_port()}/v1/")
        elif name == "connect-timeout":
            port, queued = stack.enter_context(unaccepting_listener())
            _point_at(settings, f"http://127.0.0.1:{port}/v1/")
        else:
            sim.platform.configure(latency_ms=TOO_LONG * 1000)
        with pytest.raises(EngageLabError) as info:
            verify_otp(log.message_id, code)
        reached_listener = queued()
    seen = sim.platform.path_counts["/v1/verifications"] - before
    figure(record_property, "faults", mode=f"verify:{name}", entry="verify_otp", rows=0, pending=0, requests=seen)
    assert type(info.value) is row.exc_class and info.value.outcome_unknown is row.outcome_unknown
    assert seen == requests and reached_listener == 0
    log.refresh_from_db()
    assert MessageLog.objects.count() == 1 and log.status == "accepted" and log.verified_at is None
    # The platform never answered: no attempt is counted against the person.
    assert log.verify_attempts == 0
