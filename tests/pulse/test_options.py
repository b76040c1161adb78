"""Consumer arguments (checked before anything is sent), queue options on a real broker, and
setup errors that name their cause without leaking the password."""

from __future__ import annotations

import asyncio

import aiormq
import pytest

from tcdyn.errors import TaskclusterTopicExchangeFailure
from tcdyn.pulse import Consumer, PulseConnectionError, PulseError
from tcdyn.pulse.options import mask_url, scrub
from tcdyn.pulse.requeue import RequeueBudget

URL = "amqp://someone:s3cr%2Ft@broker.example:5671/vhost"
BINDING = {"exchange": "exchange/taskcluster-hooks/v1/hook-created", "routingKeyPattern": "#"}


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"url": 5}, TypeError, "url must be a str"),
    ({"url": "http://u:p@h/"}, ValueError, "amqp:// or amqps://"),
    ({"url": "amqp://h:5672/"}, ValueError, "no username"),
    ({"queue_name": ""}, ValueError, "queue_name must be"),
    ({"queue_name": 7}, TypeError, "queue_name must be a str"),
    ({"queue_name": "queue/other/q"}, ValueError, "another user"),
    ({"bindings": []}, ValueError, "bindings is empty"),
    ({"bindings": "exchange/x"}, TypeError, "bindings must be a list"),
    ({"bindings": [{"exchange": "e"}]}, TaskclusterTopicExchangeFailure,
     r"bindings\[0\].*'routingKeyPattern'"),
    ({"bindings": [42]}, TaskclusterTopicExchangeFailure, r"bindings\[0\]: expected a Binding"),
    ({"prefetch": 0}, ValueError, "prefetch must be >= 1"),
    ({"prefetch": 1.5}, TypeError, "prefetch must be an int"),
    ({"max_requeues": -1}, ValueError, "max_requeues"),
    ({"validate": "yes"}, TypeError, "validate must be callable"),
    ({"queue_type": "stream"}, ValueError, "queue_type must be one of"),
    ({"queue_type": "quorum", "exclusive": True}, ValueError, "quorum"),
    ({"expires": 0}, ValueError, "expires must be a positive"),
    ({"max_length": 0}, ValueError, "max_length must be >= 1"),
    ({"dead_letter_routing_key": "k"}, ValueError, "needs dead_letter_exchange"),
    ({"reconnect_delay": -1}, ValueError, "reconnect_delay"),
    ({"reconnect_delay": 5, "max_reconnect_delay": 1}, ValueError, "max_reconnect_delay"),
    ({"connect_timeout": float("nan")}, ValueError, "connect_timeout"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    args = {"url": URL, "queue_name": "q", "bindings": [BINDING], **kwargs}
    with pytest.raises(error, match=match) as info:
        Consumer(args.pop("url"), args.pop("queue_name"), args.pop("bindings"), **args)
    assert "s3cr" not in str(info.value)


def test_names_and_defaults_follow_pulse():
    consumer = Consumer(URL, "my-listener", [BINDING, dict(BINDING)])
    assert consumer.queue_name == "queue/someone/my-listener"
    assert consumer.username == "someone"
    assert len(consumer.bindings) == 1  # duplicates dropped
    q = consumer.queue_options
    assert (q.durable, q.exclusive, q.auto_delete) == (True, False, False)
    assert consumer.options.prefetch == 32
    assert Consumer(URL, "queue/someone/x", [BINDING]).queue_name == "queue/someone/x"
    anonymous = Consumer(URL, None, [BINDING])
    assert anonymous.queue_name.startswith("queue/someone/anonymous-")
    assert (anonymous.queue_options.exclusive, anonymous.queue_options.durable) == (True, False)
    options = Consumer(URL, "q", [BINDING], queue_type="quorum", expires=1.5, max_length=10,
                       dead_letter_exchange="exchange/someone/dead").queue_options
    assert options.arguments() == {"x-queue-type": "quorum", "x-expires": 1500,
                                   "x-max-length": 10,
                                   "x-dead-letter-exchange": "exchange/someone/dead"}


def test_password_is_masked_everywhere():
    consumer = Consumer(URL, "q", [BINDING])
    assert "s3cr" not in repr(consumer)
    assert "s3cr" not in consumer.url
    assert mask_url(URL) == "amqp://someone:***@broker.example:5671/vhost"
    assert scrub("login s3cr/t and s3cr%2Ft failed", URL) == "login *** and *** failed"


@pytest.mark.parametrize("char", ["/", "#", "?"])
def test_unencoded_character_in_the_password_never_shows_it(char):
    """Issue 18 item 13: ``amqp://u:pa/ss@host/`` is parsed with part of the password as
    the path, query or fragment: the URL is refused without showing it, and masking and
    scrubbing still hide the whole password."""
    url = f"amqp://someone:hid{char}den-pw@broker.example:5671/vhost"
    with pytest.raises(ValueError, match="percent-encode") as info:
        Consumer(url, "q", [BINDING])
    assert "hid" not in str(info.value) and "den-pw" not in str(info.value)
    assert mask_url(url) == "amqp://***@broker.example:5671/vhost"
    assert scrub(f"refused: {url}", url) == (
        "refused: amqp://someone:***@broker.example:5671/vhost")


def test_requeue_budget():
    budget = RequeueBudget(max_requeues=2)
    assert budget.failed("a", redelivered=False)
    assert budget.failed("a", redelivered=True)
    assert not budget.failed("a", redelivered=True)
    # A redelivered message it has never seen fail counts as having failed once.
    assert budget.failed("b", redelivered=True)
    assert not budget.failed("b", redelivered=True)
    budget.succeeded("c", redelivered=True)
    assert budget.failed("c", redelivered=False)
    budget.succeeded("c", redelivered=True)
    assert budget.failed("c", redelivered=False)
    # The broker's own count (quorum queues) wins over memory.
    assert budget.failed("d", redelivered=True, delivery_count=1)
    assert not budget.failed("d", redelivered=True, delivery_count=2)
    assert not RequeueBudget(0).failed("e", redelivered=False)


def test_requeue_budget_keeps_one_count_per_copy_of_a_body():
    """Issue 18 item 3: identical bodies (no message-id) are told apart by the broker's
    redelivered flag: a first delivery has never failed, and each redelivered copy takes
    one of the counts recorded for that body."""
    budget = RequeueBudget(max_requeues=1)
    assert budget.failed("x", redelivered=False)
    assert budget.failed("x", redelivered=False)  # the twin: its own first failure
    assert not budget.failed("x", redelivered=True)
    assert not budget.failed("x", redelivered=True)
    assert not budget.tracking
    # A twin handled on its first delivery leaves the failed copy's count alone.
    budget = RequeueBudget(max_requeues=2)
    assert budget.failed("y", redelivered=False)
    assert budget.failed("y", redelivered=True)
    budget.succeeded("y", redelivered=False)
    assert not budget.failed("y", redelivered=True)
    # Memory is bounded: the oldest counts go first.
    budget = RequeueBudget(max_requeues=5, capacity=3)
    for key in "abcd":
        assert budget.failed(key, redelivered=False)
    assert sum(len(v) for v in budget._failures.values()) == 3 and "a" not in budget._failures


async def test_iterating_without_async_with_is_refused():
    consumer = Consumer(URL, "q", [BINDING])
    with pytest.raises(RuntimeError, match="async with"):
        await consumer.__anext__()


# -- against the broker -----------------------------------------------------------------

async def test_unreachable_broker_and_bad_password(broker):
    wrong = broker["url"].replace("tcdyn-pass", "not-the-password")
    with pytest.raises(PulseConnectionError, match="ACCESS_REFUSED") as info:
        async with Consumer(wrong, "q", [BINDING]):
            pass
    assert "not-the-password" not in str(info.value)
    closed_port = broker["url"].replace(":5672", ":5999")
    with pytest.raises(PulseConnectionError, match="cannot connect to amqp://tcdyn:\\*\\*\\*@"):
        async with Consumer(closed_port, "q", [BINDING], connect_timeout=3):
            pass


async def test_missing_exchange_is_named(broker, queue_name):
    binding = {"exchange": "exchange/taskcluster-nothing/v1/gone", "routingKeyPattern": "#"}
    with pytest.raises(PulseError, match=r"exchange/taskcluster-nothing/v1/gone.*not found"):
        async with Consumer(broker["url"], queue_name, [binding]):
            pass


async def test_dead_letter_exchange_without_permission_is_named(broker, queue_name):
    with pytest.raises(PulseError, match=r"access refused for user 'tcdyn'.*exchange/other/dlx"):
        async with Consumer(broker["url"], queue_name, [BINDING],
                            dead_letter_exchange="exchange/other/dlx"):
            pass


async def test_existing_queue_with_other_arguments_is_named(broker, queue_name):
    async with Consumer(broker["url"], queue_name, [BINDING], max_length=5):
        pass
    with pytest.raises(PulseError, match=r"existing queue differs.*x-max-length"):
        async with Consumer(broker["url"], queue_name, [BINDING], max_length=6):
            pass


async def test_max_length_caps_the_queue(broker, publisher, queue_name, hooks_events):
    binding = hooks_events.hookCreated()
    async with Consumer(broker["url"], queue_name, [binding], max_length=2) as consumer:
        pass  # declared and bound; durable, so it stays after the consumer closes
    for i in range(5):
        await publisher.publish(binding.exchange, "_", {"hookGroupId": "g", "hookId": i})
    assert await publisher.queue_info(consumer.queue_name) == 2


async def test_expires_deletes_an_unused_queue(broker, publisher, queue_name):
    async with Consumer(broker["url"], queue_name, [BINDING], expires=0.3) as consumer:
        pass
    # A passive declare counts as a use and restarts the timer: wait longer between looks.
    gone = False
    for pause in (0.8, 1.5, 3.0):
        await asyncio.sleep(pause)
        gone = await publisher.queue_info(consumer.queue_name) is None
        if gone:
            break
    assert gone, "the queue outlived x-expires"


async def test_exclusive_queue_goes_with_the_consumer(broker, publisher):
    async with Consumer(broker["url"], None, [BINDING]) as consumer:
        with pytest.raises(aiormq.exceptions.ChannelLockedResource, match="exclusive"):
            await publisher.queue_info(consumer.queue_name)  # held by the consumer alone
    assert await publisher.queue_info(consumer.queue_name) is None
