from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from . import account, code_signin, password_signin

admin.site.site_header = _("EngageLab OTP demo")
admin.site.site_title = _("EngageLab OTP demo")

urlpatterns = [
    # Sign in with a code (sign up the first time): the home page.
    path("", code_signin.request_code, name="request_code"),
    path("verify/", code_signin.verify_code, name="verify_code"),
    path("verify/resend/", code_signin.resend_code, name="resend_code"),
    # Sign in with a password, then a code.
    path("sign-in/password/", password_signin.password, name="password_sign_in"),
    path("sign-in/password/code/", password_signin.code, name="password_code"),
    path("sign-in/password/resend/", password_signin.resend, name="password_resend"),
    path("account/", account.account, name="account"),
    path("sign-out/", account.sign_out, name="sign_out"),
    path("admin/", admin.site.urls),
    path("engagelab/", include("django_engagelab_otp.urls")),
    # The language switcher's form posts to Django's set_language view.
    path("i18n/", include("django.conf.urls.i18n")),
    # Browsers ask for /favicon.ico on every page, the admin's included.
    path("favicon.ico", RedirectView.as_view(url=static("example/favicon.svg"), permanent=True)),
]
