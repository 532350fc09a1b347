from django.http import HttpResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter
from two_factor.urls import urlpatterns as two_factor_urls

from django_engagelab_otp.contrib.drf import OTPViewSet
from tests.urls import urlpatterns as core_urls

from .drf_views import TokenOTPViewSet

router = DefaultRouter()
router.register("otp", OTPViewSet, basename="otp")
router.register("otp-token", TokenOTPViewSet, basename="otp-token")


def welcome(request):
    return HttpResponse(f"welcome {request.user.get_username() if request.user.is_authenticated else 'stranger'}")


urlpatterns = [
    *core_urls,
    path("", include(two_factor_urls)),
    path("accounts/", include("allauth.urls")),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("welcome/", welcome),
]
