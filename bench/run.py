"""Runs every ``bench/bench_*.py`` in turn (``make bench``); each prints its own figures.

.venv/bin/python bench/run.py [NAME ...]     # e.g. run.py admin send
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def main(selected: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if selected:
        scripts = [script for script in scripts if script.stem.removeprefix("bench_") in selected]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    failed = []
    for script in scripts:
        print(f"\n===== {script.relative_to(ROOT)} =====", flush=True)
        start = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, check=False)
        print(f"----- {script.name}: {time.perf_counter() - start:.0f} s", flush=True)
        if result.returncode:
            failed.append(script.name)
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
