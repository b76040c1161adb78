"""Deadlines that bound a whole HTTP exchange, not each socket wait.

httpx gives every connect and read the full timeout again, however little time is left, so a
server sending one byte per second keeps a request alive indefinitely. A ``Deadline`` is the
``timeout`` extension httpcore reads before each wait, answering with what is left; the sync
pools tcdyn makes also run httpcore's network backend through streams that clamp every socket
read and write to the deadline of the exchange running in the current context (``bounded``,
``backend``), since httpcore reads its timeout once per phase. API calls (one deadline per
attempt) and reference fetches (one per ``tcdyn.load``) share this.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpcore

from .sockets import WrappedBackend, WrappedStream
from .tls import LAZY_TLS, shared_ssl_context

if TYPE_CHECKING:
    from ..call.response import BodyReader


class Deadline(dict[str, float]):
    """A ``time.monotonic()`` end, readable by httpcore as its ``timeout`` extension."""

    __slots__ = ("end", "total")

    def __init__(self, total: float) -> None:
        super().__init__(connect=total, read=total, write=total, pool=total)
        self.total = total
        self.end = 0.0

    @classmethod
    def ending_at(cls, end: float) -> Deadline:
        deadline = cls(max(end - time.monotonic(), 0.0))
        deadline.end = end
        return deadline

    def start(self) -> None:
        """Begin a new attempt: ``total`` seconds from now."""
        self.end = time.monotonic() + self.total

    def left(self) -> float:
        # A wait of 0 would make the socket non-blocking; a millisecond times out cleanly.
        return max(self.end - time.monotonic(), 0.001)

    def get(self, key: Any, default: Any = None) -> float:
        return self.left()

    def expired(self) -> bool:
        return time.monotonic() >= self.end


#: The deadline of the exchange running in this thread / task, for ``BoundedStream``.
_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "tcdyn_deadline", default=None)


@contextlib.contextmanager
def bounded(deadline: Deadline) -> Iterator[None]:
    """Socket waits of ``sync_client`` clients inside this block end by ``deadline``."""
    token = _current.set(deadline)
    try:
        yield
    finally:
        _current.reset(token)


def clamp(timeout: float | None) -> float | None:
    """``timeout``, or what is left of the deadline of ``bounded`` when inside it."""
    deadline = _current.get()
    return timeout if deadline is None else deadline.left()


class BoundedStream(WrappedStream):
    """A socket stream whose every read and write waits at most what is left."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        super().__init__(inner)
        self.get_extra_info = inner.get_extra_info  # type: ignore[method-assign]  # hot
        self.close = inner.close  # type: ignore[method-assign]

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, clamp(timeout))

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        if ssl_context is LAZY_TLS:
            ssl_context = shared_ssl_context()
        return super().start_tls(ssl_context, server_hostname, clamp(timeout))


def backend(inner: httpcore.NetworkBackend | None = None) -> httpcore.NetworkBackend:
    """httpcore's sync network backend (or ``inner``), every wait bounded by the deadline of
    ``bounded``."""
    return WrappedBackend(httpcore.SyncBackend() if inner is None else inner, BoundedStream,
                          clamp)


class Expired(Exception):
    """The deadline of an attempt (``total`` seconds) passed before its whole answer."""

    def __init__(self, total: float) -> None:
        super().__init__(total)
        self.total = total


def take(reader: BodyReader, raw: bytes, deadline: Deadline | None) -> bool:
    """Feed one raw chunk of a body to ``reader``, unless ``deadline`` has passed
    (``Expired``); whether to read on (``BodyReader.feed``)."""
    if deadline is not None and deadline.expired():
        raise Expired(deadline.total)
    return reader.feed(raw)
