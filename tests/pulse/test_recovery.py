"""Recovery the consumer owns: a broker restart mid-stream, and the broker cancelling the
consumer (Pulse deleting its queue)."""

from __future__ import annotations

import asyncio
import logging

import aio_pika
import pytest
import slugid
from pulse_helpers import ADMIN_URL, Publisher, rabbitmqctl, wait_for

from tcdyn.pulse import Consumer, Message, PulseConnectionError

pytestmark = pytest.mark.usefixtures("broker")


async def _publish_ids(exchange_name: str, ids: range) -> None:
    """Publish ``{"hookId": i}`` for each id, confirmed, on a fresh admin connection."""
    connection = await aio_pika.connect(ADMIN_URL, timeout=10)
    try:
        channel = await connection.channel(publisher_confirms=True)
        publisher = Publisher(connection, channel)
        for i in ids:
            await publisher.publish(exchange_name, "_", {"hookGroupId": "g", "hookId": str(i)})
    finally:
        await connection.close()


async def _reconnect_publish(exchange_name: str, ids: range, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            await _publish_ids(exchange_name, ids)
            return
        except (ConnectionError, OSError, aio_pika.exceptions.AMQPError):
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_broker_restart_mid_stream_loses_nothing(broker, queue_name, hooks_events,
                                                       caplog):
    binding = hooks_events.hookCreated()
    total, before = 600, 400
    seen: list[int] = []

    async def handler(message: Message) -> None:
        seen.append(int(message.payload["hookId"]))
        await asyncio.sleep(0.005)  # slow enough that messages are in flight at the restart

    async def watch() -> int:
        while consumer.connected:
            await asyncio.sleep(0.002)
        return len(seen)

    consumer = Consumer(broker["url"], queue_name, [binding], prefetch=20,
                        reconnect_delay=0.1, max_reconnect_delay=0.5)
    with caplog.at_level(logging.INFO, logger="tcdyn.pulse"):
        async with consumer:
            await _publish_ids(binding.exchange, range(before))
            runner = asyncio.create_task(consumer.run(handler))
            await wait_for(lambda: len(seen) >= 30, what="the first messages")
            watcher = asyncio.create_task(watch())
            await asyncio.to_thread(rabbitmqctl, "stop_app")
            stopped_at = await asyncio.wait_for(watcher, 10)
            await asyncio.to_thread(rabbitmqctl, "start_app")
            await _reconnect_publish(binding.exchange, range(before, total))
            await wait_for(lambda: set(range(total)) <= set(seen), timeout=60,
                           what="every message after the restart")
            consumer.stop()
            await asyncio.wait_for(runner, 10)
    assert stopped_at < before  # the restart really came mid-stream
    assert consumer.stats.recoveries >= 1
    assert set(seen) == set(range(total))  # at least once: duplicates allowed, no loss
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "recovering" in text and "recovered" in text
    assert "tcdyn-pass" not in text  # the password never reaches a log line


async def test_consumer_cancelled_by_broker_redeclares_and_resumes(broker, publisher,
                                                                   queue_name, hooks_events):
    binding = hooks_events.hookUpdated()
    async with Consumer(broker["url"], queue_name, [binding],
                        reconnect_delay=0.05) as consumer:
        await publisher.publish(binding.exchange, "_", {"hookGroupId": "g", "hookId": "a"})
        first = await asyncio.wait_for(consumer.__anext__(), 20)
        # Pulse deletes queues that grow too long: the broker then cancels the consumer.
        await publisher.delete_queue(consumer.queue_name)
        await wait_for(lambda: consumer.stats.recoveries == 1, what="the re-declared queue")
        assert consumer.connected
        assert await publisher.queue_info(consumer.queue_name) is not None
        await publisher.publish(binding.exchange, "_", {"hookGroupId": "g", "hookId": "b"})
        second = await asyncio.wait_for(consumer.__anext__(), 20)
    assert (first.payload["hookId"], second.payload["hookId"]) == ("a", "b")


async def test_gives_up_after_max_reconnect_attempts(broker, publisher, queue_name):
    """When recovery keeps failing (here: the bound exchange is gone too), iteration ends
    with PulseConnectionError naming the last error."""
    name = f"exchange/taskcluster-tcdyn-tests/v1/{slugid.nice()}"
    exchange = await publisher.exchange(name)
    binding = {"exchange": name, "routingKeyPattern": "#"}
    async with Consumer(broker["url"], queue_name, [binding], reconnect_delay=0.01,
                        max_reconnect_delay=0.02, max_reconnect_attempts=3) as consumer:
        await exchange.delete()
        await publisher.delete_queue(consumer.queue_name)
        with pytest.raises(PulseConnectionError, match=r"gave up after 3 .*not found"):
            await asyncio.wait_for(consumer.__anext__(), 20)
    assert consumer.stats.recoveries == 0
