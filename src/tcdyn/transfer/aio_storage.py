"""The async flavour of the transfers (``flavours.awaiting``): storage requests through aiohttp,
or through httpx (``transport.clients.async_client``) when ``transport.proxies.ProxyRule``
could send a request through a proxy: httpx applies the rule to every redirect hop, where
aiohttp would keep the first hop's proxy. ``asyncio.sleep``; a per-attempt
``asyncio.timeout``.

aiohttp's reads and writes cost about half the CPU per byte of httpcore's async streams on a
large body. Both keep the storage rules (``hosts.client_kwargs``): no credentials,
``Accept-Encoding: identity``, exactly the PUT headers the service returned, redirects
followed on GET, every socket wait bounded by the timeout; both give the body as sent, which
the transfer decodes itself within ``maxSize``. aiohttp failures are raised as the httpx
exceptions the httpx path gives (truncation and stalls are transport errors, retried;
redirect loops are not), their messages without any URL query (where presigned URLs keep
their signature).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import httpx
import yarl

from ..transport.bulk import READ_SIZE, abulk
from ..transport.clients import async_client
from ..transport.errors import httpx_name
from ..transport.proxies import ProxyRule
from ..transport.tls import shared_ssl_context
from .flavours import Answer, Limit
from .flow import Expired
from .hashing import Chunk
from .hosts import HEADERS, Source, client_kwargs, error_body, exact_headers, safe_url, status_error

_URL = re.compile(r"https?://[^\s'\"<>]+")
#: What aiohttp would add to a request by itself (a PUT carries exactly its headers).
_SKIP = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


class AsyncLimit:
    """``asyncio.timeout`` for one attempt, raising ``Expired``."""

    extensions: dict[str, Any] = {}

    def __init__(self, seconds: float | None, what: str) -> None:
        self.seconds, self.what = seconds, what
        self._cm: asyncio.Timeout | None = None

    async def __aenter__(self) -> AsyncLimit:
        if self.seconds is not None:
            self._cm = asyncio.timeout(self.seconds)
            await self._cm.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._cm is not None:
            try:
                await self._cm.__aexit__(*exc)
            except TimeoutError:
                raise Expired(f"the {self.what} took more than {self.seconds:g} s") from None

    def check(self) -> None:
        """Nothing to do: ``asyncio.timeout`` cancels the attempt."""


class AsyncStorage:
    """One transfer's connections to storage hosts (aiohttp, or httpx with a proxy)."""

    def __init__(self, timeout: float | None) -> None:
        self._httpx: httpx.AsyncClient | None = None
        self._session: aiohttp.ClientSession | None = None
        proxies = ProxyRule.from_environment()
        if proxies.configured:
            self._httpx = abulk(async_client(proxies=proxies, **client_kwargs(timeout)))
        else:
            self._session = aiohttp.ClientSession(
                auto_decompress=False, trust_env=False, read_bufsize=READ_SIZE,
                timeout=aiohttp.ClientTimeout(total=None, connect=timeout,
                                              sock_connect=timeout, sock_read=timeout))

    async def __aenter__(self) -> AsyncStorage:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._httpx is not None:
            await self._httpx.aclose()
        if self._session is not None:
            await self._session.close()

    async def put(self, source: Source, body: AsyncIterator[Chunk], limit: Limit) -> None:
        async with self._request("PUT", source.url, body, source.headers) as answer:
            reader = error_body(answer.headers.get("content-encoding"))
            async for raw in answer.raw:
                if not reader.feed(raw):
                    break
            if answer.status >= 300:
                raise status_error("PUT", source.url, answer.status, reader)

    def get(self, url: str, limit: Limit) -> AbstractAsyncContextManager[Answer]:
        return self._request("GET", url)

    @asynccontextmanager
    async def _request(self, method: str, url: str, body: AsyncIterator[Chunk] | None = None,
                       headers: dict[str, str] | None = None) -> AsyncIterator[Answer]:
        """The answer to ``method url``, its body not read yet; a GET follows redirects."""
        if self._httpx is not None:
            request = self._httpx.build_request(method, url, content=body,  # type: ignore[arg-type]
                                                headers=headers)  # (views of bytes too)
            if headers is not None:
                exact_headers(request, headers)
            sent = await self._httpx.send(request, stream=True, follow_redirects=method == "GET")
            try:
                yield Answer(sent.status_code, sent.headers, sent.aiter_raw())
            finally:
                await sent.aclose()
            return
        assert self._session is not None
        target = yarl.URL(url, encoded=True)
        failed: list[BaseException] = []  # aiohttp sends a body from another task
        try:
            async with self._session.request(
                    method, target, data=_noting(body, failed) if body else None,
                    headers=headers or HEADERS,
                    skip_auto_headers=_SKIP if headers is not None else None,
                    allow_redirects=method == "GET", max_redirects=20,
                    ssl=shared_ssl_context() if target.scheme == "https" else True
            ) as response:
                yield Answer(response.status, response.headers, response.content.iter_any())
        except aiohttp.ClientError as exc:
            if failed:  # the body's own failure (a reader's, a deadline), not the network's
                raise failed[0] from None
            raise _httpx_error(exc) from None


async def _noting(body: AsyncIterator[Chunk], failed: list[BaseException]
                  ) -> AsyncIterator[Chunk]:
    """``body``, its failure noted in ``failed`` (aiohttp reports it as a connection
    error)."""
    try:
        async for chunk in body:
            yield chunk
    except BaseException as exc:
        failed.append(exc)
        raise


def _httpx_error(exc: aiohttp.ClientError) -> httpx.HTTPError:
    """The httpx exception for an aiohttp failure, its message free of URL queries."""
    if isinstance(exc, aiohttp.TooManyRedirects):
        name = "TooManyRedirects"
    elif isinstance(exc, getattr(aiohttp, "ConnectionTimeoutError", ())):  # aiohttp >= 3.10
        name = "ConnectTimeout"
    elif isinstance(exc, aiohttp.ServerTimeoutError):
        name = "ReadTimeout"
    else:
        name = httpx_name(exc)
    message = _URL.sub(lambda m: safe_url(m.group()), str(exc) or type(exc).__name__)
    error: httpx.HTTPError = getattr(httpx, name)(message)
    return error


class AsyncFlavour:
    asynchronous = True

    def storage(self, timeout: float | None) -> AsyncStorage:
        return AsyncStorage(timeout)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def limit(self, seconds: float | None, what: str) -> AsyncLimit:
        return AsyncLimit(seconds, what)

    async def close(self, client: Any) -> None:
        await client.aclose()


ASYNC = AsyncFlavour()
