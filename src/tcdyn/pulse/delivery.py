"""A delivery as the broker sent it, read straight from aiormq.

aio-pika's ``IncomingMessage`` costs ~14 us to build (and its consumer one more task) per
message, more than the rest of what the consumer does with it; the consumer only needs these
fields and the three ways to settle one.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any


class Delivery:
    """One delivered message: its fields, and ``ack``/``nack``/``reject`` on its channel."""

    __slots__ = ("_channel", "body", "delivery_tag", "exchange", "headers", "message_id",
                 "redelivered", "routing_key")

    def __init__(self, delivered: Any) -> None:
        deliver = delivered.delivery
        properties = delivered.header.properties
        self.body: bytes = delivered.body
        self.exchange: str = deliver.exchange or ""
        self.routing_key: str = deliver.routing_key or ""
        self.redelivered: bool = bool(deliver.redelivered)
        self.delivery_tag: int = deliver.delivery_tag
        self.headers: dict[str, Any] | None = properties.headers
        self.message_id: str | None = properties.message_id
        self._channel = delivered.channel

    def ack(self, *, multiple: bool = False, wait: bool = True) -> Awaitable[None]:
        """Acknowledge this delivery (and, with ``multiple``, every earlier one); unless
        ``wait``, done once the frame is queued, not written."""
        done: Awaitable[None] = self._channel.basic_ack(self.delivery_tag, multiple=multiple,
                                                        wait=wait)
        return done

    def nack(self, *, requeue: bool = True) -> Awaitable[None]:
        """Give it back: to the queue (``requeue``) or away."""
        done: Awaitable[None] = self._channel.basic_nack(self.delivery_tag, requeue=requeue)
        return done

    def reject(self, *, requeue: bool = False) -> Awaitable[None]:
        """Reject it (dead-lettered or dropped unless ``requeue``)."""
        done: Awaitable[None] = self._channel.basic_reject(self.delivery_tag, requeue=requeue)
        return done
