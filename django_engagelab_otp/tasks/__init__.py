"""Background sends: the history row is written ``queued`` at enqueue, a worker sends it.

* :mod:`.django_tasks` — Django's Tasks API (``django.tasks`` on Django 6, the
  ``django-tasks`` backport on 5.2), with any backend: the database
  (``django-tasks-db``), RQ (``django-tasks-rq``) …
* :mod:`.celery` — a Celery task (``acks_late``).
* :mod:`.runner` — what both do: enqueue and one attempt, the row as the
  idempotency key; :mod:`.sealing` — the secrets a task carries, encrypted;
  :mod:`.claims` — the abuse limits claimed at enqueue, given back by the worker.

Each engine module offers ``enqueue_otp``, ``enqueue_code`` and
``enqueue_custom_message``; import the one of the engine you run.
"""
