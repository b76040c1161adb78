"""Issue 11 item 7: the consumer reads deliveries straight from aiormq (no aio-pika
``IncomingMessage`` per message) and resolves a binding's schema check once."""

from __future__ import annotations

import pytest
import slugid
from pulse_helpers import task_message

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
