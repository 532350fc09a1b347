"""Bulk sends: a CSV file of recipients, sent concurrently, resumable, with its history written in batches.

    from django_engagelab_otp.bulk import send_csv

    summary = send_csv("customers.csv", batch="spring-sale", kind="custom", template_id="sale", concurrency=32)
    summary.sent, summary.failed, summary.unknown, summary.errors

``manage.py engagelab_send --csv FILE`` is the same from a terminal. See
:mod:`.run` for how a run goes, :mod:`.source` for the file's columns and
:mod:`.plan` for which lines share a request.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..exceptions import InvalidInputError
from ..models import MessageLog
from .plan import Defaults
from .report import Failures, Summary
from .run import Run
from .source import count, read

__all__ = ["Summary", "send_csv"]

_BATCH = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def send_csv(
    path: str | Path,
    *,
    batch: str,
    kind: str = MessageLog.Kind.OTP,
    template_id: str | None = None,
    language: str | None = None,
    params: Mapping[str, str] | None = None,
    concurrency: int = 8,
    dry_run: bool = False,
    failures: str | Path | None = None,
    progress: bool | None = None,
    stop: threading.Event | None = None,
) -> Summary:
    """Send to every line of the CSV file at ``path``; the run's :class:`Summary`.

    ``batch`` names the run: run it again with the same batch to resume (the
    lines accepted or of unknown outcome are never sent again). ``failures``:
    where to write the lines not sent, as CSV. ``progress``: a progress bar
    on standard error (by default when it is a terminal). ``dry_run``: only
    check the lines. ``stop``: set it to stop the run cleanly (SIGINT and
    SIGTERM do, when called from the main thread).
    """
    if not _BATCH.fullmatch(batch or ""):
        raise InvalidInputError("A batch id is 1 to 64 letters, digits, '.', '_' or '-'.", field="batch")
    if kind not in MessageLog.Kind.values:
        raise InvalidInputError(f"Unknown kind {kind!r}.", field="kind")
    defaults = Defaults(kind, template_id, language, dict(params or {}))
    with open(path, newline="", encoding="utf-8-sig") as file:
        bar = _bar(count(file) if file.seekable() else None, progress)
        run = Run(
            batch,
            defaults,
            concurrency=concurrency,
            dry_run=dry_run,
            failures=Failures(str(failures) if failures else None),
            progress=bar,
            stop=stop,
        )
        try:
            return run(read(file, kind))
        finally:
            if bar is not None:
                bar.close()


def _bar(total: int | None, shown: bool | None) -> Any:
    if shown is None:
        shown = sys.stderr.isatty()
    if not shown:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="line", file=sys.stderr, smoothing=0.1, dynamic_ncols=True)
