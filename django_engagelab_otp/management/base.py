"""What the ``engagelab_*`` commands share: exit codes, error handling, output.

Every failure becomes a ``CommandError`` with one line of text and an exit
code that tells its family apart, so that a terminal never shows a traceback
(unless ``--traceback`` asks for one) and a script can branch on ``$?``.
Credentials and OTP codes are scrubbed from that line even when the platform
echoes them back.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from enum import IntEnum
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from ..conf import otp_settings
from ..exceptions import (
    ConfigurationError,
    EngageLabError,
    InvalidInputError,
    ServerError,
    TransportError,
)
from ..privacy import scrub


class Exit(IntEnum):
    """Exit codes of the ``engagelab_*`` commands (documented in docs/commands.md)."""

    OK = 0
    #: ``engagelab_verify``: the code is not correct; ``engagelab_templates delete``: not confirmed.
    NO = 1
    #: Bad arguments or input, refused before any request.
    USAGE = 2
    #: Settings, credentials or database not ready.
    CONFIGURATION = 3
    #: The platform answered with an error code (see the error table).
    REFUSED = 4
    #: The platform could not be reached or failed; trying again later may work.
    UNAVAILABLE = 5
    #: The request may have been acted on (e.g. a read timeout): check before resending.
    OUTCOME_UNKNOWN = 6
    #: A bug: run again with ``--traceback`` and report it.
    INTERNAL = 70
    #: Interrupted with Ctrl-C.
    INTERRUPTED = 130


def exit_code(error: EngageLabError) -> Exit:
    """The exit code for an error of this app."""
    if error.outcome_unknown:
        return Exit.OUTCOME_UNKNOWN
    if isinstance(error, ConfigurationError):
        return Exit.CONFIGURATION
    if isinstance(error, InvalidInputError):
        # Input an operator must fix in the settings (a missing default template).
        return Exit.CONFIGURATION if error.operator else Exit.USAGE
    if isinstance(error, (TransportError, ServerError)):
        return Exit.UNAVAILABLE
    return Exit.REFUSED


def usage(message: str) -> CommandError:
    """A refusal of the arguments themselves (exit code 2)."""
    return CommandError(message, returncode=Exit.USAGE)


#: Seconds in each unit an age may be written in.
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGE = re.compile(r"(\d{1,12})\s*([smhdw])")


def parse_age(text: str, option: str) -> timedelta:
    """``"90d"`` → 90 days; also ``s``, ``m``, ``h`` and ``w``. A usage error naming ``option`` otherwise."""
    match = _AGE.fullmatch(str(text).strip().lower())
    if not match:
        raise usage(
            _("%(option)s takes a whole number and a unit: 90d, 12h, 30m, 45s or 2w; not %(text)r.")
            % {"option": option, "text": str(text)[:40]}
        )
    seconds = int(match.group(1)) * UNITS[match.group(2)]
    if seconds <= 0:
        raise usage(_("%(option)s must be more than zero.") % {"option": option})
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise usage(_("%(option)s is too long ago.") % {"option": option}) from None


def describe(error: EngageLabError) -> str:
    """One line for an operator: what failed, its code and status, and what to do."""
    parts = [f"{type(error).__name__}: {error}"]
    if error.http_status:
        parts.append(f"HTTP {error.http_status}")
    if error.log is not None:
        parts.append(_("history row %(pk)s: %(status)s") % {"pk": error.log.pk, "status": error.log.status})
    if error.outcome_unknown:
        parts.append(_("the request may have been acted on: check the history before sending again"))
    elif error.retryable:
        parts.append(_("trying again later may work"))
    return "; ".join(parts)


def one_line(text: str, secrets: Iterable[Any]) -> str:
    """``text`` on one line, with every secret value replaced."""
    return " ".join(scrub(text, secrets).split())


@contextmanager
def quiet_unconfigured_logging() -> Iterator[None]:
    """Keep the app's log records off the terminal when the project has no handler for them.

    Python would print them to stderr through its last-resort handler, next to
    the command's own line that says the same. A project that configured
    logging gets its records where it asked for them.
    """
    logger = logging.getLogger("django_engagelab_otp")
    if logger.hasHandlers():
        yield
        return
    handler = logging.NullHandler()
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


class EngageLabCommand(BaseCommand):
    """Base of the ``engagelab_*`` commands: subclasses write ``handle`` as usual."""

    # System checks would print several lines for missing credentials; the
    # command's own ConfigurationError says the same on one line.
    requires_system_checks: list[str] = []
    #: Option names whose values are secrets (OTP codes) and never printed.
    secret_options: tuple[str, ...] = ()

    def add_json_argument(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help=_("Print one JSON document for machines.")
        )

    def write_json(self, data: Any) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False, sort_keys=True, default=str))

    @sensitive_variables()  # options hold codes; a report of a command's failure shows none
    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            with quiet_unconfigured_logging():
                return super().execute(*args, **options)
        except CommandError as error:
            raise self._fail(str(error), error.returncode, options) from error
        except EngageLabError as error:
            raise self._fail(describe(error), exit_code(error), options) from error
        except DatabaseError as error:
            message = _("Database error (has 'migrate' been run?): %(error)s") % {"error": error}
            raise self._fail(message, Exit.CONFIGURATION, options) from error
        except KeyboardInterrupt as error:
            raise self._fail(_("Interrupted."), Exit.INTERRUPTED, options) from error
        except Exception as error:
            message = _("Unexpected %(type)s: %(error)s. Run again with --traceback for details.") % {
                "type": type(error).__name__,
                "error": error,
            }
            raise self._fail(message, Exit.INTERNAL, options) from error

    def _fail(self, message: str, code: int, options: dict[str, Any]) -> CommandError:
        secrets = [otp_settings.DEV_SECRET, otp_settings.WEBHOOK_SECRET, otp_settings.WEBHOOK_AUTHORIZATION]
        secrets += self.secret_values(options)
        return CommandError(one_line(message, secrets), returncode=int(code))

    def secret_values(self, options: dict[str, Any]) -> list[Any]:
        """Values in these options that must never be printed."""
        return [options.get(name) for name in self.secret_options]
