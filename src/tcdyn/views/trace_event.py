"""A task group's timeline as Chrome trace-event JSON, which Perfetto (ui.perfetto.dev) and
``chrome://tracing`` open: one track (thread) per task, a slice per run's wait (scheduled ->
started) and work (started -> resolved), a flow arrow from each dependency's end to its
dependent's start. Times are microseconds from the group's first scheduled run.

Format: https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU
(complete events ``ph: "X"``, metadata ``"M"``, flow events ``"s"``/``"f"``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .timeline import Timeline

PID = 1
#: Chrome's trace viewer colour names per state (Perfetto picks its own).
_COLOURS = {"completed": "good", "failed": "bad", "exception": "terrible",
            "running": "rail_response", "pending": "grey"}


def trace_events(timeline: Timeline) -> dict[str, Any]:
    """The trace: ``{"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {...}}``."""
    origin = timeline.start or timeline.now
    now = timeline.now

    def us(moment: dt.datetime) -> int:
        return round((moment - origin).total_seconds() * 1_000_000)

    critical = set(timeline.critical_path)
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": PID, "tid": 0,
         "args": {"name": f"task group {timeline.task_group_id}"}}]
    tids = {task.task_id: n for n, task in enumerate(timeline.tasks, start=1)}
    for task in timeline.tasks:
        tid = tids[task.task_id]
        events += [
            {"name": "thread_name", "ph": "M", "pid": PID, "tid": tid,
             "args": {"name": f"{task.name} ({task.task_id})"}},
            {"name": "thread_sort_index", "ph": "M", "pid": PID, "tid": tid,
             "args": {"sort_index": tid}}]
        for run in task.runs:
            end = run.end(now)
            args = {"taskId": task.task_id, "runId": run.run_id, "state": run.state,
                    "reasonCreated": run.reason_created, "reasonResolved": run.reason_resolved,
                    "worker": run.worker, "criticalPath": task.task_id in critical}
            waited_until = run.started or end
            if run.scheduled is not None and waited_until is not None:
                events.append({"name": f"{task.name} run {run.run_id}: pending",
                               "cat": "pending", "ph": "X", "pid": PID, "tid": tid,
                               "ts": us(run.scheduled),
                               "dur": max(0, us(waited_until) - us(run.scheduled)),
                               "cname": _COLOURS["pending"], "args": args})
            if run.started is not None and end is not None:
                events.append({"name": f"{task.name} run {run.run_id}: {run.state}",
                               "cat": run.state, "ph": "X", "pid": PID, "tid": tid,
                               "ts": us(run.started),
                               "dur": max(0, us(end) - us(run.started)),
                               "cname": _COLOURS.get(run.state, "generic_work"),
                               "args": args})
    flow = 0
    by_id = {task.task_id: task for task in timeline.tasks}
    for task in timeline.tasks:
        start = task.start()
        for dep in task.dependencies:
            before = by_id.get(dep)
            end = before.end(now) if before is not None else None
            if start is None or end is None or before is None:
                continue
            flow += 1
            events += [
                {"name": "dependency", "cat": "dependency", "ph": "s", "id": flow,
                 "pid": PID, "tid": tids[dep], "ts": max(0, us(end) - 1)},
                {"name": "dependency", "cat": "dependency", "ph": "f", "bp": "e", "id": flow,
                 "pid": PID, "tid": tids[task.task_id], "ts": us(start)}]
    other = {"taskGroupId": timeline.task_group_id, "wallTime": f"{timeline.wall_time:.3f} s",
             "runTime": f"{timeline.run_time:.3f} s",
             "criticalPath": " ".join(timeline.critical_path),
             "truncated": str(timeline.truncated).lower()}
    return {"traceEvents": events, "displayTimeUnit": "ms", "otherData": other}
