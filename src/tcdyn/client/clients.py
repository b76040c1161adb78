"""Base classes of every built HTTP client: ``Client`` (sync) and ``AsyncClient``.

``ServiceMeta`` (in ``classes.meta``) subclasses one of them once per reference and adds one method
per entry; each method ends in ``_call`` here. What they share, every decision included, is
``base.ClientBase``; these two only send through their transport and wait.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from ..auth import provider
from ..call.bind import Call
from ..call.paging import Pager, split_paging
from ..errors import InsufficientScopes
from ..model.legacy import LEGACY_ROOT_URL
from .base import SCOPES_TTL, ClientBase, api_base_url, cannot_check

if TYPE_CHECKING:
    import httpx

    from ..auth.credentials import Credentials
    from ..model.reference import EntryModel
    from ..transport.base import AsyncTransport, Transport

__all__ = ["LEGACY_ROOT_URL", "SCOPES_TTL", "AsyncClient", "Client", "api_base_url"]

_S = TypeVar("_S", bound="Client")
_A = TypeVar("_A", bound="AsyncClient")


class Client(ClientBase):
    """Base of every synchronous service client (``tcdyn.Queue``, ...)."""

    def _make_transport(self, client: httpx.Client | None) -> Transport:
        from ..transport.httpcore_transport import sync_transport  # httpcore's pool unless client=

        self._transport = sync_transport(self._auth(), self._retry, client=client,
                                         timeout=self._timeout,
                                         max_response_size=self._max_response_size)
        return self._transport

    @staticmethod
    def _http_client_type(httpx: ModuleType) -> type[Any]:
        kind: type[Any] = httpx.Client
        return kind

    def _call(self, entry: EntryModel, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if kwargs:
            kwargs, handler = split_paging(entry, kwargs)
            if handler is not None:  # the official form: each page to the handler
                for page in self._pages(entry, args, kwargs):
                    handler(page)
                return None
        result = self._transport.send(self._bind(entry, args, kwargs))
        return self._checked_result(entry, result) if self._validate_responses else result

    def _walk(self, pager: Pager, call: Call | None) -> Iterator[Any]:
        while call is not None:
            page = self._checked_result(pager.entry, self._transport.send(call))
            yield page
            call = pager.after(call, page)

    def _pages(self, entry: EntryModel, args: tuple[Any, ...], kwargs: dict[str, Any],
               max_pages: int | None = None) -> Iterator[Any]:
        yield from self._walk(Pager(entry, max_pages=max_pages),
                              self._bind(entry, args, kwargs))

    def _items(self, entry: EntryModel, args: tuple[Any, ...], kwargs: dict[str, Any],
               key: str | None,
               max_items: int | None) -> Iterator[Any]:
        pager = Pager(entry, key=key, max_items=max_items)
        if pager.done:
            return
        for page in self._walk(pager, self._bind(entry, args, kwargs)):
            yield from pager.take(page)
            if pager.done:
                return

    def current_scopes(self, *, refresh: bool = False) -> tuple[str, ...]:
        """The scopes this client's requests carry, as ``auth.currentScopes`` says (roles
        expanded by the server); kept for a few minutes."""
        return self._held(self._current_credentials(), refresh)

    def _held(self, creds: Credentials | None, refresh: bool) -> tuple[str, ...]:
        held = None if refresh else self._fresh_scopes(creds)
        if held is None:
            call, auth = self._scopes_request(creds)
            held = self._keep_scopes(creds, call, self._transport.send(call, auth))
        return held

    def _preflight(self, entry: EntryModel, args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> Any:
        self._bind(entry, args, split_paging(entry, kwargs)[0])  # every argument check first
        try:
            held = self._held(self._current_credentials(), False)
        except InsufficientScopes as exc:
            return cannot_check(exc)
        return self._check_scopes(entry, args, kwargs, held)

    def whoami(self) -> dict[str, Any]:
        """Who this client is to the deployment: clientId, temporary or not, expiry,
        authorizedScopes, a certificate's scopes, and the effective scopes from
        ``auth.currentScopes``; when the credentials may not read them (temporary and task
        credentials rarely hold ``auth:current-scopes``), ``scopes`` is None and
        ``scopesUnavailable`` says why."""
        creds = self._current_credentials()  # once: a provider may rotate them
        try:
            return self._whoami(creds, self._held(creds, True))
        except InsufficientScopes as exc:
            return self._whoami(creds, None, exc)

    def close(self) -> None:
        """Close the HTTP client tcdyn created (a client you passed in stays open)."""
        self._transport.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        Client.close(self)  # not an API entry named close


class AsyncClient(ClientBase):
    """Base of every asynchronous service client (``tcdyn.aio.Queue``, ...)."""

    def _make_transport(self, client: httpx.AsyncClient | None) -> AsyncTransport:
        from ..transport.aiohttp_transport import (
            async_transport,  # aiohttp unless client= (or a proxy)
        )

        self._transport = async_transport(self._auth(), self._retry, client=client,
                                          timeout=self._timeout,
                                          max_response_size=self._max_response_size)
        return self._transport

    @staticmethod
    def _http_client_type(httpx: ModuleType) -> type[Any]:
        kind: type[Any] = httpx.AsyncClient
        return kind

    async def _call(self, entry: EntryModel, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Any:
        if kwargs:
            kwargs, handler = split_paging(entry, kwargs)
            if handler is not None:  # the official form: each page to the handler
                async for page in self._pages(entry, args, kwargs):
                    done = handler(page)
                    if inspect.isawaitable(done):
                        await done
                return None
        result = await self._transport.send(self._bind(entry, args, kwargs))
        return self._checked_result(entry, result) if self._validate_responses else result

    async def _walk(self, pager: Pager, call: Call | None) -> AsyncIterator[Any]:
        while call is not None:
            page = self._checked_result(pager.entry, await self._transport.send(call))
            yield page
            call = pager.after(call, page)

    async def _pages(self, entry: EntryModel, args: tuple[Any, ...], kwargs: dict[str, Any],
                     max_pages: int | None = None) -> AsyncIterator[Any]:
        async for page in self._walk(Pager(entry, max_pages=max_pages),
                                     self._bind(entry, args, kwargs)):
            yield page

    async def _items(self, entry: EntryModel, args: tuple[Any, ...], kwargs: dict[str, Any],
                     key: str | None,
                     max_items: int | None) -> AsyncIterator[Any]:
        pager = Pager(entry, key=key, max_items=max_items)
        if pager.done:
            return
        async for page in self._walk(pager, self._bind(entry, args, kwargs)):
            for item in pager.take(page):
                yield item
            if pager.done:
                return

    async def current_scopes(self, *, refresh: bool = False) -> tuple[str, ...]:
        """The scopes this client's requests carry, as ``auth.currentScopes`` says."""
        return await self._held(await self._acurrent_credentials(), refresh)

    async def _acurrent_credentials(self) -> Credentials | None:
        """The credentials the next request is signed with, an async provider awaited."""
        return await provider.awaited(self._credentials_source)

    async def _held(self, creds: Credentials | None, refresh: bool) -> tuple[str, ...]:
        held = None if refresh else self._fresh_scopes(creds)
        if held is None:
            call, auth = self._scopes_request(creds)
            held = self._keep_scopes(creds, call, await self._transport.send(call, auth))
        return held

    async def _preflight(self, entry: EntryModel, args: tuple[Any, ...],
                         kwargs: dict[str, Any]) -> Any:
        self._bind(entry, args, split_paging(entry, kwargs)[0])
        try:
            held = await self._held(await self._acurrent_credentials(), False)
        except InsufficientScopes as exc:
            return cannot_check(exc)
        return self._check_scopes(entry, args, kwargs, held)

    async def whoami(self) -> dict[str, Any]:
        """Who this client is to the deployment (see ``Client.whoami``)."""
        creds = await self._acurrent_credentials()  # once: a provider may rotate them
        try:
            return self._whoami(creds, await self._held(creds, True))
        except InsufficientScopes as exc:
            return self._whoami(creds, None, exc)

    async def aclose(self) -> None:
        """Close the HTTP client tcdyn created (a client you passed in stays open)."""
        await self._transport.aclose()

    async def __aenter__(self: _A) -> _A:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await AsyncClient.aclose(self)  # not an API entry named aclose
