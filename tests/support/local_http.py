"""A tiny keep-alive HTTP/1.1 server on 127.0.0.1 for the client's network tests.

It counts the TCP connections it accepts, records each request, and can
misbehave on purpose: never answer, reset the connection, or cut its answer.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class LocalServer:
    """``behaviour(request_number, seen)`` returns ``(status, body)`` or the name of a misbehaviour."""

    behaviour: Callable[[int, Seen], Any] = field(default=lambda n, seen: (200, {"message_id": f"m{n}"}))
    connections: int = 0
    #: Connections ended (by either side).
    closed: int = 0
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.release = threading.Event()  # set to let hanging handlers go
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.owner = self  # type: ignore[attr-defined]
        self._server.handle_error = lambda request, address: None  # misbehaving on purpose is not news
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1/"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def connected(self) -> None:
        with self._lock:
            self.connections += 1

    def disconnected(self) -> None:
        with self._lock:
            self.closed += 1

    def wait_closed(self, count: int, timeout: float = 5.0) -> bool:
        """Whether ``count`` connections have ended within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.closed >= count:
                return True
            time.sleep(0.01)
        return False

    def seen(self, request: Seen) -> int:
        with self._lock:
            self.requests.append(request)
            return len(self.requests)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without TCP_NODELAY every keep-alive answer waits on a delayed ACK.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.owner.connected()  # type: ignore[attr-defined]

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner.disconnected()  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        owner: LocalServer = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        seen = Seen(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
        result = owner.behaviour(owner.seen(seen), seen)
        if result == "hang":  # read the request, never answer
            owner.release.wait(30)
            self.close_connection = True
        elif result == "reset":  # read the request, then RST instead of an answer
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif result == "truncate":  # promise 100 bytes, send 10, hang up
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
            self.wfile.write(b'{"message_')
            self.close_connection = True
        else:
            status, body = result
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _handle


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
