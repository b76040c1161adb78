"""The storage GET of ``tcdyn.aio.download``: aiohttp, or httpx (``transport.clients.async_client``)
when ``transport.proxies.ProxyRule`` could send a request through a proxy: httpx applies the rule to
every redirect hop, where aiohttp would keep the first hop's proxy.

aiohttp's reads cost about half the CPU per byte of httpcore's async stream on a large body.
Both getters keep the storage rules of ``common.client_kwargs``: no credentials,
``Accept-Encoding: identity``, redirects followed, every socket wait bounded by the timeout;
both give the body as sent, which the download decodes itself within ``maxSize``
(``common.body_reader``, as the sync download does). aiohttp failures are raised as the
httpx exceptions the httpx getter gives (truncation and stalls are transport errors,
retried; redirect loops are not), their messages without any URL query (where presigned
URLs keep their signature).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import httpx
import yarl

from ..transport import bulk as storage
from ..transport.clients import async_client
from ..transport.errors import httpx_name
from ..transport.proxies import ProxyRule
from ..transport.tls import shared_ssl_context
from . import common as tr

_HEADERS = {"Accept-Encoding": "identity"}
_URL = re.compile(r"https?://[^\s'\"<>]+")


class Answer:
    """A storage response: status, headers, and the body as sent (``raw``: decoded by the
    caller, with ``common.body_reader`` or ``error_body``, per its ``encoding``)."""

    def __init__(self, status: int, headers: Any, raw: AsyncIterator[bytes]) -> None:
        self.status, self.headers, self.raw = status, headers, raw
        self.encoding: str | None = headers.get("content-encoding")


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
                auto_decompress=False, trust_env=False, read_bufsize=storage.READ_SIZE,
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
                yield Answer(response.status_code, response.headers, response.aiter_raw())
            return
        assert self._session is not None
        target = yarl.URL(url, encoded=True)
        try:
            async with self._session.get(
                    target, headers=_HEADERS, max_redirects=20,
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
    message = _URL.sub(lambda m: tr.safe_url(m.group()), str(exc) or type(exc).__name__)
    error: httpx.HTTPError = getattr(httpx, name)(message)
    return error
