"""``tcdyn task ACTION TASKID``: a task's status, definition, log and artifacts; cancel,
rerun, complete, claim and retrigger it; ``task create`` makes one from a command line.

Views (``status``, ``artifacts``) are aligned tables for people, in colour on a terminal;
``--json`` prints what the queue answered. The actions that end or repeat work
(``cancel``, ``rerun``, ``complete``) ask before they act on a terminal, act at once with
``--yes``, refuse without it when not interactive, and say what they would do with
``--dry-run``. ``log`` (``--follow`` too) ends at once on Ctrl-C or SIGTERM, exit 130
(``interrupts.ending``).
"""

from __future__ import annotations

import argparse
from typing import Any

from .output import CommandError, emit, emit_items, prose

LIVE_LOG = "public/logs/live.log"

_FOLLOW = """\
--follow streams the log while the task runs (through dropped connections, the
switch to live_backing.log and retries) and exits with the task's outcome:
  0   completed             10  failed
  11  exception             12  deadline exceeded"""


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    task = sub.add_parser("task", help="a task: status, log, artifacts, actions",
                          description=prose(__doc__))
    actions = task.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, helptext, run in (
        ("status", "the task's state and runs (a table; --json: the queue's answer)",
         _status),
        ("def", "the task's definition", _definition),
        ("log", f"the latest run's {LIVE_LOG}; --follow: to the task's end", _log),
        ("artifacts", "the latest run's artifacts (a table; --json: JSON lines)", _artifacts),
        ("cancel", "cancel the task", _cancel),
        ("rerun", "run a failed task again (--force: any task)", _rerun),
        ("complete", "claim the latest run (if pending) and report it completed", _complete),
        ("claim", "claim the pending run as a worker; print its credentials as export "
                  "lines", _claim),
    ):
        p = actions.add_parser(name, help=helptext, description=helptext, parents=[common],
                               epilog=_FOLLOW if name == "log" else None,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("task_id", metavar="TASKID")
        p.set_defaults(run=run)
        if name in ("status", "artifacts"):
            p.add_argument("--json", action="store_true", help="the queue's answer as JSON")
        if name == "log":
            p.add_argument("--name", default=LIVE_LOG, help=f"another log (default {LIVE_LOG})")
            p.add_argument("-f", "--follow", action="store_true",
                           help="follow the log to the task's end (exit status: how it ended)")
            p.add_argument("--run-id", type=int, metavar="N",
                           help="with --follow: this run only (default: the latest, then "
                                "any newer one)")
            p.add_argument("--poll", type=float, default=10.0, metavar="SECONDS",
                           help="with --follow: look at the task at least this often "
                                "(default: 10)")
        if name in ("cancel", "rerun", "complete"):
            confirmations(p)
        if name == "rerun":
            p.add_argument("--force", action="store_true",
                           help="rerun a task that did not fail (completed, or still running)")
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

    from .retrigger import add_retrigger
    from .taskcreate import add_create

    add_retrigger(actions, common)
    add_create(actions, common)


def confirmations(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true",
                   help="say what would be done, do nothing")
    p.add_argument("-y", "--yes", action="store_true",
                   help="do it without asking (needed when not on a terminal)")


def queue(args: argparse.Namespace) -> Any:
    from .config import settings

    return settings(args.root_url, args.references).client("Queue")


def _status(args: argparse.Namespace) -> int:
    with queue(args) as q:
        status = q.status(args.task_id)["status"]
        if args.json:
            emit(status)
            return 0
        definition = q.task(args.task_id)
    from ..workflow.views import run_rows, task_rows
    from .tables import Column, facts, render

    print(facts(task_rows(status, definition)))
    runs = run_rows(status)
    if runs:
        print()
        print(render([Column("RUN", "run", ">"), Column("STATE", "state", state=True),
                      Column("BEGAN AS", "created"), Column("ENDED AS", "resolved"),
                      Column("WORKER", "worker", shrink=True),
                      Column("STARTED", "started", time=True),
                      Column("DURATION", "duration", ">")], runs))
    return 0


def _definition(args: argparse.Namespace) -> int:
    with queue(args) as q:
        emit(q.task(args.task_id))
    return 0


def _log(args: argparse.Namespace) -> int:
    import sys

    from .interrupts import ending
    from .output import UsageError, terminal_sink

    if args.run_id is not None and not args.follow:
        raise UsageError("task log: --run-id goes with --follow")
    with ending(), queue(args) as q:
        if args.follow:
            from .follow import follow_task

            return follow_task(args, q)
        from .artifact import stream

        sink = terminal_sink(sys.stdout.buffer, sys.stdout.isatty())
        stream(q, args.task_id, args.name, None, sink)
        sink.flush()
    return 0


def _artifacts(args: argparse.Namespace) -> int:
    with queue(args) as q:
        if args.json:
            emit_items(q.listLatestArtifacts.items(args.task_id))
            return 0
        items = list(q.listLatestArtifacts.items(args.task_id))
    from ..workflow.views import artifact_rows
    from .tables import Column, render

    print(render([Column("NAME", "name", shrink=True), Column("STORAGE", "storage"),
                  Column("CONTENT TYPE", "contentType", shrink=True),
                  Column("EXPIRES", "expires", time=True)], artifact_rows(items)))
    return 0


def _describe(q: Any, task_id: str) -> tuple[dict[str, Any], str]:
    """The task's status and words naming it for a question: id, name, state."""
    from ..terminal import escape

    status = q.status(task_id)["status"]
    try:
        name = q.task(task_id).get("metadata", {}).get("name")
    except Exception:
        name = None
    named = f' "{escape(str(name))[:60]}"' if isinstance(name, str) else ""
    return status, f"task {task_id}{named} ({escape(str(status.get('state')))})"


def _cancel(args: argparse.Namespace) -> int:
    from .confirm import confirm

    with queue(args) as q:
        _, what = _describe(q, args.task_id)
        if not confirm(args, f"cancel {what}"):
            return 0
        emit(q.cancelTask(args.task_id).get("status"))
    return 0


def _rerun(args: argparse.Namespace) -> int:
    from ..workflow.actions import rerun, rerun_refusal
    from .confirm import confirm

    with queue(args) as q:
        status, what = _describe(q, args.task_id)
        refused = None if args.force else rerun_refusal(args.task_id, status)
        if refused is not None:
            raise refused
        if not confirm(args, f"rerun {what}"):
            return 0
        emit(rerun(q, args.task_id, force=True))
    return 0


def _complete(args: argparse.Namespace) -> int:
    from .confirm import confirm

    with queue(args) as q:
        status, what = _describe(q, args.task_id)
        runs = status.get("runs") or []
        if not runs:
            raise CommandError(f"task {args.task_id} has no run to complete "
                               f"(state {status.get('state')!r})")
        run = runs[-1]
        if run.get("state") not in ("pending", "running"):
            raise CommandError(f"task {args.task_id} run {run.get('runId')} is "
                               f"{run.get('state')!r}, not pending or running")
        claim = " (claiming it first)" if run.get("state") == "pending" else ""
        if not confirm(args, f"report run {run['runId']} of {what} completed{claim}"):
            return 0
        if run.get("state") == "pending":
            q.claimTask(args.task_id, run["runId"], {"workerGroup": args.worker_group,
                                                     "workerId": args.worker_id})
        emit(q.reportCompleted(args.task_id, run["runId"]).get("status"))
    return 0


def _claim(args: argparse.Namespace) -> int:
    from .access import claim

    return claim(args)
