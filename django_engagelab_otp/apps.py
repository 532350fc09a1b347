from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngageLabOTPConfig(AppConfig):
    name = "django_engagelab_otp"
    label = "django_engagelab_otp"
    verbose_name = _("EngageLab OTP")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import backends, checks  # noqa: F401  (registers checks and the settings listener)
        from .webhooks import checks as webhook_checks  # noqa: F401
