"""``python -m django_engagelab_otp.demo`` (and ``make demo``): the demo site against the local EngageLab simulator.

Prepares the demo's SQLite database (in a temporary directory, removed when the
demo stops, unless ``--database`` names a file to keep), a demo superuser and a
demo member with a password and a phone (for the two-factor sign-in), starts
the simulator and the site as child processes with matching settings, says
where to click, and stops both on Ctrl-C. Needs no account, secret or internet,
and writes nothing into the package or the current directory.

Every way of stopping it stops both servers and frees both ports: Ctrl-C,
``kill``, SIGTERM to the whole process group (an IDE's stop button,
``timeout``, ``make`` passing it on) and a closed terminal (SIGHUP). A signal
only asks for the stop; the shutdown then runs to its end, whatever signals
follow. The servers run in sessions of their own (the terminal's signals reach
only this script, which stops them in order) and through ``child_guard.py``, so
that on Linux even ``kill -9`` of this script takes them along.

The ports come from ``--port`` / ``--simulator-port``, or the environment
variables ``DEMO_PORT`` / ``SIMULATOR_PORT`` (``DEMO_PORT=8001 make demo``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from ..simulator.magic import by_name

HERE = Path(__file__).resolve().parent
#: Run as modules (``python -m``), so the demo works wherever the package is installed.
SETTINGS = f"{__package__}.settings"
MANAGE = f"{__package__}.manage"
GUARD = HERE / "child_guard.py"
HOST = "127.0.0.1"

# Demo-only credentials, shared by the simulator and the site. Nothing here is a real secret.
DEV_KEY, DEV_SECRET = "demo-key", "demo-secret"
WEBHOOK_USERNAME, WEBHOOK_SECRET = "demo", "demo-webhook-secret"
ADMIN_USERNAME, ADMIN_PASSWORD = "admin", "admin"
# Who signs in with a password and a code; the codes go to this phone (the simulator shows them).
MEMBER_USERNAME, MEMBER_PASSWORD, MEMBER_PHONE = "ada", "lovelace", "+6591234567"
TEMPLATE_ID = "demo-otp"
CACHE_TABLE = "engagelab_demo_cache"

#: The demo's accounts exist and work, however often it runs (a database given with --database is kept).
ACCOUNTS = f"""
from django.contrib.auth import get_user_model
from django_engagelab_otp.contrib.otp.models import EngageLabDevice

def account(username, password, **flags):
    user = get_user_model().objects.filter(username=username).first() or get_user_model()(username=username)
    user.is_active = True
    for name, value in flags.items():
        setattr(user, name, value)
    user.set_password(password)
    user.save()
    return user

account({ADMIN_USERNAME!r}, {ADMIN_PASSWORD!r}, is_staff=True, is_superuser=True)
member = account({MEMBER_USERNAME!r}, {MEMBER_PASSWORD!r})
EngageLabDevice.objects.update_or_create(
    user=member, name="default", defaults={{"recipient": {MEMBER_PHONE!r}, "confirmed": True}}
)
"""

#: Recipients that show what happens when things go wrong, named in the instructions.
MAGIC_TO_TRY = ("lifecycle-undelivered", "lifecycle-stuck", "error-5013", "fault-slow", "fault-drop")

STARTUP_TIMEOUT = 60  # seconds for both servers to answer
# Before the instructions, the servers' start-up lines must have stopped coming, so that the instructions come last.
QUIET = 0.5  # seconds without a line from either server
SETTLE_LIMIT = 3  # seconds at most spent waiting for that quiet
STOP_TIMEOUT = 10  # seconds each child gets to stop before it is killed
POLL = 0.1  # seconds between two looks for a stop request while waiting

#: What stops the demo: Ctrl-C, `kill` (and IDEs, `timeout`, make), a closed terminal.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


class DemoError(Exception):
    """A problem the person running the demo can fix; shown as one line."""


class StopRequested(Exception):
    """A stop signal arrived; raised only where the demo waits, never inside the shutdown."""


class StopRequest:
    """Remembers the first stop signal and does nothing else in the handler.

    Raising from the handler (KeyboardInterrupt) would let a second signal (a
    second Ctrl-C, `timeout` signalling the script and then its group) break
    into the shutdown itself, leaving a server holding its port.
    """

    def __init__(self) -> None:
        self.signal: int | None = None

    def install(self) -> None:
        # Set explicitly: a shell that starts the demo in the background would
        # otherwise have it ignore Ctrl-C.
        for number in STOP_SIGNALS:
            signal.signal(number, self._remember)

    def ignore(self) -> None:
        # Once the demo is done. Python puts back the default handlers as it
        # exits, and a late second signal would then kill it with that signal's
        # status; ignored handlers are left alone.
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)

    def _remember(self, signum: int, frame: object) -> None:
        if self.signal is None:
            self.signal = signum

    def check(self) -> None:
        if self.signal is not None:
            raise StopRequested

    def sleep(self, seconds: float) -> None:
        """Sleep, but raise ``StopRequested`` within ``POLL`` seconds of a stop signal."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.check()
            time.sleep(min(POLL, left))
        self.check()


