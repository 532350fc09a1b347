"""Runs ``python -m django_engagelab_otp.demo`` (what ``make demo`` runs) on free ports, for the demo tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from tests.support.constants import ROOT
from tests.support.processes import kill_all, port_free, still_running, tagged

#: The demo and its manage.py, as commands: run as modules, the way an installed package runs them.
DEMO = [sys.executable, "-m", "django_engagelab_otp.demo"]
MANAGE = [sys.executable, "-m", "django_engagelab_otp.demo.manage"]
READY = "Press Ctrl-C to stop."
TAG = "DEMO_TEST_RUN"  # the environment variable that marks a run's processes
EXIT_TIMEOUT = 30  # seconds for the demo to stop
ORPHAN_TIMEOUT = 10  # seconds for its servers to be gone once it has


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_environment() -> dict[str, str]:
    """This process's environment without the settings of the tests (the demo brings its own)."""
    mine = ("DJANGO_", "ENGAGELAB_", "DATABASE_", "DEMO_", "SIMULATOR_")
    return {k: v for k, v in os.environ.items() if not k.startswith(mine)}


class DemoRun:
    """One demo process with its own ports and database; its output is collected.

    With ``python``, the demo installed in that interpreter runs from ``cwd``
    as a person starts it: the ports from the environment, and the temporary
    database of its own (``database`` is then ``None``). ``variables`` are
    added to its environment.
    """

    def __init__(
        self,
        database: Path | None,
        *extra: str,
        via_make: bool = False,
        python: Path | None = None,
        cwd: Path = ROOT,
        variables: dict[str, str] | None = None,
    ) -> None:
        self.database = database
        self.port, self.simulator_port = free_port(), free_port()
        self.site = f"http://127.0.0.1:{self.port}/"
        self.simulator = f"http://127.0.0.1:{self.simulator_port}/"
        #: In the environment of the demo and everything it starts: finds them all, orphans too.
        self.tag = uuid.uuid4().hex
        env = clean_environment()
        env[TAG] = self.tag
        env.update(variables or {})
        if via_make:
            # `make demo` as a person types it, the ports and the database given the way make passes them on.
            env.update(DEMO_PORT=str(self.port), SIMULATOR_PORT=str(self.simulator_port), DEMO_DATABASE=str(database))
            command = ["make", "--no-print-directory", "-o", ".venv/.demo-installed", "demo", *extra]
        elif python:
            # Only what is installed in that interpreter: never this checkout.
            env.pop("PYTHONPATH", None)
            env.update(DEMO_PORT=str(self.port), SIMULATOR_PORT=str(self.simulator_port))
            command = [str(python), "-m", "django_engagelab_otp.demo", *extra]
        else:
            ports = ["--port", str(self.port), "--simulator-port", str(self.simulator_port)]
            command = [*DEMO, *ports, "--database", str(database), *extra]
        #: When the demo was launched (time.monotonic()).
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group, as a shell gives `make demo`: a test can signal
            # the whole group (Ctrl-C, an IDE's stop button) without signalling pytest.
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while READY not in self.output:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the demo did not start:\n{self.output}")
            time.sleep(0.1)

    def first_page(self, timeout: float = 120) -> float:
        """Wait until the home page answers 200; the seconds from the launch to that answer."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.site, timeout=5) as answer:
                    if answer.status == 200:
                        return time.monotonic() - self.started
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the demo's home page did not answer:\n{self.output}")
            time.sleep(0.1)

    def last_code(self, to: str) -> dict:
        url = f"{self.simulator}_simulator/last-code?{urllib.parse.urlencode({'to': to})}"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.load(answer)

    def shell(self, code: str) -> str:
        """Run Python in the demo site on this demo's database (``manage.py shell -c``); its output."""
        env = clean_environment()
        env.update(
            DJANGO_SETTINGS_MODULE="django_engagelab_otp.demo.settings", DATABASE_URL=f"sqlite:///{self.database}"
        )
        result = subprocess.run(
            [*MANAGE, "shell", "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def interrupt(self, timeout: float = 30) -> int:
        """Ctrl-C, as a terminal sends it; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        finally:
            self._reader.join(timeout=5)

    def processes(self) -> set[int]:
        """The processes of this run still running: the demo, its servers, any orphan."""
        return tagged(TAG, self.tag)

    def finish_reading(self) -> None:
        """Wait for the last of the output once the demo has ended."""
        self._reader.join(timeout=5)

    def stop(self) -> None:
        """End the run whatever state it is in; nothing it started outlives it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        kill_all(self.processes())
        self._reader.join(timeout=5)


def assert_stopped(demo: DemoRun, *, clean: bool) -> None:
    """The demo has ended, with it every process it started; both ports are free, no traceback was printed."""
    status = demo.process.wait(EXIT_TIMEOUT)
    left = still_running(demo.processes, ORPHAN_TIMEOUT)
    assert not left, f"left running: {left}\n{demo.output}"
    # A killed process's sockets are closed by the kernel a moment after it is gone from /proc.
    deadline = time.monotonic() + ORPHAN_TIMEOUT
    while not (port_free(demo.port) and port_free(demo.simulator_port)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert port_free(demo.port) and port_free(demo.simulator_port), "a port is still held"
    demo.finish_reading()
    assert "Traceback" not in demo.output and "KeyboardInterrupt" not in demo.output, demo.output
    if clean:
        assert status == 0, f"exit status {status}\n{demo.output}"
        assert demo.output.rstrip().endswith("Stopped."), demo.output
