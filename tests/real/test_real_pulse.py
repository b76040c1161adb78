"""Pulse: the messages the real queue publishes for a task's whole life."""

from __future__ import annotations

import asyncio

from real_helpers import claim, name, slug, task_def, task_queue

import tcdyn.pulse

LIFE = ["task-defined", "task-pending", "task-running", "task-completed"]


async def test_consumer_receives_a_task_life_validated(tc, root, root_url, stack):
    events = tc.QueueEvents()
    group, tq, task_id = slug(), task_queue(), slug()
    route = f"tcdyn-real.{name()}"
    bindings = [events.taskDefined(taskGroupId=group), events.taskPending(taskGroupId=group),
                events.taskRunning(taskGroupId=group), events.taskCompleted(taskGroupId=group)]
    validated: list[str] = []

    def validate(binding, payload):
        tc.validate_message(binding, payload)  # the deployment's own message schemas
        validated.append(binding.name)

    received = []
    async with tcdyn.pulse.Consumer(stack["TCDYN_STACK_PULSE_URL"], f"real-{name()}", bindings,
                                    validate=validate, exclusive=True) as consumer:
        async with tc.aio.Queue(rootUrl=root_url, credentials=root) as queue:
            await queue.createTask(task_id, task_def(tq, taskGroupId=group, routes=[route]))
            [run] = await claim(queue, tq)
            await queue.reportCompleted(task_id, run["runId"])

        async def take():
            async for message in consumer:
                received.append(message)
                if len(received) == len(LIFE):
                    break
        await asyncio.wait_for(take(), 60)

    assert [m.exchange.rsplit("/", 1)[1] for m in received] == LIFE
    assert validated == ["taskDefined", "taskPending", "taskRunning", "taskCompleted"]
    for message in received:
        assert message.payload["status"]["taskId"] == task_id
        assert message.routing["taskId"] == task_id
        assert message.routing["taskGroupId"] == group
        assert message.routes == [route]
    assert received[2].routing["workerId"] == "w1"
    assert received[3].payload["status"]["state"] == "completed"
