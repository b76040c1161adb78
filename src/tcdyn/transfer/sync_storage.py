"""The sync flavour of the transfers (``flavours.blocking``): ``time.sleep``, a per-attempt
``Deadline`` that bounds every socket wait and is checked between chunks, and storage requests
over ``http.client`` (``DirectStorage``), or through an ``httpx.Client``
(``transport.clients.sync_client``, ``HttpxStorage``) when ``transport.proxies.ProxyRule``
could send a request through a proxy, as the async flavour does with aiohttp. Its coroutines
never suspend.

``http.client`` reads a body straight into the chunk it returns and sends views of the
caller's buffer as they are, where httpcore's h11 copies every byte received twice (into its
receive buffer, out of it) and every view sent once: on a large object that is most of the
CPU the sync transfer spends beside hashing. Both keep the storage rules
(``hosts.client_kwargs``): no credentials, ``Accept-Encoding: identity``, exactly the PUT
headers the service returned, redirects followed on GET (20 at most), TLS with
``transport.tls.shared_ssl_context``; failures are raised as httpx's exception classes, their
messages without any URL query.
"""

from __future__ import annotations

import contextlib
import http.client
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from ..transport.bulk import READ_SIZE, bulk
from ..transport.clients import sync_client
from ..transport.deadline import Deadline, bounded
from ..transport.proxies import ProxyRule
from ..transport.tls import shared_ssl_context
from .flavours import Answer, Limit, chunks_of, iterate
from .flow import Expired
from .hashing import Chunk
from .hosts import Source, client_kwargs, exact_headers, put_answered


class SyncLimit:
    """A ``Deadline`` for one attempt: every socket wait inside ``async with`` ends by it
    (``bounded``, and the request's ``timeout`` extension)."""

    def __init__(self, seconds: float | None, what: str) -> None:
        self.deadline = Deadline(seconds) if seconds is not None else None
        self.what = what
        self.extensions: dict[str, Any] = (
            {"timeout": self.deadline} if self.deadline is not None else {})
        self._bounded: Any = None

    async def __aenter__(self) -> SyncLimit:
        if self.deadline is not None:
            self.deadline.start()
            self._bounded = bounded(self.deadline)
            self._bounded.__enter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._bounded is not None:
            self._bounded.__exit__(*exc)

    def check(self) -> None:
        if self.deadline is not None and self.deadline.expired():
            raise Expired(f"the {self.what} took more than {self.deadline.total:g} s")


class HttpxStorage:
    """One transfer's ``httpx.Client`` to storage hosts (the proxy rule applied to every
    request and redirect hop)."""

    def __init__(self, timeout: float | None) -> None:
        self.client = bulk(sync_client(**client_kwargs(timeout)))

    async def __aenter__(self) -> HttpxStorage:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.client.close()

    async def put(self, source: Source, body: AsyncIterator[Chunk], limit: Limit) -> None:
        request = self.client.build_request("PUT", source.url, content=iterate(body),  # type: ignore[arg-type]  # views too
                                            headers=source.headers,
                                            extensions=limit.extensions)
        exact_headers(request, source.headers)
        response = self.client.send(request, stream=True, follow_redirects=False)
        try:
            put_answered(source.url, response.status_code,
                         response.headers.get("content-encoding"), response.iter_raw())
        finally:
            response.close()

    @asynccontextmanager
    async def get(self, url: str, limit: Limit) -> AsyncIterator[Answer]:
        request = self.client.build_request("GET", url, extensions=limit.extensions)
        response = self.client.send(request, stream=True)
        try:
            yield Answer(response.status_code, response.headers,
                          chunks_of(response.iter_raw()))
        finally:
            response.close()


#: Redirects a GET follows (as httpx's default).
MAX_REDIRECTS = 20
_REDIRECTS = (301, 302, 303, 307, 308)


