"""Django settings for the benchmarks. ``BENCH_DATABASE_URL`` chooses the database."""

import os

import environ

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "bench.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {"default": environ.Env.db_url_config(os.environ.get("BENCH_DATABASE_URL", "sqlite:///:memory:"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # How SQLite is run in production: write-ahead log, fsync at checkpoints.
    DATABASES["default"]["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_engagelab_otp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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

STATIC_URL = "/static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {"version": 1, "disable_existing_loggers": False, "loggers": {"django_engagelab_otp": {"level": "WARNING"}}}

# Credentials of the local server the send benchmark talks to (never a real account).
ENGAGELAB_OTP = {
    "DEV_KEY": "bench-key",
    "DEV_SECRET": "bench-secret",
    "API_URL": os.environ.get("BENCH_API_URL", "http://127.0.0.1:9/v1/"),
    "TEMPLATE_ID": "login-otp",
    "MAX_RETRIES": 0,
}
