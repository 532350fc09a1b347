"""The history that sends and callbacks both write: ``MessageLog`` and ``MessageEvent`` rows.

* :mod:`.sends` — a send's row: ``pending`` before the request, settled after it.
* :mod:`.verifications` — the attempt counter on a message's row, and ``verified_at``.
* :mod:`.events` — typed callback events, one class per kind of row.
* :mod:`.rows` — a callback row → its event (also replaying stored rows).
* :mod:`.lifecycle` — the order of a message's life: a status only moves forward.
* :mod:`.callbacks` — a batch of events into rows, status changes and signals;
  catching up rows that arrived before their send's answer.
* :mod:`.bulk` — many rows in a fixed number of statements.

The services and the callback view both call this package; neither imports the other.
"""
