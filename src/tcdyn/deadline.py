"""Deadlines that bound a whole HTTP exchange, not each socket wait.

httpx gives every connect and read the full timeout again, however little time is left, so a
server sending one byte per second keeps a request alive indefinitely. A ``Deadline`` is the
``timeout`` extension httpcore reads before each wait, answering with what is left; the
sync clients made by ``sync_client`` also run httpcore's network backend through streams
that clamp every socket read and write to the deadline of the exchange running in the
current context (``bounded``), since httpcore reads its timeout once per phase. API calls
(one deadline per attempt) and reference fetches (one per ``tcdyn.load``) share this.

Every client tcdyn creates shares one SSL context (``shared_ssl_context``), made on the first TLS
handshake: a client that only talks http:// never loads a CA bundle. The httpx clients made
here (``sync_client``, ``async_client``: API calls through httpx, uploads, downloads, reference
fetches, the command) send each request directly or through the proxy ``proxies.ProxyRule``
picks for its URL, never by httpx's own reading of the environment.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import httpcore
import httpx

from .proxies import Proxy, ProxyRule


class Deadline(dict[str, float]):
    """A ``time.monotonic()`` end, readable by httpcore as its ``timeout`` extension."""

    __slots__ = ("end", "total")

    def __init__(self, total: float) -> None:
        super().__init__(connect=total, read=total, write=total, pool=total)
        self.total = total
        self.end = 0.0

    @classmethod
    def ending_at(cls, end: float) -> Deadline:
        deadline = cls(max(end - time.monotonic(), 0.0))
        deadline.end = end
        return deadline

    def start(self) -> None:
        """Begin a new attempt: ``total`` seconds from now."""
        self.end = time.monotonic() + self.total

    def left(self) -> float:
        # A wait of 0 would make the socket non-blocking; a millisecond times out cleanly.
        return max(self.end - time.monotonic(), 0.001)

    def get(self, key: Any, default: Any = None) -> float:
        return self.left()

    def expired(self) -> bool:
        return time.monotonic() >= self.end


#: The deadline of the exchange running in this thread / task, for ``_Backend``.
_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "tcdyn_deadline", default=None)


@contextlib.contextmanager
def bounded(deadline: Deadline) -> Iterator[None]:
    """Socket waits of ``sync_client`` clients inside this block end by ``deadline``."""
    token = _current.set(deadline)
    try:
        yield
    finally:
        _current.reset(token)


def _clamp(timeout: float | None) -> float | None:
    deadline = _current.get()
    return timeout if deadline is None else deadline.left()


_ssl_lock = threading.Lock()
_ssl: Any = None


def shared_ssl_context() -> Any:
    """httpx's default SSL context (its CA bundle, ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``),
    created once per process and shared by every client tcdyn creates."""
    global _ssl
    if _ssl is None:
        with _ssl_lock:
            if _ssl is None:
                context = httpx.create_ssl_context()
                context.set_alpn_protocols(["http/1.1"])
                _ssl = context
    return _ssl


class _LazyTLS:
    """The ``ssl_context`` httpcore is given for a pool whose streams are ``_Stream``s: it
    stands for ``shared_ssl_context()``, which ``_Stream.start_tls`` takes only when a handshake
    happens (httpcore sets the ALPN protocols on it; tcdyn speaks HTTP/1.1 only)."""

    def set_alpn_protocols(self, protocols: Any) -> None:
        pass


LAZY_TLS: Any = _LazyTLS()


class _Stream(httpcore.NetworkStream):
    """A socket stream whose every read and write waits at most what is left."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self.get_extra_info = inner.get_extra_info  # type: ignore[method-assign]  # hot
        self.close = inner.close  # type: ignore[method-assign]

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        if ssl_context is LAZY_TLS:
            ssl_context = shared_ssl_context()
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    """httpcore's sync network backend, its streams bounded by the current deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None
                    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_tcp(host, port, _clamp(timeout), local_address,
                                               socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, _clamp(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def backend() -> httpcore.NetworkBackend:
    """httpcore's sync network backend, every wait bounded by the deadline of ``bounded``."""
    return _Backend(httpcore.SyncBackend())


def _private_pool_ok() -> bool:
    """httpx 0.2x keeps its httpcore pool at ``HTTPTransport._pool`` (private)."""
    return httpx.__version__.startswith("0.2") and httpcore.__version__.startswith("1.")


