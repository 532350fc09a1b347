"""Transports selectable with ``ENGAGELAB_OTP["BACKEND"]`` besides the HTTP client.

* ``django_engagelab_otp.client.EngageLabClient`` — the real HTTP client (default).
* ``django_engagelab_otp.backends.locmem.LocmemClient`` — in memory, for tests:
  messages land in ``django_engagelab_otp.backends.locmem.outbox``.
"""
