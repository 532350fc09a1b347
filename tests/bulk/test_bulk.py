"""Bulk sends in this process: lines to rows and requests, batches, groups, reruns, the failures file."""

from __future__ import annotations

import csv
import json
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from django_engagelab_otp.bulk import send_csv
from django_engagelab_otp.models import MessageLog
from django_engagelab_otp.simulator.magic import by_name
from tests.support.settings import configure

pytestmark = pytest.mark.django_db(transaction=True)


def phone(number: int) -> str:
    return f"+86187{10_000_000 + number:08d}"


def write_csv(path, rows, header=("to", "name")):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


@pytest.fixture
def sim(engagelab_simulator, settings):
    configure(settings, MAX_RETRIES=0)
    return engagelab_simulator


def received(sim):
    """How many messages each recipient got."""
    counts: dict[str, int] = {}
    for message in sim.platform.messages:
        for to in message.recipients or [message.to]:
            counts[to] = counts.get(to, 0) + 1
    return counts


def test_every_line_is_sent_once_and_recorded_in_a_few_statements(sim, tmp_path):
    lines = [(phone(n), f"N{n}") for n in range(200)]
    lines[10] = ("not a number", "x")
    lines[20] = (by_name("error-5013").phone, "blocked")
    path = write_csv(tmp_path / "in.csv", lines)
    with CaptureQueriesContext(connection) as queries:
        summary = send_csv(path, batch="b1", template_id="demo-otp", concurrency=8, failures=tmp_path / "f.csv")
    assert (summary.lines, summary.sent, summary.invalid, summary.failed, summary.unknown) == (200, 198, 1, 1, 0)
    assert summary.errors == {"5013 RecipientError": 1, "invalid to": 1}
    assert sim.platform.path_counts["/v1/messages"] == 199
    rows = MessageLog.objects.filter(idempotency_key__startswith="bulk:b1:")
    assert rows.count() == 199 and rows.filter(status="accepted").count() == 198
    assert rows.get(idempotency_key="bulk:b1:21").status == "failed"
    assert MessageLog.objects.get(idempotency_key="bulk:b1:1").params == {"name": "N0"}
    # A send writes its row twice and looks once for early callbacks: 600 statements (and commits) for
    # these lines. Here rows are written, taken and settled many at a time: fewer statements than lines.
    assert len(queries) < 200, len(queries)
    with open(tmp_path / "f.csv") as failures:
        failed = list(csv.DictReader(failures))
    assert [(row["line"], row["status"], row["error_code"]) for row in failed] == [
        ("11", "invalid", "InvalidInputError"),
        ("21", "failed", "5013"),
    ]


def test_a_rerun_sends_only_what_was_not_sent(sim, tmp_path):
    path = write_csv(tmp_path / "in.csv", [(phone(n), "x") for n in range(30)] + [(by_name("error-5013").phone, "")])
    send_csv(path, batch="again", template_id="demo-otp", concurrency=4)
    sim.platform.reset()
    summary = send_csv(path, batch="again", template_id="demo-otp", concurrency=4)
    assert (summary.sent, summary.skipped, summary.failed, summary.requests) == (0, 30, 1, 1)  # failed: tried again
    assert sim.platform.path_counts["/v1/messages"] == 1


def test_a_row_left_pending_is_settled_unknown_and_not_sent_again(sim, tmp_path, no_cooldown):
    path = write_csv(tmp_path / "in.csv", [(phone(n), "x") for n in range(5)])
    send_csv(path, batch="crash", template_id="demo-otp")
    MessageLog.objects.filter(idempotency_key="bulk:crash:3").update(status="pending")
    MessageLog.objects.filter(idempotency_key="bulk:crash:4").update(status="queued")
    sim.platform.reset()  # forgets the codes (and its frequency limit, 3004) and what it received
    summary = send_csv(path, batch="crash", template_id="demo-otp")
    assert (summary.sent, summary.unknown, summary.skipped) == (1, 1, 3)
    assert MessageLog.objects.get(idempotency_key="bulk:crash:3").status == "unknown"
    assert received(sim) == {phone(3): 1}  # line 4, queued, sent; line 3, pending, not sent again


def test_custom_messages_that_share_their_parameters_go_100_recipients_at_a_time(sim, tmp_path):
    lines = [(phone(n), "spring") for n in range(250)] + [(phone(999), "autumn")]
    path = write_csv(tmp_path / "in.csv", lines, header=("to", "order"))
    summary = send_csv(path, batch="sale", kind="custom", template_id="demo-notice", concurrency=4)
    assert (summary.sent, summary.requests) == (251, 4)  # lines 1-100, 101-200, 201-250, and the autumn line
    assert sim.platform.path_counts["/v1/custom-messages"] == 4
    assert sorted(len(log.recipients) for log in MessageLog.objects.all()) == [0, 50, 100, 100]
    assert received(sim) == {**{phone(n): 1 for n in range(250)}, phone(999): 1}
    again = send_csv(path, batch="sale", kind="custom", template_id="demo-notice")
    assert (again.requests, again.skipped) == (0, 251)


