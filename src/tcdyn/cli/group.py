"""``tcdyn group list|status|cancel|log|timeline TASKGROUPID``.

``list`` and ``status`` are tables for people (in colour on a terminal); ``--json``
prints JSON as before (one line per task when piped). ``cancel`` asks before it acts
(``--yes``, ``--dry-run``), uses ``queue.cancelTaskGroup`` where the deployment has it
(``--seal`` seals the group first) and else cancels each unfinished task in turn with a
progress bar. ``log --follow`` follows every task of the group; ``timeline`` draws its
runs over time.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .output import UsageError, emit, emit_items, prose

_LOG = """\
Each line shows the task's name first. Tasks start being followed when they run
(Pulse wakes the follower when a Pulse URL is configured; else the group is
listed every --poll seconds); tasks resolved before it started are not shown.
Ends when every task of the group is resolved; the exit status is the group's:
  0   every task completed      10  a task failed
  11  a task hit an exception   12  a task passed its deadline"""


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("group", help="a task group: its tasks, states, cancel, logs, "
                                         "timeline", description=prose(__doc__))
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, helptext, run in (
        ("list", "every task of the group (a table; --json: JSON lines)", _list),
        ("status", "how many tasks are in each state", _status),
        ("cancel", "cancel every unfinished task of the group", _cancel),
        ("timeline", "every task's runs over time: a Gantt chart page, trace-event JSON",
         _timeline),
        ("log", "follow every task's log, each line after its task's name", _log),
    ):
        p = actions.add_parser(name, help=helptext, description=helptext, parents=[common],
                               epilog=_LOG if name == "log" else None,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("task_group_id", metavar="TASKGROUPID")
        p.set_defaults(run=run)
        if name == "timeline":
            p.add_argument("-o", "--output", metavar="FILE", default="-",
                           help="write here (replaced whole); default: stdout")
            p.add_argument("--format", choices=("html", "trace-event", "json"),
                           default="html", help="a self-contained HTML page (default), "
                           "trace-event JSON for Perfetto or chrome://tracing, or the "
                           "timeline's data as JSON")
        if name in ("list", "status"):
            p.add_argument("--json", action="store_true", help="JSON, as the queue says it")
        if name == "cancel":
            from .task import confirmations

            p.add_argument("--seal", action="store_true",
                           help="seal the group first (no task can be added to it after)")
            confirmations(p)
        if name == "log":
            p.add_argument("-f", "--follow", action="store_true",
                           help="follow the logs as they are written (required)")
            p.add_argument("--poll", type=float, default=10.0, metavar="SECONDS",
                           help="list the group this often (default: 10)")
            p.add_argument("--no-pulse", action="store_true",
                           help="do not listen to Pulse even when a Pulse URL is configured")


def _items(args: argparse.Namespace) -> list[Any]:
    from .task import queue

    with queue(args) as q:
        return list(q.listTaskGroup.items(args.task_group_id))


def _list(args: argparse.Namespace) -> int:
    if args.json:
        from .task import queue

        with queue(args) as q:
            emit_items(q.listTaskGroup.items(args.task_group_id))
        return 0
    from ..workflow.views import group_rows
    from .tables import Column, render

    print(render([Column("TASK", "taskId"), Column("NAME", "name", shrink=True),
                  Column("STATE", "state", state=True), Column("RUNS", "runs", ">"),
                  Column("REASON", "reason"), Column("STARTED", "started", time=True),
                  Column("DURATION", "duration", ">")], group_rows(_items(args))))
    return 0


def _status(args: argparse.Namespace) -> int:
    from ..workflow.views import state_counts

    states = state_counts(_items(args))
    total = sum(states.values())
    if args.json:
        emit({"taskGroupId": args.task_group_id, "tasks": total,
              "states": dict(sorted(states.items()))})
        return 0
    from .tables import Column, render

    print(f"task group {args.task_group_id}: {total} task{'s' if total != 1 else ''}")
    print(render([Column("STATE", "state", state=True), Column("TASKS", "tasks", ">")],
                 [{"state": s, "tasks": n} for s, n in states.items()]))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    from ..workflow.actions import UNFINISHED, cancel_group
    from .confirm import confirm
    from .task import queue

    with queue(args) as q:
        unfinished = sum(1 for item in q.listTaskGroup.items(args.task_group_id)
                         if item["status"]["state"] in UNFINISHED)
        how = ("queue.cancelTaskGroup" if "cancelTaskGroup" in type(q).methods
               else "one task at a time")
        seal = "seal and " if args.seal else ""
        if not confirm(args, f"{seal}cancel task group {args.task_group_id} ({unfinished} "
                             f"unfinished task{'s' if unfinished != 1 else ''}; {how})"):
            return 0
        with _Progress("cancelling", sys.stderr.isatty()) as progress:
            emit(cancel_group(q, args.task_group_id, seal=args.seal, progress=progress))
    return 0


class _Progress:
    """``progress(done, total)`` drawn as a bar on a terminal's stderr (nothing when not a
    terminal), cleared at the end."""

    def __init__(self, label: str, on: bool) -> None:
        self.label, self.on, self.drawn = label, on, False

    def __call__(self, done: int, total: int) -> None:
        if not self.on or not total:
            return
        filled = 30 * done // total
        print(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}",
              end="", file=sys.stderr, flush=True)
        self.drawn = True

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.drawn:
            print(file=sys.stderr, flush=True)


def _log(args: argparse.Namespace) -> int:
    if not args.follow:
        raise UsageError("group log: add --follow (a group's logs are shown as they are "
                         "written; tcdyn task log TASKID shows one task's log)")
    from .follow import follow_group

    return follow_group(args)


def _timeline(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..views.timeline import timeline
    from .output import dumps
    from .task import queue

    with queue(args) as q:
        found = timeline(q, args.task_group_id)
    if args.format == "html":
        text = found.to_html()
    elif args.format == "trace-event":
        text = dumps(found.to_trace_events(), indent=False) + "\n"
    else:
        text = dumps(found.to_dict()) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    from ..references.tree import replace_file

    path = replace_file(Path(args.output), text.encode("utf-8"))
    count = len(found.tasks)
    print(f"wrote {path} ({count} task{'' if count == 1 else 's'})", file=sys.stderr)
    return 0
