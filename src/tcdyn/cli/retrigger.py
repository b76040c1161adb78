"""``tcdyn task retrigger TASKID [--exact] [--group-wide-deps]``: a new task from the
definition of TASKID (tcdyn.workflow.retrigger).

A new taskId, created now, deadline and expiry shifted by the same amount. By default
the copy drops the task's dependencies and routes, as the Taskcluster UI's Retrigger
and taskcluster task retrigger do: it runs at once and reports to no index,
notification or Treeherder route. --exact keeps them, as taskgraph's retrigger action
does (the copy waits for the same upstream tasks). --group-wide-deps also copies every
task of the group that depends on TASKID, directly or not, each copy depending on the
copies (taskgraph's retrigger with downstream). Every copy is checked against the
deployment's schema before the first is created. Prints each new taskId; notes on
stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .output import emit, prose, show


def add_retrigger(actions: Any, common: argparse.ArgumentParser) -> None:
    p = actions.add_parser("retrigger", parents=[common], description=prose(__doc__),
                           help="a new task from this one's definition")
    p.add_argument("task_id", metavar="TASKID")
    p.add_argument("--exact", action="store_true",
                   help="keep the dependencies and routes")
    p.add_argument("--group-wide-deps", action="store_true",
                   help="also copy the tasks of the group that depend on it")
    p.add_argument("--dry-run", action="store_true", help="say what would be created")
    p.add_argument("--json", action="store_true",
                   help="print the copies' definitions as JSON lines")
    p.set_defaults(run=_retrigger)


def _retrigger(args: argparse.Namespace) -> int:
    from ..terminal import escape
    from ..workflow.retrigger import retrigger
    from .task import queue

    with queue(args) as q:
        done = retrigger(q, args.task_id, exact=args.exact,
                         group_wide_deps=args.group_wide_deps, dry_run=args.dry_run)
    for note in done.plan.notes:
        show(f"tcdyn: {note}", sys.stderr)
    for i, item in enumerate(done.plan.copies):
        if args.json:
            emit({"taskId": item.taskId, "retriggerOf": item.original, "task": item.task})
            continue
        name = escape(str(item.task.get("metadata", {}).get("name", "")))[:60]
        deps = item.task.get("dependencies") or []
        after = f", after {', '.join(deps[:3])}{', ...' if len(deps) > 3 else ''}" \
            if deps else ""
        if args.dry_run:
            print(f"would create {item.taskId}, a copy of {item.original} \"{name}\"{after}")
        else:
            print(item.taskId, flush=True)
            state = escape(str(done.statuses[i].get("state")))
            show(f"tcdyn: created {item.taskId} ({state}), a copy of {item.original} "
                 f"\"{name}\"{after}", sys.stderr)
    return 0
