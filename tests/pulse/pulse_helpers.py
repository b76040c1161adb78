"""Helpers for the Pulse tests: Taskcluster-shaped messages, a publisher, exchange classes.

``TCDYN_AMQP_URL`` (the Pulse-like consumer user) and ``TCDYN_AMQP_ADMIN_URL`` (the tests'
publisher, standing in for Taskcluster's services and for Pulse itself) default to the users
that scripts/rabbitmq.sh creates.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

AMQP_URL = os.environ.get("TCDYN_AMQP_URL", "amqp://tcdyn:tcdyn-pass@localhost:5672/")
ADMIN_URL = os.environ.get("TCDYN_AMQP_ADMIN_URL",
                           "amqp://tcdyn-admin:tcdyn-admin-pass@localhost:5672/")
SCHEDULER = "tcdyn-tests"
PROVISIONER = "proj-tcdyn"
WORKER_TYPE = "ci"


def rabbitmqctl(*args: str, timeout: float = 60) -> str:
    """Run rabbitmqctl (skips the test if it is not usable here)."""
    exe = shutil.which("rabbitmqctl")
    if exe is None:
        pytest.skip("rabbitmqctl is not installed")
    proc = subprocess.run([exe, "-q", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        pytest.skip(f"rabbitmqctl {' '.join(args)} failed here: {proc.stderr.strip()[:200]}")
    return proc.stdout


# -- messages as Taskcluster publishes them -----------------------------------------------



# -- Taskcluster-shaped messages ---------------------------------------------------------

def task_status(task_id: str, group: str, state: str, run_state: str | None = None
                ) -> dict[str, Any]:
    """A task status as the queue reports it (schema queue/v1/task-status.json)."""
    runs = [] if state == "unscheduled" else [{
        "runId": 0, "state": run_state or state, "reasonCreated": "scheduled",
        "scheduled": "2030-01-01T00:00:00.000Z",
    }]
    return {
        "taskId": task_id, "provisionerId": PROVISIONER, "workerType": WORKER_TYPE,
        "taskQueueId": f"{PROVISIONER}/{WORKER_TYPE}", "schedulerId": SCHEDULER,
        "projectId": "none", "taskGroupId": group, "deadline": "2030-01-02T00:00:00.000Z",
        "expires": "2031-01-01T00:00:00.000Z", "retriesLeft": 5, "state": state,
        "runs": runs,
    }


def task_message(exchange: str, task_id: str, group: str) -> tuple[str, dict[str, Any]]:
    """(routing key, payload) as the queue publishes on ``exchange`` (short name)."""
    state = {"task-defined": "unscheduled", "task-pending": "pending",
             "task-running": "running", "task-completed": "completed",
             "task-failed": "failed", "task-exception": "exception"}[exchange]
    payload: dict[str, Any] = {"version": 1, "status": task_status(task_id, group, state)}
    run: list[str] = ["_", "_", "_"]
    if exchange != "task-defined":
        payload["runId"] = 0
        run = ["0", "_", "_"]
    if exchange in ("task-running", "task-completed", "task-failed"):
        payload.update(workerGroup="wg-1", workerId="worker-1")
        run = ["0", "wg-1", "worker-1"]
    if exchange == "task-running":
        payload["takenUntil"] = "2030-01-01T00:20:00.000Z"
    key = ".".join(["primary", task_id, *run, PROVISIONER, WORKER_TYPE, SCHEDULER, group, "_"])
    return key, payload


class Publisher:
    """Publishes as Taskcluster does: durable topic exchanges, persistent JSON messages,
    task routes CC'd as ``route.<route>``; with publisher confirms."""

    def __init__(self, connection: Any, channel: Any) -> None:
        self.connection = connection
        self.channel = channel
        self._exchanges: dict[str, Any] = {}

    async def exchange(self, name: str) -> Any:
        import aio_pika

        if name not in self._exchanges:
            self._exchanges[name] = await self.channel.declare_exchange(
                name, aio_pika.ExchangeType.TOPIC, durable=True)
        return self._exchanges[name]

    async def publish(self, exchange: str, routing_key: str, payload: Any, *,
                      cc: list[str] = (), raw: bytes | None = None) -> None:  # type: ignore[assignment]
        import aio_pika

        body = raw if raw is not None else json.dumps(payload).encode()
        message = aio_pika.Message(
            body, content_type="application/json", content_encoding="utf-8",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers={"CC": [f"route.{r}" for r in cc]} if cc else None)
        await (await self.exchange(exchange)).publish(message, routing_key=routing_key)

    async def publish_bare(self, exchange: str, routing_key: str, payload: Any) -> None:
        """Publish as Taskcluster's services do: no message-id (amqplib sets none, while
        aiormq's ``basic_publish`` adds a random one), so identical bodies are alike.
        The frames go out on a channel of their own, without publisher confirms."""
        from aiormq.channel import ChannelFrame
        from pamqp import commands as spec
        from pamqp.body import ContentBody
        from pamqp.header import ContentHeader

        body = json.dumps(payload).encode()
        channel = await self.connection.channel(publisher_confirms=False)
        try:
            underlay = await channel.get_underlay_channel()
            properties = spec.Basic.Properties(content_type="application/json",
                                               delivery_mode=2)
            frames = [spec.Basic.Publish(exchange=exchange, routing_key=routing_key),
                      ContentHeader(properties=properties, body_size=len(body)),
                      ContentBody(body)]
            await underlay.write_queue.put(ChannelFrame.marshall(
                frames=frames, channel_number=underlay.number))
            await underlay.basic_qos(prefetch_count=1)  # a round trip after the publish
        finally:
            await channel.close()

    async def queue_info(self, name: str) -> int | None:
        """Ready messages in queue ``name``, or ``None`` if it does not exist."""
        import aiormq

        channel = await self.connection.channel()
        try:
            result = await channel.declare_queue(name, passive=True)
        except aiormq.exceptions.ChannelNotFoundEntity:
            return None
        finally:
            if not channel.is_closed:
                await channel.close()
        return result.declaration_result.message_count

    async def delete_queue(self, name: str) -> None:
        channel = await self.connection.channel()
        try:
            await channel.queue_delete(name)
        finally:
            await channel.close()


async def wait_for(predicate: Callable[[], bool], timeout: float = 20.0,
                   what: str = "condition") -> None:
    """Poll ``predicate`` every 20 ms until true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)
