"""``engagelab_send --csv``: a bulk run from a terminal, its progress bar and its summary."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from ..bulk import Summary, send_csv
from .base import Exit, usage


def bulk_send(command: BaseCommand, options: dict[str, Any], params: dict[str, str]) -> None:
    """Run the batch, print its summary, and end with the exit status that says how it went.

    ``params``: the ``--param`` values, which every line takes unless its own columns say otherwise.
    """
    if options["to"] or options["code"]:
        raise usage(_("--csv takes the recipients (and codes) from the file: leave out --to and --code."))
    if not options["batch"] and not options["dry_run"]:
        raise usage(_("--csv needs --batch ID: the id a rerun resumes."))
    if options["concurrency"] < 1:
        raise usage(_("--concurrency must be 1 or more."))
    try:
        summary = send_csv(
            options["csv"],
            batch=options["batch"] or "dry-run",
            kind=options["kind"],
            template_id=options["template"],
            language=options["language"],
            params=params,
            concurrency=options["concurrency"],
            dry_run=options["dry_run"],
            failures=options["failures"],
            progress=True if options["verbosity"] >= 2 else None,
        )
    except OSError as error:
        raise usage(_("Cannot read %(file)s: %(error)s") % {"file": options["csv"], "error": error.strerror}) from None
    if options["as_json"]:
        command.stdout.write(_json(summary))
    else:
        command.stdout.write(describe(summary))
    status = exit_status(summary)
    if status != Exit.OK:
        raise CommandError(_one_line(summary), returncode=int(status))


def exit_status(summary: Summary) -> Exit:
    if summary.interrupted:
        return Exit.INTERRUPTED
    if summary.unknown:
        return Exit.OUTCOME_UNKNOWN
    if summary.invalid and summary.dry_run:
        return Exit.USAGE
    return Exit.REFUSED if summary.failed or summary.invalid else Exit.OK


def describe(summary: Summary) -> str:
    """The summary for a person: the counts, then the lines not sent by error code."""
    rate = summary.requests / summary.seconds if summary.seconds else 0.0
    counts = [
        (_("lines"), summary.lines),
        (_("valid"), summary.lines - summary.invalid) if summary.dry_run else (_("sent"), summary.sent),
        (_("done by an earlier run (skipped)"), summary.skipped),
        (_("refused before any request (invalid)"), summary.invalid),
        (_("failed"), summary.failed),
        (_("outcome unknown (never sent again)"), summary.unknown),
        (_("left for a rerun"), summary.not_sent),
    ]
    lines = [_("Batch %(batch)s%(dry)s:") % {"batch": summary.batch, "dry": _(" (dry run)") if summary.dry_run else ""}]
    lines += [f"  {label:<40} {value:>10,}" for label, value in counts[:2]]
    lines += [f"  {label:<40} {value:>10,}" for label, value in counts[2:] if value]
    if not summary.dry_run:
        lines.append(
            "  "
            + _("%(requests)s requests in %(seconds).1f s (%(rate).1f/s)")
            % {"requests": f"{summary.requests:,}", "seconds": summary.seconds, "rate": rate}
        )
    if summary.errors:
        lines.append(_("Lines not sent, by error:"))
        lines += [f"  {label:<40} {value:>10,}" for label, value in summary.errors.most_common()]
    if summary.failures_file:
        lines.append(_("Lines not sent are listed in %(file)s.") % {"file": summary.failures_file})
    if summary.interrupted or summary.not_sent:
        lines.append(_("Run the same command again to send the rest (the batch resumes)."))
    return "\n".join(lines)


def _one_line(summary: Summary) -> str:
    if summary.interrupted:
        return _("Interrupted: batch %(batch)s stopped cleanly; run it again to resume.") % {"batch": summary.batch}
    return _("Batch %(batch)s: %(failed)s failed, %(invalid)s invalid, %(unknown)s of unknown outcome.") % {
        "batch": summary.batch,
        "failed": summary.failed,
        "invalid": summary.invalid,
        "unknown": summary.unknown,
    }


def _json(summary: Summary) -> str:
    import json

    return json.dumps(summary.as_dict(), ensure_ascii=False, sort_keys=True)
