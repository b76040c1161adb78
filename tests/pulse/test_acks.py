"""Ack after the body, nack/requeue within the budget, reject and dead-letter after it."""

from __future__ import annotations

import asyncio

import aio_pika
import pytest
import slugid
from pulse_helpers import task_message

from tcdyn.pulse import Consumer, Message

pytestmark = pytest.mark.usefixtures("broker")


async def _dead_letter_queue(publisher, name: str) -> str:
    """An exchange the tcdyn user may write to, and a queue that collects what it gets."""
    exchange = await publisher.channel.declare_exchange(
        f"exchange/tcdyn/{name}-dead", aio_pika.ExchangeType.FANOUT, auto_delete=True)
    queue = await publisher.channel.declare_queue(f"queue/tcdyn/{name}-dead", durable=True)
    await queue.bind(exchange)
    return exchange.name


async def test_failed_handler_requeues_then_dead_letters(broker, publisher, queue_name,
                                                         hooks_events):
    binding = hooks_events.hookCreated()
    dlx = await _dead_letter_queue(publisher, queue_name)
    deliveries: list[bool] = []

    def handler(message: Message) -> None:
        deliveries.append(message.redelivered)
        raise RuntimeError("handler broke")

    consumer = Consumer(broker["url"], queue_name, [binding], max_requeues=2,
                        dead_letter_exchange=dlx)
    async with consumer:
        await publisher.publish(binding.exchange, "_", {"hookGroupId": "g", "hookId": "h"})
        await asyncio.wait_for(consumer.run(handler, limit=3), 20)
    assert deliveries == [False, True, True]
    assert (consumer.stats.requeued, consumer.stats.rejected, consumer.stats.acked) == (2, 1, 0)
    assert await publisher.queue_info(f"queue/tcdyn/{queue_name}") == 0
    assert await publisher.queue_info(f"queue/tcdyn/{queue_name}-dead") == 1


async def test_invalid_message_is_dead_lettered_not_requeued(
        broker, publisher, queue_name, queue_events, hooks_events, schema_validator):
    binding, hooks = queue_events.taskException(), hooks_events.hookCreated()
    dlx = await _dead_letter_queue(publisher, queue_name)
    async with Consumer(broker["url"], queue_name, [binding, hooks], validate=schema_validator,
                        dead_letter_exchange=dlx) as consumer:
        key, payload = task_message("task-exception", slugid.nice(), slugid.nice())
        await publisher.publish(binding.exchange, key, dict(payload, version=2))
        await publisher.publish(binding.exchange, key, None, raw=b"{")
        await publisher.publish(hooks.exchange, "_", {"hookGroupId": "g", "hookId": "ok"})
        message = await asyncio.wait_for(consumer.__anext__(), 20)
        assert message.payload["hookId"] == "ok"
    assert consumer.stats.rejected == 2
    assert await publisher.queue_info(f"queue/tcdyn/{queue_name}-dead") == 2


async def test_iteration_acks_only_after_the_body(broker, publisher, queue_name, hooks_events):
    binding = hooks_events.hookUpdated()
    queue = f"queue/tcdyn/{queue_name}"
    # 1. The body raises: the message is nacked (requeued) and the error propagates.
    with pytest.raises(RuntimeError, match="body broke"):
        async with Consumer(broker["url"], queue_name, [binding]) as consumer:
            await publisher.publish(binding.exchange, "_", {"hookGroupId": "g", "hookId": "1"})
            async for message in consumer:
                assert message.redelivered is False
                raise RuntimeError("body broke")
    assert consumer.stats.requeued == 1
    assert await publisher.queue_info(queue) == 1
    # 2. The body is cancelled before it returns: no ack; closing returns the message.
    async with Consumer(broker["url"], queue_name, [binding]) as consumer:
        async def body() -> None:
            async for _message in consumer:
                await asyncio.sleep(3600)

        task = asyncio.create_task(body())
        await asyncio.sleep(0.3)
        assert consumer.stats.delivered == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert consumer.stats.acked == 0
    assert await publisher.queue_info(queue) == 1
    # 3. Leaving the loop with `break` would count as a failure: ack explicitly first.
    async with Consumer(broker["url"], queue_name, [binding]) as consumer:
        async for message in consumer:
            assert message.redelivered is True
            assert consumer.stats.acked == 0
            await message.ack()
            break
    assert consumer.stats.acked == 1
    assert await publisher.queue_info(queue) == 0


async def test_prefetch_limits_unacked_messages(broker, publisher, queue_name, hooks_events):
    binding = hooks_events.hookDeleted()
    async with Consumer(broker["url"], queue_name, [binding], prefetch=2) as consumer:
        for i in range(5):
            await publisher.publish(binding.exchange, "_", {"hookGroupId": "g", "hookId": i})
        await asyncio.sleep(0.3)
        # Two are with the consumer (unacked), three still ready in the queue.
        assert await publisher.queue_info(consumer.queue_name) == 3
        got = [m.payload["hookId"] for m in [await consumer.__anext__() for _ in range(5)]]
    assert got == [0, 1, 2, 3, 4]


async def test_quorum_queue_counts_deliveries_on_the_broker(broker, publisher, queue_name,
                                                            hooks_events):
    binding = hooks_events.hookCreated()
    deliveries: list[bool] = []

    def handler(message: Message) -> None:
        deliveries.append(message.redelivered)
        raise RuntimeError("handler broke")

    async with Consumer(broker["url"], queue_name, [binding], queue_type="quorum",
                        max_requeues=1) as consumer:
        await publisher.publish(binding.exchange, "_", {"hookGroupId": "g", "hookId": "q"})
        await asyncio.wait_for(consumer.run(handler, limit=2), 20)
        assert (consumer.stats.requeued, consumer.stats.rejected) == (1, 1)
    assert deliveries == [False, True]
    assert await publisher.queue_info(consumer.queue_name) == 0
    # The queue really is a quorum queue: declaring it as classic is refused.
    channel = await publisher.connection.channel()
    with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed, match="x-queue-type"):
        await channel.declare_queue(consumer.queue_name, durable=True)
