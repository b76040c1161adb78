"""``tcdyn task create --task-queue P/W [--image IMG] -- CMD [ARG ...]``: a task in one
line (tcdyn.new_task).

With --image, a docker-worker payload (which generic-worker's d2g runs too): CMD in
IMG; without, a generic-worker payload (Linux and macOS form). Filled in: a new taskId,
created now, deadline (--deadline, default a day), expires (a year after it, as the
queue would), its own task group (or --group), scheduler '-', and metadata: the name
(--name, default the command), owner (your clientId) and source (the deployment's
tasks/create page). The task is checked against the deployment's schema before it is
sent. Prints the new taskId; follow it with: tcdyn task log TASKID --follow.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .output import UsageError, emit, prose, show


def add_create(actions: Any, common: argparse.ArgumentParser) -> None:
    p = actions.add_parser("create", parents=[common], description=prose(__doc__),
                           help="make a task running a command (-- CMD ...)",
                           usage="tcdyn task create [-h] [OPTIONS] --task-queue P/W "
                                 "[--image IMG]\n       -- CMD [ARG ...]")
    p.add_argument("--task-queue", required=True, metavar="P/W",
                   help="the task queue: provisionerId/workerType")
    p.add_argument("--image", metavar="IMG",
                   help="a docker image: a docker-worker payload (default: generic-worker)")
    p.add_argument("--name", help="the task's name (default: the command)")
    p.add_argument("--description", help="what the task does")
    p.add_argument("--deadline", default="1 day", metavar="OFFSET",
                   help="e.g. '2 hours' (default: 1 day; at most 5 days)")
    p.add_argument("--max-run-time", type=int, default=3600, metavar="SECONDS",
                   help="the worker stops the command after this long (default: 3600)")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="an environment variable of the command (repeatable)")
    p.add_argument("--group", metavar="TASKGROUPID",
                   help="put it in this task group (default: a group of its own)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the task's definition, create nothing")
    p.add_argument("command", nargs="+", metavar="CMD", help="the command and its arguments, "
                   "after --")
    p.set_defaults(run=_create)


def _env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name:
            raise UsageError(f"task create: --env {pair!r}: expected NAME=VALUE")
        env[name] = value
    return env


def _create(args: argparse.Namespace) -> int:
    from ..workflow.tasks import docker_worker_payload, generic_worker_payload, new_task
    from .config import settings

    env = _env(args.env)
    command = list(args.command)
    if args.image:
        payload = docker_worker_payload(args.image, command, maxRunTime=args.max_run_time,
                                        env=env)
    else:
        payload = generic_worker_payload(command, maxRunTime=args.max_run_time, env=env)
    conf = settings(args.root_url, args.references)
    with conf.client("Queue") as q:
        task_id, task = new_task(q, args.task_queue, payload,
                                 name=args.name or " ".join(command)[:255],
                                 description=args.description or "made with tcdyn task create",
                                 deadline=args.deadline, taskGroupId=args.group)
        if args.dry_run:
            emit({"taskId": task_id, "task": task})
            return 0
        status = q.createTask(task_id, task)["status"]
    print(task_id, flush=True)
    show(f"tcdyn: created task {task_id} ({status.get('state')}) on {args.task_queue}: "
         f"{conf.require_root_url()}/tasks/{task_id}", sys.stderr)
    return 0
