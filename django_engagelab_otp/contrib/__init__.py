"""Sign-in integrations, each an optional extra with its own host package.

* :mod:`.otp` — a django-otp device (``pip install django-engagelab-otp[otp]``)
* :mod:`.two_factor` — a django-two-factor-auth gateway (``[two-factor]``)
* :mod:`.allauth` — a django-allauth account adapter for phone sign-in (``[allauth]``)
* :mod:`.drf` — a Django REST framework view set (``[drf]``)

They use only the package's public surface (``send_otp``, ``send_code``,
``verify_otp``, ``check_otp``, the exceptions, ``limits.check_client``), and
read every refusal the same way: :mod:`.refusals`.
"""
