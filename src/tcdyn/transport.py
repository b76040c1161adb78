"""The httpx transports: they send ``Call``s with an ``httpx.Client`` or ``AsyncClient``.

Both transports drive the same ``request.retry_flow`` generator, so retries, backoff, error
mapping and redirects behave identically; they differ only in how they send, read and sleep.
Redirects are never followed (a 303's JSON body is the result, as with the official client),
which also keeps credentials from ever reaching another host. Each attempt has one deadline
(``timeout``) for connecting, sending and reading the whole body, and a body is read at most
to ``max_response_size`` bytes after decompression.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

from .deadline import Deadline, async_client, bounded, sync_client
from .deadline import shared_ssl_context as shared_ssl_context  # re-exported (aiohttp_transport)
from .errors import ClientClosedError
from .options import DEFAULT_MAX_RESPONSE_SIZE
from .options import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT  # re-exported for the transports
from .proxies import ProxyRule
from .request import Call, RetryPolicy, Send, Sleep, retry_flow
from .response import ACCEPT_ENCODING, BodyReader, Received

_HEADERS = {"Accept-Encoding": ACCEPT_ENCODING}
_JSON = {"Content-Type": "application/json"}
_JSON_HEADERS = {**_HEADERS, **_JSON}
_REDACTED = "<redacted>"
#: ``send(call)`` signs with the transport's own auth (``auth=None`` sends unsigned).
OWN_AUTH: Any = object()
_T = TypeVar("_T")


if TYPE_CHECKING:
    import asyncio  # the async driver imports it when used: sync programs never load it


async def _within(seconds: float, awaitable: Awaitable[_T]) -> _T:
    import asyncio

    async with asyncio.timeout(seconds):
        return await awaitable


def _request(client: httpx.Client | httpx.AsyncClient, call: Call,
             deadline: Deadline | None, own: bool) -> httpx.Request:
    # A client tcdyn made asks for gzip/deflate by default; a user's may accept more.
    headers: dict[str, str] | None
    if call.body is not None:
        headers = _JSON if own else _JSON_HEADERS
    else:
        headers = None if own else _HEADERS
    return client.build_request(
        call.http_method, call.url, params=call.query, content=call.body, headers=headers,
        extensions={"timeout": deadline if deadline is not None else
                    {"connect": None, "read": None, "write": None, "pool": None}})


def _redacted(exc: httpx.TransportError) -> httpx.TransportError:
    """``exc`` with its ``.request`` replaced by a copy whose Authorization is redacted."""
    try:
        request = exc.request
    except RuntimeError:
        return exc
    if "authorization" in request.headers:
        headers = request.headers.copy()
        headers["Authorization"] = _REDACTED
        try:
            content: bytes | None = request.content
        except httpx.RequestNotRead:
            content = None
        exc.request = httpx.Request(request.method, request.url, headers=headers,
                                    content=content)
    return exc



def drive(flow: Generator[Send | Sleep, Any, Any], attempt: Callable[[], Any]) -> Any:
    """Run the sans-IO retry ``flow`` (``request.retry_flow``): ``attempt()`` (a
    ``Received``, or the exception that prevented one) at each ``Send``, a sleep at each
    ``Sleep``; returns the flow's result. Every sync transport drives its calls with it."""
    step = next(flow)
    while True:
        outcome: Any = None
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
        else:
            outcome = attempt()
        try:
            step = flow.send(outcome)
        except StopIteration as done:
            return done.value


async def adrive(flow: Generator[Send | Sleep, Any, Any],
                 attempt: Callable[[], Awaitable[Any]]) -> Any:
    """:func:`drive` for the async transports: ``await attempt()``, ``asyncio.sleep``."""
    import asyncio

    step = next(flow)
    while True:
        outcome: Any = None
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
        else:
            outcome = await attempt()
        try:
            step = flow.send(outcome)
        except StopIteration as done:
            return done.value

