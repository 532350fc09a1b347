from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngageLabAllauthConfig(AppConfig):
    name = "django_engagelab_otp.contrib.allauth"
    # "allauth" is allauth's own label.
    label = "engagelab_allauth"
    verbose_name = _("Phone numbers (allauth)")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 (registers the system checks)
