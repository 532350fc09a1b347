"""Receiving the platform's callbacks: prove them genuine, store them, follow each message.

* :mod:`.signature` — ``X-CALLBACK-ID`` and ``Authorization`` checks, the nonce replay guard.
* :mod:`.events` — typed events, one per row kind, keeping the raw row.
* :mod:`.parsing` — a body into events.
* :mod:`.processing` — a batch into ``MessageEvent`` rows, ``MessageLog`` moves and signals.
* :mod:`.views` — the Django view.
* :mod:`.checks` — ``manage.py check`` warnings about the callback settings.
"""
