"""A small site that sends and verifies OTPs with django-engagelab-otp; ``python -m django_engagelab_otp.demo`` runs it.

Nothing else in the package imports it: it is the top layer, for trying the app.
"""
