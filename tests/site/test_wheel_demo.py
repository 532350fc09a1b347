"""``pip install django-engagelab-otp`` then ``python -m django_engagelab_otp.demo``, in a fresh virtual environment.

The wheel is built from a copy of the checkout and installed with pip into a
new venv (the configured index supplies the dependencies); the demo then runs
from that venv, in an empty directory, as a person would start it: the ports
from ``DEMO_PORT`` / ``SIMULATOR_PORT``, no database given. One venv per run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.building import build, copy_checkout
from tests.support.demo import READY, DemoRun, assert_stopped, clean_environment
from tests.support.demo_walk import Visitor

pytestmark = [
    pytest.mark.wheel,
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; the hard-kill guard is Linux's"),
]

#: The promise: the site answers within this many seconds of the command, once installed.
READY_WITHIN = 30
INSTALL_TIMEOUT = 600  # seconds for pip, dependencies included


def pip_install(python: Path, requirement: str) -> float:
    """Install ``requirement`` into the venv of ``python`` quietly; the seconds it took."""
    started = time.monotonic()
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "-qq", "--disable-pip-version-check", requirement],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        env={**clean_environment(), "PIP_NO_INPUT": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return time.monotonic() - started


def files_under(root: Path) -> set[Path]:
    """Every file below ``root`` but compiled bytecode (Python may cache that wherever it may write)."""
    return {path for path in root.rglob("*") if path.is_file() and "__pycache__" not in path.parts}


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("wheel-demo")
    build(copy_checkout(base / "src"), base / "dist", "--wheel")
    (wheel,) = (base / "dist").glob("*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(base / "venv")], check=True, timeout=300)
    python = base / "venv" / "bin" / "python"
    return {"python": python, "wheel": wheel, "install": pip_install(python, str(wheel))}


def test_the_demo_runs_from_the_installed_wheel(venv, tmp_path, capsys):
    python, here, temporary = venv["python"], tmp_path / "here", tmp_path / "tmp"
    here.mkdir()
    temporary.mkdir()
    env = {k: v for k, v in clean_environment().items() if k != "PYTHONPATH"}
    code = "import django_engagelab_otp as p, sysconfig; print(p.__file__, sysconfig.get_path('purelib'))"
    where = subprocess.run(
        [str(python), "-c", code],
        cwd=here,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    package, site_packages = (Path(part) for part in where.stdout.split())
    assert package.is_relative_to(site_packages), "the package must come from the venv, not from the checkout"

    install_ended = time.monotonic()
    installed = files_under(package.parent)
    demo = DemoRun(None, python=python, cwd=here, variables={"TMPDIR": str(temporary)})
    try:
        first_page = demo.first_page()
        since_install = time.monotonic() - install_ended
        demo.wait_ready()
        with capsys.disabled():
            print(
                f"\nwheel demo: pip install {venv['install']:.1f} s; "
                f"first page {first_page:.1f} s after the launch, {since_install:.1f} s after the install ended"
            )
        assert first_page < READY_WITHIN, f"the home page took {first_page:.1f} s\n{demo.output}"
        assert since_install < READY_WITHIN, f"the home page came {since_install:.1f} s after the install"
        assert demo.output.rstrip().endswith(READY), "the instructions come last"
        (workdir,) = temporary.glob("engagelab-demo-*")
        assert (workdir / "db.sqlite3").is_file(), "the database is in the demo's temporary directory"
        message_id = Visitor(demo).request_and_verify("+8618701235678")
        assert message_id
        os.kill(demo.process.pid, signal.SIGTERM)
        assert_stopped(demo, clean=True)
    finally:
        demo.stop()
    assert not any(here.iterdir()), "nothing is written into the current directory"
    assert not workdir.exists(), "the temporary directory goes with the demo"
    assert files_under(package.parent) == installed, "nothing is written into site-packages"
