"""httpcore network backends whose streams tcdyn wraps, and the base of those streams.

``WrappedBackend`` / ``AsyncWrappedBackend`` are httpcore's backend (sync / async) with every
stream it opens wrapped by a function: ``deadline.BoundedStream`` (each socket wait bounded
by the deadline of the running exchange) for the sync pools tcdyn makes, ``bulk``'s streams
(large reads, memoryview writes) for storage transfers. ``clients.wrap_backend`` installs one
in the pool of an httpx client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpcore


class WrappedStream(httpcore.NetworkStream):
    """A stream passing everything to ``inner``; a subclass changes what it needs (its
    stream after a TLS handshake is of its own class)."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return type(self)(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _same(timeout: float | None) -> float | None:
    return timeout


class WrappedBackend(httpcore.NetworkBackend):
    """``inner`` with each stream it opens wrapped by ``stream``; each connect waits at most
    ``timeout(given)``."""

    def __init__(self, inner: httpcore.NetworkBackend,
                 stream: Callable[[httpcore.NetworkStream], httpcore.NetworkStream],
                 timeout: Callable[[float | None], float | None] = _same) -> None:
        self._inner = inner
        self._stream = stream
        self._timeout = timeout

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None
                    ) -> httpcore.NetworkStream:
        return self._stream(self._inner.connect_tcp(host, port, self._timeout(timeout),
                                                    local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        return self._stream(self._inner.connect_unix_socket(path, self._timeout(timeout),
                                                            socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class AsyncWrappedBackend(httpcore.AsyncNetworkBackend):
    """:class:`WrappedBackend` for httpcore's async pools."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend,
                 stream: Callable[[httpcore.AsyncNetworkStream], httpcore.AsyncNetworkStream]
                 ) -> None:
        self._inner = inner
        self._stream = stream

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None
                          ) -> httpcore.AsyncNetworkStream:
        return self._stream(await self._inner.connect_tcp(host, port, timeout, local_address,
                                                          socket_options))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        return self._stream(await self._inner.connect_unix_socket(path, timeout,
                                                                  socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
