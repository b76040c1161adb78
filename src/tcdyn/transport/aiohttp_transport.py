"""The async transport of the clients tcdyn creates: aiohttp under tcdyn's own retry flow.

httpcore's async pool slows down sharply with many concurrent connections (encode/httpx#3215,
encode/httpcore#1035), so a ``tcdyn.aio`` client made without ``client=`` sends its calls
with an ``aiohttp.ClientSession`` instead. It drives the same ``call.retry.retry_flow``
generator as ``httpx_transport.AsyncHttpxTransport`` (``drive.adrive``) and keeps its rules:
one deadline per attempt (an asyncio timeout around connecting, sending and reading the whole
body), bodies read raw and inflated by ``call.response.BodyReader`` within
``max_response_size``, no redirects followed, Hawk signed anew on every try
(``HawkAuth.header`` over the exact URL aiohttp sends, only for the client's origins), and
failures given as the httpx exceptions of ``errors.failure``, their ``.request`` carrying a
redacted Authorization.

``async_transport`` picks the transport: this one, unless the user passed an
``httpx.AsyncClient`` or an ``auth=`` of their own. A call goes through the proxy
``proxies.ProxyRule`` picks for its URL (aiohttp's ``proxy=``; its own ``trust_env`` stays
off: it reads the environment by other rules, and ``~/.netrc``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

import aiohttp
import yarl

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
from .base import OWN_AUTH, AsyncTransport, CallAuth, TransportBase, closed, tcdyns_own
from .drive import PerLoop, adrive
from .errors import expired, failure, shown_request
from .hawk import HawkAuth
from .httpx_transport import AsyncHttpxTransport
from .proxies import Proxy, ProxyRule
from .tls import shared_ssl_context

if TYPE_CHECKING:
    import httpx

_GET_HEADERS = {"Accept-Encoding": ACCEPT_ENCODING}
_BODY_HEADERS = {**_GET_HEADERS, "Content-Type": "application/json"}
_NO_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=None, sock_read=None,
                                    sock_connect=None)


def async_transport(auth: httpx.Auth | None, policy: RetryPolicy, *, client: Any = None,
                    timeout: float | None = DEFAULT_TIMEOUT,
                    max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE) -> AsyncTransport:
    """The transport of an async client: aiohttp for the clients tcdyn creates, else httpx
    (a user's ``httpx.AsyncClient`` or ``httpx.Auth``)."""
    if tcdyns_own(client, auth):
        return AiohttpTransport(cast("HawkAuth | None", auth), policy, timeout=timeout,
                                max_response_size=max_response_size)
    return AsyncHttpxTransport(auth, policy, client=client, timeout=timeout,
                          max_response_size=max_response_size)


class _Target:
    """The parts of the URL aiohttp sends that ``HawkAuth.header`` reads."""

    __slots__ = ("host", "port", "raw_path", "scheme")

    def __init__(self, url: yarl.URL) -> None:
        self.scheme = url.scheme
        self.host = url.host or ""
        self.port = url.port
        self.raw_path = url.raw_path_qs.encode("ascii")


class AiohttpTransport(TransportBase):
    """Sends calls with an ``aiohttp.ClientSession`` of its own, one per event loop
    (``drive.PerLoop``: closed when that loop shuts down, like ``AsyncHttpxTransport``'s
    client; a loop never closes another's)."""

    def __init__(self, auth: HawkAuth | None, policy: RetryPolicy, *,
                 timeout: float | None = DEFAULT_TIMEOUT,
                 max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE) -> None:
        super().__init__(policy, timeout, max_response_size, ProxyRule.from_environment())
        #: Signs the calls: the same credentials and hosts as the httpx transports' (a
        #: ``HawkAuth``; set anew when the client's options change).
        self.auth: httpx.Auth | None = auth
        self._sessions: PerLoop[aiohttp.ClientSession] = PerLoop(_new_session,
                                                                 lambda s: s.close())

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise closed()
        return self._sessions.get()

    def _signer(self, auth: CallAuth) -> HawkAuth | None:
        """What signs a call (``OWN_AUTH``: this transport's auth; ``None``: unsigned; else a
        ``HawkAuth`` of the call's own)."""
        signer = self.auth if auth is OWN_AUTH else auth
        if signer is None or type(signer) is HawkAuth:
            return signer
        raise TypeError(f"aiohttp transport signs with HawkAuth only, got {signer!r}")

    async def _headers(self, method: str, url: yarl.URL, body: bytes | None,
                       signer: HawkAuth | None, trace: str) -> dict[str, str]:
        headers = dict(_BODY_HEADERS if body is not None else _GET_HEADERS)
        headers[TRACE_HEADER] = trace  # not signed: Hawk stays valid
        if signer is None:
            return headers
        credentials = await signer.credentials()
        if credentials is not None and signer.signs(url.scheme, url.host, url.port):
            headers["Authorization"] = signer.header(credentials, method, _Target(url),
                                                     body or None)
        return headers

    async def _exchange(self, session: aiohttp.ClientSession, call: Call, url: yarl.URL,
                        headers: dict[str, str], proxy: Proxy | None) -> Received:
        response = await session.request(
            call.http_method, url, data=call.body, allow_redirects=False,
            ssl=shared_ssl_context() if url.scheme == "https" else True,
            **_through(proxy, url, headers))
        try:
            reader = BodyReader(response.headers.get("Content-Encoding"),
                                self.max_response_size)
            content = response.content
            while True:
                chunk = await content.readany()
                if not chunk or not reader.feed(chunk):
                    break
            return Received(response.status, response.headers, reader.content(), str(url),
                            reader.too_large, reader.undecodable, reader.limit)
        finally:
            response.release()  # a body not read to its end closes the connection

    async def _attempt(self, session: aiohttp.ClientSession, call: Call, url: yarl.URL,
                       signer: HawkAuth | None, proxy: Proxy | None, trace: str
                       ) -> Received | httpx.RequestError:
        """One try: a ``Received``, or the httpx exception the httpx transport would give."""
        headers = await self._headers(call.http_method, url, call.body, signer, trace)
        try:
            if self.timeout is None:
                return await self._exchange(session, call, url, headers, proxy)
            window = asyncio.timeout(self.timeout)
            try:
                async with window:
                    return await self._exchange(session, call, url, headers, proxy)
            except TimeoutError:
                if not window.expired():
                    raise
                return expired(self.timeout, _shown(call, url, headers))
        except aiohttp.ClientError as exc:
            return failure(exc, _shown(call, url, headers))

    async def send(self, call: Call, auth: CallAuth = OWN_AUTH) -> Result:
        """The call's result (retried as the policy says); ``auth`` replaces the
        transport's own for this call (a ``HawkAuth`` or None)."""
        signer = self._signer(auth)
        session = self.session
        if call.query:
            import httpx

            url = yarl.URL(str(httpx.URL(call.url, params=call.query)), encoded=True)
        else:
            url = yarl.URL(call.url, encoded=True)
        rule = self.proxies
        proxy = rule.proxy_for(url.scheme, url.host or "", url.port) \
            if rule is not None and rule.configured else None
        return await adrive(retry_flow(call, self.policy),
                            lambda trace: self._attempt(session, call, url, signer, proxy,
                                                        trace), call)

    async def aclose(self) -> None:
        self._closed = True
        await self._sessions.aclose()


def _through(proxy: Proxy | None, url: yarl.URL, headers: dict[str, str]) -> dict[str, Any]:
    """aiohttp's keywords for sending to ``url`` through ``proxy``. Its credentials go as
    ``Proxy-Authorization`` only: on the CONNECT of an https:// URL, or on an http:// request
    itself, which goes to the proxy (aiohttp drops ``proxy_headers`` there, and its
    ``proxy_auth`` is deprecated)."""
    if proxy is None:
        return {"headers": headers}
    authorization = proxy.authorization
    if authorization is None:
        return {"headers": headers, "proxy": proxy.url}
    if url.scheme == "https":
        return {"headers": headers, "proxy": proxy.url,
                "proxy_headers": {"Proxy-Authorization": authorization}}
    return {"headers": {**headers, "Proxy-Authorization": authorization}, "proxy": proxy.url}


def _new_session() -> aiohttp.ClientSession:
    # httpx's defaults: 100 connections, idle ones dropped after 5 s
    connector = aiohttp.TCPConnector(limit=100, keepalive_timeout=5.0)
    return aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                 timeout=_NO_TIMEOUT, trust_env=False)


def _shown(call: Call, url: yarl.URL, headers: dict[str, str]) -> httpx.Request:
    return shown_request(call.http_method, str(url), headers, call.body)
