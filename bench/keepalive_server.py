"""The smallest server the send benchmark can talk to: keep-alive HTTP/1.1, one fixed answer.

It costs next to nothing per request, so the loops compared against it show
the client side's own cost. Without TCP_NODELAY every kept-alive answer would
wait for the client's delayed ACK (~40 ms) and every figure would lie.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ids = itertools.count(1725407449772531712)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.server.latency:  # type: ignore[attr-defined]
            time.sleep(self.server.latency)  # type: ignore[attr-defined]
        body = json.dumps({"message_id": str(next(_ids)), "send_channel": "sms"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class KeepAliveServer:
    """``start()``, ``.url`` and ``stop()``, like the project's simulator."""

    def __init__(self, latency: float = 0.0) -> None:
        """``latency``: seconds each answer waits, as a platform across the internet would."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.latency = latency  # type: ignore[attr-defined]
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1/"

    def start(self) -> KeepAliveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
