"""The task queues of ``tcdyn.testing.queue.InMemoryQueue``, as the v106 queue keeps them.

A task queue exists once a worker was seen on it (``claimWork``, ``claimTask``: the queue's
``workerInfo.seen``), with an empty description, stability ``experimental``, expiring a day
after it was last seen by a worker (five days otherwise). ``listTaskQueues`` (paged),
``getTaskQueue``, ``pendingTasks`` and ``taskQueueCounts`` count the in-memory tasks; where
the references have ``taskQueueCountsBatch`` (v107 and later), it answers that too.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from .server import ApiRequest, LocalDeployment, Reply, error

if TYPE_CHECKING:
    from .queue import InMemoryQueue


class InMemoryTaskQueues:
    """Task queues seen, per id: ``{"expires", "lastDateActive"}``; installed by the queue."""

    def __init__(self, queue: InMemoryQueue) -> None:
        self.queue = queue
        self.seen_at: dict[str, dict[str, str]] = {}

    def install(self, deployment: LocalDeployment) -> None:
        for name in ("listTaskQueues", "getTaskQueue", "pendingTasks", "taskQueueCounts",
                     "taskQueueCountsBatch"):
            deployment.handle("queue", name, getattr(self, f"_{name}"))

    def seen(self, task_queue_id: str, by_worker: bool) -> None:
        from .queue_clock import js as _js
        from .queue_clock import now as _now

        now = _now()
        expires = _js(now + dt.timedelta(days=1 if by_worker else 5))
        known = self.seen_at.get(task_queue_id)
        self.seen_at[task_queue_id] = {
            "expires": max(expires, known["expires"]) if known else expires,
            "lastDateActive": _js(now)}

    def _serialize(self, task_queue_id: str) -> dict[str, Any]:
        return {"taskQueueId": task_queue_id, **self.seen_at[task_queue_id],
                "description": "", "stability": "experimental"}

    def _count(self, task_queue_id: str) -> dict[str, Any]:
        states = [t.state() for t in self.queue.tasks.values()
                  if t.definition["taskQueueId"] == task_queue_id]
        provisioner, _, worker = task_queue_id.partition("/")
        return {"provisionerId": provisioner, "workerType": worker,
                "taskQueueId": task_queue_id, "pendingTasks": states.count("pending"),
                "claimedTasks": states.count("running")}

    def _listTaskQueues(self, request: ApiRequest) -> Any:
        from .queue_clock import js as _js
        from .queue_clock import now as _now
        from .queue_clock import page as _page

        now = _js(_now())
        page = _page(request, sorted(i for i, q in self.seen_at.items() if q["expires"] > now))
        if isinstance(page, Reply):
            return page
        ids, token = page
        answer: dict[str, Any] = {"taskQueues": [self._serialize(i) for i in ids]}
        if token:
            answer["continuationToken"] = token
        return answer

    def _getTaskQueue(self, request: ApiRequest) -> Any:
        task_queue_id = request.params["taskQueueId"]
        if task_queue_id not in self.seen_at:
            return error(404, "ResourceNotFound", f"Task queue with `{task_queue_id}` not "
                         "found. Are you sure it was created?")
        return self._serialize(task_queue_id)

    def _pendingTasks(self, request: ApiRequest) -> Any:
        count = self._count(request.params["taskQueueId"])
        del count["claimedTasks"]
        return count

    def _taskQueueCounts(self, request: ApiRequest) -> Any:
        return self._count(request.params["taskQueueId"])

    def _taskQueueCountsBatch(self, request: ApiRequest) -> Any:
        ids = (request.payload or {}).get("taskQueueIds") or []
        return {"taskQueueCounts": [
            {k: v for k, v in self._count(i).items() if k in (
                "taskQueueId", "pendingTasks", "claimedTasks")} for i in ids]}
