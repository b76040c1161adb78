"""Hawk request signing as an ``httpx.Auth`` flow.

The flow signs ``request.url`` exactly as httpx will send it (path with its query string,
host and port), adds the payload hash of the exact body bytes, and carries Taskcluster's
``ext`` (certificate, authorizedScopes). It runs again on every retry, so each try gets a
fresh timestamp and nonce. It signs only requests to the origins it is given: the rootUrl's
(and, for the legacy rootUrl ``https://taskcluster.net``, the service's own host).

The MAC itself is mohawk's (``mohawk.util.calculate_mac``); mohawk's ``Sender`` is not used on
this path because it pretty-prints every request for its debug log, which costs ~50 us a call.
"""

from __future__ import annotations

import hashlib
import inspect
import time
from base64 import b64encode
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import Any

import httpx
import mohawk.util

from .credentials import Credentials
from .errors import CredentialsError

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(slots=True)
class _Resource:
    """What mohawk's MAC calculation reads from a request."""

    credentials: dict
    timestamp: str
    nonce: str
    method: str
    name: str
    host: str
    port: str
    ext: str | None
    app: None = None
    dlg: None = None


def payload_hash(body: bytes, content_type: str = "application/json") -> str:
    """Hawk's payload hash (sha256) of the exact body bytes."""
    h = hashlib.sha256(b"hawk.1.payload\n")
    h.update(content_type.split(";")[0].strip().lower().encode())
    h.update(b"\n")
    h.update(body)
    h.update(b"\n")
    return b64encode(h.digest()).decode()


def nonce() -> str:
    value = mohawk.util.random_string(6)
    return value.decode() if isinstance(value, bytes) else value


def authorization_header(credentials: Credentials, method: str, url: httpx.URL,
                         body: bytes | None, *, timestamp: int | None = None) -> str:
    """The ``Authorization: Hawk ...`` value for one request."""
    ext = credentials.hawk_ext()
    target = url.raw_path.decode("ascii")
    resource = _Resource(
        credentials=credentials.hawk_credentials(),
        timestamp=str(timestamp if timestamp is not None else int(time.time())),
        nonce=nonce(), method=method.upper(), name=target, host=url.host,
        port=str(url.port or _DEFAULT_PORTS.get(url.scheme, "")), ext=ext,
    )
    content_hash = payload_hash(body) if body else None
    mac = mohawk.util.calculate_mac("header", resource, content_hash).decode()
    header = f'Hawk mac="{mac}"'
    if content_hash:
        header += f', hash="{content_hash}"'
    header += (f', id="{mohawk.util.prepare_header_val(credentials.clientId)}"'
               f', ts="{resource.timestamp}", nonce="{resource.nonce}"')
    if ext:
        header += f', ext="{ext}"'
    return header


CredentialsSource = Callable[[], Any]


class HawkAuth(httpx.Auth):
    """Sign requests to one of ``origins`` with the credentials ``source()`` returns at send
    time (so a provider can rotate them); leave other requests and anonymous clients
    unsigned. ``source`` may return an awaitable (an async provider): the async flow awaits
    it, the sync flow refuses it."""

    requires_request_body = True

    def __init__(self, source: CredentialsSource, *origins: tuple[str, str, int]) -> None:
        self._source = source
        self._origins = frozenset(origins)

    def _sign(self, request: httpx.Request, credentials: Credentials | None) -> None:
        if credentials is None:
            return
        url = request.url
        if (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)) \
                in self._origins:
            request.headers["Authorization"] = authorization_header(
                credentials, request.method, url, request.content or None)
        else:
            request.headers.pop("Authorization", None)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, Any, None]:
        credentials = self._source()
        if credentials is not None and not isinstance(credentials, Credentials) \
                and inspect.isawaitable(credentials):
            close = getattr(credentials, "close", None)
            if close is not None:
                close()  # no "never awaited" warning
            raise CredentialsError("the credentials provider is async: use it with a "
                                       "tcdyn.aio client")
        self._sign(request, credentials)
        yield request

    async def async_auth_flow(self, request: httpx.Request
                              ) -> AsyncGenerator[httpx.Request, Any]:
        await request.aread()
        credentials = self._source()
        if credentials is not None and not isinstance(credentials, Credentials) \
                and inspect.isawaitable(credentials):
            credentials = await credentials
        self._sign(request, credentials)
        yield request


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, with the default port filled in."""
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 0)
