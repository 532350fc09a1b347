"""``manage.py engagelab_send``: send an OTP, a custom message or an own code."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from ... import services
from ...conf import LANGUAGES
from ...models import MessageLog
from ...privacy import SENSITIVE_PARAMS, mask_recipient
from ..base import EngageLabCommand, usage
from ..bulk_output import bulk_send


class Command(EngageLabCommand):
    help = _(
        "Send a message through EngageLab: a platform OTP (--kind otp, the default), a custom template "
        "(--kind custom, several --to allowed) or a code you generated (--kind code --code CODE). "
        "Prints the message id and channel; the history row is written as for any send. "
        "With --csv FILE --batch ID, sends to every line of a CSV file (a 'to' column, and template "
        "parameters in the others), concurrently and resumably."
    )
    secret_options = ("code",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to",
            action="append",
            metavar="RECIPIENT",
            help=_("Phone number in E.164 (+8618701235678) or e-mail address; repeat for --kind custom."),
        )
        parser.add_argument(
            "--kind", choices=[kind.value for kind in MessageLog.Kind], default=MessageLog.Kind.OTP.value
        )
        parser.add_argument(
            "--template",
            metavar="ID",
            help=_("Template id (otp and code default to ENGAGELAB_OTP['TEMPLATE_ID'])."),
        )
        parser.add_argument("--language", choices=LANGUAGES, help=_("Template language (otp and code only)."))
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help=_("Template parameter; repeat for several."),
        )
        parser.add_argument("--code", help=_("The code to deliver (--kind code only)."))
        bulk = parser.add_argument_group(_("bulk sends (--csv)"))
        bulk.add_argument("--csv", metavar="FILE", help=_("Send to every line of this CSV file instead of --to."))
        bulk.add_argument(
            "--batch",
            metavar="ID",
            help=_("Names the run (required with --csv): the same id again resumes it, never sending twice."),
        )
        bulk.add_argument("--concurrency", type=int, default=8, metavar="N", help=_("Requests at once (8)."))
        bulk.add_argument("--dry-run", action="store_true", help=_("Only check the lines: no row, no request."))
        bulk.add_argument("--failures", metavar="FILE", help=_("Write the lines not sent to this CSV file."))
        self.add_json_argument(parser)

    def secret_values(self, options: dict[str, Any]) -> list[Any]:
        # A custom verification template takes its code as a parameter.
        values = super().secret_values(options)
        for item in options.get("param") or []:
            key, _sep, value = str(item).partition("=")
            if key.strip().lower() in SENSITIVE_PARAMS:
                values.append(value)
        return values

    @sensitive_variables()
    def handle(self, *args: Any, **options: Any) -> None:
        if options["csv"]:
            bulk_send(self, options, parse_params(options["param"]))
            return
        kind = options["kind"]
        if not options["to"]:
            raise usage(_("Give --to RECIPIENT, or --csv FILE --batch ID."))
        recipients: list[str] = options["to"]
        self._check_combination(kind, recipients, options)
        params = parse_params(options["param"])
        if kind == MessageLog.Kind.CUSTOM:
            to = recipients if len(recipients) > 1 else recipients[0]
            log = services.send_custom_message(to, options["template"], params=params)
        elif kind == MessageLog.Kind.CODE:
            log = services.send_code(
                recipients[0], options["code"], options["template"], language=options["language"], params=params
            )
        else:
            log = services.send_otp(recipients[0], options["template"], language=options["language"], params=params)
        self._report(log, options["as_json"])

    def _check_combination(self, kind: str, recipients: list[str], options: dict[str, Any]) -> None:
        if kind != MessageLog.Kind.CUSTOM and len(recipients) > 1:
            raise usage(_("--kind %(kind)s sends to one recipient; several --to need --kind custom.") % {"kind": kind})
        if kind == MessageLog.Kind.CUSTOM:
            if not options["template"]:
                raise usage(_("--kind custom needs --template."))
            if options["language"]:
                raise usage(_("--language does not apply to --kind custom."))
        if kind == MessageLog.Kind.CODE and not options["code"]:
            raise usage(_("--kind code needs --code."))
        if kind != MessageLog.Kind.CODE and options["code"]:
            raise usage(_("--code is only for --kind code (a custom template takes --param code=...)."))

    def _report(self, log: MessageLog, as_json: bool) -> None:
        masked = [mask_recipient(value) for value in (log.recipients or [log.to])]
        if as_json:
            self.write_json(
                {
                    "message_id": log.message_id,
                    "send_channel": log.send_channel,
                    "status": log.status,
                    "kind": log.kind,
                    "to": masked if len(masked) > 1 else masked[0],
                    "log_id": log.pk,
                }
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                _("Accepted: message id %(id)s, channel %(channel)s, to %(to)s (%(kind)s, history row %(pk)s).")
                % {
                    "id": log.message_id,
                    "channel": log.send_channel or "?",
                    "to": ", ".join(masked),
                    "kind": log.kind,
                    "pk": log.pk,
                }
            )
        )


def parse_params(items: list[str]) -> dict[str, str]:
    """``["name=Bob", "order=12"]`` → ``{"name": "Bob", "order": "12"}``; the values are checked by the services."""
    params: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            # The text itself is not echoed: it may be a mistyped secret.
            raise usage(_("--param takes KEY=VALUE; one is missing its '=' or its key."))
        if key in params:
            raise usage(_("--param %(key)s is given twice.") % {"key": key})
        params[key] = value
    return params
