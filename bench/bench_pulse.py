"""Throughput of tcdyn.pulse.Consumer against a raw aio-pika consumer, on the local broker.

Each repetition publishes N Taskcluster-shaped ``task-completed`` messages into a durable
queue, then drains it several ways, timing from the first delivery to the last ack:

- raw:        aio-pika ``queue.consume`` whose callback parses the JSON body and acks in
              batches as tcdyn does (``basic.ack multiple`` per ``prefetch // 4``); it
              declares its exchange, queue and binding itself, so it runs on a fresh broker;
- tcdyn:      ``Consumer.run`` with an async handler, which runs on the event loop as the
              raw callback does (decode JSON, parse the routing key and CC'd routes, ack);
- validated:  the same with ``validate``: the deployment's schemas (``tcdyn.load``);
- tcdyn sync / valid sync: the same two with a synchronous handler, which tcdyn runs in a
              thread of its own (one hop per batch) so a slow one cannot starve heartbeats;
- jsonschema: validated by a plain ``jsonschema.Draft6Validator`` (a reference point).

Prints the medians and the ratios to raw (targets: >= 0.9x without validation, >= 0.8x
with it (issue 11), judged on the handlers that run where the raw callback runs: ``tcdyn``
and ``validated``; the sync ones are reported beside them). Needs the broker from
scripts/rabbitmq.sh.
Each fill and drain is bounded by ``--timeout`` so that a broker restart cannot hang it.

    python bench/bench_pulse.py [--messages 20000] [--repeat 3] [--prefetch 64] [--timeout 120]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any

import aio_pika
import slugid

from tcdyn.exchanges import Binding
from tcdyn.pulse import Consumer
from tcdyn.references import bundled_dir

URL = os.environ.get("TCDYN_AMQP_URL", "amqp://tcdyn:tcdyn-pass@localhost:5672/")
ADMIN_URL = os.environ.get("TCDYN_AMQP_ADMIN_URL",
                           "amqp://tcdyn-admin:tcdyn-admin-pass@localhost:5672/")
DEPLOYMENT = bundled_dir()  # the bundled v106 set: references/ and schemas/
EXCHANGE = "exchange/taskcluster-queue/v1/task-completed"
QUEUE = "bench-pulse"


def reference_binding() -> Binding:
    """The taskCompleted binding, built from the deployment's reference."""
    import tcdyn

    return tcdyn.load(DEPLOYMENT).QueueEvents().taskCompleted()


def registry_validator() -> Any:
    """``validate(binding, payload)`` from the deployment's schema registry."""
    import tcdyn

    return tcdyn.load(DEPLOYMENT).validate_message


