"""The blocking iterator: the same ack semantics as ``async for``, in plain ``for``."""

from __future__ import annotations

import asyncio

import pytest

from tcdyn.pulse import SyncConsumer

pytestmark = pytest.mark.usefixtures("broker")


async def test_sync_iteration_acks_after_the_body_and_nacks_on_error(
        broker, publisher, queue_name, hooks_events):
    binding = hooks_events.hookUpdated()
    queue = f"queue/tcdyn/{queue_name}"

    def consume(fail_on: str | None, count: int) -> list[tuple[str, bool]]:
        seen = []
        with SyncConsumer(broker["url"], queue_name, [binding]) as consumer:
            if count == 0:
                return seen
            for message in consumer:
                seen.append((message.payload["hookId"], message.redelivered))
                if message.payload["hookId"] == fail_on:
                    raise RuntimeError("body broke")
                if len(seen) == count:
                    message.ack()  # `break` alone would nack it: the body did not finish
                    break
        return seen

    # Declare and bind the queue first, then publish into it.
    await asyncio.to_thread(consume, None, 0)
    for hook in ("a", "b"):
        await publisher.publish(binding.exchange, "_", {"hookGroupId": "g", "hookId": hook})
    assert await asyncio.to_thread(consume, None, 2) == [("a", False), ("b", False)]
    assert await publisher.queue_info(queue) == 0  # both acked, 'break' included
    await publisher.publish(binding.exchange, "_", {"hookGroupId": "g", "hookId": "c"})
    with pytest.raises(RuntimeError, match="body broke"):
        await asyncio.to_thread(consume, "c", 1)
    assert await publisher.queue_info(queue) == 1  # nacked and requeued
    assert await asyncio.to_thread(consume, None, 1) == [("c", True)]
    assert await publisher.queue_info(queue) == 0


def test_sync_consumer_checks_its_arguments_before_connecting(hooks_events):
    with pytest.raises((TypeError, ValueError)):
        SyncConsumer("amqp://u:p@127.0.0.1:1/", "q", [hooks_events.hookUpdated()], prefetch=0)
