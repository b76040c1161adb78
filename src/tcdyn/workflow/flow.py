"""Workflows over the API as sans-IO generators, and their sync and async drivers.

A workflow (a retrigger, a group's cancel, a view's reads, a log's follow) is a generator
that yields what it needs done and is sent the answer: ``Call`` (one method of a client,
its value or its typed error thrown back in), ``Items`` (every item of a paginated method),
``Gather`` (calls made concurrently: a list of values or exceptions), ``Sleep``. ``run``
drives one with sync clients, ``arun`` with async ones, so the decisions are written once.
Steps the drivers here do not know (a log's streaming GET) are handed to ``extra``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["Call", "Flow", "Gather", "Items", "Sleep", "ado_step", "arun", "do_step", "run"]

_T = TypeVar("_T")
#: A workflow: yields steps, is sent their answers, returns its result.
Flow = Generator[Any, Any, _T]
#: Concurrent calls a ``Gather`` makes at most at once.
CONCURRENCY = 8


@dataclass(frozen=True)
class Call:
    """``clients[client].<method>(*args, **kwargs)``."""

    method: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    client: str = "queue"


@dataclass(frozen=True)
class Items:
    """Every item of every page of a paginated method, as a list."""

    call: Call


@dataclass(frozen=True)
class Gather:
    """Calls made concurrently (at most ``CONCURRENCY`` at once); the answer is a list in
    the calls' order, each a value or the exception the call raised."""

    calls: tuple[Call, ...]


@dataclass(frozen=True)
class Sleep:
    seconds: float


def _method(clients: Mapping[str, Any], call: Call) -> Any:
    return getattr(clients[call.client], call.method)


def run(flow: Flow[_T], clients: Mapping[str, Any],
        extra: Callable[[Any], Any] | None = None) -> _T:
    """Drive ``flow`` with sync clients (``{"queue": queue, ...}``); returns its result."""
    answer: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = flow.throw(error) if error is not None else flow.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        answer, error = None, None
        try:
            answer = do_step(step, clients, extra)
        except Exception as exc:
            error = exc


def do_step(step: Any, clients: Mapping[str, Any],
            extra: Callable[[Any], Any] | None = None) -> Any:
    """Perform one step with sync clients (what ``run`` does with each)."""
    if isinstance(step, Call):
        return _method(clients, step)(*step.args, **step.kwargs)
    if isinstance(step, Items):
        call = step.call
        return list(_method(clients, call).items(*call.args, **call.kwargs))
    if isinstance(step, Gather):
        return _gather(step, clients)
    if isinstance(step, Sleep):
        time.sleep(step.seconds)
        return None
    if extra is None:
        raise TypeError(f"a workflow asked for {step!r}, which this driver cannot do")
    return extra(step)


def _gather(step: Gather, clients: Mapping[str, Any]) -> list[Any]:
    from concurrent.futures import ThreadPoolExecutor

    def one(call: Call) -> Any:
        try:
            return _method(clients, call)(*call.args, **call.kwargs)
        except Exception as exc:
            return exc

    if len(step.calls) <= 1:
        return [one(call) for call in step.calls]
    with ThreadPoolExecutor(min(CONCURRENCY, len(step.calls))) as pool:
        return list(pool.map(one, step.calls))


async def arun(flow: Flow[_T], clients: Mapping[str, Any],
               extra: Callable[[Any], Awaitable[Any]] | None = None) -> _T:
    """:func:`run` with async clients (``tcdyn.aio.Queue``, ...)."""
    answer: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = flow.throw(error) if error is not None else flow.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        answer, error = None, None
        try:
            answer = await ado_step(step, clients, extra)
        except Exception as exc:
            error = exc


async def ado_step(step: Any, clients: Mapping[str, Any],
                   extra: Callable[[Any], Awaitable[Any]] | None = None) -> Any:
    """Perform one step with async clients (what ``arun`` does with each)."""
    import asyncio

    if isinstance(step, Call):
        return await _method(clients, step)(*step.args, **step.kwargs)
    if isinstance(step, Items):
        call = step.call
        return [item async for item in _method(clients, call).items(*call.args,
                                                                     **call.kwargs)]
    if isinstance(step, Gather):
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(call: Call) -> Any:
            async with limit:
                try:
                    return await _method(clients, call)(*call.args, **call.kwargs)
                except Exception as exc:
                    return exc

        return list(await asyncio.gather(*(one(call) for call in step.calls)))
    if isinstance(step, Sleep):
        await asyncio.sleep(step.seconds)
        return None
    if extra is None:
        raise TypeError(f"a workflow asked for {step!r}, which this driver cannot do")
    return await extra(step)
