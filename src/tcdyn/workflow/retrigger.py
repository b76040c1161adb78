"""Retrigger: a new task made from a task's definition.

What the copy keeps, in three modes:

- default (as the Taskcluster UI's "Retrigger" and ``taskcluster task retrigger``): a fresh
  copy that can run at once. New ``taskId``; ``created`` now, ``deadline`` and ``expires``
  shifted by the same amount (so each keeps its distance from ``created``); no
  ``dependencies`` (it does not wait, and an upstream task that expired or failed does not
  block it) and no ``routes`` (no index, notification or Treeherder side effects in the
  original's name). Everything else is kept: group, scheduler, queue, payload, scopes,
  ``retries`` (``taskcluster`` sets them to 0; a copy that meets a worker shutdown should
  be retried like the original).
- ``exact``: the dependencies and routes are kept too, as taskgraph's ``retrigger`` action
  does (the copy waits for the same upstream tasks and reports to the same routes).
  Upstream tasks that failed, are not finished or no longer exist are said in the plan's
  notes (a copy waiting on a failed task stays unscheduled until its deadline).
- ``group_wide_deps``: the task and every task of its group that depends on it, directly or
  not, are copied (taskgraph's ``retrigger`` with ``downstream``); each copy depends on the
  copies of its upstream tasks instead of the originals, and on the other upstream tasks as
  the original does. Routes are kept only with ``exact``.

``plan_flow`` decides (reads only), ``create_flow`` creates the copies upstream first;
``retrigger`` / ``aretrigger`` check every copy against the deployment's schema before the
first is sent (``dry_run``: only the plan).
"""

from __future__ import annotations

import copy as copying
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ResourceNotFound, TaskclusterArgumentError, TaskclusterFailure
from .flow import Call, Flow, Gather, Items, arun, run

__all__ = ["Copy", "RetriggerPlan", "Retriggered", "aretrigger", "create_flow", "plan_flow",
           "retrigger"]

#: At most this many tasks copied by ``group_wide_deps``.
RETRIGGER_LIMIT = 1000


@dataclass(frozen=True)
class Copy:
    """A task to create: ``taskId`` (new), the ``original`` it copies, its definition."""

    taskId: str
    original: str
    task: dict[str, Any]


