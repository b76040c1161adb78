"""examples/sniffer.py against the local broker: it prints each state change of a group."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import slugid
from pulse_helpers import task_message

pytestmark = pytest.mark.usefixtures("broker")

SNIFFER = Path(__file__).resolve().parents[2] / "examples" / "sniffer.py"


async def test_sniffer_prints_each_state_change(broker, publisher, deployment_dir):
    group, task = slugid.nice(), slugid.nice()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(SNIFFER), "--url", broker["url"], "--count", "4",
        "--references", str(deployment_dir),
        group, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        banner = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert b"listening on queue/tcdyn/anonymous-" in banner, banner
        key, payload = task_message("task-completed", slugid.nice(), slugid.nice())
        await publisher.publish("exchange/taskcluster-queue/v1/task-completed", key, payload)
        for exchange in ("task-defined", "task-pending", "task-running", "task-completed"):
            key, payload = task_message(exchange, task, group)
            await publisher.publish(f"exchange/taskcluster-queue/v1/{exchange}", key, payload,
                                    cc=["index.sniffed"] if exchange == "task-completed"
                                    else [])
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert len(lines) == 4
    for line, (event, state) in zip(lines, [("task-defined", "unscheduled"),
                                            ("task-pending", "pending"),
                                            ("task-running", "running"),
                                            ("task-completed", "completed")], strict=True):
        assert event in line and f"task {task}" in line and line.endswith(
            f"-> {state}" if event != "task-completed" else "(routes: index.sniffed)")
    assert "-> completed" in lines[3] and "on wg-1/worker-1" in lines[3]
    assert "tcdyn-pass" not in err.decode()
