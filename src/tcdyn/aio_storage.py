"""The storage GET of ``tcdyn.aio.download``: aiohttp, or httpx (``deadline.async_client``)
when ``proxies.ProxyRule`` could send a request through a proxy: httpx applies the rule to
every redirect hop, where aiohttp would keep the first hop's proxy.

aiohttp's reads cost about half the CPU per byte of httpcore's async stream on a large body.
Both getters keep the storage rules of ``transfer.client_kwargs``: no credentials,
``Accept-Encoding: identity``, redirects followed, every socket wait bounded by the timeout.
aiohttp failures are raised as the httpx exceptions the httpx getter gives (truncation and
stalls are transport errors, retried; redirect loops and undecodable bodies are not), their
messages without any URL query (where presigned URLs keep their signature).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import httpx
import yarl

from . import storage
from . import transfer as tr
from .aiohttp_transport import _httpx_name
from .deadline import async_client
from .proxies import ProxyRule
from .transport import shared_ssl_context

_HEADERS = {"Accept-Encoding": "identity"}
_URL = re.compile(r"https?://[^\s'\"<>]+")


class Answer:
    """A storage response: status, headers, the body as sent (``raw``, for error text, read
    with ``error_encoding``) and decoded (``chunks``)."""

    def __init__(self, status: int, headers: Any, raw: AsyncIterator[bytes],
                 chunks: AsyncIterator[bytes], error_encoding: str | None) -> None:
        self.status, self.headers = status, headers
        self.raw, self.chunks, self.error_encoding = raw, chunks, error_encoding


class Getter:
    """GETs from storage hosts with one connection pool; ``async with`` closes it."""

    def __init__(self, timeout: float | None) -> None:
        self._httpx: httpx.AsyncClient | None = None
        self._session: aiohttp.ClientSession | None = None
        proxies = ProxyRule.from_environment()
        if proxies.configured:
            self._httpx = storage.abulk(async_client(proxies=proxies,
                                                     **tr.client_kwargs(timeout)))
        else:
            self._session = aiohttp.ClientSession(
                auto_decompress=True, trust_env=False, read_bufsize=storage.READ_SIZE,
                timeout=aiohttp.ClientTimeout(total=None, connect=timeout,
                                              sock_connect=timeout, sock_read=timeout))

    async def __aenter__(self) -> Getter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._httpx is not None:
            await self._httpx.aclose()
        if self._session is not None:
            await self._session.close()

    @asynccontextmanager
    async def get(self, url: str) -> AsyncIterator[Answer]:
        """The response to ``GET url`` (redirects followed), its body not read yet."""
        if self._httpx is not None:
            async with self._httpx.stream("GET", url) as response:
                yield Answer(response.status_code, response.headers, response.aiter_raw(),
                             response.aiter_bytes(), response.headers.get("content-encoding"))
            return
        assert self._session is not None
        target = yarl.URL(url, encoded=True)
        try:
            async with self._session.get(
                    target, headers=_HEADERS, max_redirects=20,
                    ssl=shared_ssl_context() if target.scheme == "https" else True
            ) as response:
                body = response.content.iter_any()
                # aiohttp inflates even an error body: it is read as identity
                yield Answer(response.status, response.headers, body, body, None)
        except aiohttp.ClientError as exc:
            raise _httpx_error(exc) from None


def _httpx_error(exc: aiohttp.ClientError) -> httpx.HTTPError:
    """The httpx exception for an aiohttp failure, its message free of URL queries."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc.__context__
    if isinstance(exc, aiohttp.TooManyRedirects):
        name = "TooManyRedirects"
    elif isinstance(exc, aiohttp.ClientPayloadError) and \
            type(cause).__name__ == "ContentEncodingError":
        name = "DecodingError"
    elif isinstance(exc, getattr(aiohttp, "ConnectionTimeoutError", ())):  # aiohttp >= 3.10
        name = "ConnectTimeout"
    elif isinstance(exc, aiohttp.ServerTimeoutError):
        name = "ReadTimeout"
    else:
        name = _httpx_name(exc)
    message = _URL.sub(lambda m: tr.safe_url(m.group()), str(exc) or type(exc).__name__)
    error: httpx.HTTPError = getattr(httpx, name)(message)
    return error