def jsonschema_validator() -> Any:
    """``validate(binding, payload)`` with a plain jsonschema validator per schema."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT6

    resources = []
    for path in sorted((DEPLOYMENT / "schemas").rglob("*.json")):
        schema = json.loads(path.read_text())
        if isinstance(schema, dict) and "$id" in schema:
            resources.append((schema["$id"].rstrip("#"),
                              Resource.from_contents(schema, default_specification=DRAFT6)))
    registry = Registry().with_resources(resources)
    cache: dict[str, Any] = {}

    def validate(binding: Binding, payload: Any) -> None:
        validator = cache.get(binding.schema)
        if validator is None:
            validator = cache[binding.schema] = jsonschema.Draft6Validator(
                registry.contents(binding.schema.rstrip("#")), registry=registry)
        error = next(validator.iter_errors(payload), None)
        if error is not None:
            raise ValueError(error.message)

    return validate


def message(i: int, group: str) -> tuple[str, bytes]:
    task = slugid.nice()
    status = {
        "taskId": task, "provisionerId": "proj-bench", "workerType": "ci",
        "taskQueueId": "proj-bench/ci", "schedulerId": "bench", "projectId": "none",
        "taskGroupId": group, "deadline": "2030-01-02T00:00:00.000Z",
        "expires": "2031-01-01T00:00:00.000Z", "retriesLeft": 5, "state": "completed",
        "runs": [{"runId": 0, "state": "completed", "reasonCreated": "scheduled",
                  "reasonResolved": "completed", "scheduled": "2030-01-01T00:00:00.000Z",
                  "started": "2030-01-01T00:00:01.000Z",
                  "resolved": "2030-01-01T00:05:00.000Z", "workerGroup": "wg-1",
                  "workerId": f"worker-{i % 50}", "takenUntil": "2030-01-01T00:20:00.000Z"}],
    }
    payload = {"version": 1, "status": status, "runId": 0, "workerGroup": "wg-1",
               "workerId": f"worker-{i % 50}"}
    key = f"primary.{task}.0.wg-1.worker-{i % 50}.proj-bench.ci.bench.{group}._"
    return key, json.dumps(payload).encode()


async def fill(n: int, queue_name: str) -> None:
    """Publish ``n`` messages and wait until the queue holds them all."""
    connection = await aio_pika.connect(ADMIN_URL)
    channel = await connection.channel(publisher_confirms=False)
    exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC,
                                              durable=True)
    group = slugid.nice()
    for i in range(n):
        key, body = message(i, group)
        await exchange.publish(aio_pika.Message(
            body, content_type="application/json", delivery_mode=2,
            headers={"CC": [f"route.index.bench.{i % 10}"]}), routing_key=key)
    while True:
        queue = await channel.declare_queue(queue_name, passive=True)
        if queue.declaration_result.message_count >= n:
            break
        await asyncio.sleep(0.05)
    await connection.close()


async def run_raw(n: int, queue_name: str, prefetch: int) -> float:
    """A raw aio-pika consumer that declares what it needs and batches acks as tcdyn does:
    one ``basic.ack multiple`` per ``prefetch // 4`` handled messages, and at the end."""
    connection = await aio_pika.connect(URL)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=prefetch)
    exchange = await channel.get_exchange(EXCHANGE, ensure=True)  # as tcdyn: passive
    queue = await channel.declare_queue(queue_name, durable=True)
    await queue.bind(exchange, routing_key="#")
    batch = max(1, prefetch // 4)
    done = asyncio.Event()
    state = {"count": 0, "start": 0.0, "unacked": 0}

    async def on_message(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        if state["count"] == 0:
            state["start"] = time.perf_counter()
        json.loads(msg.body)  # the least a consumer does with a message
        state["count"] += 1
        state["unacked"] += 1
        if state["unacked"] >= batch or state["count"] == n:
            state["unacked"] = 0
            await msg.ack(multiple=True)
        if state["count"] == n:
            done.set()

    await queue.consume(on_message)
    await done.wait()
    elapsed = time.perf_counter() - state["start"]
    await connection.close()
    return n / elapsed


async def run_tcdyn(n: int, binding: Binding, prefetch: int, validate: Any,
                    on_loop: bool) -> float:
    """``Consumer.run`` with a synchronous handler (run in a thread of its own, one batch at
    a time) or, ``on_loop``, an async one (run on the event loop, as the raw callback)."""
    state = {"count": 0, "start": 0.0}

    def handler(message: Any) -> None:
        if state["count"] == 0:
            state["start"] = time.perf_counter()
        state["count"] += 1

    async def async_handler(message: Any) -> None:
        handler(message)

    async with Consumer(URL, QUEUE, [binding], prefetch=prefetch, validate=validate) as c:
        await c.run(async_handler if on_loop else handler, limit=n)
        elapsed = time.perf_counter() - state["start"]
    assert c.stats.acked == n and c.stats.rejected == 0, c.stats
    return n / elapsed


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--prefetch", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds one drain may take before the run fails")
    args = parser.parse_args()
    binding = reference_binding()
    checked = registry_validator()
    # name: (validate, async handler on the loop)
    validators = {"tcdyn": (None, True), "validated": (checked, True),
                  "tcdyn sync": (None, False), "valid sync": (checked, False),
                  "jsonschema": (jsonschema_validator(), True)}
    queue_name = f"queue/tcdyn/{QUEUE}"
    # On a fresh broker: the exchange (the publisher's, declared as admin), then the queue
    # and its binding (tcdyn's consumer declares them), then start empty.
    admin = await aio_pika.connect(ADMIN_URL)
    await (await admin.channel()).declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC,
                                                   durable=True)
    async with Consumer(URL, QUEUE, [binding]):
        pass
    await (await (await admin.channel()).declare_queue(queue_name, passive=True)).purge()
    results: dict[str, list[float]] = {"raw": [], **{name: [] for name in validators}}
    try:
        for rep in range(args.repeat):
            for name in results:
                await asyncio.wait_for(fill(args.messages, queue_name), args.timeout)
                if name == "raw":
                    run = run_raw(args.messages, queue_name, args.prefetch)
                else:
                    run = run_tcdyn(args.messages, binding, args.prefetch, *validators[name])
                # a broker restart must not hang the benchmark
                rate = await asyncio.wait_for(run, args.timeout)
                results[name].append(rate)
                print(f"rep {rep + 1} {name:10} {rate:9.0f} msg/s", flush=True)
    finally:
        await (await admin.channel()).queue_delete(queue_name)
        await admin.close()
    medians = {name: statistics.median(rates) for name, rates in results.items()}
    print(f"\n{args.messages} messages x {args.repeat} repetitions, prefetch "
          f"{args.prefetch}; medians:")
    for name, rate in medians.items():
        print(f"  {name:10} {rate:9.0f} msg/s  {rate / medians['raw']:.2f}x raw")
    ok = (medians["tcdyn"] / medians["raw"] >= 0.9
          and medians.get("validated", 0) / medians["raw"] >= 0.8)
    print("targets (>= 0.9x without validation, >= 0.8x validated, issue 11; handlers on the "
          "loop):", "met" if ok else "NOT met")
    sync = {name: medians[name] / medians["raw"] for name in ("tcdyn sync", "valid sync")}
    print("sync handlers (a thread hop per batch):",
          ", ".join(f"{name} {ratio:.2f}x" for name, ratio in sync.items()))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
