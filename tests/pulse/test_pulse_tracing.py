"""A Pulse message handled by ``Consumer.run`` is a CONSUMER span (messaging semantic
conventions, RabbitMQ), the parent of the API calls its handler makes, linked to the
publisher's span when the message carries a ``traceparent``: real messages through the real
broker, sync and async handlers."""

from __future__ import annotations

import asyncio

import pytest
import slugid
from pulse_helpers import task_message

import tcdyn
from tcdyn.pulse import Consumer
from tcdyn.testing.server import LocalDeployment
from tracing_helpers import attrs, one, spans  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("broker")
EXCHANGE = "exchange/taskcluster-queue/v1/task-completed"


@pytest.fixture(scope="module")
def local():
    with LocalDeployment() as dep:
        dep.handle("queue", "status", lambda req: {"status": {"taskId": req.params["taskId"]}})
        yield dep


async def _publish(publisher, key, payload, traceparent=None):
    import json

    import aio_pika

    headers = {"traceparent": traceparent} if traceparent else None
    message = aio_pika.Message(json.dumps(payload).encode(), content_type="application/json",
                               headers=headers)
    await (await publisher.exchange(EXCHANGE)).publish(message, routing_key=key)


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_handled_message_is_a_consumer_span_over_its_calls(
        broker, publisher, queue_name, queue_events, local, spans, kind):  # noqa: F811
    group, tasks = slugid.nice(), [slugid.nice(), slugid.nice()]
    messages = [task_message("task-completed", task, group) for task in tasks]
    publisher_trace, publisher_span = 0x1234ABCD << 64 | 7, 0xBEEF
    traceparent = f"00-{publisher_trace:032x}-{publisher_span:016x}-01"
    seen: list[str] = []

    def sync_handler(message):
        with tcdyn.Queue(rootUrl=local.root_url) as q:
            seen.append(q.status(message.payload["status"]["taskId"])["status"]["taskId"])

    async def async_handler(message):
        async with tcdyn.aio.Queue(rootUrl=local.root_url) as q:
            answer = await q.status(message.payload["status"]["taskId"])
            seen.append(answer["status"]["taskId"])

    async with Consumer(broker["url"], queue_name, [queue_events.taskCompleted(
            taskGroupId=group)], reconnect_delay=0.05) as consumer:
        for (key, payload), parent in zip(messages, (traceparent, None), strict=True):
            await _publish(publisher, key, payload, parent)
        handled = await asyncio.wait_for(consumer.run(
            sync_handler if kind == "sync" else async_handler, limit=2), 20)
    assert handled == 2 and seen == tasks

    # one CONSUMER span per message, in order, each the parent of its handler's call
    found = [s for s in spans.get_finished_spans() if s.name == f"process {EXCHANGE}"]
    calls = [s for s in spans.get_finished_spans() if s.name == "queue.status"]
    assert len(found) == len(calls) == 2
    found.sort(key=lambda s: s.start_time)
    calls.sort(key=lambda s: s.start_time)
    for span, call, (key, _) in zip(found, calls, messages, strict=True):
        assert span.kind.name == "CONSUMER"
        got = attrs(span)
        assert got["messaging.system"] == "rabbitmq"
        assert got["messaging.operation.type"] == "process"
        assert got["messaging.destination.name"] == EXCHANGE
        assert got["messaging.rabbitmq.destination.routing_key"] == key
        assert got["messaging.destination.subscription.name"] == f"queue/tcdyn/{queue_name}"
        assert got["taskcluster.exchange.entry"] == "taskCompleted"
        assert got["messaging.message.body.size"] > 0
        assert isinstance(got["messaging.rabbitmq.message.delivery_tag"], int)
        assert got["server.address"] in ("localhost", "127.0.0.1")  # the broker, no password
        assert "password" not in str(got) and "guest" not in str(got)
        assert span.parent is None  # a new trace per message
        # the handler's call is its child, on the handler's thread as on the loop
        assert call.parent is not None and call.parent.span_id == span.context.span_id
        assert call.context.trace_id == span.context.trace_id
    assert found[0].context.trace_id != found[1].context.trace_id
    # the first, which carried a traceparent, is linked to the publisher's span
    [link] = found[0].links
    assert (link.context.trace_id, link.context.span_id) == (publisher_trace, publisher_span)
    assert not found[1].links


async def test_a_failing_handler_fails_its_span(broker, publisher, queue_name, queue_events,
                                                spans):  # noqa: F811
    group = slugid.nice()
    key, payload = task_message("task-completed", slugid.nice(), group)

    def handler(message):
        raise LookupError("not mine")

    async with Consumer(broker["url"], queue_name, [queue_events.taskCompleted(
            taskGroupId=group)], reconnect_delay=0.05, max_requeues=0) as consumer:
        await _publish(publisher, key, payload)
        await asyncio.wait_for(consumer.run(handler, limit=1), 20)
    span = one(spans, f"process {EXCHANGE}")
    assert span.status.status_code.name == "ERROR"
    assert attrs(span)["error.type"] == "LookupError"
    assert span.links == () or list(span.links) == []
