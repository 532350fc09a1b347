"""Running a function in many threads at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def run_together(count: int, function: Callable[[int], Any]) -> list[Any]:
    """Call ``function(i)`` in ``count`` threads released at the same moment; each result or exception.

    Each thread closes its own database connections, as a request would.
    """
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def work(index: int) -> None:
        try:
            barrier.wait()
            results[index] = function(index)
        except BaseException as error:  # collected for the test to inspect
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    return results
