"""Issue 8, items 8 to 10: no message lost, none stuck.

- 8: a body that cannot be decoded (nested too deeply, too big, anything a decoder or a
  validator raises) is rejected with a bounded, logged reason and the consumer goes on;
- 9: a message whose loop body did not finish (an exception caught inside the ``with``
  block, ``break``) is nacked, never acked; ``ack()``/``nack()``/``reject()`` settle it
  explicitly and the consumer then leaves it alone;
- 10: a slow synchronous callback runs off the event loop, so heartbeats go on and its
  message is acked exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import aio_pika
import pytest

from tcdyn.pulse import Consumer, Message, SyncConsumer, listen

pytestmark = pytest.mark.usefixtures("broker")

NESTED = b"[" * 100_000
GOOD = {"hookGroupId": "g", "hookId": "good"}


async def _declare(url: str, queue_name: str, binding) -> str:
    """Declare and bind the (durable) queue, so messages published now wait in it."""
    async with Consumer(url, queue_name, [binding]) as consumer:
        pass
    return consumer.queue_name


def _rejections(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "rejected a message" in r.getMessage()]


# -- 8: undecodable bodies ---------------------------------------------------------------

async def test_deeply_nested_body_is_rejected_and_iteration_goes_on(
        broker, publisher, queue_name, hooks_events, caplog):
    binding = hooks_events.hookCreated()
    queue = await _declare(broker["url"], queue_name, binding)
    await publisher.publish(binding.exchange, "_", None, raw=NESTED)
    await publisher.publish(binding.exchange, "_", GOOD)
    with caplog.at_level(logging.WARNING, logger="tcdyn.pulse"):
        async with Consumer(broker["url"], queue_name, [binding]) as consumer:
            async for message in consumer:
                assert message.payload == GOOD
                consumer.stop()
    assert (consumer.stats.rejected, consumer.stats.acked) == (1, 1)
    assert await publisher.queue_info(queue) == 0  # rejected for good, not requeued
    (reason,) = _rejections(caplog)
    assert "nested too deeply" in reason and len(reason) < 1000


def test_deeply_nested_body_does_not_end_listen(broker, queue_name, hooks_events):
    binding = hooks_events.hookCreated()

    async def prepare() -> None:
        await _declare(broker["url"], queue_name, binding)
        connection = await aio_pika.connect(broker["admin"])
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(binding.exchange)
        for body in (NESTED, NESTED, b'{"hookGroupId": "g", "hookId": "good"}'):
            await exchange.publish(aio_pika.Message(body), routing_key="_")
        await connection.close()

    asyncio.run(prepare())
    seen: list[Message] = []
    assert listen(broker["url"], queue_name, [binding], seen.append, limit=1) == 1
    assert [m.payload for m in seen] == [GOOD]


async def test_run_goes_on_after_undecodable_bodies(broker, publisher, queue_name,
                                                    hooks_events, caplog):
    binding = hooks_events.hookCreated()
    queue = await _declare(broker["url"], queue_name, binding)
    bodies = [NESTED, b"\xff\xfe not json", b"", b"9" * 5000, b'{"a": NaN']
    for body in bodies:
        await publisher.publish(binding.exchange, "_", None, raw=body)
    await publisher.publish(binding.exchange, "_", GOOD)
    seen: list[object] = []

    async def handler(message: Message) -> None:
        seen.append(message.payload)

    with caplog.at_level(logging.WARNING, logger="tcdyn.pulse"):
        async with Consumer(broker["url"], queue_name, [binding]) as consumer:
            assert await asyncio.wait_for(consumer.run(handler, limit=1), 20) == 1
    assert seen == [GOOD]
    assert consumer.stats.rejected == len(bodies)
    assert len(_rejections(caplog)) == len(bodies)
    assert await publisher.queue_info(queue) == 0


async def test_huge_body_is_rejected_with_its_size(broker, publisher, queue_name,
                                                   hooks_events, caplog):
    binding = hooks_events.hookCreated()
    queue = await _declare(broker["url"], queue_name, binding)
    big = {"hookGroupId": "g", "hookId": "x" * 2000}
    await publisher.publish(binding.exchange, "_", big)
    await publisher.publish(binding.exchange, "_", GOOD)
    with caplog.at_level(logging.WARNING, logger="tcdyn.pulse"):
        async with Consumer(broker["url"], queue_name, [binding],
                            max_body_size=1000) as consumer:
            message = await asyncio.wait_for(consumer.__anext__(), 20)
            assert message.payload == GOOD
            await message.ack()
    assert consumer.stats.rejected == 1
    (reason,) = _rejections(caplog)
    assert "over max_body_size (1000)" in reason
    # The default cap (1 MiB) applies too.
    await publisher.publish(binding.exchange, "_", {"hookGroupId": "g",
                                                    "hookId": "x" * (2 << 20)})
    await publisher.publish(binding.exchange, "_", GOOD)
    async with Consumer(broker["url"], queue_name, [binding]) as consumer:
        message = await asyncio.wait_for(consumer.__anext__(), 20)
        assert message.payload == GOOD
        await message.ack()
    assert consumer.stats.rejected == 1
    assert await publisher.queue_info(queue) == 0
    with pytest.raises(ValueError, match="max_body_size"):
        Consumer(broker["url"], queue_name, [binding], max_body_size=0)


async def test_any_validation_failure_is_a_bounded_rejection(broker, publisher, queue_name,
                                                             hooks_events, caplog):
    binding = hooks_events.hookCreated()
    queue = await _declare(broker["url"], queue_name, binding)

    def validate(_binding, payload) -> None:
        if payload["hookId"] == "deep":
            raise RecursionError("maximum recursion depth exceeded")
        if payload["hookId"] == "loud":
            raise KeyError("k" * 1_000_000)

    for hook in ("deep", "loud", "good"):
        await publisher.publish(binding.exchange, "_", {"hookGroupId": "g", "hookId": hook})
    with caplog.at_level(logging.WARNING, logger="tcdyn.pulse"):
        async with Consumer(broker["url"], queue_name, [binding],
                            validate=validate) as consumer:
            message = await asyncio.wait_for(consumer.__anext__(), 20)
            assert message.payload == GOOD
            await message.ack()
    assert consumer.stats.rejected == 2
    reasons = _rejections(caplog)
    assert len(reasons) == 2 and all(len(r) < 1000 for r in reasons), reasons
    assert await publisher.queue_info(queue) == 0


# -- 9: unfinished bodies are nacked; explicit settling ------------------------------------

async def test_exception_caught_inside_the_with_block_nacks_the_message(
        broker, publisher, queue_name, hooks_events):
    binding = hooks_events.hookUpdated()
    queue = await _declare(broker["url"], queue_name, binding)
    await publisher.publish(binding.exchange, "_", GOOD)
    async with Consumer(broker["url"], queue_name, [binding]) as consumer:
        try:
            async for _message in consumer:
                raise RuntimeError("body broke")
        except RuntimeError:
            pass
    assert (consumer.stats.acked, consumer.stats.requeued) == (0, 1)
    assert await publisher.queue_info(queue) == 1  # back in the queue, not lost
    async with Consumer(broker["url"], queue_name, [binding]) as consumer:
        message = await asyncio.wait_for(consumer.__anext__(), 20)
        assert message.redelivered and message.payload == GOOD
        await message.ack()
    assert await publisher.queue_info(queue) == 0


async def test_sync_exception_caught_inside_the_with_block_nacks_the_message(
        broker, publisher, queue_name, hooks_events):
    binding = hooks_events.hookUpdated()
    queue = await _declare(broker["url"], queue_name, binding)
    await publisher.publish(binding.exchange, "_", GOOD)

    def consume() -> SyncConsumer:
        with SyncConsumer(broker["url"], queue_name, [binding]) as consumer:
            try:
                for _message in consumer:
                    raise RuntimeError("body broke")
            except RuntimeError:
                pass
        return consumer

    consumer = await asyncio.to_thread(consume)
    assert (consumer.consumer.stats.acked, consumer.consumer.stats.requeued) == (0, 1)
    assert await publisher.queue_info(queue) == 1

    def settle_explicitly() -> list[str | None]:
        with SyncConsumer(broker["url"], queue_name, [binding]) as consumer:
            for message in consumer:
                message.ack()  # blocks until sent
                with pytest.raises(RuntimeError, match="already acked"):
                    message.reject()
                return [message.settled]
        return []

    assert await asyncio.to_thread(settle_explicitly) == ["acked"]
    assert await publisher.queue_info(queue) == 0


async def test_break_without_settling_counts_as_unfinished(broker, publisher, queue_name,
                                                           hooks_events):
    binding = hooks_events.hookUpdated()
    queue = await _declare(broker["url"], queue_name, binding)
    await publisher.publish(binding.exchange, "_", GOOD)
    for expected in (False, True):
        async with Consumer(broker["url"], queue_name, [binding], max_requeues=1) as c:
            async for message in c:
                assert message.redelivered is expected
                break
        assert c.stats.acked == 0
    # Requeued once, then (the budget spent) rejected: the same rule as an exception.
    assert (c.stats.requeued, c.stats.rejected) == (0, 1)
    assert await publisher.queue_info(queue) == 0


async def test_explicit_ack_nack_reject(broker, publisher, queue_name, hooks_events):
    binding = hooks_events.hookUpdated()
    dead = f"exchange/tcdyn/{queue_name}-dead"
    await publisher.channel.declare_exchange(dead, aio_pika.ExchangeType.FANOUT,
                                             auto_delete=True)
    dlq = await publisher.channel.declare_queue(f"queue/tcdyn/{queue_name}-dead",
                                                durable=True)
    await dlq.bind(dead)
    options = {"dead_letter_exchange": dead, "max_requeues": 0}
    async with Consumer(broker["url"], queue_name, [binding], **options) as consumer:
        pass
    for hook in ("requeue-me", "reject-me"):
        await publisher.publish(binding.exchange, "_", {"hookGroupId": "g", "hookId": hook})
    outcomes = []
    async with Consumer(broker["url"], queue_name, [binding], **options) as consumer:
        async for message in consumer:
            hook = message.payload["hookId"]
            if hook == "requeue-me" and not message.redelivered:
                await message.nack()  # requeue=True: not counted against max_requeues
            elif hook == "reject-me":
                await message.reject()
            else:
                await message.ack()
                consumer.stop()
            outcomes.append((hook, message.settled))
            with pytest.raises(RuntimeError, match="already"):
                await message.ack()
    assert outcomes == [("requeue-me", "requeued"), ("reject-me", "rejected"),
                        ("requeue-me", "acked")]
    stats = consumer.stats
    assert (stats.acked, stats.requeued, stats.rejected) == (1, 1, 1)
    assert await publisher.queue_info(consumer.queue_name) == 0
    assert await publisher.queue_info(f"queue/tcdyn/{queue_name}-dead") == 1
    with pytest.raises(TypeError, match="requeue"):
        await message.nack(requeue="yes")


async def test_handlers_settle_explicitly_and_the_consumer_leaves_it(
        broker, publisher, queue_name, hooks_events):
    binding = hooks_events.hookUpdated()
    queue = await _declare(broker["url"], queue_name, binding)
    for hook in ("a", "b", "c", "d"):
        await publisher.publish(binding.exchange, "_", {"hookGroupId": "g", "hookId": hook})

    def sync_handler(message: Message) -> None:
        if message.payload["hookId"] == "a":
            message.reject()  # a SyncMessage: blocks, no await
        else:
            message.ack()
            raise RuntimeError("after acking: the consumer must not nack it")

    async def async_handler(message: Message) -> None:
        await message.reject()
        raise RuntimeError("after rejecting")

    async with Consumer(broker["url"], queue_name, [binding]) as consumer:
        assert await asyncio.wait_for(consumer.run(sync_handler, limit=2), 20) == 2
        assert await asyncio.wait_for(consumer.run(async_handler, limit=2), 20) == 2
    stats = consumer.stats
    assert (stats.acked, stats.requeued, stats.rejected) == (1, 0, 3)
    assert await publisher.queue_info(queue) == 0


# -- 10: synchronous callbacks off the loop ----------------------------------------------

async def test_sync_handlers_run_off_the_loop_and_async_ones_on_it(
        broker, publisher, queue_name, hooks_events):
    binding = hooks_events.hookUpdated()
    await _declare(broker["url"], queue_name, binding)
    for i in range(4):
        await publisher.publish(binding.exchange, "_", {"hookGroupId": "g", "hookId": str(i)})
    threads: dict[str, set[int]] = {"sync": set(), "async": set()}

    async def on_loop(message: Message) -> None:
        threads["async"].add(threading.get_ident())

    async with Consumer(broker["url"], queue_name, [binding]) as consumer:
        n = await asyncio.wait_for(
            consumer.run(lambda m: threads["sync"].add(threading.get_ident()), limit=2), 20)
        assert n == 2
        assert await asyncio.wait_for(consumer.run(on_loop, limit=2), 20) == 2
    assert threads["async"] == {threading.get_ident()}
    assert len(threads["sync"]) == 1 and threading.get_ident() not in threads["sync"]
    assert consumer.stats.acked == 4


def test_slow_sync_callback_keeps_heartbeats_and_acks_once(broker, queue_name, hooks_events):
    binding = hooks_events.hookUpdated()
    url = broker["url"] + "?heartbeat=2"
    calls: list[bool] = []

    async def prepare() -> None:
        await _declare(url, queue_name, binding)
        connection = await aio_pika.connect(broker["admin"])
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(binding.exchange)
        await exchange.publish(aio_pika.Message(b'{"hookGroupId": "g", "hookId": "slow"}'),
                               routing_key="_")
        await connection.close()

    def slow(message: Message) -> None:
        calls.append(message.redelivered)
        time.sleep(9)  # the broker drops a silent client after about 3 intervals

    asyncio.run(prepare())
    assert listen(url, queue_name, [binding], slow, limit=1) == 1

    async def leftovers() -> int:
        """Messages still in the queue, ready or (after a lost ack) redelivered."""
        await asyncio.sleep(1)
        async with Consumer(url, queue_name, [binding]) as consumer:
            try:
                await asyncio.wait_for(consumer.__anext__(), 3)
            except TimeoutError:
                return 0
            return 1

    assert asyncio.run(leftovers()) == 0  # acked once, not redelivered
    assert calls == [False]
