"""A small site that sends and verifies OTPs with django-engagelab-otp."""
