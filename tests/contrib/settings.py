"""The suite's settings plus the four sign-in integrations and their host packages.

Kept apart from ``tests.settings`` so that the core's tests run without the
host packages' apps, middleware and migrations (except django-otp's and
contrib.otp's, which the example project's pages need); ``make test`` runs
``tests/contrib`` with this module (``--ds tests.contrib.settings``).
"""

from tests.settings import *  # noqa: F403
from tests.settings import ENGAGELAB_OTP, INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [
    *INSTALLED_APPS,  # django_otp and contrib.otp among them (the example project's)
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "two_factor",
    "two_factor.plugins.phonenumber",
    "allauth",
    "allauth.account",
    "rest_framework",
    "drf_spectacular",
    "django_engagelab_otp.contrib.allauth",
]
MIDDLEWARE = [
    *MIDDLEWARE,
    "django_otp.middleware.OTPMiddleware",
    "two_factor.middleware.threadlocals.ThreadLocals",
    "allauth.account.middleware.AccountMiddleware",
]
ROOT_URLCONF = "tests.contrib.urls"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "two_factor:login"
LOGIN_REDIRECT_URL = "/welcome/"

# The glue each flow needs (docs/signin.md).
TWO_FACTOR_SMS_GATEWAY = "django_engagelab_otp.contrib.two_factor.EngageLabGateway"
TWO_FACTOR_CALL_GATEWAY = "django_engagelab_otp.contrib.two_factor.EngageLabGateway"
ACCOUNT_ADAPTER = "django_engagelab_otp.contrib.allauth.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"phone"}
ACCOUNT_SIGNUP_FIELDS = ["phone*"]
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
ENGAGELAB_OTP = {**ENGAGELAB_OTP, "CODE_TEMPLATE_ID": "login-code", "VOICE_TEMPLATE_ID": "login-voice"}
