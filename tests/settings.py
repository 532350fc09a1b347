"""Settings for the test suite. ``DATABASE_URL`` chooses the database (SQLite by default)."""

import os
from importlib.util import find_spec

import environ

env = environ.Env()

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {"default": env.db("DATABASE_URL", default="sqlite:///:memory:")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Each xdist worker gets its own test database; TEST_DB_TAG keeps two runs
    # of the suite on one server apart.
    import django

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    tag = os.environ.get("TEST_DB_TAG", "")
    DATABASES["default"]["TEST"] = {"NAME": f"test_engagelab_dj{django.VERSION[0]}{tag}_{worker}"}

# The example project signs people in with contrib.otp's device: the tests that
# drive its pages in this process (tests/site, the proofs' walks of the site)
# need its tables. The other host packages' apps stay in tests/contrib/settings.py.
EXAMPLE_APPS = ["django_otp", "django_engagelab_otp.contrib.otp"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_engagelab_otp",
    *EXAMPLE_APPS,
    # The Tasks API's database backend: background sends are tested on it.
    "django_tasks_db",
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
        "DIRS": [],
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

# Room for the load tests' cooldowns: past MAX_ENTRIES (300 by default) the
# local-memory cache forgets a third of its keys, the limits' among them.
# Background sends run at once, in the test's own process, unless a test
# starts a real worker (tests/support/workers.py).
TASKS = {
    "default": {
        "BACKEND": "django.tasks.backends.immediate.ImmediateBackend"
        if find_spec("django.tasks")
        else "django_tasks.backends.immediate.ImmediateBackend"
    }
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 100_000}}}
STATIC_URL = "/static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

ENGAGELAB_OTP = {
    "DEV_KEY": "test-key",
    "DEV_SECRET": "test-secret-do-not-leak",
    "API_URL": "https://otp.api.engagelab.test/v1/",
    "TEMPLATE_ID": "login-otp",
    "TIMEOUT": 5,
    "RETRY_BACKOFF": 0,
    "RETRY_JITTER": 0,
}
