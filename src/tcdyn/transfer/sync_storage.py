"""The sync flavour of the transfers (``flavours.blocking``): storage requests through an
``httpx.Client`` (``transport.clients.sync_client``: the proxy rule, the shared TLS context,
sockets bounded by ``transport.deadline``) with ``transport.bulk``'s large reads and copy-free
writes; ``time.sleep``; a per-attempt ``Deadline`` that bounds every socket wait and is
checked between chunks. Its coroutines never suspend."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ..transport.bulk import bulk
from ..transport.clients import sync_client
from ..transport.deadline import Deadline, bounded
from .flavours import Answer, Limit, chunks_of, iterate
from .flow import Expired
from .hashing import Chunk
from .hosts import Source, client_kwargs, error_body, exact_headers, status_error


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


class SyncStorage:
    """One transfer's ``httpx.Client`` to storage hosts."""

    def __init__(self, timeout: float | None) -> None:
        self.client = bulk(sync_client(**client_kwargs(timeout)))

    async def __aenter__(self) -> SyncStorage:
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
            reader = error_body(response.headers.get("content-encoding"))
            for raw in response.iter_raw():
                if not reader.feed(raw):
                    break
            if response.status_code >= 300:
                raise status_error("PUT", source.url, response.status_code, reader)
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


class SyncFlavour:
    asynchronous = False

    def storage(self, timeout: float | None) -> SyncStorage:
        return SyncStorage(timeout)

    async def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def limit(self, seconds: float | None, what: str) -> SyncLimit:
        return SyncLimit(seconds, what)

    async def close(self, client: Any) -> None:
        client.close()


SYNC = SyncFlavour()
