"""``tcdyn group list|status|cancel|timeline TASKGROUPID``."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from .output import emit, emit_items


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("group", help="a task group: its tasks, their states, timeline, "
                                         "cancel")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, helptext, run in (
        ("list", "every task of the group ({status, task}), one JSON line each when piped",
         _list),
        ("status", "how many tasks are in each state", _status),
        ("cancel", "cancel every unfinished task of the group", _cancel),
        ("timeline", "every task's runs over time: an HTML Gantt chart (critical path, "
                     "dependencies, totals), Chrome trace-event JSON, or the data", _timeline),
    ):
        p = actions.add_parser(name, help=helptext, parents=[common])
        p.add_argument("task_group_id", metavar="TASKGROUPID")
        p.set_defaults(run=run)
        if name == "timeline":
            p.add_argument("-o", "--output", metavar="FILE", default="-",
                           help="write here (replaced whole); default: stdout")
            p.add_argument("--format", choices=("html", "trace-event", "json"),
                           default="html", help="a self-contained HTML page (default), "
                           "trace-event JSON for Perfetto or chrome://tracing, or the "
                           "timeline's data as JSON")


def _list(args: argparse.Namespace) -> int:
    from .task import queue

    with queue(args) as q:
        emit_items(q.listTaskGroup.items(args.task_group_id))
    return 0


def _status(args: argparse.Namespace) -> int:
    from .task import queue

    with queue(args) as q:
        states = Counter(item["status"]["state"]
                         for item in q.listTaskGroup.items(args.task_group_id))
    emit({"taskGroupId": args.task_group_id, "tasks": sum(states.values()),
          "states": dict(sorted(states.items()))})
    return 0


def _cancel(args: argparse.Namespace) -> int:
    from ..errors import RequestConflict
    from .output import HTTP_4XX, CommandError
    from .task import queue

    with queue(args) as q:
        if "cancelTaskGroup" in type(q).methods:
            try:
                emit(q.cancelTaskGroup(args.task_group_id))
            except RequestConflict as exc:
                if "unsealed" not in (exc.message or ""):
                    raise
                said = (exc.message or "").strip().splitlines()[0]
                raise CommandError(
                    f"queue.cancelTaskGroup: {said}\nthe queue cancels only sealed task "
                    f"groups; seal it first: tcdyn api queue sealTaskGroup "
                    f"{args.task_group_id} (then no task can be added to it)",
                    HTTP_4XX) from None
            return 0
        cancelled = [item["status"]["taskId"]
                     for item in q.listTaskGroup.items(args.task_group_id)
                     if item["status"]["state"] in ("unscheduled", "pending", "running")]
        for task_id in cancelled:
            q.cancelTask(task_id)
        emit({"taskGroupId": args.task_group_id, "cancelled": cancelled})
    return 0


def _timeline(args: argparse.Namespace) -> int:
    import sys
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
