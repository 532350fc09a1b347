"""Settings of the demo site, read from the environment (and ``django_engagelab_otp/demo/.env`` when present).

Every variable is documented in ``.env.example``. Without any, the site runs
in DEBUG on the SQLite file ``db.sqlite3`` of the current directory and sends
through the local simulator (``manage.py engagelab_simulator``) on 127.0.0.1:8025.
``python -m django_engagelab_otp.demo`` sets the database and the rest itself.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    # Variables already in the environment win over the file.
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=True)
# A fixed key is only acceptable for local development: without DEBUG one must be given.
SECRET_KEY = env("SECRET_KEY", default="example-project-local-only-key") if DEBUG else env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_engagelab_otp",
    # Sign-in (docs/signin.md): a person's phone number or e-mail
    # address is a django-otp device, which both sign-ins send their codes to.
    "django_otp",
    "django_engagelab_otp.contrib.otp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): true once a code signed the person in.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "django_engagelab_otp.demo.urls"
# The code sign-in is the home page; both sign-ins end on the account page.
LOGIN_URL = "request_code"
LOGIN_REDIRECT_URL = "account"
LOGOUT_REDIRECT_URL = "request_code"
WSGI_APPLICATION = "django_engagelab_otp.demo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# In the current directory, not next to this module: the package may be installed
# read-only, and a database file inside it would end up in the next build.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{Path.cwd() / 'db.sqlite3'}")}
# SQLite serves the site's threads and the callback view at once: a send and a
# callback write together in every demo walk. Without these, a transaction that
# read first and then writes is refused at once with "database is locked"
# (its busy timeout does not apply), and the callback view answers 503.
SQLITE_OPTIONS = {
    # Take the write lock at BEGIN, where the busy timeout applies (Django 5.1+).
    "transaction_mode": "IMMEDIATE",
    # Seconds a writer waits for another's transaction before giving up.
    "timeout": 20,
    # Readers and the writer no longer block each other; NORMAL is durable enough with WAL.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Options given in DATABASE_URL (…?timeout=60) win.
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Callback nonces are remembered here: with several processes use a shared cache (redis://…).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

LANGUAGE_CODE = env("LANGUAGE_CODE", default="en")
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
# The languages the site is translated into (the switcher shows each in its own name).
# LocaleMiddleware picks one from the browser's Accept-Language until the person chooses.
LANGUAGES = [
    ("en", "English"),
    ("de", "German"),
    ("es", "Spanish"),
    ("ja", "Japanese"),
    ("th", "Thai"),
    ("zh-hans", "Simplified Chinese"),
    ("zh-hant", "Traditional Chinese"),
]
# The site's own catalog: the demo is no installed app, so Django would not look here.
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env("STATIC_ROOT", default=None)  # for collectstatic

SIMULATOR_URL = "http://127.0.0.1:8025/v1/"
API_URL = env("ENGAGELAB_OTP_API_URL", default=SIMULATOR_URL)
# Out of the box the site talks to the local simulator (`make demo`), whose
# demo credentials are public; any other API URL needs real credentials.
_ON_SIMULATOR = API_URL == SIMULATOR_URL

ENGAGELAB_OTP = {
    "DEV_KEY": env("ENGAGELAB_OTP_DEV_KEY", default="demo-key" if _ON_SIMULATOR else None),
    "DEV_SECRET": env("ENGAGELAB_OTP_DEV_SECRET", default="demo-secret" if _ON_SIMULATOR else None),
    "API_URL": API_URL,
    "TEMPLATE_ID": env("ENGAGELAB_OTP_TEMPLATE_ID", default="demo-otp"),
    "LANGUAGE": env("ENGAGELAB_OTP_LANGUAGE", default="default"),
    "TIMEOUT": env.float("ENGAGELAB_OTP_TIMEOUT", default=10.0),
    "DEFAULT_REGION": env("ENGAGELAB_OTP_DEFAULT_REGION", default=None),
    "WEBHOOK_USERNAME": env("ENGAGELAB_OTP_WEBHOOK_USERNAME", default="demo" if _ON_SIMULATOR else None),
    "WEBHOOK_SECRET": env("ENGAGELAB_OTP_WEBHOOK_SECRET", default="demo-webhook-secret" if _ON_SIMULATOR else None),
    "WEBHOOK_AUTHORIZATION": env("ENGAGELAB_OTP_WEBHOOK_AUTHORIZATION", default=None),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "django_engagelab_otp": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    },
}
