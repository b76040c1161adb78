"""Scale-out, as the Pulse guide says it: consumers sharing a named queue (same user, same
``queue_name``) split its messages, each handled once, and a message one of them leaves
unsettled goes to another, flagged redelivered."""

from __future__ import annotations

import asyncio

import pytest
import slugid
from pulse_helpers import task_message

from tcdyn.pulse import Consumer, Message

pytestmark = pytest.mark.usefixtures("broker")


async def test_consumers_sharing_a_queue_each_handle_a_message_once(
        broker, publisher, queue_name, queue_events):
    group = slugid.nice()
    binding = queue_events.taskCompleted(taskGroupId=group)
    tasks = [slugid.nice() for _ in range(20)]
    handled: dict[str, list[str]] = {"a": [], "b": []}
    a = Consumer(broker["url"], queue_name, [binding], prefetch=2)
    b = Consumer(broker["url"], queue_name, [binding], prefetch=2)

    def handler(name: str):
        async def handle(message: Message) -> None:
            await asyncio.sleep(0.01)  # a handler that takes a while, as real ones do
            handled[name].append(message.routing["taskId"])
            if len(handled["a"]) + len(handled["b"]) == len(tasks):
                a.stop()
                b.stop()
        return handle

    async with a, b:  # both consuming before the first message is published
        for task in tasks:
            key, payload = task_message("task-completed", task, group)
            await publisher.publish(binding.exchange, key, payload)
        await asyncio.wait_for(asyncio.gather(a.run(handler("a")), b.run(handler("b"))), 30)
    assert sorted(handled["a"] + handled["b"]) == sorted(tasks)  # each once
    assert handled["a"] and handled["b"], handled                # and both had a share
    assert await publisher.queue_info(f"queue/tcdyn/{queue_name}") == 0  # all settled


async def test_a_message_one_consumer_leaves_goes_to_another(broker, publisher, queue_name,
                                                             queue_events):
    group, task = slugid.nice(), slugid.nice()
    binding = queue_events.taskCompleted(taskGroupId=group)
    first = Consumer(broker["url"], queue_name, [binding], prefetch=1)
    async with first:
        key, payload = task_message("task-completed", task, group)
        await publisher.publish(binding.exchange, key, payload)
        taken = await asyncio.wait_for(first.__anext__(), 20)
        assert taken.routing["taskId"] == task and not taken.redelivered
        second = Consumer(broker["url"], queue_name, [binding], prefetch=1)
        async with second:
            await first.close()  # gone before settling it (a crash, a lost connection)
            again = await asyncio.wait_for(second.__anext__(), 20)
            assert again.routing["taskId"] == task and again.redelivered
            await again.ack()
    assert await publisher.queue_info(f"queue/tcdyn/{queue_name}") == 0
