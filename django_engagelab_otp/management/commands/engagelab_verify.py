"""``manage.py engagelab_verify MESSAGE_ID CODE``: check a code; exit 0 when correct, 1 when not."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from ... import services
from ..base import EngageLabCommand, Exit


class Command(EngageLabCommand):
    help = _(
        "Check a code against the OTP the platform generated for MESSAGE_ID. "
        "Exit status 0 when the code is correct, 1 when it is not."
    )
    secret_options = ("code",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("message_id", metavar="MESSAGE_ID")
        parser.add_argument("code", metavar="CODE")
        self.add_json_argument(parser)

    @sensitive_variables()
    def handle(self, *args: Any, **options: Any) -> None:
        message_id = options["message_id"]
        verified = services.verify_otp(message_id, options["code"])
        if options["as_json"]:
            self.write_json({"message_id": message_id, "verified": verified})
        elif verified:
            message = _("Verified: the code is correct for message %(id)s.") % {"id": message_id}
            self.stdout.write(self.style.SUCCESS(message))
        if not verified:
            raise CommandError(
                _("Not verified: the code is not correct for message %(id)s.") % {"id": message_id},
                returncode=Exit.NO,
            )
