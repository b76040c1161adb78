"""Issue 18, items 2 and 3: settling when iteration resumes, and the requeue budget of
identical bodies.

- 2: a message whose loop body was left (an exception, caught outside the loop, or
  ``break``) is unfinished wherever the next iteration starts: a new ``async for``/``for``
  over the same consumer nacks it under the requeue budget, never acks it;
- 3: Taskcluster publishes without a message-id, so two identical bodies are two messages:
  each one gets the whole ``max_requeues`` budget.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

import pytest

from tcdyn.pulse import Consumer, Message, SyncConsumer

pytestmark = pytest.mark.usefixtures("broker")
T = TypeVar("T")


def _hook(n: object) -> dict[str, object]:
    return {"hookGroupId": "g", "hookId": str(n)}


async def _declare(url: str, queue_name: str, binding) -> str:
    """Declare and bind the (durable) queue, so messages published now wait in it."""
    async with Consumer(url, queue_name, [binding]) as consumer:
        pass
    return consumer.queue_name


async def _in_thread(fn: Callable[[], T], timeout: float) -> T:
    """``fn()`` in a daemon thread (a consumer that never stops cannot hold the run)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def target() -> None:
        try:
            result = fn()
        except BaseException as e:  # handed to the test
            loop.call_soon_threadsafe(done.set_exception, e)
        else:
            loop.call_soon_threadsafe(done.set_result, result)

    threading.Thread(target=target, daemon=True).start()
    return await asyncio.wait_for(done, timeout)


async def _publish(publisher, binding, *ids: object) -> None:
    for n in ids:
        await publisher.publish(binding.exchange, "_", _hook(n))


async def _publish_identical(publisher, binding, count: int) -> None:
    """``count`` identical bodies without a message-id, as Taskcluster publishes them."""
    for _ in range(count):
        await publisher.publish_bare(binding.exchange, "_", _hook("same"))


# -- 2: a new iteration does not ack what the last one left ----------------------------------

async def test_new_async_for_after_an_exception_caught_outside_the_loop_nacks(
        broker, publisher, queue_name, hooks_events):
    """The issue's case: message 2 raises, the exception is caught around the loop, a new
    ``async for`` starts: 2 goes back to the queue (requeued once), it is not acked."""
    binding = hooks_events.hookUpdated()
    queue = await _declare(broker["url"], queue_name, binding)
    await _publish(publisher, binding, 1, 2, 3)
    seen: list[tuple[str, bool]] = []

    async def consume() -> Consumer:
        async with Consumer(broker["url"], queue_name, [binding], max_requeues=1) as consumer:
            for _attempt in range(2):
                try:
                    async for message in consumer:
                        seen.append((message.payload["hookId"], message.redelivered))
                        if message.payload["hookId"] == "2" and not message.redelivered:
                            raise RuntimeError("handler broke")
                        if len(seen) == 4:
                            consumer.stop()
                except RuntimeError:
                    pass
        return consumer

    consumer = await asyncio.wait_for(consume(), 15)
    # 2 was requeued when the second loop started, and came back after 3.
    assert seen == [("1", False), ("2", False), ("3", False), ("2", True)]
    assert (consumer.stats.acked, consumer.stats.requeued, consumer.stats.rejected) == (3, 1, 0)
    assert await publisher.queue_info(queue) == 0


async def test_new_async_for_after_break_nacks_under_the_budget(
        broker, publisher, queue_name, hooks_events):
    binding = hooks_events.hookUpdated()
    queue = await _declare(broker["url"], queue_name, binding)
    await _publish(publisher, binding, 1, 2)
    async with Consumer(broker["url"], queue_name, [binding], max_requeues=0) as consumer:
        async for message in consumer:
            assert message.payload["hookId"] == "1"
            break  # unfinished: with no requeue left, it is rejected, not acked
        async for message in consumer:
            assert message.payload["hookId"] == "2"
            assert message.settled is None
            break
        assert (consumer.stats.acked, consumer.stats.rejected) == (0, 1)
        # A third loop settles 2 the same way, before it waits for more.
        consumer.stop()
        async for _message in consumer:
            pytest.fail("stopped: no message expected")
    assert (consumer.stats.acked, consumer.stats.rejected, consumer.stats.requeued) == (0, 2, 0)
    assert await publisher.queue_info(queue) == 0


async def test_direct_anext_after_a_left_loop_nacks_it(broker, publisher, queue_name,
                                                       hooks_events):
    """``await anext(consumer)`` after a ``break`` starts a new iteration as well."""
    binding = hooks_events.hookUpdated()
    queue = await _declare(broker["url"], queue_name, binding)
    await _publish(publisher, binding, 1, 2)
    async with Consumer(broker["url"], queue_name, [binding]) as consumer:
        async for first in consumer:
            assert first.payload["hookId"] == "1"
            break
        second = await asyncio.wait_for(anext(consumer), 20)
        assert second.payload["hookId"] == "2"
        assert consumer.stats.requeued == 1
        third = await asyncio.wait_for(anext(consumer), 20)  # 1 again, redelivered
        assert (third.payload["hookId"], third.redelivered) == ("1", True)
        await third.ack()
    assert consumer.stats.requeued == 1
    assert first.settled == "requeued" and second.settled == "acked"
    assert await publisher.queue_info(queue) == 0


