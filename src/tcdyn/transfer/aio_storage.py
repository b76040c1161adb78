"""The async flavour of the transfers (``flavours.awaiting``): ``asyncio.sleep``, a per-attempt
``asyncio.timeout``, PUTs through httpx (``transport.clients.async_client`` with
``transport.bulk``'s copy-free writes), GETs through aiohttp, or through httpx when
``transport.proxies.ProxyRule`` could send a request through a proxy: httpx applies the rule
to every redirect hop, where aiohttp would keep the first hop's proxy.

aiohttp's reads cost about half the CPU per byte of httpcore's async stream on a large body.
Both keep the storage rules (``hosts.client_kwargs``): no credentials,
``Accept-Encoding: identity``, redirects followed on GET, every socket wait bounded by the
timeout; both give the body as sent, which the transfer decodes itself within ``maxSize``.
aiohttp failures are raised as the httpx exceptions the httpx path gives (truncation and
stalls are transport errors, retried; redirect loops are not), their messages without any
URL query (where presigned URLs keep their signature).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
        proxies = ProxyRule.from_environment()
        self._httpx = abulk(async_client(proxies=proxies, **client_kwargs(timeout)))
        self._session: aiohttp.ClientSession | None = None
        if not proxies.configured:
            self._session = aiohttp.ClientSession(
                auto_decompress=False, trust_env=False, read_bufsize=READ_SIZE,
                timeout=aiohttp.ClientTimeout(total=None, connect=timeout,
                                              sock_connect=timeout, sock_read=timeout))

    async def __aenter__(self) -> AsyncStorage:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._httpx.aclose()
        if self._session is not None:
            await self._session.close()

    async def put(self, source: Source, body: AsyncIterator[Chunk], limit: Limit) -> None:
        """Through httpx always: a host may answer (and hang up) before reading the whole
        body, which httpcore then reports, where aiohttp reports a write error."""
        request = self._httpx.build_request("PUT", source.url, content=body,  # type: ignore[arg-type]
                                            headers=source.headers)  # (views of bytes too)
        exact_headers(request, source.headers)
        response = await self._httpx.send(request, stream=True, follow_redirects=False)
        try:
            reader = error_body(response.headers.get("content-encoding"))
            async for raw in response.aiter_raw():
                if not reader.feed(raw):
                    break
            if response.status_code >= 300:
                raise status_error("PUT", source.url, response.status_code, reader)
        finally:
            await response.aclose()

    @asynccontextmanager
    async def get(self, url: str, limit: Limit) -> AsyncIterator[Answer]:
        """The answer to ``GET url`` (redirects followed), its body not read yet."""
        if self._session is None:
            async with self._httpx.stream("GET", url) as response:
                yield Answer(response.status_code, response.headers, response.aiter_raw())
            return
        target = yarl.URL(url, encoded=True)
        try:
            async with self._session.get(
                    target, headers=HEADERS, max_redirects=20,
                    ssl=shared_ssl_context() if target.scheme == "https" else True
            ) as response:
                yield Answer(response.status, response.headers, response.content.iter_any())
        except aiohttp.ClientError as exc:
            raise _httpx_error(exc) from None


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