def test_a_dry_run_checks_only(sim, tmp_path):
    path = write_csv(tmp_path / "in.csv", [(phone(1), "x"), ("+1", "x")])
    summary = send_csv(path, batch="dry", template_id="demo-otp", dry_run=True)
    assert (summary.lines, summary.invalid, summary.requests) == (2, 1, 0)
    assert not MessageLog.objects.exists() and sim.platform.request_count == 0


def test_codes_come_from_their_column_and_are_never_stored(sim, tmp_path):
    path = write_csv(tmp_path / "in.csv", [(phone(1), "Kq82Lm"), (phone(2), "Zz19Aa")], header=("to", "code"))
    summary = send_csv(path, batch="codes", kind="code", template_id="demo-code")
    assert summary.sent == 2
    assert sim.platform.last_message(phone(1)).code == "Kq82Lm"
    assert "Kq82Lm" not in json.dumps(list(MessageLog.objects.values()), default=str)


def test_the_resend_cooldown_holds_within_a_file(sim, tmp_path):
    path = write_csv(tmp_path / "in.csv", [(phone(1), "a"), (phone(1), "b")])
    summary = send_csv(path, batch="twice", template_id="demo-otp", concurrency=1)
    assert (summary.sent, summary.failed) == (1, 1)
    assert summary.errors == {"ThrottledError (cooldown)": 1}
    assert received(sim) == {phone(1): 1}


# ---------------------------------------------------------------- the command


def test_the_command_prints_a_summary_and_exits_by_outcome(sim, tmp_path, capsys):
    path = write_csv(tmp_path / "in.csv", [(phone(n), "x") for n in range(3)] + [(by_name("fault-drop").phone, "")])
    with pytest.raises(CommandError) as info:
        call_command("engagelab_send", "--csv", path, "--batch", "cli", "--template", "demo-otp", "--json")
    assert info.value.returncode == 6  # one line of unknown outcome
    summary = json.loads(capsys.readouterr().out)
    assert (summary["sent"], summary["unknown"], summary["batch"]) == (3, 1, "cli")
    call_command("engagelab_send", "--csv", path, "--batch", "cli", "--template", "demo-otp")
    out = capsys.readouterr().out
    assert "done by an earlier run (skipped)" in out and "4" in out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--to", "+8618701235678"], "leave out --to"),
        ([], "needs --batch"),
        (["--batch", "x", "--concurrency", "0"], "--concurrency"),
        (["--batch", "bad id!"], "batch id"),
    ],
)
def test_the_command_refuses_bad_arguments(sim, tmp_path, arguments, message):
    path = write_csv(tmp_path / "in.csv", [(phone(1), "x")])
    with pytest.raises(CommandError, match=message) as info:
        call_command("engagelab_send", "--csv", path, "--template", "demo-otp", *arguments)
    assert info.value.returncode == 2
    assert sim.platform.request_count == 0


def test_a_repeated_message_id_still_settles_every_row(api, tmp_path, no_cooldown):
    from tests.support.constants import API

    api.post(API + "messages", json={"message_id": "same-id", "send_channel": "sms"})
    path = write_csv(tmp_path / "in.csv", [(phone(n), "x") for n in range(6)])
    summary = send_csv(path, batch="dup", concurrency=3)
    assert summary.sent == 6
    rows = MessageLog.objects.filter(idempotency_key__startswith="bulk:dup:")
    assert set(rows.values_list("status", flat=True)) == {"accepted"}
    assert rows.filter(message_id="same-id").count() == 1
    assert rows.filter(message_id=None, error_message__contains="already held by another row").count() == 5


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="counts rows while the run writes them: SQLite's shared in-memory database locks the table",
)
def test_four_times_the_concurrency_is_handed_to_the_threads_ahead(sim, tmp_path):
    # Three times the concurrency waits behind the requests under way, so that the threads do not run dry
    # while the main thread writes the next chunk's rows; that many (and one step's answers) are all a
    # SIGKILL can leave pending.
    sim.platform.configure(latency_ms=2000)
    path = write_csv(tmp_path / "in.csv", [(phone(n), "x") for n in range(40)])
    stop = threading.Event()

    def sending() -> None:
        try:
            send_csv(path, batch="ahead", concurrency=2, stop=stop)
        finally:
            connections.close_all()  # this thread's own, before the test database is dropped

    run = threading.Thread(target=sending)
    run.start()
    pending = MessageLog.objects.filter(idempotency_key__startswith="bulk:ahead:", status="pending")
    most, deadline = 0, time.monotonic() + 1.5
    while time.monotonic() < deadline and most < 8:
        most = max(most, pending.count())
        time.sleep(0.02)
    stop.set()
    run.join(30)
    assert most == 8  # before any answer came back
    assert not pending.exists(), "the rows not started went back to queued"
