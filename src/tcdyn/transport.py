"""The only code that does HTTP I/O: it sends ``Call``s with httpx, sync or async.

Both transports drive the same ``request.exchange`` generator, so retries, backoff, error
mapping and redirects behave identically; they differ only in how they send, read and sleep.
Redirects are never followed (a 303's JSON body is the result, as with the official client),
which also keeps credentials from ever reaching another host. Each attempt has one deadline
(``timeout``) for connecting, sending and reading the whole body, and a body is read at most
to ``max_response_size`` bytes after decompression.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from .errors import TaskclusterFailure
from .request import SEND, Call, RetryPolicy, exchange
from .response import ACCEPT_ENCODING, DEFAULT_MAX_RESPONSE_SIZE, BodyReader, Received

DEFAULT_TIMEOUT = 30.0
_HEADERS = {"Accept-Encoding": ACCEPT_ENCODING}
_JSON_HEADERS = {**_HEADERS, "Content-Type": "application/json"}
_REDACTED = "<redacted>"


class ClientClosedError(TaskclusterFailure, RuntimeError):
    """A client was used after ``close()`` / ``aclose()``."""


class _Deadline(dict):
    """The ``timeout`` extension httpcore reads before every connect, read and write: each
    wait is bounded by what is left of the attempt's total time."""

    __slots__ = ("_end", "total")

    def __init__(self, total: float) -> None:
        super().__init__(connect=total, read=total, write=total, pool=total)
        self.total = total
        self._end = 0.0

    def start(self) -> None:
        self._end = time.monotonic() + self.total

    def get(self, key: Any, default: Any = None) -> float:
        # A wait of 0 would make the socket non-blocking; a millisecond times out cleanly.
        return max(self._end - time.monotonic(), 0.001)

    def expired(self) -> bool:
        return time.monotonic() >= self._end


def _request(client: httpx.Client | httpx.AsyncClient, call: Call,
             deadline: _Deadline | None) -> httpx.Request:
    return client.build_request(
        call.method, call.url, params=call.query, content=call.body,
        headers=_JSON_HEADERS if call.body is not None else _HEADERS,
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

    def _deadline(self) -> _Deadline | None:
        return _Deadline(self.timeout) if self.timeout is not None else None

    def _closed_error(self) -> ClientClosedError:
        return ClientClosedError("this tcdyn client was closed: create a new one (a closed "
                                 "client never reopens its connections)")

    @staticmethod
    def _expired(request: httpx.Request, deadline: _Deadline) -> httpx.ReadTimeout:
        return httpx.ReadTimeout(f"no whole response within the {deadline.total:g} s "
                                 "timeout", request=request)

    def _reader(self, response: httpx.Response) -> BodyReader:
        return BodyReader(response.headers.get("content-encoding"), self.max_response_size)

    @staticmethod
    def _received(response: httpx.Response, reader: BodyReader) -> Received:
        return Received(response.status_code, response.headers, reader.content(),
                        str(response.url), reader.too_large, reader.undecodable)


class SyncTransport(_Transport):
    """Sends calls with an ``httpx.Client`` (its own, created on first use, or the user's)."""

    @property
    def client(self) -> httpx.Client:
        if self._closed:
            raise self._closed_error()
        if self._client is None:
            self._client = httpx.Client(follow_redirects=False)
        return self._client

    def _attempt(self, client: httpx.Client, request: httpx.Request,
                 deadline: _Deadline | None) -> Received:
        if deadline is not None:
            deadline.start()
        response = client.send(request, auth=self.auth, follow_redirects=False, stream=True)
        try:
            reader = self._reader(response)
            for raw in response.iter_raw():
                if deadline is not None and deadline.expired():
                    raise self._expired(request, deadline)
                if not reader.feed(raw):
                    break
            return self._received(response, reader)
        finally:
            response.close()

    def send(self, call: Call) -> Any:
        client = self.client
        deadline = self._deadline()
        request = _request(client, call, deadline)
        flow = exchange(call, self.policy)
        step = next(flow)
        while True:
            if step is SEND:
                try:
                    outcome: Any = self._attempt(client, request, deadline)
                except httpx.TransportError as exc:
                    outcome = _redacted(exc)
            else:
                time.sleep(step.seconds)
                outcome = None
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                return done.value

    def close(self) -> None:
        self._closed = True
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None


class AsyncTransport(_Transport):
    """Sends calls with an ``httpx.AsyncClient``; the same decisions as ``SyncTransport``.

    The ``httpx.AsyncClient`` tcdyn creates belongs to the event loop it was created on; on
    another loop (a second ``asyncio.run``) a new one replaces it."""

    _loop: asyncio.AbstractEventLoop | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._closed:
            raise self._closed_error()
        if self._owns_client:
            loop = asyncio.get_running_loop()
            if self._client is None or self._loop is not loop:
                self._release()
                self._client = httpx.AsyncClient(follow_redirects=False)
                self._loop = loop
        return self._client

    def _release(self) -> None:
        """Let go of a client made on another loop, closing it there if that loop runs."""
        old, loop = self._client, self._loop
        self._client = self._loop = None
        if old is not None and loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(old.aclose(), loop)

    async def _attempt(self, client: httpx.AsyncClient, request: httpx.Request,
                       deadline: _Deadline | None) -> Received:
        if deadline is not None:
            deadline.start()
        response = await client.send(request, auth=self.auth, follow_redirects=False,
                                     stream=True)
        try:
            reader = self._reader(response)
            async for raw in response.aiter_raw():
                if deadline is not None and deadline.expired():
                    raise self._expired(request, deadline)
                if not reader.feed(raw):
                    break
            return self._received(response, reader)
        finally:
            await response.aclose()

    async def send(self, call: Call) -> Any:
        client = self.client
        deadline = self._deadline()
        request = _request(client, call, deadline)
        flow = exchange(call, self.policy)
        step = next(flow)
        while True:
            if step is SEND:
                try:
                    outcome: Any = await self._attempt(client, request, deadline)
                except httpx.TransportError as exc:
                    outcome = _redacted(exc)
            else:
                await asyncio.sleep(step.seconds)
                outcome = None
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                return done.value

    async def aclose(self) -> None:
        self._closed = True
        if self._owns_client and self._client is not None:
            if self._loop is asyncio.get_running_loop():
                await self._client.aclose()
            else:
                self._release()
            self._client = None
