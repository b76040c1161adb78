"""``tcdyn queues [PREFIX]`` and ``tcdyn pools [PREFIX]``: tables of the task queues with
their pending and claimed tasks, and of worker-manager's pools with their workers, waiting
tasks and errors (tcdyn.workflow.views). Counts come from queue.taskQueueCountsBatch where
the deployment has it, else from one queue.taskQueueCounts per queue, made concurrently.
"""

from __future__ import annotations

import argparse
from typing import Any

from .output import emit_items, prose


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("queues", parents=[common], description=prose(__doc__),
                       help="task queues with their pending and claimed tasks")
    p.add_argument("prefix", nargs="?", default="", metavar="PREFIX",
                   help="only task queues whose id starts with this (e.g. proj-ci/)")
    p.add_argument("--json", action="store_true", help="one JSON line per task queue")
    p.set_defaults(run=_queues)
    p = sub.add_parser("pools", parents=[common], description=prose(__doc__),
                       help="worker-manager's pools: workers, waiting tasks, errors")
    p.add_argument("prefix", nargs="?", default="", metavar="PREFIX",
                   help="only pools whose id starts with this")
    p.add_argument("--json", action="store_true", help="one JSON line per pool")
    p.set_defaults(run=_pools)


def _queues(args: argparse.Namespace) -> int:
    from ..workflow.views import task_queue_counts
    from .config import settings

    with settings(args.root_url, args.references).client("Queue") as q:
        rows = task_queue_counts(q, args.prefix)
    if args.json:
        emit_items(rows)
        return 0
    from .tables import Column, render

    print(render([Column("TASK QUEUE", "taskQueueId", shrink=True),
                  Column("PENDING", "pendingTasks", ">"),
                  Column("CLAIMED", "claimedTasks", ">"),
                  Column("LAST ACTIVE", "lastDateActive", time=True)], rows))
    return 0


def _pools(args: argparse.Namespace) -> int:
    from ..workflow.views import worker_pools
    from .config import settings

    conf = settings(args.root_url, args.references)
    with conf.client("WorkerManager") as wm, conf.client("Queue") as q:
        rows = worker_pools(wm, q, args.prefix)
    if args.json:
        emit_items(rows)
        return 0
    from .tables import Column, render

    for row in rows:
        row["capacity"] = f"{row['currentCapacity']}/{_dash(row['maxCapacity'])}"
    print(render([Column("POOL", "workerPoolId", shrink=True), Column("PROVIDER", "providerId"),
                  Column("CAPACITY", "capacity", ">"),
                  Column("RUNNING", "runningCount", ">"),
                  Column("REQUESTED", "requestedCount", ">"),
                  Column("PENDING TASKS", "pendingTasks", ">"),
                  Column("ERRORS 7D", "errors", ">"),
                  Column("LAST ERROR", "lastError", shrink=True)], rows))
    return 0


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)