@dataclass(frozen=True)
class RetriggerPlan:
    """The copies in the order they are created (upstream first), and what to know."""

    copies: tuple[Copy, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Retriggered:
    plan: RetriggerPlan
    #: The queue's status of each copy, in the plan's order (none for a dry run).
    statuses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def taskId(self) -> str:
        """The copy of the task asked for."""
        return self.plan.copies[0].taskId


def _parse(text: Any, what: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise TaskclusterArgumentError(f"retrigger: the task's {what} is not a date: "
                                       f"{str(text)[:40]!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _js(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _copy(task: Mapping[str, Any], now: dt.datetime, *, keep_deps: bool,
          keep_routes: bool) -> dict[str, Any]:
    new = copying.deepcopy(dict(task))
    shift = now - _parse(task.get("created"), "created")
    new["created"] = _js(now)
    new["deadline"] = _js(_parse(task.get("deadline"), "deadline") + shift)
    new["expires"] = _js(_parse(task.get("expires"), "expires") + shift)
    if not keep_deps:
        new["dependencies"] = []
    if not keep_routes:
        new["routes"] = []
    return new


def _dependencies(task: Mapping[str, Any]) -> list[str]:
    deps = task.get("dependencies")
    return [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []


def _upstream_first(tasks: Mapping[str, Mapping[str, Any]], root: str) -> list[str]:
    """The task ids, each after those of its dependencies among them (root first when it
    has none among them)."""
    order: list[str] = []
    placed: set[str] = set()
    waiting = {t: {d for d in _dependencies(tasks[t]) if d in tasks and d != t} for t in tasks}
    ready = [root] if not waiting[root] else []
    ready += sorted(t for t in tasks if not waiting[t] and t != root)
    while ready:
        task_id = ready.pop(0)
        order.append(task_id)
        placed.add(task_id)
        for other in sorted(tasks):
            if other not in placed and other not in ready and waiting[other] <= placed:
                ready.append(other)
    if len(order) != len(tasks):
        raise TaskclusterArgumentError("retrigger: the tasks depend on each other in a loop: "
                                       f"{', '.join(sorted(set(tasks) - placed)[:5])}")
    return order


def plan_flow(task_id: str, *, exact: bool = False, group_wide_deps: bool = False,
              now: dt.datetime | None = None, max_tasks: int = RETRIGGER_LIMIT
              ) -> Flow[RetriggerPlan]:
    """Read the task (and its dependents in its group for ``group_wide_deps``) and plan the
    copies; nothing is created."""
    from ..utils import slugId

    if not isinstance(task_id, str) or not task_id:
        raise TaskclusterArgumentError(f"retrigger: taskId must be a task's id, not "
                                       f"{task_id!r}")
    now = now or dt.datetime.now(dt.UTC)
    root = yield Call("task", (task_id,))
    originals: dict[str, Mapping[str, Any]] = {task_id: root}
    if group_wide_deps:
        group = root.get("taskGroupId")
        frontier = [task_id]
        while frontier:
            items = yield Items(Call("listDependentTasks", (frontier.pop(),)))
            for item in items:
                status, task = item.get("status") or {}, item.get("task") or {}
                dependent = status.get("taskId")
                if (isinstance(dependent, str) and dependent not in originals
                        and task.get("taskGroupId") == group):
                    originals[dependent] = task
                    frontier.append(dependent)
                    if len(originals) > max_tasks:
                        raise TaskclusterArgumentError(
                            f"retrigger: task {task_id} has more than {max_tasks} dependent "
                            "tasks in its group: not copying them all (max_tasks)")
    keep_deps = exact or group_wide_deps
    new_ids = {original: slugId() for original in originals}
    copies = []
    for original in _upstream_first(originals, task_id):
        new = _copy(originals[original], now, keep_deps=keep_deps, keep_routes=exact)
        if keep_deps:
            new["dependencies"] = [new_ids.get(d, d) for d in _dependencies(new)]
        copies.append(Copy(new_ids[original], original, new))
    notes = yield from _dependency_notes(copies, set(new_ids.values()))
    return RetriggerPlan(tuple(copies), tuple(notes))


def _dependency_notes(copies: list[Copy], new: set[str]) -> Flow[list[str]]:
    upstream = sorted({d for c in copies for d in _dependencies(c.task) if d not in new})
    if not upstream:
        return []
    answers = yield Gather(tuple(Call("status", (d,)) for d in upstream))
    notes = []
    for dep, answer in zip(upstream, answers, strict=True):
        if isinstance(answer, ResourceNotFound):
            notes.append(f"dependency {dep} no longer exists: the queue will refuse the copy")
            continue
        if isinstance(answer, BaseException):
            notes.append(f"dependency {dep}: its state is unknown ({type(answer).__name__})")
            continue
        state = str((answer.get("status") or {}).get("state"))[:32]
        if state in ("failed", "exception"):
            notes.append(f"dependency {dep} is {state}: a copy that requires it completed "
                         "stays unscheduled until its deadline")
        elif state != "completed":
            notes.append(f"dependency {dep} is {state}: the copy waits for it")
    return notes


def create_flow(plan: RetriggerPlan) -> Flow[list[dict[str, Any]]]:
    """Create the copies in order; a failure names the copies already created."""
    statuses: list[dict[str, Any]] = []
    for item in plan.copies:
        try:
            answer = yield Call("createTask", (item.taskId, item.task))
        except TaskclusterFailure as exc:
            if statuses:
                done = ", ".join(c.taskId for c in plan.copies[:len(statuses)])
                exc.add_note(f"retrigger: created before this failure: {done}")
            raise
        status = answer.get("status") if isinstance(answer, dict) else None
        statuses.append(status if isinstance(status, dict) else {})
    return statuses


def _check(queue: Any, plan: RetriggerPlan) -> None:
    """Every copy against the deployment's createTask schema, before any is sent."""
    for item in plan.copies:
        if getattr(queue, "validate", True) is not False:
            queue.createTask.validate(item.task)


def retrigger(queue: Any, taskId: str, *, exact: bool = False, group_wide_deps: bool = False,
              dry_run: bool = False) -> Retriggered:
    """Retrigger ``taskId`` with a sync queue (see the module's documentation)."""
    plan = run(plan_flow(taskId, exact=exact, group_wide_deps=group_wide_deps),
               {"queue": queue})
    _check(queue, plan)
    if dry_run:
        return Retriggered(plan)
    return Retriggered(plan, run(create_flow(plan), {"queue": queue}))


async def aretrigger(queue: Any, taskId: str, *, exact: bool = False,
                     group_wide_deps: bool = False, dry_run: bool = False) -> Retriggered:
    """:func:`retrigger` with an async queue."""
    plan = await arun(plan_flow(taskId, exact=exact, group_wide_deps=group_wide_deps),
                      {"queue": queue})
    _check(queue, plan)
    if dry_run:
        return Retriggered(plan)
    return Retriggered(plan, await arun(create_flow(plan), {"queue": queue}))
