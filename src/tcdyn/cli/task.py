"""``tcdyn task status|def|log|artifacts|cancel|rerun|complete|claim TASKID``."""

from __future__ import annotations

import argparse
from typing import Any

from .output import CommandError, emit, emit_items

LIVE_LOG = "public/logs/live.log"


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    task = sub.add_parser("task", help="a task: status, definition, log, artifacts, actions")
    actions = task.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, helptext, run in (
        ("status", "the task's status (state and runs)", _status),
        ("def", "the task's definition", _definition),
        ("log", f"stream the latest run's {LIVE_LOG} to stdout", _log),
        ("artifacts", "the latest run's artifacts, one JSON line each when piped", _artifacts),
        ("cancel", "cancel the task", _cancel),
        ("rerun", "run the task again", _rerun),
        ("complete", "claim the latest run (if pending) and report it completed", _complete),
        ("claim", "claim the pending run as a worker; print its credentials as export "
                  "lines", _claim),
    ):
        p = actions.add_parser(name, help=helptext, parents=[common])
        p.add_argument("task_id", metavar="TASKID")
        p.set_defaults(run=run)
        if name == "log":
            p.add_argument("--name", default=LIVE_LOG, help=f"another log (default {LIVE_LOG})")
        if name == "complete":
            p.add_argument("--worker-group", default="tcdyn", help="when claiming (tcdyn)")
            p.add_argument("--worker-id", default="cli", help="when claiming (cli)")
        if name == "claim":
            from .access import add_export_option

            p.add_argument("--run-id", type=int, metavar="N", help="default: the latest run")
            p.add_argument("--worker-group", default="tcdyn", metavar="GROUP",
                           help="default: tcdyn")
            p.add_argument("--worker-id", default="cli", metavar="ID", help="default: cli")
            add_export_option(p)
            p.add_argument("--json", action="store_true",
                           help="print the queue's whole answer (JSON) instead")


def queue(args: argparse.Namespace) -> Any:
    from .config import settings

    return settings(args.root_url, args.references).client("Queue")


def _status(args: argparse.Namespace) -> int:
    with queue(args) as q:
        emit(q.status(args.task_id)["status"])
    return 0


def _definition(args: argparse.Namespace) -> int:
    with queue(args) as q:
        emit(q.task(args.task_id))
    return 0


def _log(args: argparse.Namespace) -> int:
    import sys

    from .artifact import stream
    from .output import terminal_sink

    sink = terminal_sink(sys.stdout.buffer, sys.stdout.isatty())
    with queue(args) as q:
        stream(q, args.task_id, args.name, None, sink)
    sink.flush()
    return 0


def _artifacts(args: argparse.Namespace) -> int:
    with queue(args) as q:
        emit_items(q.listLatestArtifacts.items(args.task_id))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    with queue(args) as q:
        emit(q.cancelTask(args.task_id).get("status"))
    return 0


def _rerun(args: argparse.Namespace) -> int:
    with queue(args) as q:
        emit(q.rerunTask(args.task_id).get("status"))
    return 0


def _complete(args: argparse.Namespace) -> int:
    with queue(args) as q:
        status = q.status(args.task_id)["status"]
        runs = status.get("runs") or []
        if not runs:
            raise CommandError(f"task {args.task_id} has no run to complete "
                               f"(state {status.get('state')!r})")
        run = runs[-1]
        if run.get("state") == "pending":
            q.claimTask(args.task_id, run["runId"], {"workerGroup": args.worker_group,
                                                     "workerId": args.worker_id})
        elif run.get("state") != "running":
            raise CommandError(f"task {args.task_id} run {run.get('runId')} is "
                               f"{run.get('state')!r}, not pending or running")
        emit(q.reportCompleted(args.task_id, run["runId"]).get("status"))
    return 0


def _claim(args: argparse.Namespace) -> int:
    from .access import claim

    return claim(args)
