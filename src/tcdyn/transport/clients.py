"""The ``httpx.Client`` / ``AsyncClient`` tcdyn creates (API calls through httpx, uploads,
downloads, reference fetches): each request sent directly or through the proxy
``proxies.ProxyRule`` picks for its URL (never by httpx's own reading of the environment),
every sync connection bounded by the deadline of ``deadline.bounded``, TLS through
``tls.shared_ssl_context``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import httpcore
import httpx

from .deadline import backend
from .proxies import Proxy, ProxyRule
from .tls import LAZY_TLS, shared_ssl_context


def _private_pool_ok() -> bool:
    """httpx 0.2x keeps its httpcore pool at ``HTTPTransport._pool`` (private)."""
    return httpx.__version__.startswith("0.2") and httpcore.__version__.startswith("1.")


def _httpx_proxy(proxy: Proxy | None, ssl_context: Any) -> httpx.Proxy | None:
    if proxy is None:
        return None
    auth = None if proxy.username is None else (proxy.username, proxy.password or "")
    return httpx.Proxy(proxy.url, auth=auth,
                       ssl_context=ssl_context if proxy.scheme == "https" else None)


def wrap_backend(owner: object, wrap: Callable[[Any], Any], *,
                 asynchronous: bool = False) -> bool:
    """Wrap the network backend of the httpcore pool of ``owner`` (an ``httpx.Client`` /
    ``AsyncClient`` tcdyn made, or an httpx transport) in ``wrap(backend)``; False when this
    httpx version keeps no such pool (then nothing changes).

    The one place tcdyn reaches into httpx's private attributes (``_transport._pool.
    _network_backend``, checked by version and by type): deadlines bound every socket wait
    of the sync clients (``deadline.backend``), storage connections read in large blocks
    (``bulk``)."""
    transport = getattr(owner, "_transport", owner)
    pool = getattr(transport, "_pool", None)
    inner = getattr(pool, "_network_backend", None)
    kind = httpcore.AsyncNetworkBackend if asynchronous else httpcore.NetworkBackend
    if not (_private_pool_ok() and isinstance(inner, kind)):
        return False
    pool._network_backend = wrap(inner)  # type: ignore[union-attr]
    return True


def _sync_transport(proxy: Proxy | None) -> httpx.HTTPTransport:
    """An httpx transport to origins directly (``proxy`` None) or through ``proxy``, its
    connections bounded by the deadline of ``bounded`` and sharing ``shared_ssl_context``
    (made on the first TLS handshake). Without httpx's private pool (another httpx version),
    deadlines are checked between reads only and the shared context is made at once."""
    if _private_pool_ok():
        transport = httpx.HTTPTransport(verify=LAZY_TLS, proxy=_httpx_proxy(proxy, LAZY_TLS))
        if wrap_backend(transport, backend):
            return transport
    context = shared_ssl_context()  # public API only
    return httpx.HTTPTransport(verify=context, proxy=_httpx_proxy(proxy, context))


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
        """The direct transport's pool (``bulk.bulk`` tunes its connections)."""
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
