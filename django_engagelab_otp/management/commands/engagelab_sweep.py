"""``manage.py engagelab_sweep``: settle the messages their sender abandoned (see :mod:`...tasks.sweep`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _

from ...tasks.sweep import Swept, TooYoung, sweep
from ..base import EngageLabCommand, parse_age, usage

DEFAULT_PENDING_AFTER = "15m"


class Command(EngageLabCommand):
    help = _(
        "Settle the messages their sender abandoned: those pending for longer than a request can last become "
        "unknown (they may have been sent); with --queued-after, the background sends no worker took become "
        "failed. A bulk run's queued lines are left for a rerun of their batch. --dry-run only counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--pending-after",
            default=DEFAULT_PENDING_AFTER,
            metavar="AGE",
            help=_("Settle as unknown what has been pending for longer than this (default %(default)s)."),
        )
        parser.add_argument(
            "--queued-after",
            metavar="AGE",
            help=_("Settle as failed the background sends queued for longer than this (by default, none)."),
        )
        parser.add_argument("--dry-run", action="store_true", help=_("Count what would be settled; change nothing."))
        self.add_json_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        pending_after = parse_age(options["pending_after"], "--pending-after")
        queued_after = parse_age(options["queued_after"], "--queued-after") if options["queued_after"] else None
        try:
            swept = sweep(pending_after=pending_after, queued_after=queued_after, dry_run=options["dry_run"])
        except TooYoung as error:  # refused before any row is read
            raise usage(_too_young(error.option) % {"seconds": _seconds(error.floor)}) from None
        if options["as_json"]:
            self.write_json(vars(swept))
            return
        self.stdout.write(_report(swept))


def _too_young(option: str) -> str:
    if option == "pending_after":
        return _("--pending-after must be at least %(seconds)d seconds: a request may last that long.")
    return _("--queued-after must be at least %(seconds)d seconds: a retry may wait that long.")


def _seconds(age: timedelta) -> int:
    return int(-(-age.total_seconds() // 1))  # rounded up: the floor given is one that is accepted


def _report(swept: Swept) -> str:
    values = {"unknown": swept.unknown, "failed": swept.failed, "bulk": swept.bulk_queued}
    if swept.dry_run:
        text = _(
            "Would settle: left pending, as unknown %(unknown)d; background sends never taken, as failed "
            "%(failed)d. Lines of bulk runs queued for a rerun: %(bulk)d."
        )
    else:
        text = _(
            "Settled: left pending, as unknown %(unknown)d; background sends never taken, as failed %(failed)d. "
            "Lines of bulk runs queued for a rerun: %(bulk)d."
        )
    return text % values
