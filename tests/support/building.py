"""Building the distributions from a copy of the checkout, so that a build never writes into it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.constants import ROOT

#: Never part of a distribution (nor a developer's local database or settings).
IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv*",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*.py[cod]",
    ".*_cache",
    "node_modules",
    "artifacts",
    "db.sqlite3*",
    ".env",
)


def copy_checkout(destination: Path) -> Path:
    """The checkout's files, without what is never shipped, at ``destination``."""
    shutil.copytree(ROOT, destination, ignore=IGNORE)
    return destination


def build(source: Path, out: Path, *options: str) -> None:
    """``python -m build`` of ``source`` into ``out`` (``--wheel``, ``--sdist`` or neither: both)."""
    # --no-isolation: the build tools of the test environment, no download.
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", *options, "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
