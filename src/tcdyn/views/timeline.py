"""A task group's timeline: every task's runs (scheduled -> started -> resolved, and why),
its dependencies, the critical path and the totals.

``timeline(queue, taskGroupId)`` gathers it with one walk of ``queue.listTaskGroup`` (each
item carries the task's definition and status); ``await tcdyn.aio.timeline(queue, ...)`` is
the same walk on an async client. Both hand the items to ``Timeline.from_items``, which does
no I/O: the decisions are made once, for both.

The critical path is the chain that decided when the group finished: from the task that
ended last, back through the dependency that ended last before it started, to a task that
waited for none. Runs not yet resolved end "now" (when the timeline was made).

What the server says is bounded before it is kept: at most ``max_tasks`` tasks (the walk
stops there and says so), ``RUNS_READ`` runs a task, ``MAX_TEXT`` characters of a name,
and values of the wrong type are dropped (a run without a valid time is drawn without that segment).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any

TASKS_READ = 10_000
RUNS_READ = 100
MAX_DEPENDENCIES = 1_000
MAX_TEXT = 300
LONGEST_WAITS = 5


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of a task, as the queue reports it."""

    run_id: int
    state: str
    reason_created: str
    reason_resolved: str | None
    scheduled: dt.datetime | None
    started: dt.datetime | None
    resolved: dt.datetime | None
    worker: str | None

    def end(self, now: dt.datetime) -> dt.datetime | None:
        """When the run ended (``now`` while it is pending or running)."""
        if self.resolved is not None:
            return self.resolved
        return now if self.state in ("pending", "running") else None

    def wait(self, now: dt.datetime) -> float | None:
        """Seconds from scheduled to started (to its end, if it never started)."""
        if self.scheduled is None:
            return None
        until = self.started or self.end(now)
        return None if until is None else max(0.0, (until - self.scheduled).total_seconds())

    def duration(self, now: dt.datetime) -> float:
        """Seconds from started to resolved (to ``now`` while running); 0 if never started."""
        end = self.end(now)
        if self.started is None or end is None:
            return 0.0
        return max(0.0, (end - self.started).total_seconds())


@dataclasses.dataclass(frozen=True)
class Task:
    """One task of the group: its name, state, dependencies and runs."""

    task_id: str
    name: str
    state: str
    dependencies: tuple[str, ...]
    requires: str
    runs: tuple[Run, ...]

    def start(self) -> dt.datetime | None:
        times = [r.scheduled for r in self.runs if r.scheduled is not None]
        return min(times) if times else None

    def end(self, now: dt.datetime) -> dt.datetime | None:
        times = [e for e in (r.end(now) for r in self.runs) if e is not None]
        return max(times) if times else None


@dataclasses.dataclass(frozen=True)
class Wait:
    """A run's time between being scheduled and starting."""

    task_id: str
    run_id: int
    seconds: float


