"""Issue 11 item 7: the consumer reads deliveries straight from aiormq (no aio-pika
``IncomingMessage`` per message) and resolves a binding's schema check once."""

from __future__ import annotations

import asyncio
import json

import pytest
import slugid
from pulse_helpers import task_message, wait_for

from tcdyn.pulse import Consumer
from tcdyn.pulse.delivery import Delivery

pytestmark = pytest.mark.usefixtures("broker")


async def test_deliveries_are_read_without_aio_pikas_message_and_settle(
        broker, publisher, queue_name, queue_events, deployment):
    group = slugid.nice()
    binding = queue_events.taskCompleted(taskGroupId=group)
    exchange = "exchange/taskcluster-queue/v1/task-completed"
    async with Consumer(broker["url"], queue_name, [binding], prefetch=8,
                        validate=deployment.validate_message) as consumer:
        key, payload = task_message("task-completed", slugid.nice(), group)
        payload["status"]["state"] = "no-such-state"  # fails the schema: rejected
        await publisher.publish(exchange, key, payload)
        for _ in range(5):
            key, payload = task_message("task-completed", slugid.nice(), group)
            await publisher.publish(exchange, key, payload, cc=["index.x.y"])
        seen = []
        async for message in consumer:
            assert type(message._raw) is Delivery
            assert message.routes == ["index.x.y"]
            assert message.routing["taskGroupId"] == group
            seen.append(message)
            if len(seen) == 4:
                await message.nack(requeue=False)
            if len(seen) == 5:
                await message.ack()
                break
        checks = deployment.validator._messages
        assert [entry[0] for entry in checks.values()].count(binding) == 1  # resolved once
    assert consumer.stats.acked == 4 and consumer.stats.rejected == 2
    assert await publisher.queue_info(f"queue/tcdyn/{queue_name}") == 0


async def _fill(publisher, exchange: str, group: str, n: int, queue: str) -> None:
    """Publish ``n`` task-completed messages of ``group`` (no confirms) and wait until
    ``queue`` holds them all."""
    import aio_pika

    channel = await publisher.connection.channel(publisher_confirms=False)
    target = await channel.get_exchange(exchange, ensure=False)
    for _ in range(n):
        key, payload = task_message("task-completed", slugid.nice(), group)
        await target.publish(aio_pika.Message(json.dumps(payload).encode()), routing_key=key)
    await channel.close()
    await wait_for_count(publisher, queue, n)


async def wait_for_count(publisher, queue: str, n: int) -> None:
    for _ in range(500):
        if await publisher.queue_info(queue) == n:
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"{queue} never held {n} messages")


async def test_acks_go_out_in_batches_while_deliveries_keep_coming(
        broker, publisher, queue_name, queue_events, deployment, monkeypatch):
    """Issue 21: one ``basic.ack multiple`` per ``prefetch // 4`` handled messages while the
    queue keeps the consumer busy, not one per pause of the inbox (each ack is a frame the
    broker, on the same cores, must handle too)."""
    acks: list[bool] = []
    ack = Delivery.ack

    def counted(self, **options):
        acks.append(options.get("multiple", False))
        return ack(self, **options)

    monkeypatch.setattr(Delivery, "ack", counted)
    group, n, prefetch = slugid.nice(), 1600, 64
    binding = queue_events.taskCompleted(taskGroupId=group)
    full = f"queue/tcdyn/{queue_name}"
    async with Consumer(broker["url"], queue_name, [binding]):
        pass  # the durable queue, bound
    await _fill(publisher, binding.exchange, group, n, full)

    async def handler(message) -> None:
        pass

    consumer = Consumer(broker["url"], queue_name, [binding], prefetch=prefetch,
                        validate=deployment.validate_message)
    await asyncio.wait_for(consumer.run(handler, limit=n), 60)
    assert consumer.stats.acked == n and consumer.stats.rejected == 0
    ideal = n // (prefetch // 4)
    # the ack timer adds one when deliveries pause for ACK_DELAY: a few under load; an ack
    # per empty inbox (the old rule) made ~5x the ideal here
    assert len(acks) <= ideal * 2, f"{len(acks)} acks for {n} messages (ideal {ideal})"
    assert await publisher.queue_info(full) == 0


async def test_a_handled_message_is_acked_soon_when_no_more_come(
        broker, publisher, queue_name, hooks_events):
    """Batching never holds an ack back for long: when deliveries pause, what was handled
    is acked (within ``ACK_DELAY``) while the consumer waits for more."""
    binding = hooks_events.hookCreated()
    async with Consumer(broker["url"], queue_name, [binding], prefetch=64) as consumer:
        for i in range(3):
            await publisher.publish(binding.exchange, "_", {"hookGroupId": "g", "hookId": str(i)})

        async def handler(message) -> None:
            pass

        runner = asyncio.create_task(consumer.run(handler))
        await wait_for(lambda: consumer.stats.acked == 3, timeout=5, what="the acks")
        assert not runner.done()  # acked while still consuming, not on close
        consumer.stop()
        await asyncio.wait_for(runner, 10)


async def test_the_inbox_keeps_order_and_wakes_every_waiting_reader():
    """The consumer's inbox (a deque, lighter than asyncio.Queue): items come out in order,
    two waiting readers are both woken, and one cancelled after its wake-up hands it on."""
    from tcdyn.pulse.consumer import _Inbox

    inbox, got = _Inbox(), []

    async def reader(name: str) -> None:
        got.append((name, await inbox.get()))

    readers = [asyncio.create_task(reader(name)) for name in "ab"]
    await asyncio.sleep(0)
    inbox.put_nowait(1)
    inbox.put_nowait(2)
    await asyncio.wait_for(asyncio.gather(*readers), 5)
    assert got == [("a", 1), ("b", 2)]
    readers = [asyncio.create_task(reader(name)) for name in "cd"]
    await asyncio.sleep(0)
    inbox.put_nowait(3)
    readers[0].cancel()  # woken for 3, cancelled before it ran
    await asyncio.wait_for(readers[1], 5)
    assert got[-1] == ("d", 3) and not inbox
