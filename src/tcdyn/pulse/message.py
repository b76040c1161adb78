"""A received Pulse message, decoded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..exchanges import ROUTE_PREFIX, Binding


class Message:
    """One delivered message.

    ``exchange`` and ``routing_key`` as delivered; ``routing``: the routing key's words
    (``None`` when no binding with a routing-key reference covers the exchange, or the key
    does not fit it); ``payload``: the decoded JSON body; ``routes``: the task routes the
    message was CC'd to (``route.`` stripped); ``redelivered``: the broker's flag;
    ``binding``: the binding that covers the exchange (``None`` if unknown).
    """

    __slots__ = ("_generation", "_raw", "binding", "exchange", "payload", "redelivered",
                 "routes", "routing", "routing_key")

    def __init__(self, *, exchange: str, routing_key: str, payload: Any,
                 routing: dict[str, str | None] | None, routes: list[str],
                 redelivered: bool, binding: Binding | None, raw: Any = None,
                 generation: int = 0) -> None:
        self.exchange = exchange
        self.routing_key = routing_key
        self.payload = payload
        self.routing = routing
        self.routes = routes
        self.redelivered = redelivered
        self.binding = binding
        self._raw = raw
        self._generation = generation

    @property
    def name(self) -> str | None:
        """The exchange entry's name (``taskCompleted``), when known."""
        return self.binding.name if self.binding else None

    def __repr__(self) -> str:
        return f"<Message {self.exchange} {self.routing_key}>"


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
