"""The sync transport of the clients tcdyn creates: httpcore's connection pool, driven directly
under tcdyn's own retry flow.

``httpx.Client.send`` spends more per call than the exchange itself on loopback (auth flow,
redirect and cookie handling, URL parsing, ``Request`` / ``Response`` objects), so a client
tcdyn creates sends with an ``httpcore.ConnectionPool`` of its own. What goes on the wire is
what ``httpx_transport.HttpxTransport`` sends (same request line, headers in the same order,
the same Hawk header), with its rules: one deadline per attempt (``deadline.bounded`` clamps
every socket wait, as on ``clients.sync_client`` clients), bodies read raw and inflated by
``call.response.BodyReader`` within ``max_response_size``, no redirects, Hawk signed anew on
every try only for the client's origins, and failures raised as the httpx exceptions httpx
gives (their ``.request`` carrying a redacted Authorization).

The URL of a call is not parsed again: a route under an origin checked once (as httpx would
send it) is used as it is; anything else goes through ``httpx.URL``. TLS uses the one shared
SSL context (``tls.shared_ssl_context``), made on the first handshake.

``sync_transport`` picks it unless the user passed an ``httpx.Client`` or an ``auth=`` of
their own, or httpcore is not the 1.x this was written against; those use
``httpx_transport.HttpxTransport``. A call whose URL ``proxies.ProxyRule`` sends through a
proxy goes through an ``httpcore.HTTPProxy`` pool for that proxy (absolute-form for http://,
CONNECT for https://), made on first use.
"""

from __future__ import annotations

import re
from typing import Any, cast

import httpcore
import httpx

from ..call.bind import Call
from ..call.options import DEFAULT_TIMEOUT, RetryPolicy
from ..call.response import (
    ACCEPT_ENCODING,
    DEFAULT_MAX_RESPONSE_SIZE,
    BodyReader,
    Received,
    Result,
)
from ..call.retry import retry_flow
from ..tracing import TRACE_HEADER
from .base import OWN_AUTH, CallAuth, Transport, closed, tcdyns_own
from .deadline import Deadline, Expired, backend, bounded, take
from .drive import drive
from .errors import expired, failure, shown_request
from .hawk import HawkAuth, sign
from .httpx_transport import HttpxTransport
from .proxies import Proxy
from .tls import LAZY_TLS

#: httpcore's request/response API this module drives (and ``LAZY_TLS`` relies on).
SUPPORTED = httpcore.__version__.startswith("1.") and hasattr(httpcore, "ConnectionPool")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NO_TIMEOUT = {"connect": None, "read": None, "write": None, "pool": None}
#: A path httpx sends exactly as given: nothing to percent-encode, no dot segment.
_AS_IS = re.compile(r"(?:[A-Za-z0-9\-_~!$&'()*+,;=:@/]|\.(?!\.?(?:/|$))|%[0-9A-Fa-f]{2})*")
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))
_TRACE_HEADER = TRACE_HEADER.encode("ascii")
_Pool = httpcore.ConnectionPool | httpcore.HTTPProxy
_HTTPCORE_ERRORS = (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
                    httpcore.ProxyError, httpcore.UnsupportedProtocol)


def sync_transport(auth: httpx.Auth | None, policy: RetryPolicy, *, client: Any = None,
                   timeout: float | None = DEFAULT_TIMEOUT,
                   max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE) -> Transport:
    """The transport of a sync client: httpcore's pool for the clients tcdyn creates, else
    an ``httpx.Client`` (the user's, or for a user's ``httpx.Auth``)."""
    if tcdyns_own(client, auth) and SUPPORTED:
        return PoolTransport(cast("HawkAuth | None", auth), policy, timeout=timeout,
                             max_response_size=max_response_size)
    return HttpxTransport(auth, policy, client=client, timeout=timeout,
                         max_response_size=max_response_size)


class _Origin:
    """One origin as httpx sends to it: its parts, its ``Host`` and base headers."""

    __slots__ = (
        "get_headers",
        "host",
        "port",
        "prefix",
        "raw_host",
        "raw_port",
        "scheme",
        "url_scheme",
    )

    def __init__(self, url: httpx.URL) -> None:
        self.scheme = url.scheme
        self.url_scheme = url.raw_scheme
        self.host = url.host
        self.raw_host = url.raw_host
        self.raw_port = url.port
        self.port = url.port or _DEFAULT_PORTS.get(url.scheme, 0)
        self.prefix = f"{url.scheme}://{url.netloc.decode('ascii')}"
        # httpx's order: Host, the client's defaults, then the request's own.
        self.get_headers = [
            (b"Host", url.netloc), (b"Accept", b"*/*"), (b"Connection", b"keep-alive"),
            (b"User-Agent", f"python-httpx/{httpx.__version__}".encode("ascii")),
            (b"Accept-Encoding", ACCEPT_ENCODING.encode("ascii"))]