@dataclasses.dataclass(frozen=True)
class Timeline:
    """A task group's tasks and runs over time, with its critical path and totals."""

    task_group_id: str
    tasks: tuple[Task, ...]
    #: When the timeline was made: runs not resolved yet end here.
    now: dt.datetime
    #: Whether the group had more than ``max_tasks`` tasks (the rest are not shown).
    truncated: bool = False

    @classmethod
    def from_items(cls, task_group_id: str, items: Iterable[Any], *,
                   now: dt.datetime | None = None, max_tasks: int = TASKS_READ) -> Timeline:
        """The timeline of ``listTaskGroup`` items (``{"task": ..., "status": ...}``)."""
        tasks: dict[str, Task] = {}
        truncated = False
        for item in items:
            task = _task(item)
            if task is None or task.task_id in tasks:
                continue
            if len(tasks) >= max_tasks:
                truncated = True
                break
            tasks[task.task_id] = task
        ordered = sorted(tasks.values(), key=lambda t: (t.start() is None, t.start() or _EPOCH,
                                                        t.task_id))
        return cls(_text(task_group_id, 64), tuple(ordered), now or dt.datetime.now(dt.UTC),
                   truncated)

    # -- totals

    @property
    def start(self) -> dt.datetime | None:
        """The first run's scheduled time."""
        times = [t for t in (task.start() for task in self.tasks) if t is not None]
        return min(times) if times else None

    @property
    def end(self) -> dt.datetime | None:
        """The last run's end (``now`` if one is still pending or running)."""
        times = [t for t in (task.end(self.now) for task in self.tasks) if t is not None]
        return max(times) if times else None

    @property
    def wall_time(self) -> float:
        """Seconds from the first run scheduled to the last run's end."""
        if self.start is None or self.end is None:
            return 0.0
        return max(0.0, (self.end - self.start).total_seconds())

    @property
    def run_time(self) -> float:
        """Seconds of every run's work (started to resolved), summed."""
        return sum(run.duration(self.now) for task in self.tasks for run in task.runs)

    def longest_waits(self, count: int = LONGEST_WAITS) -> list[Wait]:
        """The runs that waited longest between scheduled and started."""
        waits = [Wait(task.task_id, run.run_id, seconds) for task in self.tasks
                 for run in task.runs if (seconds := run.wait(self.now))]
        return sorted(waits, key=lambda w: -w.seconds)[:count]

    def states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for task in self.tasks:
            counts[task.state] = counts.get(task.state, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def critical_path(self) -> tuple[str, ...]:
        """Task ids, first to last: the chain of dependencies that ended last."""
        ends = {t.task_id: end for t in self.tasks if (end := t.end(self.now)) is not None}
        by_id = {t.task_id: t for t in self.tasks if t.task_id in ends}
        last = max(by_id.values(), key=lambda t: (ends[t.task_id], t.task_id), default=None)
        path: list[str] = []
        while last is not None and last.task_id not in path:
            path.append(last.task_id)
            start = last.start()
            before = [by_id[d] for d in last.dependencies
                      if d in by_id and (start is None or ends[d] <= start)]
            last = max(before, key=lambda t: (ends[t.task_id], t.task_id), default=None)
        return tuple(reversed(path))

    # -- forms

    def to_dict(self) -> dict[str, Any]:
        """The timeline as JSON values: times as Taskcluster date strings, seconds as
        numbers (what the page and ``tcdyn group timeline --format json`` show)."""
        return {
            "taskGroupId": self.task_group_id,
            "now": _iso(self.now), "start": _iso(self.start), "end": _iso(self.end),
            "wallTime": self.wall_time, "runTime": self.run_time,
            "states": self.states(), "truncated": self.truncated,
            "criticalPath": list(self.critical_path),
            "longestWaits": [{"taskId": w.task_id, "runId": w.run_id, "seconds": w.seconds}
                             for w in self.longest_waits()],
            "tasks": [{"taskId": t.task_id, "name": t.name, "state": t.state,
                       "dependencies": list(t.dependencies), "requires": t.requires,
                       "runs": [{"runId": r.run_id, "state": r.state,
                                 "reasonCreated": r.reason_created,
                                 "reasonResolved": r.reason_resolved,
                                 "scheduled": _iso(r.scheduled), "started": _iso(r.started),
                                 "resolved": _iso(r.resolved), "worker": r.worker}
                                for r in t.runs]}
                      for t in self.tasks],
        }

    def to_trace_events(self) -> dict[str, Any]:
        """Chrome trace-event JSON (Perfetto, ``chrome://tracing``)."""
        from .trace_event import trace_events

        return trace_events(self)

    def to_html(self) -> str:
        """One self-contained HTML page with the Gantt chart (nothing fetched to view it)."""
        from .timeline_page import page

        return page(self)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def timeline(queue: Any, taskGroupId: str, *, max_tasks: int = TASKS_READ) -> Timeline:
    """The timeline of task group ``taskGroupId`` (a sync queue client:
    ``tcdyn.Queue(...)`` or a deployment's ``Queue``)."""
    items = queue.listTaskGroup.items(taskGroupId, max_items=max_tasks + 1)
    return Timeline.from_items(taskGroupId, items, max_tasks=max_tasks)


async def timeline_async(queue: Any, taskGroupId: str, *,
                         max_tasks: int = TASKS_READ) -> Timeline:
    """``timeline`` on an async queue client (``tcdyn.aio.timeline``)."""
    items: AsyncIterable[Any] = queue.listTaskGroup.items(taskGroupId,
                                                          max_items=max_tasks + 1)
    return Timeline.from_items(taskGroupId, [item async for item in items],
                               max_tasks=max_tasks)


# -- reading what the server said (bounded, typed)

def _text(value: object, limit: int = MAX_TEXT) -> str:
    text = value if isinstance(value, str) else ""
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00",
                                                                                "Z")


def _task(item: object) -> Task | None:
    if not isinstance(item, Mapping):
        return None
    status = item.get("status")
    definition = item.get("task")
    if not isinstance(status, Mapping) or not isinstance(status.get("taskId"), str):
        return None
    definition = definition if isinstance(definition, Mapping) else {}
    metadata = definition.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    deps = definition.get("dependencies")
    runs = status.get("runs")
    return Task(
        task_id=_text(status["taskId"], 64),
        name=_text(name) or _text(status["taskId"], 64),
        state=_text(status.get("state"), 32) or "unknown",
        dependencies=tuple(_text(d, 64) for d in (deps if isinstance(deps, list) else [])
                           [:MAX_DEPENDENCIES] if isinstance(d, str)),
        requires=_text(definition.get("requires"), 32) or "all-completed",
        runs=tuple(r for r in (_run(run) for run in (runs if isinstance(runs, list) else [])
                               [:RUNS_READ]) if r is not None))


def _run(run: object) -> Run | None:
    if not isinstance(run, Mapping):
        return None
    run_id = run.get("runId")
    group, worker = run.get("workerGroup"), run.get("workerId")
    return Run(
        run_id=run_id if isinstance(run_id, int) and not isinstance(run_id, bool) else -1,
        state=_text(run.get("state"), 32) or "unknown",
        reason_created=_text(run.get("reasonCreated"), 32),
        reason_resolved=_text(run.get("reasonResolved"), 32) or None,
        scheduled=_time(run.get("scheduled")), started=_time(run.get("started")),
        resolved=_time(run.get("resolved")),
        worker=f"{_text(group, 64)}/{_text(worker, 64)}"
        if isinstance(group, str) and isinstance(worker, str) else None)
