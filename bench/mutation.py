"""Mutation scores of the safeguard modules (``make mutation``): would the tests notice a change?

    .venv/bin/python bench/mutation.py [--survivors] [GROUP ...]

mutmut 3 changes the code one small edit at a time (``>`` to ``>=``, a
value to ``None``, ``and`` to ``or`` ...) and runs the tests that reach the
changed function: a change none of them fails on "survives". Each group below
is one safeguard, mutated on its own and run against only the tests that
exercise it, so that a run fits in a reasonable time on two cores: mutmut
runs in ``mutants/<group>/``, a copy of the checkout whose ``setup.cfg``
names the group's files and tests (mutmut reads its settings from the
working directory), and keeps its results there. Each run starts afresh
(a changed test may kill a mutant that survived before) unless ``--keep``
asks mutmut to test only what it has no result for.

One line is printed per group: mutants killed of those that count, and the
score. Mutants listed in ``mutation/equivalent.txt`` (each with its reason:
they change only the text of a message, or nothing at all) do not count, and
the line says how many there were. The exit status is 1 when a group scores
below ``THRESHOLD``.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "mutants"
EQUIVALENT = ROOT / "mutation" / "equivalent.txt"
#: The lowest score a group may have, in per cent.
THRESHOLD = 90.0
#: mutmut's statuses that mean a test noticed the mutant (a mutant that loops forever is noticed too).
KILLED = {"killed", "timeout"}


@dataclass(frozen=True)
class Group:
    sources: tuple[str, ...]
    tests: tuple[str, ...]


GROUPS = {
    # The verification attempt counter is a limit too: it counts in the limits' cache.
    "limits": Group(
        (
            "django_engagelab_otp/limits.py",
            "django_engagelab_otp/limits_cache.py",
            "django_engagelab_otp/history/verifications.py",
        ),
        (
            "tests/test_limits.py",
            "tests/test_limits_cache.py",
            "tests/history/test_verifications.py",
            "tests/test_key_rotation.py",
        ),
    ),
    "webhooks/signature": Group(
        ("django_engagelab_otp/webhooks/signature.py", "django_engagelab_otp/signing.py"),
        ("tests/webhooks/test_signature.py",),
    ),
    "validation": Group(
        ("django_engagelab_otp/validation.py",), ("tests/test_validation.py", "tests/test_destinations.py")
    ),
    "privacy": Group(("django_engagelab_otp/privacy.py",), ("tests/test_privacy.py",)),
    "errors": Group(("django_engagelab_otp/errors.py",), ("tests/test_errors.py",)),
}


def equivalent_mutants(path: Path = EQUIVALENT) -> dict[str, str]:
    """The mutants that change nothing a test could see, by name, with the reason given for each."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, reason = line.partition(" ")
            if not reason.strip():
                raise SystemExit(f"{path}: {name} has no reason")
            found[name] = reason.strip()
    return found


def workdir(name: str) -> Path:
    return WORK / name.replace("/", "-")


def sync(target: Path) -> None:
    """Copy the checkout's files (tracked, and new ones git does not ignore) into ``target``, changed ones only."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
    ).stdout.split("\0")
    for relative in filter(None, listed):
        source, copy = ROOT / relative, target / relative
        if relative.startswith("mutants/") or not source.is_file():
            continue
        if copy.is_file() and copy.read_bytes() == source.read_bytes():
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, copy)


def configure(target: Path, group: Group) -> None:
    """The group's ``[mutmut]`` section in the copy's ``setup.cfg`` (the checkout's shared one, plus its files)."""
    config = configparser.ConfigParser(interpolation=None)
    config.optionxform = str  # type: ignore[assignment,method-assign]  # pytest's DJANGO_SETTINGS_MODULE keeps its case
    config.read(target / "setup.cfg")
    section = config["mutmut"]
    section["only_mutate"] = "\n" + "\n".join(group.sources)
    section["pytest_add_cli_args_test_selection"] = "\n" + "\n".join(group.tests)
    with open(target / "setup.cfg", "w") as file:
        config.write(file)


def run(name: str, group: Group, children: int, *, keep: bool = False) -> int:
    target = workdir(name)
    if not keep:
        shutil.rmtree(target / "mutants", ignore_errors=True)
    sync(target)
    configure(target, group)
    mutmut = Path(sys.executable).with_name("mutmut")
    env = {**os.environ, "TEST_DB_TAG": os.environ.get("TEST_DB_TAG", "") + "_mutation"}
    with open(target / "mutmut.log", "w") as log:
        command = [mutmut, "run", "--max-children", str(children)]
        done = subprocess.run(command, cwd=target, stdout=log, stderr=log, env=env)
    return done.returncode


def statuses(name: str, group: Group) -> dict[str, str]:
    """Each mutant of the group and what became of it (mutmut's words: killed, survived, no tests ...)."""
    from mutmut.stats import status_by_exit_code

    found: dict[str, str] = {}
    for source in group.sources:
        meta = workdir(name) / "mutants" / (source + ".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
        found.update({mutant: status_by_exit_code[code] for mutant, code in codes.items()})
    return found


def line(name: str, found: dict[str, str], equivalent: dict[str, str]) -> tuple[str, float]:
    """The group's line of the report, and its score (killed of the mutants not set aside as equivalent)."""
    counted = {mutant: status for mutant, status in found.items() if mutant not in equivalent or status in KILLED}
    counts = Counter(counted.values())
    killed = sum(counts[status] for status in KILLED)
    score = 100 * killed / len(counted) if counted else 0.0
    others = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()) if status not in KILLED)
    text = (
        f"{name:<20} {killed:>4} killed / {len(counted):>4} = {score:5.1f} %"
        f"   ({len(found)} mutants, {len(found) - len(counted)} equivalent set aside; {others or 'none left'})"
    )
    return text, score


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help=f"groups to run: {', '.join(GROUPS)} (all by default)")
    parser.add_argument("--survivors", action="store_true", help="list the mutants no test noticed")
    parser.add_argument("--report-only", action="store_true", help="print the last results without running mutmut")
    parser.add_argument("--keep", action="store_true", help="keep mutmut's earlier results, test only the rest")
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once (default 2)")
    options = parser.parse_args()
    unknown = set(options.groups) - set(GROUPS)
    if unknown:
        parser.error(f"no such group: {', '.join(sorted(unknown))}")
    equivalent = equivalent_mutants()
    failed = False
    lines = []
    for name in options.groups or GROUPS:
        group = GROUPS[name]
        if not options.report_only and run(name, group, options.children, keep=options.keep) != 0:
            print(f"{name}: mutmut failed, see {workdir(name) / 'mutmut.log'}")
            failed = True
            continue
        found = statuses(name, group)
        text, score = line(name, found, equivalent)
        lines.append(text)
        failed |= score < THRESHOLD
        stale = [mutant for mutant in equivalent if mutant.startswith(_prefixes(group)) and mutant not in found]
        if stale:
            lines.append(f"  listed as equivalent but no longer a mutant: {', '.join(stale)}")
        if options.survivors:
            lines += [
                f"  {status}: {mutant}"
                for mutant, status in sorted(found.items())
                if status not in KILLED and mutant not in equivalent
            ]
    where = EQUIVALENT.relative_to(ROOT)
    print(f"mutmut 3 over the safeguard modules; threshold {THRESHOLD:.0f} %; equivalent mutants: {where}")
    print("\n".join(lines))
    return 1 if failed else 0


def _prefixes(group: Group) -> tuple[str, ...]:
    return tuple(source.removesuffix(".py").replace("/", ".") + "." for source in group.sources)


if __name__ == "__main__":
    sys.exit(main())
