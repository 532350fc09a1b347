"""Every way of stopping ``make demo`` stops both servers, frees both ports and prints no traceback.

Real processes, real signals: ``python -m django_engagelab_otp.demo`` runs on free ports
in a process group of its own (as a shell runs ``make demo``); each test
stops it one way, then looks in ``/proc`` for the servers it had started.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from collections.abc import Callable

import pytest

from tests.support.constants import ROOT
from tests.support.demo import EXIT_TIMEOUT, DemoRun, assert_stopped
from tests.support.processes import descendants

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; the hard-kill guard is Linux's"),
]

STOPPING = "Stopping the site and the simulator"


def again_while_stopping(demo: DemoRun, send: Callable[[], None]) -> None:
    """A second signal once the shutdown has begun: it must not cut the shutdown short."""
    deadline = time.monotonic() + EXIT_TIMEOUT
    while STOPPING not in demo.output and demo.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    if demo.process.poll() is None:
        send()


def ctrl_c(demo: DemoRun) -> None:
    """A terminal's Ctrl-C reaches the whole foreground group; impatient people press it twice."""
    pid = demo.process.pid
    os.killpg(pid, signal.SIGINT)
    again_while_stopping(demo, lambda: os.killpg(pid, signal.SIGINT))


def sigterm_group(demo: DemoRun) -> None:
    """What `timeout` does (to its child, then to its group) and an IDE's stop button (to the group)."""
    pid = demo.process.pid
    os.kill(pid, signal.SIGTERM)
    again_while_stopping(demo, lambda: os.killpg(pid, signal.SIGTERM))


def sigterm_script(demo: DemoRun) -> None:
    """A plain `kill PID`."""
    os.kill(demo.process.pid, signal.SIGTERM)


def sighup(demo: DemoRun) -> None:
    """The terminal window closed: the shell hangs up its jobs."""
    os.killpg(demo.process.pid, signal.SIGHUP)


def sigkill_script(demo: DemoRun) -> None:
    """`kill -9 PID`: the script cannot clean up; its servers must die with it."""
    os.kill(demo.process.pid, signal.SIGKILL)


WAYS: dict[str, Callable[[DemoRun], None]] = {
    "ctrl-c": ctrl_c,
    "sigterm-group": sigterm_group,
    "sigterm-script": sigterm_script,
    "sighup": sighup,
    "sigkill-script": sigkill_script,
}


@pytest.mark.parametrize("way", WAYS)
def test_every_way_of_stopping_the_demo_stops_both_servers(tmp_path, way):
    demo = DemoRun(tmp_path / "demo.sqlite3")
    try:
        demo.wait_ready()
        servers = descendants(demo.process.pid)
        assert len(servers) == 2 and servers < demo.processes(), f"the simulator and the site: {servers}"
        WAYS[way](demo)
        assert_stopped(demo, clean=way != "sigkill-script")
    finally:
        demo.stop()


@pytest.mark.parametrize("way", ["ctrl-c", "sigterm-group", "sigkill-script"])
def test_stopping_the_demo_while_it_starts(tmp_path, way):
    """A stop before the servers answer (while the database is migrated) is as clean."""
    demo = DemoRun(tmp_path / "demo.sqlite3")
    try:
        deadline = time.monotonic() + 60
        migrating = False
        while not migrating and time.monotonic() < deadline:
            time.sleep(0.01)
            migrating = "Preparing the demo database" in demo.output and bool(descendants(demo.process.pid))
        assert migrating, demo.output
        WAYS[way](demo)
        assert_stopped(demo, clean=way != "sigkill-script")
    finally:
        demo.stop()


@pytest.mark.skipif(
    not (shutil.which("make") and (ROOT / ".venv" / "bin" / "python").exists()), reason="needs make and .venv"
)
def test_sigterm_to_the_make_demo_group(tmp_path):
    """The issue's own case: `make demo` in an IDE; the stop button signals make and the demo together.

    make passes the SIGTERM on to the demo, which so gets it twice.
    """
    demo = DemoRun(tmp_path / "demo.sqlite3", via_make=True)
    try:
        demo.wait_ready()
        assert f"http://127.0.0.1:{demo.port}/" in demo.output, "the ports come from DEMO_PORT and SIMULATOR_PORT"
        os.killpg(demo.process.pid, signal.SIGTERM)
        assert_stopped(demo, clean=False)  # make reports its own termination
        assert "Stopped." in demo.output
    finally:
        demo.stop()
