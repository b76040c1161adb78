"""Pulse: ``tcdyn.pulse.Consumer`` against a raw aio-pika consumer, and scale-out over
processes sharing one queue, on the local broker (``scripts/rabbitmq.sh``).

One process (``pulse.consume.*``): each round publishes N Taskcluster-shaped
``task-completed`` messages into a durable queue, then drains it once per contender, in
alternating order, timing from the first delivery to the last ack:

- raw aio-pika: ``queue.consume`` whose callback parses the JSON body and acks in batches
  (``basic.ack multiple`` per ``prefetch // 4``), as tcdyn does;
- validated (the judged row): ``Consumer.run`` with an async handler, which runs on the
  event loop as the raw callback does, each message decoded, its routing key and CC'd
  routes read and its body validated against the deployment's schema;
- tcdyn: the same without validation; valid sync: validated, a synchronous handler (tcdyn
  runs it in a thread of its own, a hop per batch, so a slow one cannot starve heartbeats).

The consumer's CPU time per message is reported beside the rates: on a busy machine it
moves less than the rate does.

Scale-out (``pulse.scale.*``): 1, 2 and 4 processes, each a ``Consumer.run`` with the
validated async handler, drain one named queue (RabbitMQ's competing consumers); the rate
is the messages over the time from the first message handled in any process to the last
one in any. Two handlers: one that awaits 2 ms per message, as a handler calling an API
would (the judged row: what processes add when a handler waits), and a no-op one (CPU
bound: N processes and the broker share the machine's cores, so past them processes add
nothing). Every round checks that each message was handled once and acked, and that the
queue is empty afterwards; a module that loses one raises.

    python bench/bench_pulse.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import aio_pika
import slugid
from benchkit import Figure, Row, alternate, ratio_row, table

from tcdyn.exchanges import Binding
from tcdyn.pulse import Consumer
from tcdyn.references import bundled_dir

URL = os.environ.get("TCDYN_AMQP_URL", "amqp://tcdyn:tcdyn-pass@localhost:5672/")
ADMIN_URL = os.environ.get("TCDYN_AMQP_ADMIN_URL",
                           "amqp://tcdyn-admin:tcdyn-admin-pass@localhost:5672/")
DEPLOYMENT = bundled_dir()  # the bundled v106 set: references/ and schemas/
EXCHANGE = "exchange/taskcluster-queue/v1/task-completed"
#: this run's own queue and task group: the queue is bound to the group's messages only, so
#: what others publish on a shared broker does not reach it (children get it in argv)
QUEUE = f"bench-pulse-{os.getpid()}"
GROUP = slugid.nice()
PREFETCH = 64
#: seconds the waiting handler of the scale-out awaits per message
WORK = 0.002
#: the scale-out's prefetch per handler: a waiting handler needs few messages ahead, and a
#: deep window would leave the last ones queued behind one process while the others idle
SCALE_PREFETCH = {"io": 8, "cpu": PREFETCH}
#: seconds one fill, drain or round may take before the benchmark fails
TIMEOUT = 300.0
#: (messages, rounds) per part, quick and full
SIZES = {True: {"compare": (300, 1), "io": (100, 1), "cpu": (300, 1)},
         False: {"compare": (10_000, 5), "io": (2_000, 3), "cpu": (10_000, 3)}}


def reference_binding() -> Binding:
    """The taskCompleted binding of this run's group, built from the deployment's reference."""
    import tcdyn

    return tcdyn.load(DEPLOYMENT).QueueEvents().taskCompleted(taskGroupId=GROUP)


def registry_validator() -> Any:
    """``validate(binding, payload)`` from the deployment's schema registry."""
    import tcdyn

    return tcdyn.load(DEPLOYMENT).validate_message


def message(i: int, group: str) -> tuple[str, bytes]:
    """(routing key, body) of a ``task-completed`` message as the queue publishes it."""
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
    try:
        channel = await connection.channel(publisher_confirms=False)
        exchange = await channel.get_exchange(EXCHANGE, ensure=False)
        for i in range(n):
            key, body = message(i, GROUP)
            await exchange.publish(aio_pika.Message(
                body, content_type="application/json", delivery_mode=2,
                headers={"CC": [f"route.index.bench.{i % 10}"]}), routing_key=key)
        while await depth(queue_name, connection) < n:
            await asyncio.sleep(0.05)
    finally:
        await connection.close()


async def depth(queue_name: str, connection: Any = None) -> int:
    """Messages ready in ``queue_name`` (unacked ones are not counted)."""
    own = connection is None
    if own:
        connection = await aio_pika.connect(ADMIN_URL)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, passive=True)
        count = int(queue.declaration_result.message_count)
        await channel.close()
        return count
    finally:
        if own:
            await connection.close()


