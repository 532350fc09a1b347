"""``path("engagelab/", include("django_engagelab_otp.urls"))`` exposes the callback at ``engagelab/callback/``."""

from django.urls import path

from .webhooks.views import callback

app_name = "django_engagelab_otp"

urlpatterns = [
    path("callback/", callback, name="callback"),
]