class PoolTransport(HttpxTransport):
    """Sends calls with an ``httpcore.ConnectionPool`` of its own (made on first use; httpx's
    limits: 100 connections, 20 kept alive, idle ones closed after 5 s)."""

    def __init__(self, auth: HawkAuth | None, policy: RetryPolicy, *,
                 timeout: float | None = DEFAULT_TIMEOUT,
                 max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE) -> None:
        super().__init__(auth, policy, timeout=timeout, max_response_size=max_response_size)
        self._pool: httpcore.ConnectionPool | None = None
        self._proxy_pools: dict[Proxy, httpcore.HTTPProxy] = {}
        self._origins: dict[str, _Origin] = {}

    @property
    def pool(self) -> httpcore.ConnectionPool:
        if self._closed:
            raise closed()
        if self._pool is None:
            self._pool = httpcore.ConnectionPool(
                ssl_context=LAZY_TLS, max_connections=100, max_keepalive_connections=20,
                keepalive_expiry=5.0, network_backend=backend())
        return self._pool

    def _pool_for(self, origin: _Origin) -> _Pool:
        """The pool to send through: the direct one, or one for the proxy of the origin."""
        pool = self.pool
        rule = self.proxies
        proxy = rule.proxy_for(origin.scheme, origin.host, origin.port) \
            if rule is not None and rule.configured else None
        if proxy is None:
            return pool
        proxied = self._proxy_pools.get(proxy)
        if proxied is None:
            proxied = self._proxy_pools.setdefault(proxy, httpcore.HTTPProxy(
                proxy_url=proxy.url, proxy_auth=proxy.auth, ssl_context=LAZY_TLS,
                proxy_ssl_context=LAZY_TLS if proxy.scheme == "https" else None,
                max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0,
                network_backend=backend()))
        return proxied

    def _where(self, call: Call) -> tuple[_Origin, str, str]:
        """The origin, the target (path and query) and the URL httpx would send."""
        url = call.url
        if not call.query:
            scheme_end = url.find("://") + 3
            path_at = url.find("/", scheme_end)
            if path_at > 0:
                origin = self._origins.get(url[:path_at])
                if origin is not None and _AS_IS.fullmatch(url, path_at):
                    return origin, url[path_at:], url
        parsed = httpx.URL(url, params=call.query)
        origin = _Origin(parsed)
        if len(self._origins) < 8:
            self._origins.setdefault(origin.prefix, origin)
        return origin, parsed.raw_path.decode("ascii"), str(parsed)

    def _headers(self, call: Call, origin: _Origin, target: str, auth: HawkAuth | None,
                 trace: str) -> list[tuple[bytes, bytes]]:
        headers = list(origin.get_headers)
        body = call.body
        if body is not None:
            headers.append((b"Content-Type", b"application/json"))
            headers.append((b"Content-Length", str(len(body)).encode("ascii")))
        elif call.http_method in _BODY_METHODS:  # httpx adds it next to Host
            headers.insert(1, (b"Content-Length", b"0"))
        headers.append((_TRACE_HEADER, trace.encode("ascii")))  # not signed: Hawk stays valid
        if auth is not None:
            credentials = auth.credentials_now()
            if credentials is not None and auth.signs(origin.scheme, origin.host, origin.port):
                headers.append((b"Authorization", sign(
                    auth.prepared(credentials), call.http_method, origin.host, origin.port,
                    target, body or None).encode()))
        return headers

    def send(self, call: Call, auth: CallAuth = OWN_AUTH) -> Result:
        """The call's result (retried as the policy says); ``auth`` replaces the
        transport's own for this call (a ``HawkAuth`` or None)."""
        signer = self.auth if auth is OWN_AUTH else auth
        if signer is not None and type(signer) is not HawkAuth:  # a user's own httpx.Auth
            return super().send(call, signer)
        origin, target, url = self._where(call)
        pool = self._pool_for(origin)
        deadline = self._deadline()

        def attempt(trace: str) -> Received | httpx.RequestError:  # signed anew: fresh ts, nonce
            headers = self._headers(call, origin, target, signer, trace)
            return self._try(pool, call, origin, target, url, headers, deadline)

        return drive(retry_flow(call, self.policy), attempt, call)

    def _try(self, pool: _Pool, call: Call, origin: _Origin, target: str, url: str,
             headers: list[tuple[bytes, bytes]], deadline: Deadline | None
             ) -> Received | httpx.RequestError:
        """One attempt: a ``Received``, or the httpx exception httpx would give."""
        request = httpcore.Request(
            call.http_method.encode("ascii"),
            httpcore.URL(scheme=origin.url_scheme, host=origin.raw_host, port=origin.raw_port,
                         target=target.encode("ascii")),
            headers=headers, content=call.body,
            extensions={"timeout": deadline if deadline is not None else _NO_TIMEOUT})
        try:
            if deadline is None:
                return self._pool_exchange(pool, request, url, None)
            deadline.start()
            with bounded(deadline):
                return self._pool_exchange(pool, request, url, deadline)
        except _HTTPCORE_ERRORS as exc:
            return failure(exc, shown_request(call.http_method, url, headers, call.body))
        except Expired as exc:
            return expired(exc.total, shown_request(call.http_method, url, headers, call.body))

    def _pool_exchange(self, pool: _Pool, request: httpcore.Request, url: str,
                       deadline: Deadline | None) -> Received:
        response = pool.handle_request(request)
        try:
            headers = httpx.Headers(response.headers)
            reader = BodyReader(headers.get("content-encoding"), self.max_response_size)
            for raw in response.stream:  # type: ignore[union-attr]
                if not take(reader, raw, deadline):
                    break
            return Received(response.status, headers, reader.content(), url,
                            reader.too_large, reader.undecodable, reader.limit)
        finally:
            response.close()

    def close(self) -> None:
        super().close()
        pool, self._pool = self._pool, None
        proxied, self._proxy_pools = list(self._proxy_pools.values()), {}
        for each in [pool, *proxied]:
            if each is not None:
                each.close()