async def test_run_after_a_left_loop_nacks_it(broker, publisher, queue_name, hooks_events):
    binding = hooks_events.hookUpdated()
    queue = await _declare(broker["url"], queue_name, binding)
    await _publish(publisher, binding, 1)
    handled: list[tuple[str, bool]] = []
    async with Consumer(broker["url"], queue_name, [binding]) as consumer:
        async for _message in consumer:
            break

        async def handler(message: Message) -> None:
            handled.append((message.payload["hookId"], message.redelivered))

        await asyncio.wait_for(consumer.run(handler, limit=1), 20)
    assert handled == [("1", True)]
    assert (consumer.stats.requeued, consumer.stats.acked) == (1, 1)
    assert await publisher.queue_info(queue) == 0


async def test_new_for_on_sync_consumer_after_exception_and_break_nacks(
        broker, publisher, queue_name, hooks_events):
    binding = hooks_events.hookUpdated()
    queue = await _declare(broker["url"], queue_name, binding)
    await _publish(publisher, binding, 1, 2, 3)

    def consume() -> tuple[list[tuple[str, bool]], SyncConsumer]:
        seen: list[tuple[str, bool]] = []
        with SyncConsumer(broker["url"], queue_name, [binding], max_requeues=1) as consumer:
            try:
                for message in consumer:
                    seen.append((message.payload["hookId"], message.redelivered))
                    if message.payload["hookId"] == "1":
                        raise RuntimeError("handler broke")
            except RuntimeError:
                pass
            for message in consumer:  # 1 is requeued here, not acked
                seen.append((message.payload["hookId"], message.redelivered))
                break  # 2 is left unfinished
            for message in consumer:  # 2 is requeued here
                seen.append((message.payload["hookId"], message.redelivered))
                if len(seen) == 5:
                    consumer.stop()
        return seen, consumer

    seen, consumer = await _in_thread(consume, 15)
    assert seen == [("1", False), ("2", False), ("3", False), ("1", True), ("2", True)]
    stats = consumer.consumer.stats
    assert (stats.acked, stats.requeued, stats.rejected) == (3, 2, 0)
    assert await publisher.queue_info(queue) == 0


# -- 3: identical bodies, one budget each ------------------------------------------------

@pytest.mark.parametrize("max_requeues", [1, 2])
async def test_identical_bodies_each_get_the_whole_requeue_budget(
        broker, publisher, queue_name, hooks_events, max_requeues):
    binding = hooks_events.hookCreated()
    queue = await _declare(broker["url"], queue_name, binding)
    await _publish_identical(publisher, binding, 2)
    deliveries: list[bool] = []

    def handler(message: Message) -> None:
        assert message._raw.message_id is None
        deliveries.append(message.redelivered)
        if len(deliveries) <= 2 * max_requeues:  # each copy fails max_requeues times
            raise RuntimeError("handler broke")

    async with Consumer(broker["url"], queue_name, [binding],
                        max_requeues=max_requeues) as consumer:
        await asyncio.wait_for(consumer.run(handler, limit=2 * (max_requeues + 1)), 30)
    stats = consumer.stats
    assert (stats.requeued, stats.rejected, stats.acked) == (2 * max_requeues, 0, 2)
    assert deliveries[:2] == [False, False] and all(deliveries[2:])
    assert await publisher.queue_info(queue) == 0


async def test_identical_bodies_in_async_for_each_get_their_budget(
        broker, publisher, queue_name, hooks_events):
    binding = hooks_events.hookCreated()
    queue = await _declare(broker["url"], queue_name, binding)
    await _publish_identical(publisher, binding, 2)
    seen: list[bool] = []

    async def consume() -> Consumer:
        async with Consumer(broker["url"], queue_name, [binding], max_requeues=1) as consumer:
            while len(seen) < 4:
                try:
                    async for message in consumer:
                        assert message._raw.message_id is None
                        seen.append(message.redelivered)
                        if not message.redelivered:
                            raise RuntimeError("first delivery fails")
                        if len(seen) == 4:
                            await message.ack()
                            break
                except RuntimeError:
                    pass
        return consumer

    consumer = await asyncio.wait_for(consume(), 15)
    assert seen == [False, False, True, True]
    assert (consumer.stats.requeued, consumer.stats.rejected) == (2, 0)
    assert await publisher.queue_info(queue) == 0