class _Transport:
    """What both transports share: the auth flow, the retry policy, limits, the client's
    life."""

    def __init__(self, auth: httpx.Auth | None, policy: RetryPolicy, *,
                 client: Any = None, timeout: float | None = DEFAULT_TIMEOUT,
                 max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE) -> None:
        self.auth = auth
        self.policy = policy
        self.timeout = timeout
        self.max_response_size = max_response_size
        self._client = client
        self._owns_client = client is None
        self._closed = False
        #: The proxies of the environment when the client was made (a user's client has its own).
        self.proxies = ProxyRule.from_environment() if client is None else None

    def _deadline(self) -> Deadline | None:
        return Deadline(self.timeout) if self.timeout is not None else None

    def _closed_error(self) -> ClientClosedError:
        return ClientClosedError("this tcdyn client was closed: create a new one (a closed "
                                 "client never reopens its connections)")

    @staticmethod
    def _expired(request: httpx.Request, deadline: Deadline) -> httpx.ReadTimeout:
        return httpx.ReadTimeout(f"no whole response within the {deadline.total:g} s "
                                 "timeout", request=request)

    def _reader(self, response: httpx.Response) -> BodyReader:
        return BodyReader(response.headers.get("content-encoding"), self.max_response_size)

    def _in_memory(self, response: httpx.Response) -> BodyReader:
        reader = BodyReader(None, self.max_response_size)  # httpx has decoded it already
        reader.feed(response.content)
        return reader

    @staticmethod
    def _received(response: httpx.Response, reader: BodyReader) -> Received:
        return Received(response.status_code, response.headers, reader.content(),
                        str(response.url), reader.too_large, reader.undecodable, reader.limit)


class SyncTransport(_Transport):
    """Sends calls with an ``httpx.Client`` (its own, created on first use, or the user's)."""

    _client: httpx.Client | None

    @property
    def client(self) -> httpx.Client:
        if self._closed:
            raise self._closed_error()
        if self._client is None:
            self._client = sync_client(follow_redirects=False, headers=_HEADERS,
                                       proxies=self.proxies)
        return self._client

    def _attempt(self, client: httpx.Client, request: httpx.Request,
                 deadline: Deadline | None, auth: httpx.Auth | None) -> Received:
        if deadline is None:
            return self._exchange(client, request, None, auth)
        deadline.start()
        with bounded(deadline):
            return self._exchange(client, request, deadline, auth)

    def _exchange(self, client: httpx.Client, request: httpx.Request,
                  deadline: Deadline | None, auth: httpx.Auth | None) -> Received:
        response = client.send(request, auth=auth, follow_redirects=False, stream=True)
        try:
            if response.is_stream_consumed:  # answered from memory (e.g. a MockTransport)
                return self._received(response, self._in_memory(response))
            reader = self._reader(response)
            for raw in response.iter_raw():
                if deadline is not None and deadline.expired():
                    raise self._expired(request, deadline)
                if not reader.feed(raw):
                    break
            return self._received(response, reader)
        finally:
            response.close()

    def send(self, call: Call, auth: Any = OWN_AUTH) -> Any:
        """The call's result (retried as the policy says); ``auth`` replaces the
        transport's own for this call."""
        client = self.client
        deadline = self._deadline()
        request = _request(client, call, deadline, self._owns_client)
        if auth is OWN_AUTH:
            auth = self.auth

        def attempt() -> Any:
            try:
                return self._attempt(client, request, deadline, auth)
            except httpx.TransportError as exc:
                return _redacted(exc)

        return drive(retry_flow(call, self.policy), attempt)

    def close(self) -> None:
        self._closed = True
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None


