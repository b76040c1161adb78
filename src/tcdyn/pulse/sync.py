"""Blocking forms for scripts: ``SyncConsumer`` (a ``with``/``for`` iterator) and ``listen``.

``SyncConsumer`` runs the asynchronous ``Consumer`` on a private event loop in a thread, so
it keeps its semantics: a message is acked when the loop asks for the next one, nacked under
the requeue budget when the loop is left before (an exception, ``break``) as the ``with``
block ends or a new ``for`` starts, unless the body settled it with
``message.ack()``/``nack()``/``reject()`` (blocking calls here); the consumer recovers from
connection loss by itself. ``listen`` runs ``Consumer.run``: a synchronous
callback runs in a thread of its own, off the event loop that keeps the connection alive.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable, Iterator
from typing import Any, TypeVar

from ..client.events import Binding
from .consumer import Consumer, Handler, _Iteration
from .message import Message, SyncMessage

T = TypeVar("T")


class SyncConsumer:
    """``with SyncConsumer(url, queue_name, bindings) as consumer: for message in consumer:``

    Takes the options of ``Consumer`` (checked at once, before connecting). Messages are
    ``SyncMessage``: ``message.ack()``, ``nack(requeue=...)`` and ``reject()`` block.
    """

    def __init__(self, url: str, queue_name: str | None,
                 bindings: Iterable[Binding | dict[str, Any]], **options: Any) -> None:
        self.consumer = Consumer(url, queue_name, bindings, **options)
        self.consumer._message_cls = SyncMessage  # ack()/nack()/reject() block, not await
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None, "use SyncConsumer inside a `with` block"
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # e.g. Ctrl-C while waiting: the message stays unacked
            raise

    def __enter__(self) -> SyncConsumer:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name=f"tcdyn-pulse {self.consumer.queue_name}")
        self._thread.start()
        try:
            self._run(self.consumer.__aenter__())
        except BaseException:
            self._shutdown()
            raise
        return self

    def __iter__(self) -> Iterator[Message]:
        """A new iteration: the message an earlier ``for`` left unfinished is nacked
        (under the requeue budget) when it asks for its first message, never acked."""
        return _SyncIteration(self, self.consumer.__aiter__())

    def __next__(self) -> Message:
        """The next message (``next(consumer)``: an iteration of its own)."""
        return self._next(self.consumer)

    def _next(self, iteration: Consumer | _Iteration) -> Message:
        try:
            return self._run(iteration.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def stop(self) -> None:
        """End the iteration after the current message (safe from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.consumer.stop)

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            self._run(self.consumer.__aexit__(exc_type, exc, tb))
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    def __repr__(self) -> str:
        return f"<SyncConsumer of {self.consumer!r}>"


class _SyncIteration:
    """One ``for`` over a ``SyncConsumer``: one iteration of its ``Consumer``."""

    __slots__ = ("_iteration", "_owner")

    def __init__(self, owner: SyncConsumer, iteration: _Iteration) -> None:
        self._owner = owner
        self._iteration = iteration

    def __iter__(self) -> _SyncIteration:
        return self

    def __next__(self) -> Message:
        return self._owner._next(self._iteration)


def listen(url: str, queue_name: str | None, bindings: Iterable[Binding | dict[str, Any]],
           callback: Handler, *, limit: int | None = None, **options: Any) -> int:
    """Consume until ``limit`` messages were handled (or forever), calling
    ``callback(message)`` for each; see ``Consumer`` for ``options`` and ack semantics.
    Returns the number handled. Ctrl-C stops it; unacked messages return to the queue."""
    consumer = Consumer(url, queue_name, bindings, **options)  # checks arguments first

    async def main() -> int:
        return await consumer.run(callback, limit=limit)

    return asyncio.run(main())
