"""``manage.py engagelab_templates list|show ID|create FILE.json|delete ID``."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from ... import validation
from ...backends import get_backend
from ...exceptions import InvalidInputError
from ..base import EngageLabCommand, Exit, usage

#: The actions and what each needs after it.
ACTIONS = (("list", ""), ("show", "a template ID"), ("create", "a FILE.json"), ("delete", "a template ID"))

#: Columns of ``list``: (key in the platform's answer, heading, widest cell).
COLUMNS = (
    ("template_id", "TEMPLATE", 40),
    ("send_channel_strategy", "CHANNELS", 24),
    ("status", "STATUS", 12),
    ("created_time", "CREATED", 20),
    ("description", "DESCRIPTION", 48),
)


class Command(EngageLabCommand):
    help = _(
        "Manage the EngageLab message templates: list, show ID, create FILE.json, delete ID "
        "(asks for confirmation unless --yes)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        # One flat parser rather than sub-commands: Django's own options
        # (--settings, --traceback, ...) then work after the action too.
        parser.add_argument("action", choices=[name for name, _needs in ACTIONS])
        parser.add_argument("target", nargs="?", metavar="ID | FILE.json", help=_("Template id; file for create."))
        parser.add_argument(
            "--yes",
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help=_("delete: do not ask for confirmation."),
        )
        self.add_json_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        action, target = options["action"], options["target"]
        needs = dict(ACTIONS)[action]
        if needs and not target:
            raise usage(_("%(action)s needs %(what)s.") % {"action": action, "what": needs})
        if not needs and target:
            raise usage(_("%(action)s takes no argument.") % {"action": action})
        getattr(self, f"do_{action}")(target, options)

    # ------------------------------------------------------------------ actions

    def do_list(self, _target: None, options: dict[str, Any]) -> None:
        templates = get_backend().list_templates()
        if options["as_json"]:
            self.write_json(templates)
        elif not templates:
            self.stdout.write(_("No templates."))
        else:
            self.stdout.write(render_table(templates))

    def do_show(self, template_id: str, options: dict[str, Any]) -> None:
        template = get_backend().get_template(validation.template_id(template_id))
        if options["as_json"]:
            self.write_json(template)
        else:
            self.stdout.write(json.dumps(template, ensure_ascii=False, indent=2))

    def do_create(self, path: str, options: dict[str, Any]) -> None:
        template = read_template(path)
        answer = get_backend().create_template(template)
        self._done(options, template["template_id"], "created", answer)

    def do_delete(self, template_id: str, options: dict[str, Any]) -> None:
        template_id = validation.template_id(template_id)
        if options["interactive"]:
            self._confirm(template_id)
        answer = get_backend().delete_template(template_id)
        self._done(options, template_id, "deleted", answer)

    # ------------------------------------------------------------------ helpers

    def _done(self, options: dict[str, Any], template_id: str, what: str, answer: dict[str, Any]) -> None:
        if options["as_json"]:
            self.write_json({"template_id": template_id, what: True, "message": answer.get("message", "")})
        else:
            texts = {"created": _("Template %(id)s created."), "deleted": _("Template %(id)s deleted.")}
            self.stdout.write(self.style.SUCCESS(texts[what] % {"id": template_id}))

    def _confirm(self, template_id: str) -> None:
        if not sys.stdin or not sys.stdin.isatty():
            raise usage(_("Not deleting template %(id)s without confirmation: pass --yes.") % {"id": template_id})
        prompt = _("Delete template %(id)s on the EngageLab platform? This cannot be undone. Type 'yes' to go on: ")
        try:
            answer = input(prompt % {"id": template_id})
        except EOFError:
            answer = ""
        if answer.strip().lower() != "yes":
            message = _("Cancelled: template %(id)s was not deleted.") % {"id": template_id}
            raise CommandError(message, returncode=Exit.NO)


def read_template(path: str) -> dict[str, Any]:
    """The template object in ``path``, or a one-line explanation of what is wrong with the file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise usage(_("%(path)s: no such file.") % {"path": path}) from None
    except (OSError, UnicodeDecodeError) as error:
        raise usage(_("%(path)s cannot be read: %(error)s") % {"path": path, "error": error}) from None
    try:
        template = json.loads(text)
    except ValueError as error:
        raise usage(_("%(path)s is not valid JSON: %(error)s") % {"path": path, "error": error}) from None
    if not isinstance(template, dict):
        raise usage(_("%(path)s must hold one JSON object (the template).") % {"path": path})
    if "template_id" not in template:
        raise usage(_('%(path)s: the template needs a "template_id".') % {"path": path})
    try:
        template["template_id"] = validation.template_id(template.get("template_id"))
    except InvalidInputError as error:
        raise usage(f"{path}: {error.message}") from None
    return template


def render_table(rows: list[Any]) -> str:
    """A plain-text table of template summaries; long cells are cut with an ellipsis."""
    cells = [[heading for _key, heading, _width in COLUMNS]]
    for row in rows:
        data = row if isinstance(row, dict) else {"template_id": row}
        data = {**data, "created_time": _when(data.get("created_time"))}
        cells.append([_cell(data.get(key), width) for key, _heading, width in COLUMNS])
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in cells)


def _cell(value: Any, width: int) -> str:
    if value is None:
        text = ""
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _when(value: Any) -> Any:
    """A Unix time (seconds, or milliseconds past 10**11) as UTC date and time; anything else as it is."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 10**9:
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
    return value
