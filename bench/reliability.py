"""The reliability figures (``make reliability``): runs the proof suites and prints what they measured.

    .venv/bin/python bench/reliability.py

Runs ``tests/proofs/test_bad_input.py``, ``test_faults.py``, ``test_concurrency.py``,
``test_secrets.py``, ``test_hostile_answers.py``, ``test_error_reports.py`` and
``test_limit_backends.py`` with pytest, on PostgreSQL when a server answers at
``PG_URL`` (default ``postgres://postgres@127.0.0.1:5432/test``, as ``make
test``) and on SQLite otherwise, where the concurrency test and the database
cache's bursts do not run.
Each proof test records its figures (``record_property("proof", {...})``);
this module, loaded into that pytest run as a plugin, collects them from the
test reports, and then prints the totals. The exit status is 1 when a test
failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SUITES = {
    "bad_input": "tests/proofs/test_bad_input.py",
    "faults": "tests/proofs/test_faults.py",
    "concurrency": "tests/proofs/test_concurrency.py",
    "secrets": "tests/proofs/test_secrets.py",
    "hostile": "tests/proofs/test_hostile_answers.py",
    "reports": "tests/proofs/test_error_reports.py",
    "limits": "tests/proofs/test_limit_backends.py",
    "rollbacks": "tests/history/test_rollbacks.py",
}
PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/test")
#: Where the plugin writes what it collected (set by main() for the pytest run).
REPORT_VARIABLE = "ENGAGELAB_RELIABILITY_REPORT"
FIGURE = "proof"  # the record_property key of tests/support/proof.py

# ---------------------------------------------------------------------- the pytest plugin (inside the run)

_collected: dict[str, list[Any]] = {"figures": [], "outcomes": []}


def pytest_runtest_logreport(report: Any) -> None:
    """Keep each test's outcome and the figures it recorded (sent over by xdist workers too)."""
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        suite = next((name for name, path in SUITES.items() if report.nodeid.startswith(path)), "other")
        _collected["outcomes"].append({"suite": suite, "test": report.nodeid, "outcome": report.outcome})
        for name, value in report.user_properties:
            if name == FIGURE:
                _collected["figures"].append({**value, "passed": report.outcome == "passed"})


def pytest_sessionfinish(session: Any) -> None:
    path = os.environ.get(REPORT_VARIABLE)
    if path and not hasattr(session.config, "workerinput"):  # the controller writes, not xdist workers
        Path(path).write_text(json.dumps(_collected, default=str), encoding="utf-8")


# ---------------------------------------------------------------------- the figures


def _sum(rows: Iterable[dict[str, Any]], key: str) -> int:
    return sum(int(row.get(key) or 0) for row in rows)


def _count(outcomes: list[dict[str, Any]], suite: str) -> Counter[str]:
    return Counter(row["outcome"] for row in outcomes if row["suite"] == suite)


def _tests(counts: Counter[str]) -> str:
    parts = [f"{counts[name]} {name}" for name in ("passed", "failed", "skipped") if counts[name]]
    return ", ".join(parts) or "none ran"


