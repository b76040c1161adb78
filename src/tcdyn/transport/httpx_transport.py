"""The httpx transports: they send ``Call``s with an ``httpx.Client`` or ``AsyncClient``, for a
client given ``client=`` or an ``auth=`` of the user's (tcdyn's own clients send with
``httpcore_transport`` and ``aiohttp_transport``).

Both drive the same ``call.retry.retry_flow`` generator (``drive.drive`` / ``adrive``), so
retries, backoff, error mapping and redirects behave as in the other transports. Redirects are
never followed (a 303's JSON body is the result, as with the official client), which also
keeps credentials from ever reaching another host. Each attempt has one deadline (``timeout``)
for connecting, sending and reading the whole body, and a body is read at most to
``max_response_size`` bytes after decompression.
"""

from __future__ import annotations

from typing import Any

import httpx

from ..call.bind import Call
from ..call.options import DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_TIMEOUT, RetryPolicy
from ..call.response import ACCEPT_ENCODING, BodyReader, Received, Result
from ..call.retry import retry_flow
from ..tracing import TRACE_HEADER
from .base import OWN_AUTH, CallAuth, TransportBase, closed
from .clients import async_client, sync_client
from .deadline import Deadline, Expired, bounded, take
from .drive import PerLoop, adrive, drive, within
from .errors import expired, shown_request
from .proxies import ProxyRule

_HEADERS = {"Accept-Encoding": ACCEPT_ENCODING}
_JSON = {"Content-Type": "application/json"}
_JSON_HEADERS = {**_HEADERS, **_JSON}


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
    """``exc`` with its ``.request`` shown as ``errors.shown_request`` shows requests."""
    try:
        request = exc.request
    except RuntimeError:
        return exc
    try:
        content: bytes | None = request.content
    except httpx.RequestNotRead:
        content = None
    exc.request = shown_request(request.method, request.url, request.headers.raw, content)
    return exc


class _Transport(TransportBase):
    """What both httpx transports share: the auth flow, the client's life, reading a body."""

    def __init__(self, auth: httpx.Auth | None, policy: RetryPolicy, *,
                 client: Any = None, timeout: float | None = DEFAULT_TIMEOUT,
                 max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE) -> None:
        super().__init__(policy, timeout, max_response_size,
                         ProxyRule.from_environment() if client is None else None)
        self.auth = auth
        self._client = client
        self._owns_client = client is None

    def _deadline(self) -> Deadline | None:
        return Deadline(self.timeout) if self.timeout is not None else None

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

class HttpxTransport(_Transport):
    """Sends calls with an ``httpx.Client`` (its own, created on first use, or the user's)."""

    _client: httpx.Client | None

    @property
    def client(self) -> httpx.Client:
        if self._closed:
            raise closed()
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
                if not take(reader, raw, deadline):
                    break
            return self._received(response, reader)
        finally:
            response.close()

    def send(self, call: Call, auth: CallAuth = OWN_AUTH) -> Result:
        """The call's result (retried as the policy says); ``auth`` replaces the
        transport's own for this call."""
        client = self.client
        deadline = self._deadline()
        request = _request(client, call, deadline, self._owns_client)
        signer = self.auth if auth is OWN_AUTH else auth

        def attempt(trace: str) -> Received | httpx.TransportError:
            request.headers[TRACE_HEADER] = trace  # not signed: Hawk stays valid
            try:
                return self._attempt(client, request, deadline, signer)
            except httpx.TransportError as exc:
                return _redacted(exc)
            except Expired as exc:
                return _redacted(expired(exc.total, request))

        return drive(retry_flow(call, self.policy), attempt, call)

    def close(self) -> None:
        self._closed = True
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None


class AsyncHttpxTransport(_Transport):
    """Sends calls with an ``httpx.AsyncClient``; the same decisions as ``HttpxTransport``.

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
            raise closed()
        if self._owns_client:
            return self._clients.get()
        if self._client is None:  # a user's client is only dropped by aclose(): closed above
            raise closed()
        return self._client

    async def _attempt(self, client: httpx.AsyncClient, request: httpx.Request,
                       deadline: Deadline | None, auth: httpx.Auth | None) -> Received:
        if deadline is None:
            return await self._exchange(client, request, None, auth)

        deadline.start()
        try:
            return await within(deadline.total,
                                 self._exchange(client, request, deadline, auth))
        except TimeoutError:
            raise Expired(deadline.total) from None

    async def _exchange(self, client: httpx.AsyncClient, request: httpx.Request,
                        deadline: Deadline | None, auth: httpx.Auth | None) -> Received:
        response = await client.send(request, auth=auth, follow_redirects=False,
                                     stream=True)
        try:
            if response.is_stream_consumed:  # answered from memory (e.g. a MockTransport)
                return self._received(response, self._in_memory(response))
            reader = self._reader(response)
            async for raw in response.aiter_raw():
                if not take(reader, raw, deadline):
                    break
            return self._received(response, reader)
        finally:
            await response.aclose()

    async def send(self, call: Call, auth: CallAuth = OWN_AUTH) -> Result:
        """The call's result (see ``HttpxTransport.send``)."""
        client = self.client
        deadline = self._deadline()
        request = _request(client, call, deadline, self._owns_client)
        signer = self.auth if auth is OWN_AUTH else auth

        async def attempt(trace: str) -> Received | httpx.TransportError:
            request.headers[TRACE_HEADER] = trace
            try:
                return await self._attempt(client, request, deadline, signer)
            except httpx.TransportError as exc:
                return _redacted(exc)
            except Expired as exc:
                return _redacted(expired(exc.total, request))

        return await adrive(retry_flow(call, self.policy), attempt, call)

    async def aclose(self) -> None:
        self._closed = True
        self._client = None
        await self._clients.aclose()
