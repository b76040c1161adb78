"""Helpers for the real-stack suite: one scenario body serves sync and async clients."""

from __future__ import annotations

import asyncio
import inspect
import time
from pathlib import Path
from typing import Any

import slugid

from tcdyn import utils

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "taskcluster.sh"
SCHEDULER = "tcdyn-real"
PROJECT = "tcdyn-real"


async def aw(value: Any) -> Any:
    """The result of a sync call, or of an async one awaited."""
    return await value if inspect.isawaitable(value) else value


async def collect(iterable: Any) -> list:
    """Every element of a sync or async iterator."""
    if hasattr(iterable, "__aiter__"):
        return [x async for x in iterable]
    return list(iterable)


def slug() -> str:
    return slugid.nice()


def name() -> str:
    """A fresh identifier usable as a worker type, a hook id or a namespace word."""
    return "t" + slugid.nice().replace("-", "x").replace("_", "y")[:20].lower()


def task_queue() -> str:
    return f"tcdyn-real/{name()}"


def task_def(task_queue_id: str, **overrides: Any) -> dict[str, Any]:
    task = {
        "taskQueueId": task_queue_id,
        "schedulerId": SCHEDULER,
        "projectId": PROJECT,
        "created": utils.fromNowJSON("0 seconds"),
        "deadline": utils.fromNowJSON("1 hour"),
        "expires": utils.fromNowJSON("1 day"),
        "payload": {"command": ["true"]},
        "metadata": {"name": "tcdyn conformance", "description": "tests/real",
                     "owner": "tcdyn@example.com", "source": "https://example.com/tcdyn"},
    }
    task.update(overrides)
    return task


async def claim(queue: Any, task_queue_id: str, count: int = 1) -> list[dict[str, Any]]:
    """claimWork until ``count`` claims came back (the queue long-polls when empty)."""
    claims: list = []
    deadline = time.monotonic() + 60
    while len(claims) < count and time.monotonic() < deadline:
        answer = await aw(queue.claimWork(task_queue_id, {
            "workerGroup": "tcdyn", "workerId": "w1", "tasks": count - len(claims)}))
        claims += answer["tasks"]
    assert len(claims) == count, f"claimed {len(claims)} of {count}"
    return claims


async def wait_state(queue: Any, task_id: str, state: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = (await aw(queue.status(task_id)))["status"]
        if status["state"] == state or time.monotonic() > deadline:
            assert status["state"] == state, status
            return status
        await asyncio.sleep(0.5)