STOP = StopRequest()


def main(argv: Sequence[str] | None = None) -> int:
    STOP.install()
    try:
        return run(parse_args(argv))
    finally:
        STOP.ignore()


def run(options: argparse.Namespace) -> int:
    # The servers' working directory and, unless --database names one, the database's: removed at the end.
    with tempfile.TemporaryDirectory(prefix="engagelab-demo-", ignore_cleanup_errors=True) as workdir:
        return run_in(options, Path(workdir))


def run_in(options: argparse.Namespace, workdir: Path) -> int:
    children: list[Child] = []
    try:
        for port in (options.simulator_port, options.port):
            ensure_free(port)
        database = (options.database or workdir / "db.sqlite3").resolve()
        env = environment(options, database)
        say("Preparing the demo database…")
        prepare_database(env, workdir)
        simulator = Child("simulator", simulator_command(options), env, workdir)
        children.append(simulator)
        site = Child("site", site_command(options), env, workdir)
        children.append(site)
        simulator.wait_until_up(f"http://{HOST}:{options.simulator_port}/_simulator/last-code?to=nobody%40example.com")
        site.wait_until_up(f"http://{HOST}:{options.port}/", logs_requests=True)
        settle(children)
        print_instructions(options, kept=database if options.database else None)
        watch(children)
    except StopRequested:
        say("\nStopping the site and the simulator…")
        stop(children)
        say("Stopped.")
        return 0
    except DemoError as error:
        stop(children)
        print(f"demo: {error}", file=sys.stderr, flush=True)
        return 1
    except BaseException:
        stop(children)  # a bug: no server outlives the demo, and its traceback follows
        raise
    return 0  # pragma: no cover - watch() only ends by an exception


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}", description="Run the demo site against the local EngageLab simulator."
    )
    # String defaults go through `type` too: a wrong DEMO_PORT is refused like a wrong --port.
    parser.add_argument(
        "--port",
        type=port_number,
        default=os.environ.get("DEMO_PORT") or "8000",
        help="port of the demo site (default: $DEMO_PORT or 8000)",
    )
    parser.add_argument(
        "--simulator-port",
        type=port_number,
        default=os.environ.get("SIMULATOR_PORT") or "8025",
        help="port of the simulator (default: $SIMULATOR_PORT or 8025)",
    )
    parser.add_argument(
        "--database",
        type=Path,
        default=os.environ.get("DEMO_DATABASE") or None,
        help="SQLite file of the demo site, kept after it stops (default: $DEMO_DATABASE, "
        "or a temporary one removed when the demo stops)",
    )
    return parser.parse_args(argv)