class DirectStorage:
    """One transfer's storage requests over ``http.client``, a connection per request."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout

    async def __aenter__(self) -> DirectStorage:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        pass

    async def put(self, source: Source, body: AsyncIterator[Chunk], limit: Limit) -> None:
        conn, target = self._connect(source.url, limit)
        try:
            with _mapped("write", values=True):
                conn.putrequest("PUT", target, skip_accept_encoding=True)
                for name, value in source.headers.items():
                    conn.putheader(name, value)
                conn.endheaders()
            response = self._sent(conn, iterate(body), limit)
            put_answered(source.url, response.status, response.getheader("content-encoding"),
                         _read(conn, response, self.timeout, limit))
        finally:
            conn.close()

    def _sent(self, conn: http.client.HTTPConnection, body: Iterator[Chunk], limit: Limit
              ) -> http.client.HTTPResponse:
        """The response to a request whose body is ``body``. A host may answer (and hang
        up) before reading the whole body: its answer is the response, as with httpcore."""
        try:
            for chunk in body:  # the body's own failures (the reader's) as they are
                _bound(conn, self.timeout, limit)
                with _mapped("write"):
                    conn.send(chunk)
        except httpx.WriteError:
            with contextlib.suppress(OSError, http.client.HTTPException):
                return conn.getresponse()
            raise
        with _mapped("read"):
            return conn.getresponse()

    @asynccontextmanager
    async def get(self, url: str, limit: Limit) -> AsyncIterator[Answer]:
        for _ in range(MAX_REDIRECTS + 1):
            conn, target = self._connect(url, limit)
            try:
                with _mapped("write"):
                    conn.putrequest("GET", target)  # Host, Accept-Encoding: identity
                    conn.endheaders()
                with _mapped("read"):
                    response = conn.getresponse()
                location = response.getheader("location")
                if response.status in _REDIRECTS and location:
                    url = urljoin(url, location)
                    continue
                yield Answer(response.status, response.headers,
                             chunks_of(_read(conn, response, self.timeout, limit)))
                return
            finally:
                conn.close()
        raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")

    def _connect(self, url: str, limit: Limit) -> tuple[http.client.HTTPConnection, str]:
        """A connection to ``url``'s host, and the request target (path and query, as
        given)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise httpx.UnsupportedProtocol(f"cannot transfer with a {parts.scheme!r} URL")
        seconds = _seconds(self.timeout, limit)
        conn = (http.client.HTTPSConnection(parts.hostname, parts.port, timeout=seconds,
                                            context=shared_ssl_context())
                if parts.scheme == "https" else
                http.client.HTTPConnection(parts.hostname, parts.port, timeout=seconds))
        with _mapped("connect"):
            conn.connect()
        return conn, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _seconds(timeout: float | None, limit: Limit) -> float | None:
    """The longest a socket wait may take: the timeout, or what is left of the deadline."""
    deadline: Deadline | None = getattr(limit, "deadline", None)
    if deadline is None:
        return timeout
    return deadline.left() if timeout is None else min(timeout, deadline.left())


def _bound(conn: http.client.HTTPConnection, timeout: float | None, limit: Limit) -> None:
    if getattr(limit, "deadline", None) is not None and conn.sock is not None:
        conn.sock.settimeout(_seconds(timeout, limit))


def _read(conn: http.client.HTTPConnection, response: http.client.HTTPResponse,
          timeout: float | None, limit: Limit) -> Iterator[bytes]:
    """The body as sent, each piece read with one receive call; a body cut short is a
    ``RemoteProtocolError``."""
    while True:
        _bound(conn, timeout, limit)
        with _mapped("read"):
            raw = response.read1(READ_SIZE)
        if not raw:
            break
        yield raw
    if response.length:  # what the Content-Length announced and never came
        raise httpx.RemoteProtocolError(f"the connection closed {response.length} bytes "
                                        "before the end of the body")


@contextlib.contextmanager
def _mapped(phase: str, *, values: bool = False) -> Iterator[None]:
    """``http.client`` and socket failures as the httpx exceptions of ``phase``; with
    ``values``, a header value ``http.client`` refuses too."""
    try:
        yield
    except TimeoutError:
        raise getattr(httpx, f"{phase.capitalize()}Timeout")(f"timed out ({phase})") from None
    except http.client.InvalidURL:
        raise httpx.InvalidURL("a URL http.client refuses") from None
    except http.client.HTTPException as exc:
        raise httpx.RemoteProtocolError(f"{type(exc).__name__}") from None
    except OSError as exc:
        raise getattr(httpx, f"{phase.capitalize()}Error")(
            f"{type(exc).__name__}: {exc.strerror or exc}") from None
    except ValueError as exc:  # a header value http.client refuses (a line break)
        if not values:
            raise
        raise httpx.LocalProtocolError(f"ValueError: {exc}") from None


class SyncFlavour:
    asynchronous = False

    def storage(self, timeout: float | None) -> HttpxStorage | DirectStorage:
        if ProxyRule.from_environment().configured:
            return HttpxStorage(timeout)
        return DirectStorage(timeout)

    async def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def limit(self, seconds: float | None, what: str) -> SyncLimit:
        return SyncLimit(seconds, what)

    async def close(self, client: Any) -> None:
        client.close()


SYNC = SyncFlavour()
