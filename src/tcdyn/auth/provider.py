"""Where a client's credentials come from, and the one rule for an async provider.

A client signs with what a *credentials source* returns at send time: ``Fixed`` credentials,
or a provider's (``credentials=callable``), so a provider can rotate them. A provider may be
async (``async def provider()``): its source then returns a ``Pending`` awaitable. Every
place that needs credentials asks here: ``now(source)`` where they are needed synchronously
(a sync client's call, ``client.credentials``, ``buildSignedUrl``: an async provider is
refused there with ``ASYNC_PROVIDER``, its coroutine closed, never awaited), ``await
awaited(source)`` in the async clients and transports.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any

from ..errors import CredentialsError
from .credentials import Credentials

#: Why a sync client cannot use an async credentials provider (the one message).
ASYNC_PROVIDER = ("the credentials provider is async: use it with a tcdyn.aio client (a sync "
                  "client cannot await it)")


class Fixed:
    """A credentials source that always gives the same credentials."""

    __slots__ = ("credentials",)

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def __call__(self) -> Credentials:
        return self.credentials


class Pending:
    """An async provider's pending credentials: awaited by the async clients, closed (never
    awaited) where credentials are needed synchronously."""

    __slots__ = ("_awaitable", "_finish")

    def __init__(self, awaitable: Awaitable[Any],
                 finish: Callable[[Any], Credentials | None]) -> None:
        self._awaitable = awaitable
        self._finish = finish

    def __await__(self) -> Generator[Any, None, Credentials | None]:
        return self._run().__await__()

    async def _run(self) -> Credentials | None:
        return self._finish(await self._awaitable)

    def close(self) -> None:
        close = getattr(self._awaitable, "close", None)
        if close is not None:
            close()


#: A zero-argument callable giving the credentials to sign with: an async provider's are
#: ``Pending`` until awaited.
CredentialsSource = Callable[[], "Credentials | Pending | None"]


def credentials_source(value: Any, authorized_scopes: Any) -> CredentialsSource | None:
    """A zero-argument callable returning the credentials to sign with, or None."""
    if value is None:
        return None
    if callable(value) and not isinstance(value, (Credentials, Mapping)):
        provider = value

        def finish(value: Any) -> Credentials | None:
            creds = Credentials.coerce(value)
            if creds is not None and authorized_scopes is not None:
                creds = creds.with_authorized_scopes(authorized_scopes)
            return creds

        def source() -> Credentials | Pending | None:
            value = provider()
            if inspect.isawaitable(value):  # an async provider: the async flow awaits it
                return Pending(value, finish)
            return finish(value)

        return source
    creds = Credentials.coerce(value)
    if creds is None:
        return None
    if authorized_scopes is not None:
        creds = creds.with_authorized_scopes(authorized_scopes)
    return Fixed(creds)


def now(source: Callable[[], object] | None) -> Credentials | None:
    """The credentials ``source`` gives, for a synchronous use: an async provider's are
    refused (``CredentialsError``, ``ASYNC_PROVIDER``), its coroutine closed unawaited."""
    if source is None:
        return None
    creds = source()
    if creds is None or isinstance(creds, Credentials):
        return creds
    close = getattr(creds, "close", None)
    if close is not None:
        close()  # no "never awaited" warning
    if inspect.isawaitable(creds):
        raise CredentialsError(ASYNC_PROVIDER)
    raise CredentialsError(f"the credentials source gave {type(creds).__name__}, not "
                           "Credentials")


async def awaited(source: Callable[[], object] | None) -> Credentials | None:
    """The credentials ``source`` gives, an async provider's awaited."""
    if source is None:
        return None
    creds = source()
    if creds is None or isinstance(creds, Credentials):  # the common case first
        return creds
    if inspect.isawaitable(creds):
        creds = await creds
    if creds is None or isinstance(creds, Credentials):
        return creds
    raise CredentialsError(f"the credentials source gave {type(creds).__name__}, not "
                           "Credentials")