def port_number(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 0 < number < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return number


def environment(options: argparse.Namespace, database: Path) -> dict[str, str]:
    """The settings both children and the setup run with (they override any .env file)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "PYTHONUNBUFFERED": "1",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{database}",
        # Shared by the site's threads and any process that receives callbacks (nonce replay check)
        # and holding the abuse limits: a table of the demo's database (a file cache cannot hold them).
        "CACHE_URL": f"dbcache://{CACHE_TABLE}",
        "ENGAGELAB_OTP_DEV_KEY": DEV_KEY,
        "ENGAGELAB_OTP_DEV_SECRET": DEV_SECRET,
        "ENGAGELAB_OTP_API_URL": f"http://{HOST}:{options.simulator_port}/v1/",
        "ENGAGELAB_OTP_TEMPLATE_ID": TEMPLATE_ID,
        "ENGAGELAB_OTP_WEBHOOK_USERNAME": WEBHOOK_USERNAME,
        "ENGAGELAB_OTP_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


#: Run by `manage.py shell` before the site starts, in one process: Django starts once, not once per step.
PREPARE = f"""
from django.core.management import call_command

call_command("migrate", interactive=False, verbosity=0)
call_command("createcachetable")
{ACCOUNTS}"""


def prepare_database(env: dict[str, str], cwd: Path) -> None:
    """Migrate and make the cache's table, then make sure the admin and the member with a phone exist (idempotent)."""
    process = start(_manage("shell", "--command", PREPARE), env, cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    while True:
        try:
            output, _ = process.communicate(timeout=POLL)
            break
        except subprocess.TimeoutExpired:
            if STOP.signal is not None:
                process.kill()  # a migration stopped half-way is rolled back by SQLite
                process.communicate()
                raise StopRequested from None
    STOP.check()  # a stop that came as the command ended explains its failure, if it failed
    if process.returncode != 0:
        detail = output.strip().splitlines()
        raise DemoError(f"preparing the database failed: {detail[-1] if detail else process.returncode}")


def start(command: list[str], env: dict[str, str], cwd: Path, **options: Any) -> subprocess.Popen:
    """A process of the demo, in a session of its own, killed by the kernel if the demo is (``child_guard``).

    It runs in the demo's temporary directory: ``python -m`` puts the working
    directory first on the import path, where the person's own files could
    stand in for modules of the site.
    """
    # A session of its own: the terminal's Ctrl-C reaches only this script, which
    # then stops the children in order instead of each printing its own interruption.
    # Started from the main thread only: for PR_SET_PDEATHSIG the "parent" is the
    # thread that forked, and a helper thread ending would take the child along.
    return subprocess.Popen(  # noqa: S603 - our own scripts with fixed arguments
        [sys.executable, str(GUARD), str(os.getpid()), *command],
        env=env,
        cwd=cwd,
        text=True,
        start_new_session=True,
        **options,
    )


def simulator_command(options: argparse.Namespace) -> list[str]:
    return [
        *_manage("engagelab_simulator"),
        "--host",
        HOST,
        "--port",
        str(options.simulator_port),
        "--dev-key",
        DEV_KEY,
        "--dev-secret",
        DEV_SECRET,
        "--callback-url",
        f"http://{HOST}:{options.port}/engagelab/callback/",
        "--webhook-username",
        WEBHOOK_USERNAME,
        "--webhook-secret",
        WEBHOOK_SECRET,
    ]


def site_command(options: argparse.Namespace) -> list[str]:
    return [*_manage("runserver"), f"{HOST}:{options.port}", "--noreload"]


def _manage(*args: str) -> list[str]:
    return [sys.executable, "-m", MANAGE, *args]


def ensure_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            raise DemoError(
                f"port {port} on {HOST} is in use; stop what listens there or choose another port "
                f"(see `python -m {__package__} --help`)."
            ) from None


class Child:
    """A server started by the demo, its output copied to this terminal with its name."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.name = name
        #: When its last line came (its start counts as one): see settle().
        self.last_output = time.monotonic()
        #: Set when a line arrives; cleared before a request whose log line must come before the instructions.
        self.spoke = threading.Event()
        self.process = start(command, env, cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1)
        self.relay = threading.Thread(target=self._relay, args=(self.process.stdout,), daemon=True)
        self.relay.start()

    def _relay(self, stream: IO[str]) -> None:
        for line in stream:
            self.last_output = time.monotonic()
            self.spoke.set()
            # Read on even when the terminal is gone: a server must never block on a full pipe.
            say(f"{DIM}[{self.name:>9}]{RESET} {line}", end="")

    def check_running(self, when: str) -> None:
        if self.process.poll() is not None:
            raise DemoError(f"the {self.name} stopped {when} (exit status {self.process.returncode}).")

    def wait_until_up(self, url: str, *, logs_requests: bool = False) -> None:
        """Wait until ``url`` answers; with ``logs_requests``, also for the line the server logs about it.

        A busy machine can hold that line back longer than settle()'s quiet
        spell, and it would then print below the instructions.
        """
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            STOP.check()
            self.check_running("while starting")
            self.spoke.clear()
            try:
                with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - a fixed http://127.0.0.1 URL
                    pass
            except urllib.error.HTTPError:
                pass  # it answered: that is all we wait for
            except OSError:
                STOP.sleep(0.2)
                continue
            if logs_requests:
                self.spoke.wait(SETTLE_LIMIT)
            return
        raise DemoError(f"the {self.name} did not answer on {url} within {STARTUP_TIMEOUT} s.")

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()

    def wait(self) -> None:
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.relay.join(timeout=2)


def settle(children: list[Child]) -> None:
    """Wait until no server has printed a line for ``QUIET`` seconds (``SETTLE_LIMIT`` at most).

    The servers print their start-up lines and log the requests that found
    them up a moment after answering: without this they would print below the
    instructions, which must be the last thing on the screen.
    """
    deadline = time.monotonic() + SETTLE_LIMIT
    while (left := deadline - time.monotonic()) > 0:
        silent = time.monotonic() - max(child.last_output for child in children)
        if silent >= QUIET:
            return
        STOP.sleep(min(QUIET - silent, left))


def print_instructions(options: argparse.Namespace, kept: Path | None) -> None:
    site = f"http://{HOST}:{options.port}/"

    def credentials(username: str, password: str) -> str:
        return f"{BOLD}{username}{RESET} / {BOLD}{password}{RESET}"

    magic = "\n".join(f"       {BOLD}{m.phone}{RESET}  {m.description}" for m in map(by_name, MAGIC_TO_TRY))
    database = f"is kept in {kept}" if kept else "is temporary: it goes when the demo stops"

    say(
        f"""
{BOLD}The EngageLab OTP demo is running.{RESET} Nothing is really sent: the local simulator
on port {options.simulator_port} plays the EngageLab platform, and {BOLD}every code appears in this terminal{RESET}.

  1. Open {BOLD}{site}{RESET} to sign in with a code: type any phone number (e.g. +8618701235678)
     or e-mail address, then the code. The first time, the code opens a new account.
  2. Open {BOLD}{site}sign-in/password/{RESET} to sign in with a password, as
     {credentials(MEMBER_USERNAME, MEMBER_PASSWORD)}: then a code goes to {MEMBER_USERNAME}'s phone, {MEMBER_PHONE}.
  3. Open {BOLD}{site}admin/{RESET} and sign in as {credentials(ADMIN_USERNAME, ADMIN_PASSWORD)} (demo only):
     the message history shows each code move to delivered, then verified, as the
     simulator's callbacks arrive.
  4. Try a magic number on the first page: the simulator fails on purpose.
{magic}
     Every one: python -m {__package__}.manage engagelab_simulator --magic

The demo's database {database}.
Press Ctrl-C to stop.
"""
    )


def watch(children: list[Child]) -> None:
    while True:
        for child in children:
            child.check_running("unexpectedly")
        STOP.sleep(0.5)


def stop(children: list[Child]) -> None:
    """Stop every child and wait for it (killed after ``STOP_TIMEOUT``); again is harmless."""
    for child in children:
        child.terminate()
    for child in children:
        child.wait()


def say(text: str, end: str = "\n") -> None:
    # The terminal may be gone (SIGHUP): the demo stops all the same.
    with contextlib.suppress(OSError):
        print(text, end=end, flush=True)


if __name__ == "__main__":
    sys.exit(main())