def figures(collected: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    """The totals per suite, from the tests' records and outcomes."""
    by_suite: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in collected["figures"]:
        by_suite[row["suite"]].append(row)
    outcomes = collected["outcomes"]
    bad, faults = by_suite["bad_input"], by_suite["faults"]
    sends = [row for row in faults if row["entry"] != "verify_otp"]
    verifications = [row for row in faults if row["entry"] == "verify_otp"]
    result: dict[str, dict[str, Any]] = {
        "bad_input": {
            "cases": len({row["case"] for row in bad}),
            "entry points": len({row["entry"] for row in bad}),
            "calls": len(bad),
            # A passed test checked that the refusal was clear and where it belongs.
            "refused": sum(1 for row in bad if row.get("refused") and row["passed"]),
            "requests that reached the network": _sum(bad, "requests"),
            "history rows written or changed": _sum(bad, "rows"),
            "tests": _count(outcomes, "bad_input"),
        },
        "faults": {
            "fault modes": len({row["mode"] for row in sends}),
            "ways of sending": len({row["entry"] for row in sends}),
            "sends": len(sends),
            "verification faults": len(verifications),
            "calls": len(faults),
            "survived": sum(1 for row in faults if row["passed"]),
            "rows lost": sum(1 for row in sends if int(row["rows"]) == 0),
            "extra rows": sum(max(0, int(row["rows"]) - 1) for row in sends),
            "rows left pending": _sum(faults, "pending"),
            "duplicate sends": _sum(faults, "duplicates"),
            "tests": _count(outcomes, "faults"),
        },
        "concurrency": {"tests": _count(outcomes, "concurrency")},
        "secrets": {"tests": _count(outcomes, "secrets")},
        "hostile": _hostile(by_suite["hostile"], _count(outcomes, "hostile")),
        "reports": {
            "reports": len(by_suite["reports"]),
            "places": _sum(by_suite["reports"], "places"),
            "leaks": _sum(by_suite["reports"], "leaks"),
            "tests": _count(outcomes, "reports"),
        },
        "limits": {"tests": _count(outcomes, "limits"), "bursts": by_suite["limits"]},
        "rollbacks": {"tests": _count(outcomes, "rollbacks"), "cases": by_suite["rollbacks"]},
    }
    for row in by_suite["concurrency"]:
        result["concurrency"].update({key: value for key, value in row.items() if key != "suite"})
    for row in by_suite["secrets"]:
        result["secrets"].update({key: value for key, value in row.items() if key != "suite"})
    return result


def _hostile(rows: list[dict[str, Any]], tests: Counter[str]) -> dict[str, Any]:
    """Hostile answers: the cases met one by one, and the examples the fuzzers drew."""
    cases = [row for row in rows if "fuzzed" not in row]
    fuzzers = [row for row in rows if "fuzzed" in row]
    return {
        "cases": len({row["case"] for row in cases}),
        "entry points": len({row["entry"] for row in cases}),
        "calls": len(cases),
        "fuzzed": {row["case"].removeprefix("fuzz:"): int(row["fuzzed"]) for row in fuzzers},
        "errors": _sum(cases, "errors"),
        "pending": _sum(cases, "pending"),
        "tests": tests,
    }


def _line(label: str, value: Any) -> str:
    return f"  {label:<37}{value:,}" if isinstance(value, int) else f"  {label:<37}{value}"


def render(result: dict[str, dict[str, Any]], database: str, seconds: float) -> str:
    bad, faults, load, scan = (result[name] for name in ("bad_input", "faults", "concurrency", "secrets"))
    hostile, reports = result["hostile"], result["reports"]
    lines = [
        f"Reliability figures ({database}; {seconds:.0f} s)",
        "",
        "Bad input (tests/proofs/test_bad_input.py)",
        _line("cases tried", f"{bad['cases']:,} distinct, through {bad['entry points']} entry points"),
        _line("calls", bad["calls"]),
        _line("refused with a clear error", bad["refused"]),
        _line("requests that reached the network", bad["requests that reached the network"]),
        _line("history rows written or changed", bad["history rows written or changed"]),
        "",
        "Faults (tests/proofs/test_faults.py)",
        _line("fault modes tried", f"{faults['fault modes']}, through {faults['ways of sending']} ways of sending"),
        _line("calls", f"{faults['sends']:,} sends and {faults['verification faults']} verifications"),
        _line("calls that survived", f"{faults['survived']:,} of {faults['calls']:,}"),
        _line("rows lost", faults["rows lost"]),
        _line("rows left pending", faults["rows left pending"]),
        _line("extra rows", faults["extra rows"]),
        _line("duplicate sends", faults["duplicate sends"]),
        "",
        "Concurrency (tests/proofs/test_concurrency.py)",
    ]
    if "rows" in load:
        per_thread = load["sends"] // load["threads"]
        lines += [
            _line("load", f"{load['threads']} threads x {per_thread:,} sends, and {load['repeats']} repeats"),
            _line("rows settled", f"{load['settled']:,} of {load['rows']:,}"),
            _line("rows lost", load["lost"]),
            _line("rows left pending", load["pending"]),
            _line("duplicates", load["duplicates"]),
            _line("repeats refused by the cooldown", f"{load['refused']:,} of {load['repeats']:,}"),
            _line("requests that reached the platform", load["requests"]),
        ]
    else:
        lines.append("  not run: it needs PostgreSQL")
    lines += ["", "Secret scan (tests/proofs/test_secrets.py)"]
    if "places" in scan:
        lines += [
            _line("secrets searched for", scan["secrets"] - scan["codes"]),
            _line("OTP codes searched for", scan["codes"]),
            _line("places checked", scan["places"]),
            _line("leaks", scan["leaks"]),
        ]
    else:
        lines.append("  no figures recorded")
    fuzzed = hostile["fuzzed"]
    lines += [
        "",
        "Hostile answers (tests/proofs/test_hostile_answers.py)",
        _line("cases tried", f"{hostile['cases']:,} distinct, through {hostile['entry points']} entry points"),
        _line("calls", hostile["calls"]),
        _line("fuzzed examples", ", ".join(f"{count:,} {name}" for name, count in sorted(fuzzed.items())) or "none"),
        _line("500s", hostile["errors"]),
        _line("rows left pending", hostile["pending"]),
        "",
        "Error reports (tests/proofs/test_error_reports.py)",
        _line("reports searched", reports["reports"]),
        _line("pages, texts and mails searched", reports["places"]),
        _line("leaks", reports["leaks"]),
    ]
    lines += ["", "Limits per cache backend (tests/proofs/test_limit_backends.py)"]
    lines += _bursts(result["limits"]["bursts"]) or ["  no figures recorded"]
    lines += ["", "Rollbacks of the caller's transaction (tests/history/test_rollbacks.py)"]
    lines += _rollbacks(result["rollbacks"]["cases"]) or ["  no figures recorded"]
    lines += ["", "Tests"]
    for name, path in SUITES.items():
        lines.append(_line(path, _tests(result[name]["tests"])))
    return "\n".join(lines)


def _rollbacks(cases: list[dict[str, Any]]) -> list[str]:
    """What survived the views that roll back: wrong codes still counted, sent messages still recorded."""
    if not cases:
        return []
    codes = [row for row in cases if row["case"].startswith("wrong codes")]
    sends = [row for row in cases if row["case"].startswith("send")]
    locks = [row for row in cases if row["case"].startswith("row lock")]
    lines = []
    if codes:
        tried, checked = _sum(codes, "tried"), _sum(codes, "checked")
        lines.append(
            _line("wrong codes sent, rolled back", f"{tried}; {checked} checked by the platform, the rest locked")
        )
    if sends:
        lines.append(_line("sends whose view failed after", f"{_sum(sends, 'tried')}; rows kept {_sum(sends, 'kept')}"))
    if locks:
        lines.append(_line("row locked while platform asked", f"{_sum(locks, 'locked')} of {len(locks)}"))
    return lines


def _bursts(bursts: list[dict[str, Any]]) -> list[str]:
    """One line per burst: which backend, which limit, how many tried at once, how many got through."""
    if not bursts:
        return []
    held = sum(1 for row in bursts if int(row["granted"]) == int(row["expected"]))
    lines = [
        f"  {'backend':<22}{'limit':<24}{'burst':<34}granted",
        *(
            f"  {row['backend']:<22}{row['limit']:<24}{row['mode']:<34}"
            f"{row['granted']} of {row['attempted']} (limit {row['expected']})"
            for row in sorted(bursts, key=lambda row: (row["backend"], row["limit"], row["mode"]))
        ),
        _line("bursts granting exactly the limit", f"{held} of {len(bursts)}"),
    ]
    return lines


# ---------------------------------------------------------------------- the run


def postgres_answers(url: str) -> bool:
    try:
        import psycopg

        psycopg.connect(url, connect_timeout=3).close()
    except Exception:
        return False
    return True


def main() -> int:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    if "DATABASE_URL" not in env and postgres_answers(PG_URL):
        env["DATABASE_URL"] = PG_URL
    url = env.get("DATABASE_URL", "")
    if url.startswith(("postgres", "pgsql")):
        database = f"PostgreSQL at {url.rsplit('@', 1)[-1]}"
    else:
        database = "SQLite in memory" if not url or ":memory:" in url else "SQLite"
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "reliability.json"
        env[REPORT_VARIABLE] = str(report)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "bench.reliability", *SUITES.values()]
        print("$ python " + " ".join(command[1:]), flush=True)
        started = time.monotonic()
        run = subprocess.run(command, cwd=ROOT, env=env, check=False, capture_output=True, text=True)
        seconds = time.monotonic() - started
        if not report.exists():
            print(run.stdout[-4000:], run.stderr[-4000:], sep="\n")
            print("pytest did not report: see its output above")
            return 2
        collected = json.loads(report.read_text(encoding="utf-8"))
    print(render(figures(collected), database, seconds))
    failed = [row["test"] for row in collected["outcomes"] if row["outcome"] == "failed"]
    if failed or run.returncode not in (0, 5):
        print("\nFailed:\n  " + "\n  ".join(failed or [f"pytest exited with {run.returncode}"]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
