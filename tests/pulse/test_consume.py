"""Delivery through bindings, routing-key parsing, CC'd routes, validation, the run/listen
forms: real messages through a real broker."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
import slugid
from pulse_helpers import PROVISIONER, SCHEDULER, WORKER_TYPE, task_message

from tcdyn.pulse import Consumer, Message, listen

pytestmark = pytest.mark.usefixtures("broker")


async def test_delivers_through_bindings_with_routing_and_routes(
        broker, publisher, queue_name, queue_events, hooks_events):
    group, other_group = slugid.nice(), slugid.nice()
    task = slugid.nice()
    bindings = [queue_events.taskCompleted(taskGroupId=group), hooks_events.hookCreated()]
    async with Consumer(broker["url"], queue_name, bindings, reconnect_delay=0.05) as consumer:
        assert consumer.queue_name == f"queue/tcdyn/{queue_name}"
        # Not bound: another group, and another queue exchange of the same group.
        key, payload = task_message("task-completed", slugid.nice(), other_group)
        await publisher.publish("exchange/taskcluster-queue/v1/task-completed", key, payload)
        key, payload = task_message("task-failed", slugid.nice(), group)
        await publisher.publish("exchange/taskcluster-queue/v1/task-failed", key, payload)
        # Bound.
        key, payload = task_message("task-completed", task, group)
        await publisher.publish("exchange/taskcluster-queue/v1/task-completed", key, payload,
                                cc=["index.project.tcdyn.latest", "notify.email.x@y.z"])
        await publisher.publish("exchange/taskcluster-hooks/v1/hook-created", "_",
                                {"hookGroupId": "g", "hookId": "h"})
        received: list[Message] = []
        async for message in consumer:
            received.append(message)
            if len(received) == 2:
                await message.ack()  # handled: `break` alone would count as a failure
                break

    done, hook = received
    assert done.exchange == "exchange/taskcluster-queue/v1/task-completed"
    assert done.name == "taskCompleted"
    assert done.routing_key == key
    assert done.payload == payload
    assert done.routing == {
        "routingKeyKind": "primary", "taskId": task, "runId": "0", "workerGroup": "wg-1",
        "workerId": "worker-1", "provisionerId": PROVISIONER, "workerType": WORKER_TYPE,
        "schedulerId": SCHEDULER, "taskGroupId": group, "reserved": None,
    }
    assert done.routes == ["index.project.tcdyn.latest", "notify.email.x@y.z"]
    assert done.redelivered is False
    assert hook.exchange == "exchange/taskcluster-hooks/v1/hook-created"
    assert hook.payload == {"hookGroupId": "g", "hookId": "h"}
    assert hook.routing == {"reserved": None}
    assert hook.routes == []
    assert consumer.stats.acked == 2


async def test_plain_string_binding_matches_cc_route(broker, publisher, queue_name,
                                                     queue_events):
    route = f"index.tcdyn.{slugid.nice()}"
    binding = queue_events.taskDefined(f"route.{route}.#")
    assert binding.routingKeyPattern == f"route.{route}.#"
    group = slugid.nice()
    async with Consumer(broker["url"], queue_name, [binding]) as consumer:
        key, payload = task_message("task-defined", slugid.nice(), group)
        await publisher.publish("exchange/taskcluster-queue/v1/task-defined", key, payload)
        key2, payload2 = task_message("task-defined", slugid.nice(), group)
        await publisher.publish("exchange/taskcluster-queue/v1/task-defined", key2, payload2,
                                cc=[f"{route}.child"])
        message = await asyncio.wait_for(consumer.__anext__(), 20)
    # Only the CC'd message arrives; it carries its primary routing key, parsed.
    assert message.routing_key == key2
    assert message.routing["taskGroupId"] == group
    assert message.routing["runId"] is None  # '_' on the wire: no run yet
    assert message.routes == [f"{route}.child"]


async def test_official_client_dict_binding(broker, publisher, queue_name, queue_events):
    task, group = slugid.nice(), slugid.nice()
    as_dict = dict(queue_events.taskPending(taskId=task))
    assert set(as_dict) == {"exchange", "routingKeyPattern"}
    async with Consumer(broker["url"], queue_name, [as_dict]) as consumer:
        key, payload = task_message("task-pending", task, group)
        await publisher.publish("exchange/taskcluster-queue/v1/task-pending", key, payload)
        message = await asyncio.wait_for(consumer.__anext__(), 20)
    assert message.payload == payload
    assert message.routing is None  # a bare dict carries no routing-key reference
    assert message.binding.routingKeyPattern == as_dict["routingKeyPattern"]


async def test_validation_rejects_and_goes_on(broker, publisher, queue_name, queue_events,
                                              schema_validator, caplog):
    group = slugid.nice()
    binding = queue_events.taskCompleted(taskGroupId=group)
    exchange = binding.exchange
    async with Consumer(broker["url"], queue_name, [binding],
                        validate=schema_validator) as consumer:
        key, good = task_message("task-completed", slugid.nice(), group)
        bad = dict(good, runId="zero")
        with caplog.at_level(logging.WARNING, logger="tcdyn.pulse"):
            await publisher.publish(exchange, key, bad)
            await publisher.publish(exchange, key, None, raw=b"\xff not json")
            await publisher.publish(exchange, key, good)
            message = await asyncio.wait_for(consumer.__anext__(), 20)
            await message.ack()
        assert message.payload == good
        assert consumer.stats.rejected == 2
        assert consumer.stats.delivered == 3
    assert await publisher.queue_info(f"queue/tcdyn/{queue_name}") == 0
    reasons = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(reasons) == 2
    assert "/schemas/queue/v1/task-completed-message.json#" in reasons[0]
    assert "runId" in reasons[0]
    assert "not JSON" in reasons[1]


async def test_run_with_async_and_sync_handlers(broker, publisher, queue_name, queue_events):
    group = slugid.nice()
    binding = queue_events.taskRunning(taskGroupId=group)
    keys = [task_message("task-running", slugid.nice(), group)[0] for _ in range(3)]
    consumer = Consumer(broker["url"], queue_name, [binding])
    async with consumer:
        for key in keys:
            await publisher.publish(binding.exchange, key, {"k": key})
        seen: list[str] = []

        async def handler(message: Message) -> None:
            await asyncio.sleep(0)
            seen.append(message.payload["k"])

        assert await asyncio.wait_for(consumer.run(handler, limit=2), 20) == 2
        assert await asyncio.wait_for(consumer.run(lambda m: seen.append(m.payload["k"]),
                                                   limit=1), 20) == 1
    assert seen == keys
    assert consumer.stats.acked == 3


def test_listen_blocks_until_limit(broker, queue_name, hooks_events):
    """The synchronous form: a script calls listen() with a callback."""
    import aio_pika

    binding = hooks_events.hookUpdated()
    seen: list[object] = []

    async def publish_soon() -> None:
        connection = await aio_pika.connect(broker["admin"])
        channel = await connection.channel()
        exchange = await channel.declare_exchange(binding.exchange, "topic", durable=True)
        for i in range(40):  # until the consumer has bound its queue
            await exchange.publish(aio_pika.Message(b'{"hookGroupId": "g", "hookId": "%d"}'
                                                    % i), routing_key="_")
            await asyncio.sleep(0.05)
            if len(seen) >= 2:
                break
        await connection.close()

    thread = threading.Thread(target=asyncio.run, args=(publish_soon(),))
    thread.start()
    try:
        count = listen(broker["url"], queue_name, [binding], seen.append, limit=2)
    finally:
        thread.join()
    assert count == 2
    assert all(m.exchange == binding.exchange for m in seen)
    assert [int(m.payload["hookId"]) for m in seen] == sorted(int(m.payload["hookId"])
                                                              for m in seen)


async def test_stop_from_handler_ends_run(broker, publisher, queue_name, hooks_events):
    binding = hooks_events.hookDeleted()
    async with Consumer(broker["url"], queue_name, [binding]) as consumer:
        for i in range(3):
            await publisher.publish(binding.exchange, "_", {"hookGroupId": "g", "hookId": i})
        seen = []

        def handler(message: Message) -> None:
            seen.append(message.payload["hookId"])
            consumer.stop()

        assert await asyncio.wait_for(consumer.run(handler), 20) == 1
        assert [m async for m in consumer] == []  # stays stopped
    assert seen == [0]
    # The two unhandled messages went back to the queue when the consumer closed.
    assert await publisher.queue_info(f"queue/tcdyn/{queue_name}") == 2
