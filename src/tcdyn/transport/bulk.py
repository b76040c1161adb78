"""Connections to storage hosts (the PUT and GET of uploads and downloads): large reads,
fewer receive calls and parser events per byte than httpcore's 64 KiB, and writes of a
memoryview (httpcore re-slices what a partial send left, which copies a ``bytes``).

Installed by ``clients.wrap_backend`` in the pool of an ``httpx.Client``/``AsyncClient``
where this httpx version keeps it: on another version the client is used as it is.
"""

from __future__ import annotations

from typing import Any

import httpcore
import httpx

from .clients import wrap_backend
from .sockets import AsyncWrappedBackend, WrappedBackend, WrappedStream

#: Bytes asked of the socket at a time by storage clients (httpcore asks 64 KiB).
READ_SIZE = 1024 * 1024


class _BulkStream(WrappedStream):
    """A storage connection's stream: large reads (fewer receive calls and parser events
    per byte) and writes of a memoryview (httpcore re-slices what a partial send left, which
    copies a ``bytes``). Every wait keeps the timeout it is given."""

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max(max_bytes, READ_SIZE), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(memoryview(buffer) if len(buffer) > 65536 else buffer,  # type: ignore[arg-type]
                          timeout)


def bulk(client: httpx.Client) -> httpx.Client:
    """``client`` (a ``clients.sync_client`` for a storage host) with its direct connections
    using ``_BulkStream``, where this httpx version keeps its pool (``clients.wrap_backend``)."""
    wrap_backend(client, lambda inner: WrappedBackend(inner, _BulkStream))
    return client


class _AsyncBulkStream(httpcore.AsyncNetworkStream):
    """:class:`_BulkStream` for the async clients."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max(max_bytes, READ_SIZE), timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(memoryview(buffer) if len(buffer) > 65536 else buffer,  # type: ignore[arg-type]
                                timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return _AsyncBulkStream(await self._inner.start_tls(ssl_context, server_hostname,
                                                            timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def abulk(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """:func:`bulk` for an ``httpx.AsyncClient``."""
    wrap_backend(client, lambda inner: AsyncWrappedBackend(inner, _AsyncBulkStream),
                 asynchronous=True)
    return client
