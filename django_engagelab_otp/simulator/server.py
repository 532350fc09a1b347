"""The HTTP side of the simulator: a threaded, keep-alive HTTP/1.1 server.

Requests to ``/v1/`` go to :meth:`Platform.dispatch`; the server only reads
bodies (bounded), writes answers and acts out connection faults. Requests to
``/_simulator/`` are debug endpoints (no credentials):

* ``GET /_simulator/health`` → ``{"status": "ok", "requests": N, "messages": N}``
* ``GET /_simulator/last-code?to=<recipient>`` → ``{"to", "message_id", "code"}``, 404 when none
* ``GET|POST /_simulator/config`` → read or set ``latency_ms`` / ``error_rate``
* ``GET /_simulator/messages`` → the last 100 accepted messages, newest first
* ``POST /_simulator/reset`` → forget messages and counters, re-seed templates

Whatever arrives (unknown paths, wrong methods, bodies over 1 MiB, broken
JSON, broken request lines or headers), the answer is the platform's error
shape ``{"code": ..., "message": ...}``, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .magic import Fault
from .platform import JSON_TYPE, Answer, Platform, encode, error_body, recipient_key

logger = logging.getLogger("django_engagelab_otp.simulator")

MAX_BODY = 1024 * 1024
_MAX_CHUNK_LINE = 1024


class Refused(Exception):
    """A request refused before the platform sees it (the connection is then closed)."""

    def __init__(self, status: int, code: int, text: str) -> None:
        super().__init__(text)
        self.status, self.code, self.text = status, code, text


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # socketserver's default backlog (5) resets connections that a pool of async clients opens at once.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], platform: Platform) -> None:
        self.platform = platform
        #: Set when the server stops: delays, hangs and drips end at once.
        self.stopping = threading.Event()
        self.connections_accepted = 0
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
            self.connections_accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-answer is normal here; never print a traceback.
        logger.debug("simulator: connection from %s ended with an error", client_address[0], exc_info=True)

    def close_connections(self) -> None:
        """End kept-alive connections so that their threads finish with the server."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without TCP_NODELAY every kept-alive answer waits for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    server_version = "EngageLab-Simulator"
    sys_version = ""
    # Idle kept-alive connections are closed after this many seconds.
    timeout = 60
    server: SimulatorServer

    # ------------------------------------------------------------------ entry points

    def parse_request(self) -> bool:
        # The moment the request line came in: what the platform stamps a message with (see Platform.dispatch),
        # and what its latency counts from.
        self.received_at = self.server.platform.now()
        self.arrived = time.monotonic()
        return super().parse_request()

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except Refused as refused:
            self.close_connection = True
            self._send(refused.status, error_body(refused.code, refused.text))
            return
        except (OSError, ValueError):  # the client went away while sending
            self.close_connection = True
            return
        path = urlsplit(self.path).path
        try:
            if path.startswith("/_simulator/") or path == "/_simulator":
                self._debug(path, body)
                return
            outcome = self.server.platform.dispatch(
                self.command, path, self.headers.get("Authorization"), body, received_at=self.received_at
            )
        except Exception as error:
            logger.error("simulator: internal error on %s %s: %s", self.command, path[:100], type(error).__name__)
            logger.debug("simulator: details", exc_info=True)
            self.close_connection = True
            self._send(500, error_body(1000, "internal error"))
            return
        self._answer(outcome)

    # ------------------------------------------------------------------ reading

    def _read_body(self) -> bytes:
        encoding = self.headers.get("Transfer-Encoding")
        if encoding is not None:
            if encoding.strip().lower() != "chunked":
                raise Refused(501, 3001, "only the chunked transfer encoding is understood")
            return self._read_chunked()
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if not lengths:
            return b""
        if len(lengths) > 1:
            raise Refused(400, 3001, "conflicting Content-Length headers")
        length = lengths.pop()
        if not length.isdigit() or len(length) > 12:
            raise Refused(400, 3001, "Content-Length is not a number")
        size = int(length)
        if size > MAX_BODY:
            raise Refused(413, 3001, f"the request body is larger than {MAX_BODY} bytes")
        data = self.rfile.read(size)
        if len(data) < size:
            raise ConnectionError("body cut short")
        return data

    def _read_chunked(self) -> bytes:
        data = bytearray()
        while True:
            line = self.rfile.readline(_MAX_CHUNK_LINE)
            if not line.endswith(b"\n"):
                raise Refused(400, 3001, "malformed chunked body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise Refused(400, 3001, "malformed chunk size") from None
            if size < 0 or len(data) + size > MAX_BODY:
                raise Refused(413, 3001, f"the request body is larger than {MAX_BODY} bytes")
            if size == 0:
                break
            data += self.rfile.read(size)
            if self.rfile.read(2) != b"\r\n":
                raise Refused(400, 3001, "malformed chunked body")
        for _ in range(100):  # trailers, up to the blank line
            if self.rfile.readline(_MAX_CHUNK_LINE) in (b"\r\n", b"\n", b""):
                return bytes(data)
        raise Refused(400, 3001, "too many trailer lines")

    # ------------------------------------------------------------------ writing

    def _send(
        self, status: int, body: bytes, content_type: str | None = JSON_TYPE, headers: dict[str, str] | None = None
    ) -> None:
        self._head(status, len(body), content_type, headers)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _head(self, status: int, length: int, content_type: str | None, headers: dict[str, str] | None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection or self.command == "HEAD":
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()

    def _answer(self, outcome: Answer) -> None:
        stopping = self.server.stopping
        # The answer leaves ``delay`` after the request came in, as across a network: the time spent reading and
        # handling it here (milliseconds, on a machine that senders keep busy) is part of that, not added to it.
        if outcome.delay and stopping.wait(max(0.0, outcome.delay - (time.monotonic() - self.arrived))):
            self.close_connection = True
            return
        fault = outcome.fault
        if fault is Fault.DROP:
            self.close_connection = True
            return
        if fault is Fault.HANG:
            stopping.wait(self.server.platform.hang_seconds)
            self.close_connection = True
            return
        if fault is None:
            self._send(outcome.status, outcome.body, outcome.content_type, outcome.headers)
            return
        body = outcome.body
        self.close_connection = fault is not Fault.DRIP
        self._head(outcome.status, len(body), outcome.content_type, outcome.headers)
        if fault is Fault.DRIP:
            for index in range(len(body)):
                self.wfile.write(body[index : index + 1])
                if stopping.wait(self.server.platform.drip_seconds):
                    self.close_connection = True
                    return
            return
        self.wfile.write(body[: len(body) // 2])
        if fault is Fault.STALL:
            stopping.wait(self.server.platform.hang_seconds)
            return
        # Fault.RESET: an abortive close sends RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors found by the standard library (request line, headers): the platform's shape, no HTML."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            # An unreadable request line leaves the default 0.9, which would drop the status line and headers.
            self.request_version = "HTTP/1.0"
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        text = (message or phrase).replace("\r", " ").replace("\n", " ")[:200]
        body = error_body(1000 if code >= 500 else 3001, text)
        self.send_response(code, phrase)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("simulator: %s %s", self.address_string(), format % args)

    # ------------------------------------------------------------------ debug endpoints

    def _debug(self, path: str, body: bytes) -> None:
        platform = self.server.platform
        name = path.rstrip("/").removeprefix("/_simulator").strip("/")
        routes = {
            "health": ("GET",),
            "last-code": ("GET",),
            "config": ("GET", "POST"),
            "messages": ("GET",),
            "reset": ("POST",),
        }
        if name not in routes:
            self._send(404, error_body(4001, "no such debug endpoint"))
            return
        if self.command not in routes[name]:
            allow = {"Allow": ", ".join(routes[name])}
            self._send(405, error_body(3002, f"use {' or '.join(routes[name])}"), headers=allow)
            return
        if name == "health":
            data = {"status": "ok", "requests": platform.request_count, "messages": len(platform.messages)}
        elif name == "last-code":
            self._last_code()
            return
        elif name == "config":
            if self.command == "POST":
                try:
                    changes = json.loads(body.decode("utf-8") or "{}")
                    if not isinstance(changes, dict):
                        raise ValueError("a JSON object is expected")
                    data = platform.configure(
                        latency_ms=changes.get("latency_ms"), error_rate=changes.get("error_rate")
                    )
                except (ValueError, UnicodeDecodeError) as error:
                    self._send(400, error_body(3002, str(error)[:200]))
                    return
            else:
                data = platform.configure()
        elif name == "messages":
            data = [message.as_dict() for message in platform.recent(100)]
        else:
            platform.reset()
            data = {"status": "reset"}
        self._send(200, encode(data))

    def _last_code(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        to = (query.get("to") or [""])[0]
        if not to.strip():
            self._send(400, error_body(3002, "give the recipient: ?to=%2B447700900123"))
            return
        # A "+" left unencoded in the query arrives as a space: normalizing puts it back.
        message = self.server.platform.last_message(to)
        key = recipient_key(to)
        if message is None or not message.code:
            self._send(404, error_body(4001, "no code was sent to this recipient"))
            return
        self._send(200, encode({"to": key, "message_id": message.message_id, "code": message.code}))
