"""Hawk request signing as an ``httpx.Auth`` flow.

The flow signs ``request.url`` exactly as httpx will send it (path with its query string,
host and port), adds the payload hash of the exact body bytes, and carries Taskcluster's
``ext`` (certificate, authorizedScopes). It runs again on every retry, so each try gets a
fresh timestamp and nonce. It signs only requests to the origins it is given: the rootUrl's
(and, for the legacy rootUrl ``https://taskcluster.net``, the service's own host).

The header is built here, byte for byte what mohawk's ``Sender`` makes for the same request
(``tests/test_sync_hot_path.py`` holds it to mohawk, to the official client and to
``tcdyn.testing``'s validator): mohawk's generic path costs ~50 us a call (it pretty-prints
every request for its debug log and rebuilds the credentials each time); here the key, the
``id`` and ``ext`` of one ``Credentials`` are prepared once by each ``HawkAuth``
(``Prepared``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from base64 import b64encode, urlsafe_b64encode
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, Protocol

import httpx
import mohawk.util

from ..auth import provider
from ..auth.credentials import Credentials

_DEFAULT_PORTS = {"http": 80, "https": 443}


def payload_hash(body: bytes, content_type: str = "application/json") -> str:
    """Hawk's payload hash (sha256) of the exact body bytes."""
    h = hashlib.sha256(b"hawk.1.payload\n")
    h.update(content_type.split(";")[0].strip().lower().encode())
    h.update(b"\n")
    h.update(body)
    h.update(b"\n")
    return b64encode(h.digest()).decode()


def nonce() -> str:
    """Six random URL-safe base64 characters, as mohawk's ``random_string(6)``."""
    return urlsafe_b64encode(os.urandom(6))[:6].decode()


class Prepared:
    """What one ``Credentials`` contributes to every header: key, ``id``, ``ext``; each
    ``HawkAuth`` keeps the last one it used (no state shared between clients)."""

    __slots__ = ("credentials", "ext_attr", "ext_line", "id_attr", "key")

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.key = credentials.accessToken.encode("ascii")  # as mohawk: ascii keys only
        ext = credentials.hawk_ext() or ""
        self.ext_line = ext
        self.ext_attr = f', ext="{ext}"' if ext else ""
        self.id_attr = f', id="{mohawk.util.prepare_header_val(credentials.clientId)}"'


def sign(credentials: Credentials | Prepared, method: str, host: str, port: int | str,
         target: str, body: bytes | None, *, timestamp: int | None = None,
         nonce_value: str | None = None) -> str:
    """The ``Authorization: Hawk ...`` value for ``method`` of ``target`` (path and query as
    sent) on ``host``:``port``; ``body`` hashed when there is one."""
    prepared = credentials if isinstance(credentials, Prepared) else Prepared(credentials)
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce_value = nonce() if nonce_value is None else nonce_value
    content_hash = payload_hash(body) if body else ""
    normalized = (f"hawk.1.header\n{ts}\n{nonce_value}\n{method.upper()}\n{target}\n{host}\n"
                  f"{port}\n{content_hash}\n{prepared.ext_line}\n")
    mac = b64encode(hmac.new(prepared.key, normalized.encode(), hashlib.sha256).digest())
    hash_attr = f', hash="{content_hash}"' if content_hash else ""
    return (f'Hawk mac="{mac.decode()}"{hash_attr}{prepared.id_attr}, ts="{ts}", '
            f'nonce="{nonce_value}"{prepared.ext_attr}')


class _URLParts(Protocol):
    """The parts of a URL a header is signed over (an ``httpx.URL``, or the aiohttp
    transport's view of a ``yarl.URL``)."""

    @property
    def scheme(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int | None: ...
    @property
    def raw_path(self) -> bytes: ...


def authorization_header(credentials: Credentials | Prepared, method: str, url: _URLParts,
                         body: bytes | None, *, timestamp: int | None = None) -> str:
    """The ``Authorization: Hawk ...`` value for one request to ``url`` (an ``httpx.URL``
    or anything with its ``scheme``, ``host``, ``port`` and ``raw_path``)."""
    default: int | str = _DEFAULT_PORTS.get(url.scheme, "")
    port = url.port or default
    return sign(credentials, method, url.host, port,
                url.raw_path.decode("ascii"), body, timestamp=timestamp)


class HawkAuth(httpx.Auth):
    """Sign requests to one of ``origins`` with the credentials ``source()`` returns at send
    time (so a provider can rotate them); leave other requests and anonymous clients
    unsigned. ``source`` may return an awaitable (an async provider): the async flow awaits
    it, the sync flow refuses it (``auth.provider``'s rule). Every transport tcdyn creates
    signs through this object's public methods."""

    requires_request_body = True

    def __init__(self, source: Callable[[], object], *origins: tuple[str, str, int]) -> None:
        self._source = source
        self._origins = frozenset(origins)
        self._prepared: Prepared | None = None

    def signs(self, scheme: str, host: str | None, port: int | None) -> bool:
        """Whether requests to this origin are signed."""
        return (scheme, host, port or _DEFAULT_PORTS.get(scheme)) in self._origins

    def credentials_now(self) -> Credentials | None:
        """The credentials to sign a sync request with (an async provider refused)."""
        return provider.now(self._source)

    async def credentials(self) -> Credentials | None:
        """The credentials to sign an async request with (an async provider awaited)."""
        return await provider.awaited(self._source)

    def prepared(self, credentials: Credentials) -> Prepared:
        """``credentials``' key, ``id`` and ``ext``, prepared once while they last."""
        last = self._prepared
        if last is None or last.credentials is not credentials:
            last = self._prepared = Prepared(credentials)
        return last

    def header(self, credentials: Credentials, method: str, url: _URLParts,
               body: bytes | None) -> str:
        """The ``Authorization`` value for one request to ``url``."""
        return authorization_header(self.prepared(credentials), method, url, body)

    def _sign(self, request: httpx.Request, credentials: Credentials | None) -> None:
        if credentials is None:
            return
        url = request.url
        if self.signs(url.scheme, url.host, url.port):
            request.headers["Authorization"] = self.header(credentials, request.method, url,
                                                           request.content or None)
        else:
            request.headers.pop("Authorization", None)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, Any, None]:
        self._sign(request, self.credentials_now())
        yield request

    async def async_auth_flow(self, request: httpx.Request
                              ) -> AsyncGenerator[httpx.Request, Any]:
        await request.aread()
        self._sign(request, await self.credentials())
        yield request


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, with the default port filled in."""
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 0)
