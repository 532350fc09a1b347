"""What a bulk run tells: the failures file and the summary by outcome and error code."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from ..exceptions import EngageLabError
from .source import Line

#: Columns of the failures file.
FAILURE_COLUMNS = ["line", "to", "status", "error_code", "error", "history_row"]


def error_label(error: EngageLabError) -> str:
    """How the summary names a failure: the platform's code, or the class and HTTP status of one without."""
    if error.code is not None:
        return f"{error.code} {type(error).__name__}"
    scope = getattr(error, "scope", None)
    detail = f" ({scope})" if scope else f" (HTTP {error.http_status})" if error.http_status else ""
    return f"{type(error).__name__}{detail}"


@dataclass
class Summary:
    """One run of a batch: how many lines ended how (a line of a grouped custom message counts once)."""

    batch: str
    dry_run: bool = False
    lines: int = 0
    #: Accepted by the platform in this run.
    sent: int = 0
    #: Done by an earlier run (accepted, or of unknown outcome): not sent again.
    skipped: int = 0
    #: Refused before any request (bad recipient, parameter …): no history row.
    invalid: int = 0
    failed: int = 0
    #: May have been sent: settled ``unknown``, never sent again.
    unknown: int = 0
    #: Left for a rerun: the run stopped before their turn (their rows are ``queued``).
    not_sent: int = 0
    requests: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    failures_file: str | None = None
    #: Lines by failure: ``"5013 RecipientError"``, ``"invalid to"`` …
    errors: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "errors": dict(self.errors.most_common())}


class Failures:
    """The failures file: one CSV line per line not sent, written as they come (nothing kept in memory)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._file: TextIO | None = None
        self._writer: Any = None

    def write(self, line: Line, status: str, error: EngageLabError, history_row: int | None = None) -> None:
        if self.path is None:
            return
        if self._writer is None:
            self._file = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115 (closed by close())
            self._writer = csv.writer(self._file)
            self._writer.writerow(FAILURE_COLUMNS)
        code = error.code if error.code is not None else error_label(error)
        self._writer.writerow([line.number, line.to, status, code, error.message, history_row or ""])

    @property
    def written(self) -> bool:
        return self._writer is not None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
