"""A received Pulse message, decoded, and how its handler settles it explicitly."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from .. import tracing
from ..client.events import ROUTE_PREFIX, Binding

if TYPE_CHECKING:
    from .consumer import Consumer

ACKED, REQUEUED, REJECTED = "acked", "requeued", "rejected"


class Message:
    """One delivered message.

    ``exchange`` and ``routing_key`` as delivered; ``routing``: the routing key's words
    (``None`` when no binding with a routing-key reference covers the exchange, or the key
    does not fit it); ``payload``: the decoded JSON body; ``routes``: the task routes the
    message was CC'd to (``route.`` stripped); ``redelivered``: the broker's flag;
    ``binding``: the binding that covers the exchange (``None`` if unknown).

    The consumer settles a message by itself (see ``Consumer``); ``await ack()``,
    ``await nack(requeue=...)`` and ``await reject()`` settle it explicitly instead, at
    once, after which the consumer leaves it alone. ``settled`` says how it was settled.
    """

    __slots__ = ("_consumer", "_generation", "_raw", "_settled", "binding", "exchange",
                 "payload", "redelivered", "routes", "routing", "routing_key")

    def __init__(self, *, exchange: str, routing_key: str, payload: Any,
                 routing: dict[str, str | None] | None, routes: list[str],
                 redelivered: bool, binding: Binding | None, raw: Any = None,
                 generation: int = 0, consumer: Consumer | None = None) -> None:
        self.exchange = exchange
        self.routing_key = routing_key
        self.payload = payload
        self.routing = routing
        self.routes = routes
        self.redelivered = redelivered
        self.binding = binding
        self._raw = raw
        self._generation = generation
        self._consumer = consumer
        self._settled: str | None = None

    @property
    def name(self) -> str | None:
        """The exchange entry's name (``taskCompleted``), when known."""
        return self.binding.name if self.binding else None

    @property
    def settled(self) -> str | None:
        """``"acked"``, ``"requeued"``, ``"rejected"``, or ``None`` while unsettled."""
        return self._settled

    async def ack(self) -> None:
        """Acknowledge the message now: the broker drops it."""
        await self._settle_explicitly(ACKED)

    async def nack(self, *, requeue: bool = True) -> None:
        """Give the message back: to its queue (``requeue=True``, not counted against
        ``max_requeues``) or, with ``requeue=False``, as ``reject()``."""
        if not isinstance(requeue, bool):
            raise TypeError(f"requeue must be a bool, got {type(requeue).__name__}")
        await self._settle_explicitly(REQUEUED if requeue else REJECTED)

    async def reject(self) -> None:
        """Reject the message for good (dead-lettered when the queue has a dead-letter
        exchange, dropped otherwise)."""
        await self._settle_explicitly(REJECTED)

    async def _settle_explicitly(self, outcome: str) -> None:
        if self._consumer is None:
            raise RuntimeError(f"{self!r} was not delivered by a consumer: nothing to settle")
        if self._settled is not None:
            raise RuntimeError(f"{self!r} is already {self._settled}; a message is settled "
                               "once")
        await self._consumer._settle_explicitly(self, outcome)

    def __repr__(self) -> str:
        return f"<Message {self.exchange} {self.routing_key}>"


class SyncMessage(Message):
    """A ``Message`` handed to blocking code (``SyncConsumer``, a synchronous ``run``
    handler): ``ack()``, ``nack()`` and ``reject()`` block until sent, instead of being
    awaited."""

    __slots__ = ()

    def ack(self) -> None:  # type: ignore[override]
        """Acknowledge the message now: the broker drops it."""
        self._block(Message.ack(self))

    def nack(self, *, requeue: bool = True) -> None:  # type: ignore[override]
        """Give the message back: to its queue (``requeue=True``, not counted against
        ``max_requeues``) or, with ``requeue=False``, as ``reject()``."""
        self._block(Message.nack(self, requeue=requeue))

    def reject(self) -> None:  # type: ignore[override]
        """Reject the message for good (dead-lettered or dropped)."""
        self._block(Message.reject(self))

    def _block(self, coro: Any) -> None:
        loop = self._consumer._loop if self._consumer is not None else None
        if loop is None:
            coro.close()
            raise RuntimeError(f"{self!r} was not delivered by a consumer: nothing to settle")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coro.close()
            raise RuntimeError(f"{self!r}: settle it from the handler's thread, not from "
                               "the consumer's event loop")
        asyncio.run_coroutine_threadsafe(coro, loop).result()


def processing(message: Message) -> AbstractContextManager[None]:
    """The span of a handler's work on ``message`` (``tracing.processing``: a CONSUMER
    span with OpenTelemetry in use, else nothing)."""
    raw, consumer = message._raw, message._consumer
    return tracing.processing(
        message.exchange, message.routing_key,
        queue=consumer.queue_name if consumer is not None else "",
        size=len(raw.body) if raw is not None else None,
        delivery_tag=getattr(raw, "delivery_tag", None), headers=getattr(raw, "headers", None),
        entry=message.name, broker=consumer._url if consumer is not None else None)


def cc_routes(headers: Mapping[str, Any] | None) -> list[str]:
    """The ``route.*`` keys of a message's ``CC`` header, without ``route.``."""
    cc = headers.get("CC") if headers else None
    if not isinstance(cc, (list, tuple)):
        return []
    out = []
    for key in cc:
        if isinstance(key, bytes):
            key = key.decode("utf-8", "replace")
        if isinstance(key, str) and key.startswith(ROUTE_PREFIX):
            out.append(key[len(ROUTE_PREFIX):])
    return out
