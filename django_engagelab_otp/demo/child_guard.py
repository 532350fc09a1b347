"""Runs a command of the demo so that it dies with the demo: ``python child_guard.py DEMO_PID COMMAND...``.

``launcher.py`` stops its servers itself on Ctrl-C, ``kill``, a closed terminal
and so on; but ``kill -9`` (or the out-of-memory killer) ends it before it can,
and servers left behind would hold the demo's ports. On Linux the kernel can
signal a process when its parent dies (``prctl(PR_SET_PDEATHSIG)``); the
setting survives ``exec``, so it is made here, in a fresh single-threaded
process, and this process then becomes the command. (Setting it through
``Popen(preexec_fn=...)`` instead would run Python between ``fork`` and
``exec`` of a process whose relay threads are running: not safe.)

Elsewhere the command runs unguarded: the demo still stops it on every signal
it can catch.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

#: Sent when the demo dies. Nothing is left to read the servers' output or to
#: wait for a graceful stop, so nothing is lost by ending them at once.
DEATH_SIGNAL = signal.SIGKILL


def die_with(parent: int) -> None:
    """Have the kernel kill this process (and what it ``exec``s) when ``parent`` dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, DEATH_SIGNAL, 0, 0, 0) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error))
    if os.getppid() != parent:
        # The demo died before the request above was made: nobody would stop us.
        sys.exit(1)


def main(argv: list[str]) -> None:
    parent, *command = argv
    die_with(int(parent))
    os.execv(command[0], command)  # noqa: S606 - the demo's own command, as the demo built it


if __name__ == "__main__":
    main(sys.argv[1:])
