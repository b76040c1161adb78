"""Create a task with a fresh slugid and print its id and the URL of its live log.

    python examples/create_task.py --task-queue-id proj-example/ci --project-id example

Needs ``queue:create-task:...`` scopes for the task queue (see ``help(tcdyn.Queue.createTask)``)
in the credentials of ``TASKCLUSTER_CLIENT_ID`` / ``TASKCLUSTER_ACCESS_TOKEN``. The log URL is
unsigned (public artifacts); ``--signed`` prints one carrying a bewit, valid 15 minutes.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import tcdyn


def definition(task_queue_id: str, project_id: str, scheduler_id: str) -> dict[str, Any]:
    """A small task: one command, an hour's deadline."""
    return {
        "taskQueueId": task_queue_id,
        "projectId": project_id,
        "schedulerId": scheduler_id,
        "created": tcdyn.fromNow("0 seconds"),
        "deadline": tcdyn.fromNow("1 hour"),
        "expires": tcdyn.fromNow("1 day"),
        "payload": {"command": [["/bin/sh", "-c", "echo hello from tcdyn"]],
                    "maxRunTime": 600},
        "metadata": {"name": "tcdyn example task", "description": "examples/create_task.py",
                     "owner": "tcdyn@example.com",
                     "source": "https://github.com/taskcluster/taskcluster"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task-queue-id", default="proj-example/ci")
    parser.add_argument("--project-id", default="none")
    parser.add_argument("--scheduler-id", default="-")
    parser.add_argument("--signed", action="store_true", help="print a signed log URL")
    args = parser.parse_args(argv)
    task_id = tcdyn.slugId()
    with tcdyn.Queue.from_env() as queue:
        status = queue.createTask(task_id, definition(args.task_queue_id, args.project_id,
                                                      args.scheduler_id))
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
        sys.exit(f"error: {exc}")
