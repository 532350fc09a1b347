"""pytest fixtures for projects that use django-engagelab-otp (registered through ``pytest11``).

* ``engagelab_simulator`` — a simulator on a free port, with ``ENGAGELAB_OTP``
  pointing at it (the HTTP client, matching credentials); yields the
  :class:`~django_engagelab_otp.simulator.Simulator`.
* ``make_engagelab_simulator`` — the same with options
  (``make_engagelab_simulator(callback_url=live_server.url + "/engagelab/callback/")``).
* ``engagelab_outbox`` — selects the in-memory backend and yields its outbox, empty.

The configured ``TEMPLATE_ID`` is created in the simulator as a copy of
``demo-otp``, so ``send_otp()`` works unchanged. They need pytest-django's
``settings`` fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from .simulator import Simulator

HTTP_BACKEND = "django_engagelab_otp.backends.http.HTTPBackend"
LOCMEM_BACKEND = "django_engagelab_otp.backends.locmem.LocmemBackend"


def _configure(settings: Any, **values: Any) -> dict[str, Any]:
    """Merge ``values`` into ``settings.ENGAGELAB_OTP`` (a new dict: override_settings sees the change)."""
    current = dict(getattr(settings, "ENGAGELAB_OTP", None) or {})
    current.update(values)
    settings.ENGAGELAB_OTP = current
    return current


@pytest.fixture
def make_engagelab_simulator(settings: Any) -> Iterator[Callable[..., Simulator]]:
    """A factory: ``make_engagelab_simulator(**Simulator options)`` starts one and points the settings at it.

    Callbacks step without delay and retry after 0.05 s unless told otherwise.
    """
    from .simulator import Simulator

    started: list[Simulator] = []

    def make(**options: Any) -> Simulator:
        options.setdefault("callback_delay", 0)
        options.setdefault("callback_retry_delay", 0.05)
        simulator = Simulator(**options).start()
        started.append(simulator)
        configured = _configure(
            settings,
            DEV_KEY=simulator.dev_key,
            DEV_SECRET=simulator.dev_secret,
            API_URL=simulator.url,
            BACKEND=HTTP_BACKEND,
        )
        if configured.get("TEMPLATE_ID"):
            simulator.platform.ensure_template(configured["TEMPLATE_ID"])
        return simulator

    try:
        yield make
    finally:
        for simulator in started:
            simulator.stop()


@pytest.fixture
def engagelab_simulator(make_engagelab_simulator: Callable[..., Simulator]) -> Simulator:
    """A running simulator that ``ENGAGELAB_OTP`` points at."""
    return make_engagelab_simulator()


@pytest.fixture
def engagelab_outbox(settings: Any) -> Iterator[list[Any]]:
    """The in-memory backend, selected, with an empty outbox (``list`` of accepted messages)."""
    from .backends import locmem
    from .conf import otp_settings

    values: dict[str, Any] = {"BACKEND": LOCMEM_BACKEND}
    if not (otp_settings.DEV_KEY and otp_settings.DEV_SECRET):
        # The in-memory backend checks no credentials, but the settings must name some.
        values.update(DEV_KEY="locmem-key", DEV_SECRET="locmem-secret")  # noqa: S106 - not a credential
    _configure(settings, **values)
    locmem.reset()
    try:
        yield locmem.outbox
    finally:
        locmem.reset()
