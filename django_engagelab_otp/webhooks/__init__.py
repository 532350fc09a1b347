"""Receiving the platform's callbacks: prove them genuine, then hand them to the history.

* :mod:`.signature` — ``X-CALLBACK-ID`` and ``Authorization`` checks, the nonce replay guard.
* :mod:`.parsing` — a body into typed events (:mod:`..history.rows`).
* :mod:`.views` — the Django view; a batch is applied by :mod:`..history.callbacks`.
* :mod:`.checks` — ``manage.py check`` messages about the callback settings.
"""
