"""``manage.py engagelab_purge --older-than 90d``: delete old history in batches, for retention policies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.core.management.base import CommandParser, OutputWrapper
from django.db import router, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from ...models import MessageEvent, MessageLog
from ..base import EngageLabCommand, parse_age, usage

DEFAULT_BATCH = 5000
MAX_BATCH = 100_000


def parse_batch_size(text: Any) -> int:
    value = str(text).strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_BATCH:
        raise usage(_("--batch-size takes a whole number from 1 to %(max)d.") % {"max": MAX_BATCH})
    return int(value)


def batches(queryset: QuerySet, size: int) -> Iterator[QuerySet]:
    """``queryset`` cut into ranges of at most ``size`` primary keys, lowest first.

    Each range is one short DELETE in its own transaction: no lock on the
    whole table, and an interrupted purge keeps what it did.
    """
    last = None
    while True:
        rest = queryset if last is None else queryset.filter(pk__gt=last)
        boundary = list(rest.order_by("pk").values_list("pk", flat=True)[size - 1 : size])
        if not boundary:
            yield rest
            return
        yield rest.filter(pk__lte=boundary[0])
        last = boundary[0]


class _ProgressFile:
    """Lets tqdm draw on the command's stderr (which ends every write with a newline)."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")

    def flush(self) -> None:
        self.out.flush()


class Command(EngageLabCommand):
    help = _(
        "Delete the message history older than an age (90d, 12h, 30m), with the callback events of those "
        "messages and callback events for no known message, in batches by primary key. "
        "--dry-run only counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            required=True,
            metavar="AGE",
            help=_("Delete what is older than this: a number and s, m, h, d or w (90d)."),
        )
        parser.add_argument(
            "--batch-size",
            default=str(DEFAULT_BATCH),
            metavar="N",
            help=_("Rows deleted per transaction (default %(default)s)."),
        )
        parser.add_argument("--dry-run", action="store_true", help=_("Count what would be deleted; delete nothing."))

    def handle(self, *args: Any, **options: Any) -> None:
        age = parse_age(options["older_than"], "--older-than")
        size = parse_batch_size(options["batch_size"])
        try:
            cutoff = timezone.now() - age
        except OverflowError:
            raise usage(_("%(option)s is too long ago.") % {"option": "--older-than"}) from None
        logs = MessageLog.objects.filter(created_at__lt=cutoff)
        orphans = MessageEvent.objects.filter(log__isnull=True, received_at__lt=cutoff)
        if options["dry_run"]:
            events = MessageEvent.objects.filter(log__created_at__lt=cutoff).count()
            self._report(True, logs.count(), events, orphans.count(), cutoff)
            return
        total = logs.count() + orphans.count()
        with tqdm(
            total=total,
            unit=_("rows"),
            file=_ProgressFile(self.stderr),
            disable=not self._show_progress(options["verbosity"]) or not total,
        ) as progress:
            deleted_logs, events = self._delete(logs, size, progress)
            deleted_orphans, _unused = self._delete(orphans, size, progress)
        self._report(False, deleted_logs, events, deleted_orphans, cutoff)

    def _delete(self, queryset: QuerySet, size: int, progress: tqdm) -> tuple[int, int]:
        """Delete ``queryset`` batch by batch: (its rows, the callback events deleted with them)."""
        rows = events = 0
        label, event_label = queryset.model._meta.label, MessageEvent._meta.label
        for batch in batches(queryset, size):
            with transaction.atomic(using=router.db_for_write(queryset.model)):
                _total, counts = batch.delete()
            deleted = counts.get(label, 0)
            rows += deleted
            if label != event_label:
                events += counts.get(event_label, 0)
            progress.update(deleted)
        return rows, events

    def _show_progress(self, verbosity: int) -> bool:
        # A terminal sees the bar; a cron job's log only the summary, unless -v 2 asks for it.
        is_terminal = getattr(self.stderr, "isatty", lambda: False)()
        return verbosity >= 2 or (verbosity >= 1 and is_terminal)

    def _report(self, dry_run: bool, logs: int, events: int, orphans: int, cutoff: datetime) -> None:
        values = {
            "logs": logs,
            "events": events,
            "orphans": orphans,
            "cutoff": f"{cutoff:%Y-%m-%d %H:%M:%S}" + (" UTC" if timezone.is_aware(cutoff) else ""),
        }
        if dry_run:
            text = _(
                "Older than %(cutoff)s, would delete: messages %(logs)d, their callback events %(events)d, "
                "callback events for no known message %(orphans)d."
            )
        else:
            text = _(
                "Older than %(cutoff)s, deleted: messages %(logs)d, their callback events %(events)d, "
                "callback events for no known message %(orphans)d."
            )
        self.stdout.write(text % values)
