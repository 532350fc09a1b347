"""Helpers shared by the simulator's tests."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import requests

from django_engagelab_otp.simulator import Platform, Simulator
from tests.support.constants import PHONE

AUTH = "Basic " + base64.b64encode(b"demo-key:demo-secret").decode()


def call(platform: Platform, method: str, path: str, body: Any = None, *, auth: str | None = AUTH) -> tuple[int, Any]:
    """One request straight to the platform: (status, decoded JSON body or None)."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    outcome = platform.dispatch(method, path, auth, data)
    return outcome.status, outcome.json


def otp_body(to: str = PHONE, template: str = "demo-otp", **template_fields: Any) -> dict[str, Any]:
    return {"to": to, "template": {"id": template, **template_fields}}


def session() -> requests.Session:
    """A keep-alive session with the simulator's demo credentials."""
    http = requests.Session()
    http.auth = ("demo-key", "demo-secret")
    http.trust_env = False
    return http


def raw_exchange(sim: Simulator, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send bytes on a fresh connection and read until the server closes it."""
    with socket.create_connection((sim.host, sim.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def split_answer(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll until ``predicate()`` is truthy; fail the test when it never is.

    The deadline is generous, for a busy machine: it costs nothing when the
    condition is met early. The pause between two polls grows to 0.1 s, so
    that a slow wait does not take the CPU (or a shared database connection)
    from the threads it is waiting for.
    """
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
