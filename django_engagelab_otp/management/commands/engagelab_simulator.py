"""``manage.py engagelab_simulator``: run the local EngageLab simulator in the foreground."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from ...conf import otp_settings
from ...simulator import Simulator
from ...simulator.magic import table_markdown
from ..base import EngageLabCommand

LOGGER = "django_engagelab_otp.simulator"


class Command(EngageLabCommand):
    help = _(
        "Run a local stand-in of the EngageLab OTP API (for the demo, tests and benchmarks) until Ctrl-C. "
        "Codes sent are printed; magic recipients fail on purpose (--magic lists them)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help=_("Address to listen on (default 127.0.0.1)."))
        parser.add_argument("--port", type=int, default=8025, help=_("Port to listen on; 0 picks a free one."))
        parser.add_argument("--dev-key", default="demo-key", help=_("Credentials clients must send (demo-key)."))
        parser.add_argument("--dev-secret", default="demo-secret", help=_("(demo-secret)"))
        parser.add_argument("--callback-url", help=_("POST signed delivery callbacks to this URL."))
        parser.add_argument(
            "--webhook-username",
            help=_("Sign callbacks with this username (default: ENGAGELAB_OTP['WEBHOOK_USERNAME'])."),
        )
        parser.add_argument(
            "--webhook-secret", help=_("Sign callbacks with this secret (default: ENGAGELAB_OTP['WEBHOOK_SECRET']).")
        )
        parser.add_argument(
            "--webhook-authorization",
            help=_("Authorization header value for callbacks (default: ENGAGELAB_OTP['WEBHOOK_AUTHORIZATION'])."),
        )
        parser.add_argument("--callback-delay", type=float, default=1.0, help=_("Seconds between lifecycle steps."))
        parser.add_argument("--latency", type=float, default=0, metavar="MS", help=_("Delay every answer (ms)."))
        parser.add_argument(
            "--error-rate", type=float, default=0.0, metavar="F", help=_("Share of requests failing with 1000/5016.")
        )
        parser.add_argument("--code-ttl", type=float, default=300, help=_("Seconds a code stays valid (300)."))
        parser.add_argument("--seed", type=int, help=_("Make codes and the error rate reproducible."))
        parser.add_argument("--magic", action="store_true", help=_("Print the magic recipients and exit."))

    def secret_values(self, options: dict[str, Any]) -> list[Any]:
        return [options.get("webhook_secret"), options.get("webhook_authorization")]

    def handle(self, *args: Any, **options: Any) -> None:
        if options["magic"]:
            self.stdout.write(table_markdown())
            return
        simulator = self._build(options)
        try:
            simulator.start(options["host"], options["port"])
        except OSError as error:
            raise CommandError(
                _("Cannot listen on %(host)s:%(port)s: %(error)s")
                % {"host": options["host"], "port": options["port"], "error": error.strerror or error}
            ) from None
        logger = logging.getLogger(LOGGER)
        saved = logger.level, logger.propagate
        handler = self._log_to_stdout(logger, options["verbosity"])
        previous = self._stop_on_sigterm()
        try:
            self._greet(simulator, options)
            threading.Event().wait()  # until Ctrl-C (or SIGTERM, turned into the same)
        except KeyboardInterrupt:
            self.stdout.write(_("Stopping the simulator."))
        finally:
            simulator.stop()
            logger.removeHandler(handler)
            logger.level, logger.propagate = saved
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def _build(self, options: dict[str, Any]) -> Simulator:
        callback_url = options["callback_url"]
        try:
            return Simulator(
                options["dev_key"],
                options["dev_secret"],
                callback_url=callback_url,
                webhook_username=options["webhook_username"] or otp_settings.WEBHOOK_USERNAME,
                webhook_secret=options["webhook_secret"] or otp_settings.WEBHOOK_SECRET,
                webhook_authorization=options["webhook_authorization"] or otp_settings.WEBHOOK_AUTHORIZATION,
                latency_ms=options["latency"],
                error_rate=options["error_rate"],
                code_ttl=options["code_ttl"],
                seed=options["seed"],
                callback_delay=options["callback_delay"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from None

    def _log_to_stdout(self, logger: logging.Logger, verbosity: int) -> logging.Handler:
        # The codes sent are printed here: that is the point of a local simulator.
        handler = logging.StreamHandler(self.stdout)
        handler.setFormatter(logging.Formatter("[simulator %(asctime)s] %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO if verbosity else logging.WARNING)
        logger.propagate = False
        return handler

    def _stop_on_sigterm(self) -> Any:
        if threading.current_thread() is not threading.main_thread() or sys.platform == "win32":
            return None

        def stop(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        return signal.signal(signal.SIGTERM, stop)

    def _greet(self, simulator: Simulator, options: dict[str, Any]) -> None:
        lines = [
            _("EngageLab simulator listening on %(url)s") % {"url": simulator.url},
            _("  credentials: %(key)s / %(secret)s (set ENGAGELAB_OTP['API_URL'] to the address above)")
            % {"key": simulator.dev_key, "secret": _shown(simulator.dev_secret)},
            _("  templates: %(ids)s") % {"ids": ", ".join(simulator.platform.templates)},
            _("  last code: %(url)s/_simulator/last-code?to=%%2B8618701235678") % {"url": simulator.base_url},
        ]
        if simulator.callbacks is not None:
            signed = _("signed") if simulator.callbacks.username else _("unsigned")
            lines.append(_("  callbacks: %(url)s (%(signed)s)") % {"url": simulator.callbacks.url, "signed": signed})
        if options["latency"] or options["error_rate"]:
            lines.append(
                _("  faults: %(latency)s ms latency, error rate %(rate)s")
                % {"latency": options["latency"], "rate": options["error_rate"]}
            )
        lines.append(_("  magic recipients: manage.py engagelab_simulator --magic. Ctrl-C stops."))
        self.stdout.write("\n".join(lines))
        self.stdout.flush()


def _shown(secret: str) -> str:
    """The demo secret is public; any other one given on the command line is not echoed."""
    return secret if secret == "demo-secret" else _("(the secret given)")  # noqa: S105 - the public demo value
