from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from . import views

admin.site.site_header = _("EngageLab OTP demo")
admin.site.site_title = _("EngageLab OTP demo")

urlpatterns = [
    path("", views.request_code, name="request_code"),
    path("verify/", views.verify_code, name="verify_code"),
    path("verify/resend/", views.resend_code, name="resend_code"),
    path("verified/", views.verified, name="verified"),
    path("admin/", admin.site.urls),
    path("engagelab/", include("django_engagelab_otp.urls")),
    # Browsers ask for /favicon.ico on every page, the admin's included.
    path("favicon.ico", RedirectView.as_view(url=static("example/favicon.svg"), permanent=True)),
]