async def setup_queue(queue_name: str) -> None:
    """On a fresh broker: the exchange (the publisher's, declared as admin), then the queue
    and its binding as tcdyn's consumer declares them, then empty."""
    connection = await aio_pika.connect(ADMIN_URL)
    try:
        channel = await connection.channel()
        await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        async with Consumer(URL, queue_name.rsplit("/", 1)[1], [reference_binding()]):
            pass
        await (await channel.declare_queue(queue_name, passive=True)).purge()
    finally:
        await connection.close()


async def delete_queue(queue_name: str) -> None:
    connection = await aio_pika.connect(ADMIN_URL)
    try:
        await (await connection.channel()).queue_delete(queue_name)
    finally:
        await connection.close()


# -- one process: tcdyn against raw aio-pika -------------------------------------------------

async def run_raw(n: int, queue_name: str) -> tuple[float, float]:
    """A raw aio-pika consumer batching acks as tcdyn does (one ``basic.ack multiple`` per
    ``PREFETCH // 4`` handled messages, and at the end): (msg/s, CPU us per message)."""
    connection = await aio_pika.connect(URL)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=PREFETCH)
    exchange = await channel.get_exchange(EXCHANGE, ensure=True)  # as tcdyn: passive
    queue = await channel.declare_queue(queue_name, durable=True)
    await queue.bind(exchange, routing_key=reference_binding().routingKeyPattern)
    batch = max(1, PREFETCH // 4)
    done = asyncio.Event()
    state = {"count": 0, "start": 0.0, "cpu": 0.0, "unacked": 0}

    async def on_message(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        if state["count"] == 0:
            state["start"], state["cpu"] = time.perf_counter(), time.process_time()
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
    elapsed, cpu = time.perf_counter() - state["start"], time.process_time() - state["cpu"]
    await connection.close()
    return n / elapsed, cpu / n * 1e6


async def run_tcdyn(n: int, queue_name: str, validate: Any, on_loop: bool
                    ) -> tuple[float, float]:
    """``Consumer.run`` with an async handler (``on_loop``, run on the event loop, as the
    raw callback) or a synchronous one (run in a thread of its own): (msg/s, CPU us)."""
    state = {"count": 0, "start": 0.0, "cpu": 0.0}

    def handler(message: Any) -> None:
        if state["count"] == 0:
            state["start"], state["cpu"] = time.perf_counter(), time.process_time()
        state["count"] += 1

    async def async_handler(message: Any) -> None:
        handler(message)

    consumer = Consumer(URL, queue_name.rsplit("/", 1)[1], [reference_binding()],
                        prefetch=PREFETCH, validate=validate)
    async with consumer:
        await consumer.run(async_handler if on_loop else handler, limit=n)
        elapsed = time.perf_counter() - state["start"]
        cpu = time.process_time() - state["cpu"]
    stats = consumer.stats
    if stats.acked != n or stats.rejected or state["count"] != n:
        raise RuntimeError(f"tcdyn consumer: {state['count']} handled, {stats}")
    return n / elapsed, cpu / n * 1e6


def compare(loop: asyncio.AbstractEventLoop, n: int, rounds: int) -> list[Row]:
    """The one-process rows: tcdyn's consumers against raw aio-pika, alternating."""
    queue_name = f"queue/tcdyn/{QUEUE}"
    validate = registry_validator()
    # the schema is compiled at its first check (~20 ms, once per process): not throughput
    validate(reference_binding(), json.loads(message(0, GROUP)[1]))
    runs: dict[str, Callable[[], Any]] = {
        "raw aio-pika": lambda: run_raw(n, queue_name),
        "validated": lambda: run_tcdyn(n, queue_name, validate, True),
        "tcdyn": lambda: run_tcdyn(n, queue_name, None, True),
        "valid sync": lambda: run_tcdyn(n, queue_name, validate, False),
    }
    cpu: dict[str, list[float]] = {name: [] for name in runs}

    def contender(name: str) -> Callable[[], float]:
        async def once() -> float:
            await asyncio.wait_for(fill(n, queue_name), TIMEOUT)
            rate, us = await asyncio.wait_for(runs[name](), TIMEOUT)
            cpu[name].append(us)
            print(f"pulse: {name:12} {rate:8.0f} msg/s  {us:6.1f} us CPU/msg", file=sys.stderr,
                  flush=True)
            return rate

        return lambda: loop.run_until_complete(once())

    loop.run_until_complete(setup_queue(queue_name))
    try:
        rates = alternate({name: contender(name) for name in runs}, rounds)
    finally:
        loop.run_until_complete(delete_queue(queue_name))
    raw = rates["raw aio-pika"]

    def us(name: str) -> str:
        return f"{statistics.median(cpu[name]):.0f}"

    detail = (f"consumer CPU per message: tcdyn validated {us('validated')} us, raw "
              f"{us('raw aio-pika')} us; {n} messages, prefetch {PREFETCH}")
    return [
        ratio_row("pulse.consume.validated", "Pulse consume, validated, async handler",
                  rates["validated"], raw, "msg/s", ("tcdyn validated", "raw aio-pika"),
                  detail),
        Row("pulse.consume.raw", "Pulse consume, raw aio-pika (callback, batched acks)",
            statistics.median(raw), "msg/s", min(raw), max(raw),
            (Figure.of("raw aio-pika", raw, "msg/s"),)),
        ratio_row("pulse.consume.cpu", "Pulse consume, validated: raw's CPU/msg over tcdyn's",
                  cpu["raw aio-pika"], cpu["validated"], "us",
                  ("raw aio-pika", "tcdyn validated"),
                  "above 1.0x: tcdyn spends less CPU per message"),
        ratio_row("pulse.consume.plain", "Pulse consume, not validated, async handler",
                  rates["tcdyn"], raw, "msg/s", ("tcdyn", "raw aio-pika")),
        ratio_row("pulse.consume.sync", "Pulse consume, validated, synchronous handler",
                  rates["valid sync"], raw, "msg/s", ("tcdyn valid sync", "raw aio-pika"),
                  "the handler in a thread of its own, a hop per batch"),
    ]


# -- scale-out: N processes on one named queue -----------------------------------------------

async def child(queue: str) -> None:
    """One competing consumer, driven over stdin: ``run MODE PREFETCH`` starts a round
    (``one_round``); ``exit`` ends the process."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    binding, validate = reference_binding(), registry_validator()
    validate(binding, json.loads(message(0, GROUP)[1]))  # compiled once, before any round
    _say("ready")
    while (line := (await reader.readline()).decode().strip()) not in ("", "exit"):
        _, mode, prefetch = line.split()
        consumer = Consumer(URL, queue, [binding], prefetch=int(prefetch), validate=validate)
        await one_round(consumer, reader, mode)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def one_round(consumer: Consumer, reader: asyncio.StreamReader, mode: str) -> None:
    """Start ``consumer`` (the validated async handler; ``io``: it awaits ``WORK`` per
    message, ``cpu``: no-op) and print ``started``; on ``go`` handle until ``stop``, then
    print ``done`` with the count, the acks and the first and last handling times
    (``time.monotonic``: one clock for every process of the machine). While handling,
    print ``n COUNT`` every 20 ms when the count changed."""
    state = {"count": 0, "first": 0.0, "last": 0.0}

    async def handler(message: Any) -> None:
        now = time.monotonic()
        if not state["count"]:
            state["first"] = now
        state["count"] += 1
        state["last"] = now
        if mode == "io":
            await asyncio.sleep(WORK)

    async def progress() -> None:
        said = 0
        while True:
            await asyncio.sleep(0.02)
            if state["count"] != said:
                said = state["count"]
                _say(f"n {said}")

    async with consumer:
        _say("started")
        await reader.readline()  # go
        running = asyncio.create_task(consumer.run(handler))
        ticking = asyncio.create_task(progress())
        await reader.readline()  # stop
        consumer.stop()
        await running
        ticking.cancel()
    _say("done " + json.dumps({**state, "acked": consumer.stats.acked,
                               "rejected": consumer.stats.rejected}))


class Children:
    """The consumer processes of the scale-out (``--child``), reused across rounds."""

    def __init__(self, queue: str, count: int) -> None:
        self.queue, self.count = queue, count
        self.procs: list[asyncio.subprocess.Process] = []
        self.lines: list[asyncio.Queue[str]] = []
        self.handled: list[int] = []
        self.readers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for i in range(self.count):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, os.path.abspath(__file__), "--child",
                self.queue.rsplit("/", 1)[1], GROUP, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE)
            self.procs.append(proc)
            self.lines.append(asyncio.Queue())
            self.handled.append(0)
            self.readers.append(asyncio.create_task(self._read(i, proc)))
        for i in range(self.count):
            await self._expect(i, "ready")

    async def _read(self, i: int, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode().strip()
            if line.startswith("n "):
                self.handled[i] = int(line[2:])
            else:
                self.lines[i].put_nowait(line)
        self.lines[i].put_nowait("")  # the process ended

    async def _expect(self, i: int, word: str) -> str:
        line = await asyncio.wait_for(self.lines[i].get(), TIMEOUT)
        if not line.startswith(word):
            raise RuntimeError(f"scale-out consumer {i}: expected {word!r}, got {line!r}")
        return line

    def _send(self, i: int, line: str) -> None:
        stdin = self.procs[i].stdin
        assert stdin is not None
        stdin.write(line.encode() + b"\n")

    async def round(self, n: int, messages: int, mode: str) -> float:
        """Fill the queue, drain it with ``n`` of the processes; msg/s."""
        await asyncio.wait_for(fill(messages, self.queue), TIMEOUT)
        for i in range(n):
            self.handled[i] = 0
            self._send(i, f"run {mode} {SCALE_PREFETCH[mode]}")
        for i in range(n):
            await self._expect(i, "started")
        for i in range(n):
            self._send(i, "go")
        deadline = time.monotonic() + TIMEOUT
        while sum(self.handled[:n]) < messages:
            if time.monotonic() > deadline:
                raise RuntimeError(f"scale-out: {sum(self.handled[:n])} of {messages} "
                                   f"messages handled in {TIMEOUT} s")
            await asyncio.sleep(0.02)
        for i in range(n):
            self._send(i, "stop")
        finals = [json.loads((await self._expect(i, "done"))[5:]) for i in range(n)]
        handled = sum(f["count"] for f in finals)
        left = await depth(self.queue)
        if (handled != messages or left or any(f["rejected"] for f in finals)
                or any(f["acked"] != f["count"] for f in finals)):
            raise RuntimeError(f"scale-out, {n} processes: {handled} of {messages} handled, "
                               f"{left} left in the queue; {finals}")
        start = min(f["first"] for f in finals if f["count"])
        end = max(f["last"] for f in finals if f["count"])
        shares = [f["count"] for f in finals]
        rate = messages / (end - start)
        print(f"pulse: scale-out {mode} {n} process(es) {rate:8.0f} msg/s, shares {shares}",
              file=sys.stderr, flush=True)
        return rate

    async def close(self) -> None:
        for i, proc in enumerate(self.procs):
            if proc.returncode is None:
                self._send(i, "exit")
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def scale_out(loop: asyncio.AbstractEventLoop, quick: bool) -> list[Row]:
    """The scale-out rows: 1, 2 and 4 processes on one queue, both handlers."""
    queue_name = f"queue/tcdyn/{QUEUE}-scale"
    counts = (1, 2, 4)
    loop.run_until_complete(setup_queue(queue_name))
    children = Children(queue_name, max(counts))
    rows: list[Row] = []
    try:
        loop.run_until_complete(children.start())
        for mode in ("io", "cpu"):
            messages, rounds = SIZES[quick][mode]
            rates = alternate({n: _round(loop, children, n, messages, mode) for n in counts},
                              rounds)
            what = (f"a handler awaiting {WORK * 1000:g} ms per message" if mode == "io"
                    else "a no-op handler (CPU bound)")
            detail = (f"{messages} messages, validated, prefetch {SCALE_PREFETCH[mode]}"
                      + ("" if mode == "io" else
                         f"; {os.cpu_count()} cores shared with the broker"))
            prefix = "pulse.scale" if mode == "io" else "pulse.scale.cpu"
            for n in counts[1:]:
                rows.append(ratio_row(f"{prefix}.{n}",
                                      f"Pulse: {n} processes on one queue, {what}",
                                      rates[n], rates[1], "msg/s",
                                      (f"{n} processes", "1 process"), detail))
    finally:
        loop.run_until_complete(children.close())
        loop.run_until_complete(delete_queue(queue_name))
    return rows


def _round(loop: asyncio.AbstractEventLoop, children: Children, n: int, messages: int,
           mode: str) -> Callable[[], float]:
    return lambda: loop.run_until_complete(children.round(n, messages, mode))


def measure(quick: bool) -> list[Row]:
    """The benchmark command's interface (bench/README.md): every row of this module."""
    loop = asyncio.new_event_loop()
    try:
        n, rounds = SIZES[quick]["compare"]
        return compare(loop, n, rounds) + scale_out(loop, quick)
    finally:
        loop.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the smoke test's size")
    parser.add_argument("--child", nargs=2, metavar=("QUEUE", "GROUP"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        global GROUP
        queue, GROUP = args.child
        asyncio.run(child(queue))
        return 0
    print(table(measure(args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
