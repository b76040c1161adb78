"""Blocking entry point for scripts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from ..exchanges import Binding
from .consumer import Consumer, Handler


def listen(url: str, queue_name: str | None, bindings: Iterable[Binding | dict[str, Any]],
           callback: Handler, *, limit: int | None = None, **options: Any) -> int:
    """Consume until ``limit`` messages were handled (or forever), calling
    ``callback(message)`` for each; see ``Consumer`` for ``options`` and ack semantics.
    Returns the number handled. Ctrl-C stops it; unacked messages return to the queue."""
    consumer = Consumer(url, queue_name, bindings, **options)  # checks arguments first

    async def main() -> int:
        return await consumer.run(callback, limit=limit)

    return asyncio.run(main())
