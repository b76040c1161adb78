"""Issue 21 item 4: scale-out. Several processes consume one named queue (RabbitMQ's
competing consumers): ``Consumer.run`` in scale_worker.py and ``tcdyn listen --queue``.
One is killed with SIGKILL mid-stream: every message is still handled at least once, the
broker holds nothing unacked afterwards, and the duplicates (messages the killed process
handled but had not acked yet) are counted, come back flagged ``redelivered`` and number at
most its prefetch."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import slugid
from pulse_helpers import AMQP_URL, rabbitmqctl, task_message, wait_for

from tcdyn.pulse import Consumer

pytestmark = pytest.mark.usefixtures("broker")

WORKER = Path(__file__).with_name("scale_worker.py")


@dataclass
class Proc:
    """A consumer process and the messages it reported handled (task id, redelivered)."""

    name: str
    process: asyncio.subprocess.Process
    handled: list[tuple[str, bool]] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    final: dict[str, Any] | None = None
    reader: asyncio.Task[None] | None = None


async def _worker(deployment_dir: Path, queue: str, group: str, prefetch: int,
                  work: float) -> Proc:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(WORKER), str(deployment_dir), queue, group, str(prefetch),
        str(work),
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "TCDYN_AMQP_URL": AMQP_URL})
    proc = Proc(f"Consumer.run pid {process.pid}", process)
    proc.reader = asyncio.create_task(_read_worker(proc))
    return proc


async def _read_worker(proc: Proc) -> None:
    assert proc.process.stdout is not None
    async for line in proc.process.stdout:
        if not line.endswith(b"\n"):
            break  # cut short by SIGKILL: not handled
        text = line.decode().rstrip("\n")
        if text == "ready":
            proc.ready.set()
        elif text.startswith("done "):
            proc.final = json.loads(text[5:])
        else:
            task, redelivered = text.split(" ")
            proc.handled.append((task, redelivered == "1"))


async def _listener(queue: str, group: str, prefetch: int, tmp_path: Path) -> Proc:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tcdyn", "listen", "queue", "taskCompleted",
        f"--taskGroupId={group}", "--queue", queue, "--prefetch", str(prefetch),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "TCDYN_CONFIG": str(tmp_path / "none.toml"),
             "TCDYN_PULSE_URL": AMQP_URL})
    proc = Proc(f"tcdyn listen pid {process.pid}", process)
    proc.reader = asyncio.create_task(_read_listener(proc))
    return proc


async def _read_listener(proc: Proc) -> None:
    assert proc.process.stdout is not None and proc.process.stderr is not None
    banner = await proc.process.stderr.readline()
    if b"listening on queue/tcdyn/" in banner:
        proc.ready.set()
    async for line in proc.process.stdout:
        if not line.endswith(b"\n"):
            break
        message = json.loads(line)
        proc.handled.append((message["payload"]["status"]["taskId"], message["redelivered"]))


async def _publish(exchange: str, group: str, n: int) -> set[str]:
    """``n`` task-completed messages of ``group``, publisher-confirmed; their task ids."""
    connection = await aio_pika.connect(os.environ.get(
        "TCDYN_AMQP_ADMIN_URL", "amqp://tcdyn-admin:tcdyn-admin-pass@localhost:5672/"))
    try:
        channel = await connection.channel(publisher_confirms=True)
        target = await channel.get_exchange(exchange, ensure=False)
        tasks = [slugid.nice() for _ in range(n)]
        for start in range(0, n, 500):
            messages = []
            for task in tasks[start:start + 500]:
                key, payload = task_message("task-completed", task, group)
                messages.append(target.publish(aio_pika.Message(
                    json.dumps(payload).encode(), content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=key))
            await asyncio.gather(*messages)
    finally:
        await connection.close()
    return set(tasks)


def _queue_counts(full_name: str) -> tuple[int, int, int]:
    """(ready, unacked, consumers) of the queue, as the broker reports them."""
    for line in rabbitmqctl("list_queues", "name", "messages_ready",
                            "messages_unacknowledged", "consumers").splitlines():
        name, *counts = line.split("\t")
        if name == full_name:
            ready, unacked, consumers = (int(c) for c in counts)
            return ready, unacked, consumers
    raise AssertionError(f"the broker has no queue {full_name}")


async def _scale_out(*, start: list[Any], victim: int, queue_events: Any, queue: str,
                     group: str, n: int, prefetch: int) -> dict[str, Any]:
    """Publish ``n`` messages to ``queue``, then start its consumers (``start``: functions
    that start one each), SIGKILL the ``victim``-th when half the messages were handled, let
    the others finish; checks what the module docstring says, returns the counts."""
    full = f"queue/tcdyn/{queue}"
    # Published first, so that the consumers are busy (handled, not yet acked messages
    # in flight) when the kill comes, rather than waiting for the publisher.
    published = await _publish(queue_events.taskCompleted().exchange, group, n)
    procs: list[Proc] = []
    try:
        for begin in start:
            procs.append(await begin())
        for proc in procs:
            await asyncio.wait_for(proc.ready.wait(), 60)

        def total() -> int:
            return sum(len(p.handled) for p in procs)

        await wait_for(lambda: total() >= n // 2, 60, "half the messages")
        at_kill, killed = total(), procs[victim]
        killed.process.send_signal(signal.SIGKILL)
        await killed.process.wait()
        assert len(killed.handled) > 0 and at_kill < n  # killed mid-stream, having worked

        def seen() -> set[str]:
            return {task for p in procs for task, _ in p.handled}

        await wait_for(lambda: seen() >= published, 60, "every message handled")
        survivors = [p for p in procs if p is not killed]
        # While the survivors still hold their connections: nothing waits unacked.
        for _ in range(20):
            ready, unacked, _ = await asyncio.to_thread(_queue_counts, full)
            if (ready, unacked) == (0, 0):
                break
            await asyncio.sleep(0.2)
        assert (ready, unacked) == (0, 0)
        for proc in survivors:
            proc.process.send_signal(signal.SIGTERM if proc.name.startswith("Consumer")
                                     else signal.SIGINT)
        codes = [await asyncio.wait_for(p.process.wait(), 30) for p in survivors]
        await asyncio.wait_for(asyncio.gather(*(p.reader for p in procs if p.reader)), 30)
    finally:
        for proc in procs:
            if proc.process.returncode is None:
                proc.process.kill()
                await proc.process.wait()
    # Consumer.run ends cleanly on SIGTERM; `tcdyn listen` exits 130 on Ctrl-C (SIGINT).
    assert codes == [0 if p.name.startswith("Consumer") else 130 for p in survivors]
    assert await asyncio.to_thread(_queue_counts, full) == (0, 0, 0)
    handled = Counter(task for p in procs for task, _ in p.handled)
    assert set(handled) == published  # at least once each, and nothing else
    duplicates = {task: count for task, count in handled.items() if count > 1}
    assert all(count == 2 for count in duplicates.values())
    # at most the killed process's unacked window (each lost connection returns its own:
    # a broker restarted meanwhile would add that of every consumer)
    assert len(duplicates) <= prefetch, (
        f"{len(duplicates)} duplicates; survivors' recoveries: "
        f"{[p.final and p.final['recoveries'] for p in survivors]}")
    victims = {task for task, _ in killed.handled}
    for proc in survivors:
        for task, redelivered in proc.handled:
            if task in duplicates:  # a copy the killed process had handled, not acked
                assert task in victims and redelivered
    for proc in survivors:
        if proc.name.startswith("Consumer"):
            assert proc.final is not None, f"{proc.name} did not report its stats"
            assert proc.final["rejected"] == 0 and proc.final["recoveries"] == 0
            assert proc.final["acked"] == len(proc.handled)
    return {"duplicates": len(duplicates), "shares": [len(p.handled) for p in procs]}


async def test_four_processes_share_a_queue_and_a_kill_9_loses_nothing(
        broker, queue_name, queue_events, deployment_dir, tmp_path, record_property):
    """The issue's scenario: 4 processes (3 ``Consumer.run``, validating, and one
    ``tcdyn listen --queue``), 20,000 messages, a ``Consumer.run`` process killed -9
    in the middle."""
    n, prefetch, group = 20_000, 32, slugid.nice()
    binding = queue_events.taskCompleted(taskGroupId=group)
    async with Consumer(broker["url"], queue_name, [binding]):
        pass  # the durable queue and its binding, before anything is published

    def worker() -> Any:  # each message takes 1 ms of (awaited) work, as I/O would
        return _worker(deployment_dir, queue_name, group, prefetch, 0.001)

    def listener() -> Any:
        return _listener(queue_name, group, prefetch, tmp_path)

    counts = await _scale_out(start=[worker, worker, worker, listener], victim=0,
                              queue_events=queue_events, queue=queue_name, group=group,
                              n=n, prefetch=prefetch)
    record_property("duplicates", counts["duplicates"])
    print(f"\nscale-out: 4 processes, {n} messages, shares {counts['shares']}, "
          f"{counts['duplicates']} duplicate(s) after the kill (bound {prefetch})")
    assert all(share > 0 for share in counts["shares"])  # every process took part


async def test_a_killed_tcdyn_listen_loses_nothing_to_its_peer(
        broker, queue_name, queue_events, tmp_path):
    """``tcdyn listen --queue`` killed -9: its peer prints what it had not acked."""
    n, prefetch, group = 3000, 16, slugid.nice()
    binding = queue_events.taskCompleted(taskGroupId=group)
    async with Consumer(broker["url"], queue_name, [binding]):
        pass

    def listener() -> Any:
        return _listener(queue_name, group, prefetch, tmp_path)

    counts = await _scale_out(start=[listener, listener], victim=0,
                              queue_events=queue_events, queue=queue_name, group=group,
                              n=n, prefetch=prefetch)
    print(f"\ntcdyn listen x2: shares {counts['shares']}, {counts['duplicates']} "
          "duplicate(s)")
    assert all(share > 0 for share in counts["shares"])
