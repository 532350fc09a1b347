"""The one reader of the ``ENGAGELAB_OTP`` setting: every key, its default, how it is read.

Every other module asks :data:`otp_settings` (``otp_settings.TIMEOUT``) and
gets a value that is already checked. Each key is described once, in
:data:`SETTINGS`: its default, what it means (the documentation's settings
table, docs/settings.md, is written from here at build time; ``python -m
django_engagelab_otp.conf`` prints it) and how a given
value is read. Values come from the environment as text, so numbers written
as text (``"60"``) are read as numbers.

A value that cannot be read never weakens a safeguard: the key takes its
default instead, an ERROR is logged the first time it is used (for sites
where ``manage.py check`` does not run, as under gunicorn), and the system
checks report it with the key's check id (:func:`problems`). Only
``BACKEND`` is different: a wrong backend raises ``ConfigurationError`` at
the first send, since falling back to the real HTTP client could send real
messages from a test.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string
from phonenumbers import PhoneNumberType

logger = logging.getLogger("django_engagelab_otp")

#: Template languages the platform documents; ``LANGUAGE`` and every send take one of these.
LANGUAGES = ("default", "zh_CN", "zh_HK", "en", "ja", "th", "es")

#: The template language for a Django language code, when ``LANGUAGE`` is not set:
#: Chinese by script (simplified: mainland China; traditional: Hong Kong), the rest by language.
_TEMPLATE_LANGUAGES = {
    "zh-hans": "zh_CN",
    "zh-cn": "zh_CN",
    "zh-sg": "zh_CN",
    "zh-hant": "zh_HK",
    "zh-hk": "zh_HK",
    "zh-tw": "zh_HK",
    "zh-mo": "zh_HK",
    "en": "en",
    "ja": "ja",
    "th": "th",
    "es": "es",
}


def template_language(django_language: str | None) -> str:
    """The template language for a Django language code (``"zh-hans"`` → ``"zh_CN"``); ``"default"`` for others."""
    code = (django_language or "").lower().replace("_", "-")
    return _TEMPLATE_LANGUAGES.get(code) or _TEMPLATE_LANGUAGES.get(code.split("-")[0], "default")


#: ``phonenumbers.PhoneNumberType`` names by value (``1`` → ``"MOBILE"``), as the settings spell them.
NUMBER_TYPES: dict[int, str] = {getattr(PhoneNumberType, name): name for name in dir(PhoneNumberType) if name.isupper()}

#: The region ``phonenumbers`` gives numbers that belong to no country (+800, +882 …).
NON_GEOGRAPHIC = "001"

#: Rates as django-ratelimit writes them: "20/h", "5/10m", "100/d" (how many, per how many of a unit).
_RATE = re.compile(r"(\d+)/(\d*)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Invalid(ValueError):
    """A given value cannot be used as it is; the message says why, for the check and the log line.

    ``use`` is what to use instead when part of the value is good (the known
    codes of a list that also holds unknown ones); otherwise the key's default.
    """

    def __init__(self, reason: str, *, use: Any = None) -> None:
        super().__init__(reason)
        self.use = use


# ---------------------------------------------------------------------- readers
# Each takes the value as given (never None: a missing key takes its default
# unread) and returns the value to use, or raises Invalid.


def _as_given(value: Any) -> Any:
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be text, not {type(value).__name__}")
    return value


def _number(value: Any) -> float:
    """A finite number; text that spells one is read as one (environment variables are text)."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise Invalid(f"must be a number, not the text {value[:40]!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Invalid(f"must be a number, not {value!r}")
    return value


def _whole(value: Any) -> int:
    number = _number(value)
    if number != int(number):
        raise Invalid(f"must be a whole number, not {value!r}")
    return int(number)


def _at_least(minimum: float, read: Callable[[Any], float]) -> Callable[[Any], Any]:
    def reader(value: Any) -> Any:
        number = read(value)
        if number < minimum:
            raise Invalid(f"must be {minimum} or more, not {value!r}")
        return number

    return reader


def _limit(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A limit that ``False`` (or 0) turns off."""

    def reader(value: Any) -> Any:
        return 0 if value is False else _at_least(0, read)(value)

    return reader


def _url(value: Any) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"is not an http(s) URL: {value!r}")
    return value if value.endswith("/") else value + "/"


def _timeout(value: Any) -> float | tuple[float, float]:
    """Positive seconds, or a (connect, read) pair of them (``"3.05,10"`` from the environment)."""
    if isinstance(value, str) and "," in value:
        value = value.split(",")
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise Invalid(f"must be seconds or a (connect, read) pair of them, not {value!r}")
        return (_positive(value[0]), _positive(value[1]))
    return _positive(value)


def _positive(value: Any) -> float:
    number = _number(value)
    if number <= 0:
        raise Invalid(f"must be more than 0 seconds, not {value!r}")
    return number


def _language(value: Any) -> str:
    if value not in LANGUAGES:
        raise Invalid(f"is {value!r}, which the platform does not know; use one of {', '.join(LANGUAGES)}")
    return value


def _region(value: Any) -> str:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise Invalid(f"is {value!r}, not a region phone numbers can be read in")
    return value


def _names(known: Callable[[], set[str]], what: str) -> Callable[[Any], frozenset[str]]:
    """A list of names, read in capitals (one given as text counts as a list of one).

    Unknown names are reported and left out; the known ones still apply, so
    that a typo in a deny-list does not lift the rest of it.
    """

    def reader(value: Any) -> frozenset[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple, set, frozenset)):
            raise Invalid(f"must be a list of {what}, not {value!r}")
        names = {str(item).strip().upper(): item for item in items}
        good = frozenset(name for name in names if name in known())
        wrong = [item for name, item in names.items() if name not in good]
        if wrong:
            raise Invalid(f"must be a list of {what}; these are not: {', '.join(map(repr, wrong))}", use=good)
        return good

    return reader


def _regions() -> set[str]:
    return set(phonenumbers.SUPPORTED_REGIONS) | {NON_GEOGRAPHIC}


def _number_types() -> set[str]:
    return set(NUMBER_TYPES.values())


def _rate(value: Any) -> str | bool:
    if value is False:
        return False
    parse_rate(value)
    return value.strip()


def parse_rate(rate: Any) -> tuple[int, int]:
    """How many per how many seconds: ``"5/10m"`` is ``(5, 600)``; ``Invalid`` for anything else."""
    match = _RATE.fullmatch(rate.strip()) if isinstance(rate, str) else None
    if match is None or not int(match[2] or 1):  # "5/0m" would be a window of no time
        raise Invalid(f"is not a rate: {rate!r}")
    return int(match[1]), int(match[2] or 1) * _UNITS[match[3]]


def _send_rate(value: Any) -> tuple[int, float] | None:
    """A rate as django-ratelimit writes it (``"100/s"``, ``"5/10s"``), read as (requests, seconds); False: none."""
    if value is False:
        return None
    count, seconds = parse_rate(value)
    if count < 1:
        raise Invalid(f"must allow at least one request, not {value!r}")
    return count, float(seconds)


def _callable(value: Any) -> Callable[..., Any]:
    if callable(value):
        return value
    if not isinstance(value, str):
        raise Invalid(f"is {type(value).__name__}, not a callable or a dotted path")
    try:
        function = import_string(value)
    except ImportError:
        raise Invalid(f"cannot be imported: {value!r}") from None
    if not callable(function):
        raise Invalid(f"does not name a callable: {value!r}")
    return function


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise Invalid(f"must be True or False, not {value!r}")


# ---------------------------------------------------------------------- the keys


@dataclass(frozen=True)
class Setting:
    """One key of ``ENGAGELAB_OTP``."""

    name: str
    default: Any
    #: What it means, for the documentation's settings table (one sentence or more, ending with a period).
    doc: str
    read: Callable[[Any], Any] = _as_given
    #: The system check id that reports a value ``read`` refuses, and how to fix it.
    check_id: str = ""
    hint: str = ""
    #: The environment variable read when the key is missing from the setting.
    env: str = ""


_LIMIT_HINT = "0 turns this limit off."
_RATE_HINT = "How many per period, as django-ratelimit writes it: '20/h', '5/10m', '100/d'; False turns it off."
_REGIONS_HINT = (
    "Two-letter ISO 3166 codes in capitals, as phonenumbers gives them (['GB', 'IE']); "
    f"{NON_GEOGRAPHIC!r} for numbers of no country (+800, +882 …)."
)

# fmt: off
SETTINGS: dict[str, Setting] = {s.name: s for s in [
    Setting("DEV_KEY", None, "API key from the EngageLab console (environment: `ENGAGELAB_OTP_DEV_KEY`).",
            _text, "E001", env="ENGAGELAB_OTP_DEV_KEY"),
    Setting("DEV_SECRET", None, "API secret (environment: `ENGAGELAB_OTP_DEV_SECRET`). Never logged or shown.",
            _text, "E001", env="ENGAGELAB_OTP_DEV_SECRET"),
    Setting("API_URL", "https://otp.api.engagelab.cc/v1/",
            "Base URL of the API; point it at the local simulator in development.",
            _url, "E002", "Use the default https://otp.api.engagelab.cc/v1/ or your simulator's address."),
    Setting("TIMEOUT", 10, "Seconds, or a `(connect, read)` pair.",
            _timeout, "E003", "For example 10, or (3.05, 10)."),
    Setting("TEMPLATE_ID", None, "Template used by `send_otp`, `send_code` and `SendOTPForm` when none is given.",
            _text, "E009", "Copy the id of your OTP template from the EngageLab console."),
    Setting("CODE_TEMPLATE_ID", None,
            "Template of the codes the sign-in integrations generate and send with `send_code` (two-factor's "
            "text messages, allauth's phone codes); `None` uses `TEMPLATE_ID`. See "
            "[Signing people in](signin.md).",
            _text, "E009", "Copy the id of a verification-code template from the EngageLab console."),
    Setting("VOICE_TEMPLATE_ID", None,
            "Template (voice channel) of two-factor's phone calls; without it calls are refused and logged.",
            _text, "E009", "Copy the id of a voice template from the EngageLab console."),
    Setting("LANGUAGE", "default",
            "Template language when none is given: `default`, `zh_CN`, `zh_HK`, `en`, `ja`, `th` or `es`. When "
            "unset, the active Django language decides (`zh-hans` → `zh_CN`, `zh-hant` → `zh_HK`, `en`, `ja`, "
            "`th`, `es`; any other → `default`).",
            _language, "E005", f"Use one of: {', '.join(LANGUAGES)}."),
    Setting("MAX_RETRIES", 2,
            "How many times a call that is safe to repeat is retried: a failure to connect, an HTTP 503 "
            "without a body, a platform code 1000 or 5016. Nothing else: a timeout after the request left "
            "may already have sent the message.",
            _at_least(0, _whole), "E004", "2 is the default; 0 turns retries off."),
    Setting("RETRY_BACKOFF", 0.5, "Wait before the first retry, in seconds; doubled on each retry.",
            _at_least(0, _number), "E007", "The default is 0.5."),
    Setting("RETRY_BACKOFF_MAX", 8.0, "Longest wait between retries, in seconds.",
            _at_least(0, _number), "E007", "The default is 8.0."),
    Setting("RETRY_JITTER", 0.25, "Up to this many random seconds added to each wait.",
            _at_least(0, _number), "E007", "The default is 0.25."),
    Setting("BACKEND", "django_engagelab_otp.backends.http.HTTPBackend",
            "Dotted path of the backend the services call (see [Backends](backends.md)).",
            _text, "E008", "The default is 'django_engagelab_otp.backends.http.HTTPBackend'."),
    Setting("DEFAULT_REGION", None,
            "Region used to read phone numbers typed without `+country` (e.g. `\"GB\"`); `None` accepts "
            "only international numbers.",
            _region, "E006",
            "Use a two-letter ISO 3166 code in capitals, like 'GB' or 'CN', or None for +country numbers only."),
    Setting("WEBHOOK_USERNAME", None, "Username of the callbacks' `X-CALLBACK-ID` signature.", _text, "E104"),
    Setting("WEBHOOK_SECRET", None, "Secret of the callbacks' signature. Never logged or shown.", _text, "E104"),
    Setting("WEBHOOK_AUTHORIZATION", None,
            "Exact `Authorization` header the callbacks must carry, when one is configured in the console.",
            _text, "E104"),
    Setting("WEBHOOK_ALLOW_UNSIGNED", False,
            "Accept callbacks that carry no credentials, for local development only. Without "
            "`WEBHOOK_USERNAME`/`WEBHOOK_SECRET` or `WEBHOOK_AUTHORIZATION`, callbacks are refused (503) unless "
            "this is `True`; `check --deploy` reports it as an error.",
            _bool, "E104", "True or False."),
    Setting("WEBHOOK_TOLERANCE", 300, "Seconds a signed callback's timestamp may differ from this server's clock.",
            _at_least(1, _whole), "E102", "The default is 300."),
    Setting("WEBHOOK_MAX_BODY", 5 * 1024 * 1024, "Largest callback body accepted, in bytes (5 MiB).",
            _at_least(1, _whole), "E102", "The default is 5242880 (a 1,000-row batch is about 600 KB)."),
    Setting("WEBHOOK_NONCE_CACHE", "default",
            "Cache alias that remembers callback nonces; use a shared cache (Redis) when several processes "
            "receive callbacks.",
            _text, "E103"),
    Setting("LIMITS_CACHE", "default",
            "Cache alias that holds the abuse limits' cooldowns and counts, client rates included; use a cache "
            "every process shares (Redis, memcached, the database cache) when several send, and never a file "
            "cache (see [Where the limits live](limits.md#where-the-limits-live-use-redis-in-production)).",
            _text, "E013"),
    Setting("RESEND_COOLDOWN", 60,
            "Seconds before one recipient may get another message of the same template (`send_otp`, "
            "`send_code`); `0` turns it off.",
            _limit(_number), "E010", _LIMIT_HINT),
    Setting("DAILY_LIMIT", 10,
            "Messages one recipient may get per day (UTC), OTPs and own codes together; `0` turns the cap off.",
            _limit(_whole), "E010", _LIMIT_HINT),
    Setting("IP_RATE", "20/h",
            "Sends per client IP through the forms given a `request` (verifications are counted separately), in "
            "fixed windows as django-ratelimit writes rates (`'20/h'`: 20 an hour; `'5/10m'`, `'100/d'`); "
            "`False` turns it off.",
            _rate, "E011", _RATE_HINT),
    Setting("USER_RATE", "10/h", "The same per signed-in user; `False` turns it off.", _rate, "E011", _RATE_HINT),
    Setting("CLIENT_IP", None,
            "A callable (or its dotted path) that takes the request and returns the client's IP; `None` reads "
            "`REMOTE_ADDR` (see [Reverse proxies](limits.md#reverse-proxies)).",
            _callable, "E012",
            "A function that takes the request and returns the client's IP address, or its dotted path."),
    Setting("MAX_VERIFY_ATTEMPTS", 5,
            "Wrong codes a message accepts; then it is locked and a new code must be requested. `0` turns the "
            "lock off.",
            _limit(_whole), "E010", _LIMIT_HINT),
    Setting("ALLOWED_COUNTRIES", None,
            "Region codes phone numbers may belong to (`['GB', 'IE']`); `None` allows every country.",
            _names(_regions, "region codes"), "E014", _REGIONS_HINT),
    Setting("DENIED_COUNTRIES", (),
            "Region codes phone numbers must not belong to (`'001'`: numbers of no country, such as +882).",
            _names(_regions, "region codes"), "E014", _REGIONS_HINT),
    Setting("DENIED_NUMBER_TYPES", ("PREMIUM_RATE", "SHARED_COST", "UNKNOWN"),
            "`phonenumbers.PhoneNumberType` names refused before any request.",
            _names(_number_types, "phonenumbers.PhoneNumberType names"), "E015",
            f"Choose among {', '.join(sorted(NUMBER_TYPES.values()))}."),
    Setting("HASH_RECIPIENTS", False,
            "Store only a keyed hash of each recipient in the history (`MessageLog.to`, `recipients`).",
            _bool, "E016", "True or False."),
    Setting("SEND_RATE", None,
            "Requests per period that bulk sends and background workers make to the platform, all processes "
            "together (counted in `LIMITS_CACHE`: use Redis when several processes or machines send), as "
            "django-ratelimit writes rates (`'100/s'`, `'6000/m'`); `None` sends as fast as the concurrency "
            "allows.",
            _send_rate, "E201", "For example '100/s'; None or False: no rate."),
    Setting("TASK_BACKEND", "default",
            "Alias in `TASKS` of the backend that Django's Tasks API enqueues background sends on.",
            _text, "E202", "An alias of the TASKS setting, such as 'default'."),
    Setting("TASK_QUEUE", None,
            "Queue the background sends are put on (Tasks API or Celery); `None`: the backend's default queue.",
            _text, "E202", "A queue name your workers read, or None."),
    Setting("TASK_RETRIES", 3,
            "Times a worker tries a background send again after a failure the error table marks retryable "
            "(after the backend's own `MAX_RETRIES`); never after one whose outcome is unknown. `0`: never.",
            _at_least(0, _whole), "E203", "The default is 3."),
    Setting("TASK_RETRY_DELAY", 30,
            "Seconds before a worker's first retry of a background send; doubled on each retry (at most an hour).",
            _at_least(0, _number), "E203", "The default is 30."),
]}
# fmt: on

#: Each key's default, in the order of :data:`SETTINGS`.
DEFAULTS: dict[str, Any] = {name: setting.default for name, setting in SETTINGS.items()}

#: Where a wrong value leaves the default in force, a wrong ``ALLOWED_COUNTRIES``
#: would allow every country: it allows none instead (the check says why); a
#: wrong ``SEND_RATE`` would lift the rate: one request a second instead.
_FAIL_CLOSED: dict[str, Any] = {"ALLOWED_COUNTRIES": frozenset(), "SEND_RATE": (1, 1.0)}

_MISSING = object()


@dataclass(frozen=True)
class Problem:
    """A given value that cannot be used."""

    setting: Setting
    value: Any
    reason: str

    @property
    def message(self) -> str:
        return f"ENGAGELAB_OTP[{self.setting.name!r}] {self.reason}."


class OTPSettings:
    """Attribute access to the checked settings: ``otp_settings.TIMEOUT``.

    Reading a key costs a dict lookup and an identity check while its value
    is unchanged; ``override_settings`` (which replaces the dict) takes effect
    at once.
    """

    def __init__(self) -> None:
        self._read: dict[str, tuple[Any, Any]] = {}
        self._reported: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def raw(self) -> Any:
        """``settings.ENGAGELAB_OTP`` as given (the checks report it when it is not a dict)."""
        return getattr(django_settings, "ENGAGELAB_OTP", None)

    def user_settings(self) -> dict[str, Any]:
        value = self.raw()
        return value if isinstance(value, dict) else {}

    def given(self, name: str) -> Any:
        """The value given for ``name`` (the setting, else its environment variable), or ``None``."""
        value = self._given(SETTINGS[name])
        return None if value is _MISSING else value

    def _given(self, setting: Setting) -> Any:
        value = self.user_settings().get(setting.name)
        if value is None or value == "":
            value = os.environ.get(setting.env) if setting.env else None
        return _MISSING if value is None or value == "" else value

    def __getattr__(self, name: str) -> Any:
        setting = SETTINGS.get(name)
        if setting is None:
            raise AttributeError(f"Unknown ENGAGELAB_OTP setting: {name!r}")
        value = self._given(setting)
        if value is _MISSING:
            return setting.default
        known = self._read.get(name)
        if known is not None and known[0] is value:
            return known[1]
        try:
            result = setting.read(value)
        except Invalid as error:
            result = error.use if error.use is not None else _FAIL_CLOSED.get(name, setting.default)
            self._report(Problem(setting, value, str(error)), result)
        self._read[name] = (value, result)
        return result

    def _report(self, problem: Problem, used: Any) -> None:
        # Once per key and value: a wrong setting is read on every send.
        key = (problem.setting.name, repr(problem.value))
        with self._lock:
            if key in self._reported:
                return
            self._reported.add(key)
        logger.error("%s Using %r instead (manage.py check reports it).", problem.message, used)

    def forget(self) -> None:
        """Drop what was read (the setting changed)."""
        self._read.clear()
        self._reported.clear()

    def __repr__(self) -> str:
        # Never show values: two of them are secrets.
        return f"<OTPSettings keys={sorted(SETTINGS)}>"


otp_settings = OTPSettings()


def problems() -> list[Problem]:
    """Every given value that cannot be used, in the order of :data:`SETTINGS` (for the system checks)."""
    found = []
    for setting in SETTINGS.values():
        value = otp_settings._given(setting)
        if value is _MISSING:
            continue
        try:
            setting.read(value)
        except Invalid as error:
            found.append(Problem(setting, value, str(error)))
    return found


def _changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "ENGAGELAB_OTP":
        otp_settings.forget()


setting_changed.connect(_changed, dispatch_uid="django_engagelab_otp.conf")


# ---------------------------------------------------------------------- the documentation's table


def markdown_table() -> str:
    """The settings table of the documentation (docs/settings.md), in Markdown."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for setting in SETTINGS.values():
        lines.append(f"| `{setting.name}` | `{setting.default!r}` | {setting.doc} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover (run in a subprocess by the tests)
    print(markdown_table(), end="")
