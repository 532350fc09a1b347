"""A backend that accepts every message at once, without a request: what recording a bulk run costs by itself.

``bench_bulk.py`` runs a bulk file through it to separate the CPU a line's
history takes (checking it, writing its row, taking and settling it) from
the CPU of its request.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from django_engagelab_otp.backends.base import SendResult
from django_engagelab_otp.backends.http import HTTPBackend


class InstantBackend(HTTPBackend):
    """Every send accepted at once with a new message id; nothing leaves the process."""

    _ids = itertools.count(1)

    def send_custom_message(self, to: str | Sequence[str], template_id: str, *, params: Any = None) -> SendResult:
        return SendResult(message_id=f"instant-{next(self._ids)}", send_channel="sms")

    def send_message(self, to: str, template_id: str, **options: Any) -> SendResult:
        return self.send_custom_message(to, template_id)
