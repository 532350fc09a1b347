"""``Simulator``: the platform, its HTTP server and its callbacks, started together."""

from __future__ import annotations

import threading
from types import TracebackType

from .callbacks import CallbackDispatcher
from .platform import Platform
from .server import SimulatorServer


class Simulator:
    """A local EngageLab, for the demo, tests and benchmarks.

    ``with Simulator() as sim:`` starts it on a free port of 127.0.0.1;
    ``sim.url`` is the value for ``ENGAGELAB_OTP["API_URL"]`` and
    ``sim.platform`` its in-memory state. ``code_ttl`` (seconds) applies to
    every template; ``callback_delay`` is the pause between two lifecycle
    steps in the callbacks, ``callback_retry_delay`` the first wait before a
    failed callback is posted again. ``seed`` makes codes and the error rate
    reproducible.
    """

    def __init__(
        self,
        dev_key: str = "demo-key",
        dev_secret: str = "demo-secret",  # noqa: S107 - the simulator's public demo credentials
        *,
        callback_url: str | None = None,
        webhook_username: str | None = None,
        webhook_secret: str | None = None,
        webhook_authorization: str | None = None,
        latency_ms: float = 0,
        error_rate: float = 0.0,
        code_ttl: float | None = 300,
        seed_templates: bool = True,
        seed: int | None = None,
        callback_delay: float = 1.0,
        callback_retry_delay: float = 1.0,
        callback_attempts: int = 4,
    ) -> None:
        self.dev_key = dev_key
        self._dev_secret = dev_secret
        self.platform = Platform(
            dev_key,
            dev_secret,
            latency_ms=latency_ms,
            error_rate=error_rate,
            code_ttl=code_ttl,
            seed_templates=seed_templates,
            seed=seed,
        )
        self.callbacks: CallbackDispatcher | None = None
        if callback_url:
            self.callbacks = CallbackDispatcher(
                callback_url,
                username=webhook_username,
                secret=webhook_secret,
                authorization=webhook_authorization,
                step_delay=callback_delay,
                retry_delay=callback_retry_delay,
                max_attempts=callback_attempts,
            )
            self.callbacks.attach(self.platform)
        self._server: SimulatorServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        where = self.url if self._server else "stopped"
        return f"<Simulator {where} dev_key={self.dev_key!r}>"

    @property
    def dev_secret(self) -> str:
        """The secret clients must use (a demo value, not a real credential)."""
        return self._dev_secret

    # ------------------------------------------------------------------ life

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Simulator:
        """Listen on ``host:port`` (0: a free port) and serve from a background thread."""
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        server = SimulatorServer((host, port), self.platform)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="engagelab-simulator", daemon=True
        )
        self._thread.start()
        if self.callbacks is not None:
            self.callbacks.start()
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and pending callbacks. Safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            server.stopping.set()
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self.callbacks is not None:
            self.callbacks.stop()

    def __enter__(self) -> Simulator:
        return self if self._server is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ where

    @property
    def server(self) -> SimulatorServer:
        if self._server is None:
            raise RuntimeError("the simulator is not running: call start() first")
        return self._server

    @property
    def host(self) -> str:
        return str(self.server.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://host:port`` (debug endpoints hang under ``/_simulator/``)."""
        host = self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The API root, ``http://host:port/v1/``: the value for ``ENGAGELAB_OTP["API_URL"]``."""
        return f"{self.base_url}/v1/"
