"""A project's own subclass, as docs/signin.md shows it: sign the person in once the code is right."""

from django.contrib.auth import get_user_model

from django_engagelab_otp.contrib.drf import OTPViewSet


class TokenOTPViewSet(OTPViewSet):
    def on_verified(self, request, recipient):
        user, _created = get_user_model().objects.get_or_create(username=recipient)
        return {"user_id": user.pk}
