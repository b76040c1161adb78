"""The drivers of the sans-IO flows, and the async pools' tie to their event loop.

``drive`` / ``adrive`` run a flow such as ``call.retry.retry_flow``: they perform each
``Send`` with the transport's ``attempt`` and each ``Sleep`` with ``time.sleep`` /
``asyncio.sleep``, inside ``tracing.traced``: the call's trace id and (with OpenTelemetry in
use) its span, which ``_noted`` tells of each attempt and retry; the one place where a
call's span starts and ends. ``PerLoop`` keeps
one connection pool per event loop, closed when that loop shuts down
(``close_at_shutdown``); ``within`` bounds an awaitable by a number of seconds.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..call.retry import Send, Sleep
from ..tracing import traced

if TYPE_CHECKING:
    import asyncio  # the async driver imports it when used: sync programs never load it

    from ..call.bind import Call
    from ..tracing import CallSpan

_T = TypeVar("_T")
_R = TypeVar("_R")


async def within(seconds: float, awaitable: Awaitable[_T]) -> _T:
    """``await awaitable``, ``TimeoutError`` after ``seconds``."""
    import asyncio

    async with asyncio.timeout(seconds):
        return await awaitable


def drive(flow: Generator[Send | Sleep, Any, _R], attempt: Callable[[str], object],
          call: Call) -> _R:
    """Run ``call``'s sans-IO retry ``flow`` (``call.retry.retry_flow``): ``attempt(trace)``
    (a ``Received``, or the exception that prevented one) at each ``Send``, a sleep at each
    ``Sleep``; returns the flow's result. ``trace`` is the call's trace id, its header's
    value; with OpenTelemetry in use, the call is a span (``tracing.traced``). Every sync
    transport drives its calls with it."""
    with traced(call) as traces:
        flow = _noted(flow, traces.span)
        step = next(flow)
        while True:
            outcome: object = None
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
            else:
                outcome = attempt(traces.trace)
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                result: _R = done.value
                return result


async def adrive(flow: Generator[Send | Sleep, Any, _R],
                 attempt: Callable[[str], Awaitable[object]], call: Call) -> _R:
    """:func:`drive` for the async transports: ``await attempt(trace)``, ``asyncio.sleep``."""
    import asyncio

    with traced(call) as traces:
        flow = _noted(flow, traces.span)
        step = next(flow)
        while True:
            outcome: object = None
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            else:
                outcome = await attempt(traces.trace)
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                result: _R = done.value
                return result


def _noted(flow: Generator[Send | Sleep, Any, _R], span: CallSpan | None
           ) -> Generator[Send | Sleep, Any, _R]:
    """``flow``, with each attempt's outcome and each retry's sleep noted on ``span``
    (``flow`` itself without a span: the common case costs nothing)."""
    if span is None:
        return flow
    return _noting(flow, span)


def _noting(flow: Generator[Send | Sleep, Any, _R], span: CallSpan
            ) -> Generator[Send | Sleep, Any, _R]:
    step = next(flow)
    while True:
        if isinstance(step, Sleep):
            span.retrying(step)
        outcome = yield step
        if not isinstance(step, Sleep):
            span.sent(outcome)
        try:
            step = flow.send(outcome)
        except StopIteration as done:
            result: _R = done.value
            return result


def close_at_shutdown(close: Callable[[], Awaitable[Any]]) -> AsyncGenerator[None, None]:
    """A started async generator that awaits ``close()`` when it is finalised: by
    ``aclose()``, by the loop's shutdown (``loop.shutdown_asyncgens``), or when dropped.
    Both async drivers tie their connection pool to its event loop with it."""
    async def closer() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await close()

    gen = closer()
    with contextlib.suppress(StopIteration):  # to the first yield: the loop now knows it
        gen.asend(None).send(None)
    return gen


_P = TypeVar("_P")


class PerLoop(Generic[_P]):
    """One connection pool per event loop, for a client used from several loops (threads
    each running their own, or ``asyncio.run`` after ``asyncio.run``): a pool belongs to
    the loop it was made on, as its connections do. Each is closed when its loop shuts
    down (``close_at_shutdown``) or by ``aclose()`` on that loop; none is ever closed
    from another loop, where calls may still be using it."""

    __slots__ = ("_close", "_make", "_pools")

    def __init__(self, make: Callable[[], _P], close: Callable[[_P], Awaitable[Any]]) -> None:
        self._make = make
        self._close = close
        self._pools: dict[asyncio.AbstractEventLoop,
                          tuple[_P, AsyncGenerator[None, None]]] = {}

    def get(self) -> _P:
        """The running loop's pool, made on first use there."""
        import asyncio

        loop = asyncio.get_running_loop()
        entry = self._pools.get(loop)
        if entry is None:
            for old in [old for old in list(self._pools) if old.is_closed()]:
                self._pools.pop(old, None)  # a loop closed without shutting down its pools
            pool = self._make()
            entry = self._pools[loop] = (pool, close_at_shutdown(
                lambda: self._retire(loop, pool)))
        return entry[0]

    async def _retire(self, loop: asyncio.AbstractEventLoop, pool: _P) -> None:
        entry = self._pools.get(loop)
        if entry is not None and entry[0] is pool:
            del self._pools[loop]
        await self._close(pool)

    async def aclose(self) -> None:
        """Close the running loop's pool (the others close as their loops shut down)."""
        import asyncio

        entry = self._pools.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()  # closes the pool
