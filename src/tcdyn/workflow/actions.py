"""The actions that end or repeat work, with their checks: ``rerun`` (only a task that
failed or hit an exception, unless ``force``, as ``taskcluster task rerun`` does) and
``cancel_group`` (``queue.cancelTaskGroup`` where the deployment has it, sealing the group
first when asked; else each unfinished task cancelled in turn, with ``progress``).
``*_flow`` are the sans-IO forms; the plain functions drive them with sync clients, the
``a*`` ones with async clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import InvalidResponse, RequestConflict, TaskclusterFailure
from .flow import Call, Flow, Items, arun, run

__all__ = ["UNFINISHED", "ActionRefused", "acancel_group", "arerun", "cancel_group",
           "cancel_group_flow", "rerun", "rerun_flow", "rerun_refusal"]

class ActionRefused(TaskclusterFailure):
    """An action refused before anything was sent, for what the task's state is."""


#: The states a task can still be cancelled in.
UNFINISHED = ("unscheduled", "pending", "running")
#: ``progress(done, total)``: told after each task of a task-by-task cancel.
Progress = Callable[[int, int], None]


def rerun_refusal(task_id: str, status: Any) -> ActionRefused | None:
    """Why a task with this status is not rerun without ``force`` (None: it may be)."""
    state = status.get("state") if isinstance(status, dict) else None
    if state in ("failed", "exception"):
        return None
    return ActionRefused(f"task {task_id} is {str(state)[:32]}, not failed or exception: not "
                         "rerun (force=True, or tcdyn task rerun --force, reruns it anyway)")


def rerun_flow(task_id: str, *, force: bool = False) -> Flow[dict[str, Any]]:
    """``queue.rerunTask`` of a task that failed or hit an exception; another state is
    refused (``ActionRefused``, nothing sent) unless ``force``. Returns its status."""
    if not force:
        answer = yield Call("status", (task_id,))
        refused = rerun_refusal(task_id, answer.get("status") if isinstance(answer, dict)
                                else None)
        if refused is not None:
            raise refused
    answer = yield Call("rerunTask", (task_id,))
    status = answer.get("status") if isinstance(answer, dict) else None
    if not isinstance(status, dict):
        raise InvalidResponse(f"queue.rerunTask of {task_id}: an answer without a status",
                              status_code=200)
    return status


def cancel_group_flow(group_id: str, *, seal: bool = False, has_cancel_group: bool,
                      progress: Progress | None = None) -> Flow[dict[str, Any]]:
    """Cancel every unfinished task of task group ``group_id``; returns what
    ``cancelTaskGroup`` answers (``taskGroupId``, ``taskGroupSize``, ``cancelledCount``,
    ``taskIds``), the task-by-task way too."""
    if seal:
        yield Call("sealTaskGroup", (group_id,))
    if has_cancel_group:
        try:
            answer = yield Call("cancelTaskGroup", (group_id,))
        except RequestConflict as exc:
            if "unsealed" not in (exc.message or ""):
                raise
            said = (exc.message or "").strip().splitlines()[0][:200]
            raise RequestConflict(
                f"{said}\nthe queue cancels only sealed task groups: seal it first "
                "(seal=True; tcdyn group cancel --seal), after which no task can be added "
                "to it", status_code=exc.status_code, code=exc.code, service=exc.service,
                method_name=exc.method_name, http_method=exc.http_method, url=exc.url
                ) from None
        return answer  # type: ignore[no-any-return]
    items = yield Items(Call("listTaskGroup", (group_id,)))
    todo = [item["status"]["taskId"] for item in items
            if item["status"]["state"] in UNFINISHED]
    cancelled: list[str] = []
    failed: list[tuple[str, TaskclusterFailure]] = []
    for task_id in todo:
        try:
            yield Call("cancelTask", (task_id,))
            cancelled.append(task_id)
        except TaskclusterFailure as exc:
            failed.append((task_id, exc))
        if progress is not None:
            progress(len(cancelled) + len(failed), len(todo))
    if failed:
        first = failed[0][1]
        first.add_note(f"task group {group_id}: {len(cancelled)} of {len(todo)} tasks "
                       f"cancelled; {len(failed)} not: "
                       f"{', '.join(task_id for task_id, _ in failed[:10])}"
                       f"{', ...' if len(failed) > 10 else ''}")
        raise first
    return {"taskGroupId": group_id, "taskGroupSize": len(items),
            "cancelledCount": len(cancelled), "taskIds": cancelled}


def _has(queue: Any, method: str) -> bool:
    return method in getattr(type(queue), "methods", ())


def rerun(queue: Any, taskId: str, *, force: bool = False) -> dict[str, Any]:
    """Rerun a task that failed or hit an exception (``queue.rerunTask``); a task in
    another state is refused with ``ActionRefused``, nothing sent, unless ``force``.
    Returns the task's status."""
    return run(rerun_flow(taskId, force=force), {"queue": queue})


async def arerun(queue: Any, taskId: str, *, force: bool = False) -> dict[str, Any]:
    """``rerun`` with an async queue client."""
    return await arun(rerun_flow(taskId, force=force), {"queue": queue})


def cancel_group(queue: Any, taskGroupId: str, *, seal: bool = False,
                 progress: Progress | None = None) -> dict[str, Any]:
    """Cancel every unfinished task of a task group: ``cancelTaskGroup`` where the
    deployment has it (sealing the group first with ``seal``), else task by task, telling
    ``progress(done, total)`` after each. Returns what ``cancelTaskGroup`` answers
    (``taskGroupId``, ``taskGroupSize``, ``cancelledCount``, ``taskIds``) either way."""
    return run(cancel_group_flow(taskGroupId, seal=seal, progress=progress,
                                 has_cancel_group=_has(queue, "cancelTaskGroup")),
               {"queue": queue})


async def acancel_group(queue: Any, taskGroupId: str, *, seal: bool = False,
                        progress: Progress | None = None) -> dict[str, Any]:
    """``cancel_group`` with an async queue client."""
    return await arun(cancel_group_flow(taskGroupId, seal=seal, progress=progress,
                                        has_cancel_group=_has(queue, "cancelTaskGroup")),
                      {"queue": queue})
