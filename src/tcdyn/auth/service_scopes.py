"""Parameters a service computes itself before it checks an entry's scopes.

``tcdyn.scopes`` knows only the generic rules; a service may derive more parameters from a
request than its payload and route carry. ``HOOKS`` maps ``(service, entry)`` to a function
from the call's parameters to the ones the service checks with (a new dict).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: The queue's task priorities, highest first.
PRIORITY_LEVELS = ("highest", "very-high", "high", "medium", "low", "very-low", "lowest")


def queue_create_task(params: Mapping[str, Any]) -> dict[str, Any]:
    """The queue's ``createTask`` (services/queue/src/api.js, v106) authorizes with the task
    after its schema defaults (``scopes``/``routes`` ``[]``, ``schedulerId`` ``-``,
    ``priority`` ``lowest``, ``projectId`` ``none``), ``taskGroupId`` defaulting to the
    taskId, ``provisionerId``/``workerType`` split from ``taskQueueId`` (or ``taskQueueId``
    joined from them), and ``priorities``: the task's priority and every one above it
    (``normal`` is the legacy name of ``lowest``)."""
    out = dict(params)
    for key, default in (("scopes", []), ("routes", []), ("schedulerId", "-"),
                         ("priority", "lowest")):
        out.setdefault(key, default)
    if not out.get("projectId"):
        out["projectId"] = "none"
    if not out.get("taskGroupId") and "taskId" in out:
        out["taskGroupId"] = out["taskId"]
    queue_id = out.get("taskQueueId")
    if isinstance(out.get("provisionerId"), str) and isinstance(out.get("workerType"), str):
        out.setdefault("taskQueueId", f"{out['provisionerId']}/{out['workerType']}")
    elif isinstance(queue_id, str) and queue_id.count("/") == 1:
        out["provisionerId"], out["workerType"] = queue_id.split("/")
    if "priorities" not in out:
        priority = out["priority"]
        priority = "lowest" if priority == "normal" else priority
        if priority in PRIORITY_LEVELS:
            out["priorities"] = list(PRIORITY_LEVELS[:PRIORITY_LEVELS.index(priority) + 1])
    return out


#: ``(service, entry)`` -> the parameters that service derives before checking scopes.
HOOKS: dict[tuple[str, str], Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    ("queue", "createTask"): queue_create_task,
}
