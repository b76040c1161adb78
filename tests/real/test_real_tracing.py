"""Trace ids in the real v106 services' own logs: the ``x-taskcluster-trace-id`` a call sends
(a user's, a fresh one carried by its error, an OpenTelemetry span's) is the ``traceId`` of
the queue's log line about that request; the Hawk signature stays valid beside it."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from real_helpers import aw, slug, task_def, task_queue

import tcdyn
from tracing_helpers import hex_trace_id, spans  # noqa: F401  (fixture)


class QueueLog:
    """The queue's log lines written since this was made."""

    def __init__(self, logs: Path) -> None:
        self.path = logs / "queue.log"
        assert self.path.is_file(), f"no queue log at {self.path}"
        self.start = self.path.stat().st_size

    async def api_lines(self, trace_id: str, timeout: float = 20) -> list[dict[str, Any]]:
        """The ``monitor.apiMethod`` records of ``trace_id`` (waiting for them a while)."""
        deadline = time.monotonic() + timeout
        while True:
            found = []
            with self.path.open("rb") as f:
                f.seek(self.start)
                for line in f.read().splitlines():
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if (isinstance(record, dict) and record.get("traceId") == trace_id
                            and record.get("Type") == "monitor.apiMethod"):
                        found.append(record["Fields"])
            if found or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.25)


@pytest.fixture
def queue_log(stack_logs) -> QueueLog:
    return QueueLog(stack_logs)


async def test_a_users_trace_id_is_the_one_the_queue_logs(make, root, queue_log):
    queue = make("Queue", credentials=root)
    task_id = slug()
    with tcdyn.trace_id() as tid:
        await aw(queue.createTask(task_id, task_def(task_queue())))
    [record] = await queue_log.api_lines(tid)
    assert record["name"] == "createTask" and record["statusCode"] == 200
    assert record["authenticated"] is True  # the Hawk signature held beside the header
    assert record["resource"] == f"/task/{task_id}"


async def test_an_errors_trace_id_finds_its_log_line(make, root, queue_log):
    queue = make("Queue", credentials=root)
    with pytest.raises(tcdyn.ResourceNotFound) as info:
        await aw(queue.task(slug()))
    trace_id = info.value.trace_id
    assert trace_id
    [record] = await queue_log.api_lines(trace_id)
    assert record["name"] == "task" and record["statusCode"] == 404


async def test_a_clients_trace_id_and_an_opentelemetry_spans(make, root, queue_log,
                                                              spans):  # noqa: F811
    fixed = f"tcdyn-real/{slug()}"
    queue = make("Queue", credentials=root, traceId=fixed)
    await aw(queue.ping())
    await aw(make("Queue", credentials=root).ping())  # inside no block: the span's id
    pings = [s for s in spans.get_finished_spans() if s.name == "queue.ping"]
    assert len(pings) == 2
    assert [r["name"] for r in await queue_log.api_lines(fixed)] == ["ping"]
    span_id = hex_trace_id(pings[1])
    assert [r["name"] for r in await queue_log.api_lines(span_id)] == ["ping"]
