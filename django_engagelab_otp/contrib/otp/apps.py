from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngageLabDeviceConfig(AppConfig):
    name = "django_engagelab_otp.contrib.otp"
    # django-otp's plugins are labelled otp_<kind> (otp_email, otp_totp).
    label = "otp_engagelab"
    verbose_name = _("OTP devices: EngageLab")
    default_auto_field = "django.db.models.BigAutoField"