def _httpx_proxy(proxy: Proxy | None, ssl_context: Any) -> httpx.Proxy | None:
    if proxy is None:
        return None
    auth = None if proxy.username is None else (proxy.username, proxy.password or "")
    return httpx.Proxy(proxy.url, auth=auth,
                       ssl_context=ssl_context if proxy.scheme == "https" else None)


def _sync_transport(proxy: Proxy | None) -> httpx.HTTPTransport:
    """An httpx transport to origins directly (``proxy`` None) or through ``proxy``, its
    connections bounded by the deadline of ``bounded`` and sharing ``shared_ssl_context``
    (made on the first TLS handshake). Without httpx's private ``_pool._network_backend``
    (another httpx version), deadlines are checked between reads only and the shared context
    is made at once."""
    transport = (httpx.HTTPTransport(verify=LAZY_TLS, proxy=_httpx_proxy(proxy, LAZY_TLS))
                 if _private_pool_ok() else None)
    pool: Any = getattr(transport, "_pool", None)  # httpx's private pool, if it has one
    if transport is None or not isinstance(getattr(pool, "_network_backend", None),
                                           httpcore.NetworkBackend):
        context = shared_ssl_context()  # public API only
        return httpx.HTTPTransport(verify=context, proxy=_httpx_proxy(proxy, context))
    pool._network_backend = _Backend(pool._network_backend)
    return transport


def _async_transport(proxy: Proxy | None) -> httpx.AsyncHTTPTransport:
    context = shared_ssl_context()
    return httpx.AsyncHTTPTransport(verify=context, proxy=_httpx_proxy(proxy, context))


_T = TypeVar("_T", httpx.HTTPTransport, httpx.AsyncHTTPTransport)


class _Routes(Generic[_T]):
    """The transport for each request: the direct one, or the one through the proxy
    ``rule`` picks for its URL (made on first use)."""

    def __init__(self, rule: ProxyRule, direct: _T, make: Callable[[Proxy], _T]) -> None:
        self._rule = rule
        self._direct: _T = direct
        self._make: Callable[[Proxy], _T] = make
        self._proxied: dict[Proxy, _T] = {}
        self._lock = threading.Lock()

    @property
    def _pool(self) -> Any:
        """The direct transport's pool (``storage.bulk`` tunes its connections)."""
        return self._direct._pool

    def _for(self, url: httpx.URL) -> _T:
        proxy = self._rule.proxy_for(url.scheme, url.host, url.port)
        if proxy is None:
            return self._direct
        transport = self._proxied.get(proxy)
        if transport is None:
            with self._lock:
                transport = self._proxied.get(proxy)
                if transport is None:
                    transport = self._proxied[proxy] = self._make(proxy)
        return transport

    def _all(self) -> list[_T]:
        with self._lock:
            transports = list(self._proxied.values())
        transports.append(self._direct)
        return transports


class _SyncRoutes(_Routes[httpx.HTTPTransport], httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._for(request.url).handle_request(request)

    def close(self) -> None:
        for transport in self._all():
            transport.close()


class _AsyncRoutes(_Routes[httpx.AsyncHTTPTransport], httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._for(request.url).handle_async_request(request)

    async def aclose(self) -> None:
        for transport in self._all():
            await transport.aclose()


def sync_client(*, proxies: ProxyRule | None = None, **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` for tcdyn: each request direct or through the proxy ``proxies``
    (default: the environment's ``ProxyRule``) picks, every connection bounded by the
    deadline of ``bounded`` and sharing ``shared_ssl_context``."""
    rule = ProxyRule.from_environment() if proxies is None else proxies
    direct = _sync_transport(None)
    transport: httpx.BaseTransport = (
        _SyncRoutes(rule, direct, _sync_transport) if rule.configured else direct)
    return httpx.Client(transport=transport, **kwargs)


def async_client(*, proxies: ProxyRule | None = None, **kwargs: Any) -> httpx.AsyncClient:
    """:func:`sync_client` for asyncio (deadlines are the caller's: ``asyncio.timeout``)."""
    rule = ProxyRule.from_environment() if proxies is None else proxies
    direct = _async_transport(None)
    transport: httpx.AsyncBaseTransport = (
        _AsyncRoutes(rule, direct, _async_transport) if rule.configured else direct)
    return httpx.AsyncClient(transport=transport, **kwargs)
