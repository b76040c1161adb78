"""A user's script, type-checked by tests/test_typing.py with mypy --strict and pyright:
every line here must pass both; ``reveal_type`` comments are checked by the test."""

from __future__ import annotations

import asyncio

import tcdyn
import tcdyn.aio
from tcdyn.payloads import GenericWorkerPayload
from tcdyn.types import QueueCreateTaskRequest, QueueTaskStatusResponse


def task_definition() -> QueueCreateTaskRequest:
    payload: GenericWorkerPayload = {"command": [["/bin/sh", "-c", "true"]], "maxRunTime": 60}
    return {"taskQueueId": "proj-example/ci", "created": tcdyn.fromNow("0 seconds"),
            "deadline": tcdyn.fromNowJSON("1 hour"), "payload": payload,
            "metadata": {"name": "n", "description": "d", "owner": "me@example.com",
                         "source": "https://example.com"}}


def sync_calls(task_id: str, definition: QueueCreateTaskRequest) -> str:
    queue = tcdyn.Queue(rootUrl="https://tc.example.com",
                        credentials={"clientId": "me", "accessToken": "secret"})
    status: QueueTaskStatusResponse = queue.createTask(task_id, definition)
    queue.createTask(taskId=task_id, payload=definition)
    queue.createTask(definition, taskId=task_id)
    queue.task(task_id)
    queue.task(taskId=task_id)
    queue.listTaskGroup(task_id, query={"limit": 10})
    for page in queue.listTaskGroup.pages(task_id, max_pages=2):
        page.get("continuationToken")
    for item in queue.listTaskGroup.items(task_id):
        item["status"]
    queue.listTaskGroup(task_id, paginationHandler=print)
    queue.createTask.validate(definition)
    queue.createTask(task_id, definition, workerImplementation="generic-worker/multiuser_posix")
    deadline: str = queue.task(task_id)["deadline"]
    with tcdyn.Queue.from_env() as q:
        q.ping()
    binding: tcdyn.Binding = tcdyn.QueueEvents().taskCompleted(taskGroupId=task_id)
    print(binding.exchange, status["status"]["state"], deadline)
    return tcdyn.slugId()


async def async_calls(task_id: str) -> None:
    async with tcdyn.aio.Queue(rootUrl="https://tc.example.com") as queue:
        await queue.task(task_id)
        async for item in queue.listTaskGroup.items(task_id):
            print(item)


def errors() -> None:
    try:
        sync_calls(tcdyn.slugId(), task_definition())
    except tcdyn.ResourceNotFound as exc:
        print(exc.status_code, exc.message)
    except tcdyn.TaskclusterRestFailure as exc:
        print(exc.code)


if __name__ == "__main__":
    asyncio.run(async_calls(tcdyn.slugId()))
