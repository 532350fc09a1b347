"""The callback included under another prefix and namespace, inside a nested include."""

from django.urls import include, path

inner = [path("hooks/", include(("django_engagelab_otp.urls", "django_engagelab_otp"), namespace="sms"))]
urlpatterns = [path("api/v2/", include(inner))]
