"""Issue 18 item 25: the Pulse guide's example (the README's until issue 24) runs as
copied, against the local broker and a served deployment (its rootUrl in
``TASKCLUSTER_ROOT_URL``, as the example reads it)."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest
import slugid
from pulse_helpers import task_message

from tcdyn.pulse import Consumer
from tcdyn.testing.server import LocalDeployment

pytestmark = pytest.mark.usefixtures("broker")

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "pulse.md"


def pulse_example() -> str:
    """The first Python block of the Pulse guide's "A consumer" section."""
    text = GUIDE.read_text()
    section = text[text.index("\n## A consumer\n"):]
    section = section[:section.index("\n## ", 1)]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no python block in the Pulse guide's consumer section"
    return match.group(1)


async def test_the_guide_pulse_example_runs_as_copied(broker, publisher, queue_name,
                                                       deployment_dir, tmp_path,
                                                       queue_events, hooks_events):
    code = pulse_example()
    # The one change: a queue of its own, as other runs share the broker's user.
    assert code.count('"my-listener"') == 3, code
    script = tmp_path / "pulse_example.py"
    script.write_text(code.replace('"my-listener"', f'"{queue_name}"'))
    # A previous run left the durable queue bound; messages wait in it.
    group = slugid.nice()
    completed, hooks = queue_events.taskCompleted(taskGroupId=group), hooks_events.hookCreated()
    async with Consumer(broker["url"], queue_name, [completed, hooks]):
        pass
    await publisher.publish(hooks.exchange, "_", {"hookGroupId": "g", "hookId": "h"})
    tasks = [slugid.nice() for _ in range(3)]
    for task in tasks:
        key, payload = task_message("task-completed", task, group)
        await publisher.publish(completed.exchange, key, payload)

    with LocalDeployment(deployment_dir) as dep:
        env = {"TASKCLUSTER_ROOT_URL": dep.root_url, "TCDYN_PULSE_URL": broker["url"],
               "TASK_GROUP_ID": group}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(script), env={**_inherited(), **env},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert lines[0].startswith(hooks.exchange), lines
    assert [line.split()[0] for line in lines[1:]] == [completed.exchange] * 3, lines
    assert sorted(line.split()[1].split(".")[1] for line in lines[1:]) == sorted(tasks)
    assert await publisher.queue_info(f"queue/tcdyn/{queue_name}") == 0  # all settled


def _inherited() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items()
            if not k.startswith(("TASKCLUSTER_", "TCDYN_PULSE"))}
