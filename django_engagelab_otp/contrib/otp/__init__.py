"""A django-otp device that signs people in with the platform's own OTP.

``pip install django-engagelab-otp[otp]``, then add
``"django_engagelab_otp.contrib.otp"`` to ``INSTALLED_APPS`` (after
``"django_otp"``) and migrate. The model is
:class:`~django_engagelab_otp.contrib.otp.models.EngageLabDevice`.
"""
