"""What the process tests look at: a process's descendants, whether they still run, free ports; races.

Read from ``/proc`` (Linux): no psutil needed, and nothing mocked.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

PROC = Path("/proc")


def _parent_and_state(pid: int) -> tuple[int, str] | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # "pid (command name) state ppid ...": the name may hold spaces and parentheses.
    state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
    return int(ppid), state


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``: children, grandchildren …"""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (found := _parent_and_state(int(entry.name))):
            children.setdefault(found[0], []).append(int(entry.name))
    below, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in below:
                below.add(child)
                todo.append(child)
    return below


def tagged(name: str, value: str) -> set[int]:
    """Running processes whose environment holds ``name=value``: whatever a test started, orphans included."""
    marker = f"{name}={value}".encode()
    found = set()
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if marker in environment and running(int(entry.name)):
            found.add(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie holds no port, only its exit status)."""
    found = _parent_and_state(pid)
    return found is not None and found[1] not in ("Z", "X")


def still_running(find: Callable[[], set[int]], timeout: float) -> set[int]:
    """What ``find()`` still finds after up to ``timeout`` seconds of waiting for it to find nothing."""
    deadline = time.monotonic() + timeout
    while (left := find()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def kill_all(pids: set[int]) -> None:
    """Clean up after a failed test: the processes it started must not outlive it."""
    for pid in pids:
        if running(pid):
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(pid, signal.SIGKILL)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on ``port`` any more: no server of the demo (or of anyone) holds it.

    Not whether ``bind()`` would succeed this very moment: the port lies in the
    range the kernel hands out to outgoing connections, and once free any
    process on the machine (another test's worker, a client of Redis) may
    connect from it meanwhile; that holds no server.
    """
    return not _listening(port) or _bindable(port, host)


def _listening(port: int) -> bool:
    """Whether a socket listens on ``port`` (``/proc/net/tcp``, ``tcp6``: state 0A)."""
    for table in (PROC / "net" / "tcp", PROC / "net" / "tcp6"):
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            return True  # cannot tell: let bind() decide
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


def _bindable(port: int, host: str) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def race(processes: list[subprocess.Popen], timeout: float = 60) -> list:
    """Release processes together and read each one's JSON answer; kill whatever is left after.

    Each process prints ``ready`` once it is set, waits for ``go`` on its stdin,
    prints its result as one JSON line and ends.
    """
    try:
        for process in processes:
            assert process.stdout.readline().strip() == "ready", process.stderr and process.stderr.read()
        for process in processes:  # released together: each is already waiting on its stdin
            process.stdin.write("go\n")
            process.stdin.flush()
        return [json.loads(process.communicate(timeout=timeout)[0]) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
