"""One source for the sync and the async transfers.

Every transfer is written once, as a coroutine taking a ``Flavour`` first: the I/O that
differs between sync and async (the storage connections, sleeping, a deadline). ``awaiting``
makes the async form (``tcdyn.aio.upload.upload``) with the async flavour
(``aio_storage``: aiohttp, or httpx through a proxy); ``blocking`` makes the sync form
(``tcdyn.upload.upload``) with the sync flavour (``sync_storage``: httpx), whose awaits never
suspend, so ``run`` takes the coroutine to its end without an event loop. A sync transfer
given something that does wait for an event loop (an async reader, writer or client) stops
with ``TaskclusterArgumentError`` saying so.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from ..errors import TaskclusterArgumentError
from .hashing import Chunk
from .hosts import Source

P = ParamSpec("P")
T = TypeVar("T")


class Answer:
    """A storage host's response: status, headers, and the body as sent (``raw``, decoded by
    the transfer: ``hosts.body_reader``, ``hosts.error_body``)."""

    __slots__ = ("headers", "raw", "status")

    def __init__(self, status: int, headers: Any, raw: AsyncIterator[bytes]) -> None:
        self.status, self.headers, self.raw = status, headers, raw


class Limit(Protocol):
    """A deadline on one attempt, entered with ``async with``: past it the attempt fails
    with ``flow.Expired``. ``check()`` raises it between chunks (where the flavour needs)."""

    async def __aenter__(self) -> Limit: ...

    async def __aexit__(self, *exc: Any) -> None: ...

    #: The ``extensions`` of an httpx request within the limit.
    extensions: dict[str, Any]

    def check(self) -> None: ...


class Storage(Protocol):
    """One transfer's connections to storage hosts (no credentials, ``hosts.HEADERS``,
    redirects followed on GET, every wait bounded by the timeout; failures as httpx's
    exception classes), closed by ``async with``."""

    async def __aenter__(self) -> Storage: ...

    async def __aexit__(self, *exc: Any) -> None: ...

    async def put(self, source: Source, body: AsyncIterator[Chunk], limit: Limit) -> None:
        """PUT ``body`` with exactly ``source.headers``; ``hosts.StorageStatus`` for an
        error status."""
        ...

    def get(self, url: str, limit: Limit) -> AbstractAsyncContextManager[Answer]:
        """The answer to ``GET url``, its body not read yet."""
        ...


class Flavour(Protocol):
    """What the sync and the async transfers do differently."""

    #: Whether clients made for the transfer (an artifact's object client) are async.
    asynchronous: bool

    async def close(self, client: Any) -> None:
        """Close a client made for the transfer."""
        ...

    def storage(self, timeout: float | None) -> Storage: ...

    async def sleep(self, seconds: float) -> None: ...

    def limit(self, seconds: float | None, what: str) -> Limit: ...


async def aw(value: Any) -> Any:
    """``value``, awaited when it is awaitable (sync or async clients, readers, writers)."""
    return await value if inspect.isawaitable(value) else value


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """The coroutine's result, reached without an event loop (nothing in it waits)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coroutine.close()
    raise TaskclusterArgumentError(
        "a sync transfer (tcdyn.upload, tcdyn.download, tcdyn.artifacts) was given something "
        "that waits for an event loop (an async client, reader or writer): use the "
        "tcdyn.aio forms with those")


def iterate(chunks: AsyncIterator[T]) -> Iterator[T]:
    """The sync iterator of ``chunks``, an async iterator whose steps never wait."""
    while True:
        try:
            step: Coroutine[Any, Any, T] = chunks.__anext__()  # type: ignore[assignment]
            yield run(step)
        except StopAsyncIteration:
            return


async def chunks_of(items: Iterator[T]) -> AsyncIterator[T]:
    """``items`` as an async iterator (of a sync flavour's answer)."""
    for item in items:
        yield item


def blocking(fn: Callable[Concatenate[Flavour, P], Coroutine[Any, Any, T]]
             ) -> Callable[P, T]:
    """The sync form of the transfer ``fn``."""
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        from .sync_storage import SYNC

        coroutine = fn(SYNC, *args, **kwargs)
        try:
            return run(coroutine)
        finally:  # an interrupt before it started: no "never awaited" warning
            coroutine.close()

    form: Callable[P, T] = _like(call, fn)
    return form


def awaiting(fn: Callable[Concatenate[Flavour, P], Coroutine[Any, Any, T]]
             ) -> Callable[P, Coroutine[Any, Any, T]]:
    """The async form of the transfer ``fn``."""
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        from .aio_storage import ASYNC

        return await fn(ASYNC, *args, **kwargs)

    form: Callable[P, Coroutine[Any, Any, T]] = _like(call, fn)
    return form


def _like(form: Callable[P, Any], fn: Callable[..., Any]) -> Any:
    """``form`` named and documented as ``fn``, its signature ``fn``'s without the
    flavour."""
    functools.update_wrapper(form, fn)
    del form.__wrapped__  # type: ignore[attr-defined]
    signature = inspect.signature(fn)
    form.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=list(signature.parameters.values())[1:])
    return form
