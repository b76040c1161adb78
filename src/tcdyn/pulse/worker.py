"""Synchronous handlers run off the event loop, so a slow one cannot starve heartbeats.

One daemon thread per ``Consumer.run`` calls the handler for a batch of already received
messages at a time (one thread hop per batch, not per message), in delivery order, and
hands back how each ended. A handler that returns an awaitable has it awaited on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

# A batch stops taking new messages after this long, so finished ones are acked promptly.
BATCH_SECONDS = 0.1


class Worker:
    """A daemon thread running ``handle_batch`` jobs one after the other."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run ``fn(*args)`` on the thread; the future resolves on the calling loop."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((loop, future, fn, args))
        return future

    def close(self) -> None:
        """End the thread once its current job (if any) returns."""
        self._jobs.put(None)

    def _main(self) -> None:
        while (job := self._jobs.get()) is not None:
            loop, future, fn, args = job
            try:
                result, error = fn(*args), None
            except BaseException as e:  # handed to the loop, which re-raises it
                result, error = None, e
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
                loop.call_soon_threadsafe(_resolve, future, result, error)


def _resolve(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def handle_batch(handler: Callable[[Any], Any], batch: Sequence[Any],
                 results: list[BaseException | None], stop: Callable[[], bool],
                 loop: asyncio.AbstractEventLoop,
                 around: Callable[[Any], AbstractContextManager[Any]]) -> None:
    """Call ``handler`` on each message of ``batch`` in order, inside ``around(message)``
    (its span), appending ``None`` (done) or the exception it raised to ``results``; stop
    early when ``stop()`` is true or the batch has run ``BATCH_SECONDS``."""
    deadline = time.monotonic() + BATCH_SECONDS
    for message in batch:
        if stop() or (results and time.monotonic() > deadline):
            return
        try:
            with around(message):
                result = handler(message)
                if hasattr(result, "__await__"):
                    asyncio.run_coroutine_threadsafe(_await(result), loop).result()
        except Exception as e:
            results.append(e)
        else:
            results.append(None)


async def _await(awaitable: Any) -> Any:
    return await awaitable
