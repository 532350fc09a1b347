"""A local stand-in for the EngageLab OTP platform.

Real HTTP with the platform's wire format, credentials, templates, codes and
their lifetime, verification, documented magic recipients that fail on
purpose (see :mod:`.magic`), global fault knobs and signed callbacks. Runs
without Django settings::

    from django_engagelab_otp.simulator import Simulator

    with Simulator() as sim:  # demo-key / demo-secret, on a free port
        ENGAGELAB_OTP["API_URL"] = sim.url
        ...
        sim.platform.last_code("+442079460123")

``manage.py engagelab_simulator`` runs one in the foreground; the pytest
fixture ``engagelab_simulator`` starts one per test.
"""

from .callbacks import CallbackDispatcher
from .magic import MAGIC, Magic, lookup
from .platform import Answer, Message, Platform
from .runner import Simulator

__all__ = ["Simulator", "Platform", "Message", "Answer", "CallbackDispatcher", "MAGIC", "Magic", "lookup"]