class AsyncTransport(_Transport):
    """Sends calls with an ``httpx.AsyncClient``; the same decisions as ``SyncTransport``.

    The ``httpx.AsyncClient`` tcdyn creates belongs to the event loop it was created on
    (``PerLoop``): it is closed when that loop shuts down (``asyncio.run`` finalises async
    generators before closing its loop, which runs ``close_at_shutdown``), and each other
    loop using the client, at the same time or later, gets one of its own.
    """

    _client: httpx.AsyncClient | None

    def __init__(self, auth: httpx.Auth | None, policy: RetryPolicy, *,
                 client: Any = None, timeout: float | None = DEFAULT_TIMEOUT,
                 max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE) -> None:
        super().__init__(auth, policy, client=client, timeout=timeout,
                         max_response_size=max_response_size)
        self._clients: PerLoop[httpx.AsyncClient] = PerLoop(
            lambda: async_client(follow_redirects=False, headers=_HEADERS,
                                 proxies=self.proxies),
            lambda client: client.aclose())

    @property
    def client(self) -> httpx.AsyncClient:
        if self._closed:
            raise self._closed_error()
        if self._owns_client:
            return self._clients.get()
        if self._client is None:  # a user's client is only dropped by aclose(): closed above
            raise self._closed_error()
        return self._client

    async def _attempt(self, client: httpx.AsyncClient, request: httpx.Request,
                       deadline: Deadline | None, auth: httpx.Auth | None) -> Received:
        if deadline is None:
            return await self._exchange(client, request, None, auth)

        deadline.start()
        try:
            return await _within(deadline.total,
                                 self._exchange(client, request, deadline, auth))
        except TimeoutError:
            raise self._expired(request, deadline) from None

    async def _exchange(self, client: httpx.AsyncClient, request: httpx.Request,
                        deadline: Deadline | None, auth: httpx.Auth | None) -> Received:
        response = await client.send(request, auth=auth, follow_redirects=False,
                                     stream=True)
        try:
            if response.is_stream_consumed:  # answered from memory (e.g. a MockTransport)
                return self._received(response, self._in_memory(response))
            reader = self._reader(response)
            async for raw in response.aiter_raw():
                if deadline is not None and deadline.expired():
                    raise self._expired(request, deadline)
                if not reader.feed(raw):
                    break
            return self._received(response, reader)
        finally:
            await response.aclose()

    async def send(self, call: Call, auth: Any = OWN_AUTH) -> Any:
        """The call's result (see ``SyncTransport.send``)."""
        client = self.client
        deadline = self._deadline()
        request = _request(client, call, deadline, self._owns_client)
        if auth is OWN_AUTH:
            auth = self.auth

        async def attempt() -> Any:
            try:
                return await self._attempt(client, request, deadline, auth)
            except httpx.TransportError as exc:
                return _redacted(exc)

        return await adrive(retry_flow(call, self.policy), attempt)

    async def aclose(self) -> None:
        self._closed = True
        self._client = None
        await self._clients.aclose()


def close_at_shutdown(close: Callable[[], Awaitable[Any]]) -> AsyncGenerator[None, None]:
    """A started async generator that awaits ``close()`` when it is finalised: by
    ``aclose()``, by the loop's shutdown (``loop.shutdown_asyncgens``), or when dropped.
    Both async drivers tie their connection pool to its event loop with it."""
    async def closer() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await close()

    gen = closer()
    with contextlib.suppress(StopIteration):  # to the first yield: the loop now knows it
        gen.asend(None).send(None)
    return gen


_P = TypeVar("_P")


class PerLoop(Generic[_P]):
    """One connection pool per event loop, for a client used from several loops (threads
    each running their own, or ``asyncio.run`` after ``asyncio.run``): a pool belongs to
    the loop it was made on, as its connections do. Each is closed when its loop shuts
    down (``close_at_shutdown``) or by ``aclose()`` on that loop; none is ever closed
    from another loop, where calls may still be using it."""

    __slots__ = ("_close", "_make", "_pools")

    def __init__(self, make: Callable[[], _P], close: Callable[[_P], Awaitable[Any]]) -> None:
        self._make = make
        self._close = close
        self._pools: dict[asyncio.AbstractEventLoop,
                          tuple[_P, AsyncGenerator[None, None]]] = {}

    def get(self) -> _P:
        """The running loop's pool, made on first use there."""
        import asyncio

        loop = asyncio.get_running_loop()
        entry = self._pools.get(loop)
        if entry is None:
            for old in [old for old in list(self._pools) if old.is_closed()]:
                self._pools.pop(old, None)  # a loop closed without shutting down its pools
            pool = self._make()
            entry = self._pools[loop] = (pool, close_at_shutdown(
                lambda: self._retire(loop, pool)))
        return entry[0]

    async def _retire(self, loop: asyncio.AbstractEventLoop, pool: _P) -> None:
        entry = self._pools.get(loop)
        if entry is not None and entry[0] is pool:
            del self._pools[loop]
        await self._close(pool)

    async def aclose(self) -> None:
        """Close the running loop's pool (the others close as their loops shut down)."""
        import asyncio

        entry = self._pools.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()  # closes the pool
