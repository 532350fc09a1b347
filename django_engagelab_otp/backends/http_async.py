"""The async calls of the HTTP backend: the same requests and answers on httpx, one pooled client per event loop.

:class:`AsyncHTTP` is a mixin of :class:`~.http.HTTPBackend`: the requests,
the reading of answers and the failures' names come from :mod:`.protocol`,
the retry schedule from :mod:`.retries`, as for the sync calls; only the
bytes go out through an ``httpx.AsyncClient`` and the waits between two
tries are ``await``-ed.

An ``httpx.AsyncClient`` belongs to the event loop it first ran in, so each
running loop gets its own (:class:`LoopClients`), kept alive between calls
(HTTP/1.1, at most :attr:`AsyncHTTP.max_connections` connections: more
concurrent calls wait for one). Servers that run each request in a new loop
(an async view under WSGI: ``async_to_sync``) get a client per loop, closed
when its loop shuts down (``asyncio.run`` and asgiref do that).

Error reports: Django hides the variables of a coroutine's frame only when
that coroutine itself is marked ``sensitive_variables()``, not those of the
coroutines it awaits. The backend's own are marked; so are, once, the
coroutine functions of httpx and httpcore that a request passes through,
whose frames hold the encoded headers (the Basic token) and body (the
number, the code): :func:`_hide_library_frames`.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import ssl
import sys
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import httpx
from django.views.decorators.debug import sensitive_variables

from ..exceptions import EngageLabError
from . import environment, protocol
from .base import Params, SendResult, VerifyResult
from .protocol import CONFIGURATION, DISCONNECTED, TIMEOUT, TLS, UNREACHABLE, Call, Timeout, transport_failure
from .retries import attempts

if TYPE_CHECKING:  # pragma: no cover
    from ..sealed import SealedText


class AsyncHTTP:
    """``asend_message``, ``asend_custom_message``, ``asend_code``, ``averify`` and ``aclose``.

    A mixin: it reads the settings the backend was built with (``api_url``,
    ``timeout``, ``max_retries``, ``user_agent``, ``backoff()``, the sealed
    Basic header and the secrets to scrub) and waits with ``_asleep``.
    """

    #: Connections one event loop's client keeps alive and uses at once; more concurrent calls wait for one.
    max_connections: int = 10
    #: Seconds an idle connection is kept for the next call.
    keepalive_expiry: float = 30.0

    api_url: str
    timeout: Timeout
    max_retries: int
    user_agent: str
    backoff: Callable[[int], float]
    _authorization: SealedText
    _hidden: Sequence[str]
    _asleep: Callable[[float], Awaitable[Any]]

    def _start_async(self) -> None:
        """Called by the backend's constructor."""
        self._loop_clients = LoopClients(self._new_async_client)

    # ------------------------------------------------------------------ endpoints

    @sensitive_variables()
    async def asend_message(
        self, to: str, template_id: str, *, language: str | None = None, params: Params = None
    ) -> SendResult:
        """POST /v1/messages, awaited."""
        return await self._aexchange(protocol.send_message(to, template_id, language, params))

    @sensitive_variables()
    async def asend_custom_message(
        self, to: str | Sequence[str], template_id: str, *, params: Params = None
    ) -> SendResult:
        """POST /v1/custom-messages, awaited."""
        return await self._aexchange(protocol.send_custom_message(to, template_id, params))

    @sensitive_variables()
    async def asend_code(
        self, to: str, code: str, template_id: str, *, language: str | None = None, params: Params = None
    ) -> SendResult:
        """POST /v1/codes, awaited."""
        return await self._aexchange(protocol.send_code(to, code, template_id, language, params))

    @sensitive_variables()
    async def averify(self, message_id: str, code: str) -> VerifyResult:
        """POST /v1/verifications, awaited."""
        return await self._aexchange(protocol.verify(message_id, code))

    async def aclose(self) -> None:
        """Close the connections of this event loop's client now, and every other one as ``close()`` does."""
        await self._loop_clients.aclose_current()
        self.close()  # type: ignore[attr-defined]  # the backend's: its sync sessions, the other loops' clients

    # ------------------------------------------------------------------ plumbing

    @sensitive_variables()
    async def _aexchange(self, call: Call) -> Any:
        return call.result(await self._arequest(call))

    @sensitive_variables()
    async def _arequest(self, call: Call) -> Any:
        """The one retry schedule (:mod:`.retries`), waiting with ``await``."""
        for attempt in attempts(call, self.max_retries, self.backoff):
            with attempt:
                return await self._arequest_once(call)
            await self._asleep(attempt.wait)
        # Not reached: the last attempt lets its failure through.

    @sensitive_variables()
    async def _arequest_once(self, call: Call) -> Any:
        client = await self._loop_clients.get()
        started = time.monotonic()
        try:
            # Built here, not by client.request(): its frame would hold the body in an unmarked coroutine.
            request = client.build_request(
                call.method, urljoin(self.api_url, call.path), content=call.body, headers=call.headers
            )
            response = await client.send(request)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise _transport_error(error, self.api_url, idempotent=call.idempotent) from None
        location = response.headers.get("Location")
        return call.read(response.status_code, response.content, location, self._hidden, started)

    def _new_async_client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=self.max_connections,
            keepalive_expiry=self.keepalive_expiry,
        )
        return httpx.AsyncClient(
            transport=self._async_transport(limits),
            # httpx keeps header values as bytes; its Headers print this one as [secure].
            headers={"Authorization": self._authorization, "User-Agent": self.user_agent, "Accept": "application/json"},
            timeout=_timeout(self.timeout),
            follow_redirects=False,
            # Read once, the requests way (environment.py), as the sync sessions do.
            trust_env=False,
        )

    def _async_transport(self, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        """Where the bytes go: the network (the in-memory backend answers from its platform instead)."""
        # No retries down here: _arequest is the one retry loop.
        return httpx.AsyncHTTPTransport(
            verify=environment.ssl_context(), proxy=environment.proxy_for(self.api_url), limits=limits, retries=0
        )


def _timeout(timeout: Timeout) -> httpx.Timeout:
    """The setting as httpx takes it: a pair is (connect, read); writing and waiting for a connection get ``read``."""
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    return httpx.Timeout(connect=connect, read=read, write=read, pool=read)


# ---------------------------------------------------------------------- failures

#: Failures before the request could leave: nothing was sent.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


def _transport_error(error: Exception, api_url: str, *, idempotent: bool) -> EngageLabError:
    """Map an httpx failure onto the names the requests one gets (:func:`.protocol.transport_failure`)."""
    reason = _reason(error)
    if isinstance(error, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        kind = CONFIGURATION
    elif isinstance(error, httpx.ConnectError) and isinstance(reason, ssl.SSLError):
        kind = TLS  # the handshake failed: nothing was sent
    elif isinstance(error, _NOT_SENT):
        kind = UNREACHABLE
    elif isinstance(error, (httpx.ReadTimeout, httpx.WriteTimeout)):
        kind = TIMEOUT
    else:  # the request (or part of it) left: the platform may have acted on it
        kind = DISCONNECTED
    return transport_failure(kind, type(reason).__name__, api_url, idempotent=idempotent)


def _reason(error: BaseException) -> BaseException:
    """The failure underneath httpx's and httpcore's wrappers (an ``ssl.SSLError``, a ``ConnectionResetError`` …).

    httpx raises its errors ``from`` httpcore's, which hold the original as
    their argument (and context).
    """
    for _depth in range(8):  # a chain that loops back on itself ends too
        argument = error.args[0] if error.args else None
        inner = argument if isinstance(argument, BaseException) else error.__cause__ or error.__context__
        if inner is None:
            break
        error = inner
    return error


# ---------------------------------------------------------------------- one client per event loop


class LoopClients:
    """One ``httpx.AsyncClient`` per running event loop, made on first use.

    Keyed weakly by the loop, so that a loop that is gone does not keep its
    client; closed when the loop shuts down its async generators (as
    ``asyncio.run`` and asgiref's ``async_to_sync`` do), on :meth:`aclose_current`
    and on :meth:`close`.
    """

    def __init__(self, build: Callable[[], httpx.AsyncClient]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = weakref.WeakKeyDictionary()

    async def get(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        entry = self._clients.get(loop)
        if entry is None or entry.client.is_closed:
            entry = _LoopClient(self._build())
            with self._lock:
                self._clients[loop] = entry
            await entry.close_with_loop(self._forget)
        return entry.client

    def __len__(self) -> int:
        return len(self._clients)

    def _forget(self, loop: asyncio.AbstractEventLoop, entry: _LoopClient) -> None:
        with self._lock:
            if self._clients.get(loop) is entry:
                del self._clients[loop]

    async def aclose_current(self) -> None:
        """Close the running loop's client."""
        loop = asyncio.get_running_loop()
        entry = self._clients.get(loop)
        if entry is not None:
            self._forget(loop, entry)
            await entry.aclose()

    def close(self) -> None:
        """Close every loop's client: at once in a running loop (as a task), forgotten in one that is not running.

        A loop that is not running cannot close its sockets; they close as the
        client is collected.
        """
        with self._lock:
            entries = list(self._clients.items())
            self._clients.clear()
        for loop, entry in entries:
            if loop.is_running():
                asyncio.run_coroutine_threadsafe(entry.aclose(), loop)


class _LoopClient:
    """A loop's client, and the async generator through which the loop closes it when it shuts down."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._watch: AsyncGenerator[None, None] | None = None

    async def close_with_loop(self, forget: Callable[[asyncio.AbstractEventLoop, _LoopClient], None]) -> None:
        # A loop running with asyncio's hooks keeps a (weak) list of the async generators started in it,
        # and closes each one when it shuts down: this one's `finally` then closes the client.
        if sys.get_asyncgen_hooks().firstiter is None:
            return
        self._watch = self._closing(asyncio.get_running_loop(), forget)
        await self._watch.__anext__()

    async def _closing(
        self, loop: asyncio.AbstractEventLoop, forget: Callable[[asyncio.AbstractEventLoop, _LoopClient], None]
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            forget(loop, self)  # the generator refers to its loop: no entry may outlive it
            await self.client.aclose()

    async def aclose(self) -> None:
        if self._watch is not None:
            await self._watch.aclose()
        await self.client.aclose()


# ---------------------------------------------------------------------- error reports

#: The modules of httpx and httpcore whose coroutines a request passes through.
_LIBRARY_MODULES = (
    "httpx._client",
    "httpx._transports.default",
    "httpcore._async.connection_pool",
    "httpcore._async.connection",
    "httpcore._async.http11",
    "httpcore._async.http_proxy",
    "httpcore._backends.auto",
    "httpcore._backends.anyio",
)


def _hide_library_frames() -> None:
    """Mark httpx's and httpcore's coroutine functions ``sensitive_variables()``, as the backend's own are.

    Django registers a coroutine function by its code's place and returns it
    unchanged, so nothing is patched. Their frames hold the encoded Basic
    header and the body while a request goes out; the sync calls get the same
    from Django walking up to the client's marked frame, which coroutines do
    not allow. Error reports then hide these frames' variables for every use
    of httpx in the process, which is what such frames deserve anyway.
    """
    for name in _LIBRARY_MODULES:
        module = importlib.import_module(name)
        members = list(vars(module).values())
        for value in list(members):
            if inspect.isclass(value):
                members.extend(vars(value).values())
        for member in members:
            # Defined in this module (httpcore gives its public classes the package's name as __module__).
            code = getattr(member, "__code__", None)
            if inspect.iscoroutinefunction(member) and code is not None and code.co_filename == module.__file__:
                sensitive_variables()(member)


_hide_library_frames()
