"""Create a task with a fresh slugid and print its id and the URL of its live log.

    python examples/create_task.py --task-queue-id proj-example/ci --project-id example

The task is typed the way the Go client's README builds it: its payload is a
``GenericWorkerPayload`` (generic-worker's payload schema as a ``TypedDict``) and the task a
``QueueCreateTaskRequest``, so mypy and pyright flag a misspelled key or a wrong type; and
``workerImplementation=`` has tcdyn check the payload against the worker's schema before the
task is sent (the queue itself takes any object as a payload).

Needs ``queue:create-task:...`` scopes for the task queue (see ``help(tcdyn.Queue.createTask)``)
in the credentials of ``TASKCLUSTER_CLIENT_ID`` / ``TASKCLUSTER_ACCESS_TOKEN``. The log URL is
unsigned (public artifacts); ``--signed`` prints one carrying a bewit, valid 15 minutes.
"""

from __future__ import annotations

import argparse
import sys

import tcdyn
from tcdyn.payloads import GenericWorkerPayload
from tcdyn.types import QueueCreateTaskRequest


def definition(task_queue_id: str, project_id: str,
               scheduler_id: str) -> QueueCreateTaskRequest:
    """A small task: one command, an hour's deadline."""
    payload: GenericWorkerPayload = {
        "command": [["/bin/sh", "-c", "echo hello from tcdyn"]],
        "maxRunTime": 600,
        "env": {"GREETING": "hello"},
        "artifacts": [{"type": "file", "path": "hello.txt", "name": "public/hello.txt",
                       "expires": tcdyn.fromNow("1 day")}],
    }
    return {
        "taskQueueId": task_queue_id,
        "projectId": project_id,
        "schedulerId": scheduler_id,
        "created": tcdyn.fromNow("0 seconds"),
        "deadline": tcdyn.fromNow("1 hour"),
        "expires": tcdyn.fromNow("1 day"),
        "payload": payload,
        "metadata": {"name": "tcdyn example task", "description": "examples/create_task.py",
                     "owner": "tcdyn@example.com",
                     "source": "https://github.com/taskcluster/taskcluster"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--task-queue-id", default="proj-example/ci")
    parser.add_argument("--project-id", default="none")
    parser.add_argument("--scheduler-id", default="-")
    parser.add_argument("--signed", action="store_true", help="print a signed log URL")
    args = parser.parse_args(argv)
    task_id = tcdyn.slugId()
    with tcdyn.Queue.from_env() as queue:
        status = queue.createTask(task_id, definition(args.task_queue_id, args.project_id,
                                                      args.scheduler_id),
                                  workerImplementation="generic-worker/multiuser_posix")
        build = queue.buildSignedUrl if args.signed else queue.buildUrl
        log_url = build("getLatestArtifact", task_id, "public/logs/live.log")
    print(f"Task ID:  {task_id}")
    print(f"State:    {status['status']['state']}")
    print(f"Log URL:  {log_url}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except tcdyn.TaskclusterFailure as exc:  # one line on stderr, exit status 1
        sys.exit(f"error: {type(exc).__name__}: {exc}")
