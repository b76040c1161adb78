"""A small in-memory queue service for the local deployment (demos and tests).

It keeps task definitions and answers ``createTask``, ``task``, ``status``,
``listTaskGroup`` (paginated with ``continuationToken``/``limit``) and
``getLatestArtifact`` (a 303 with the artifact's URL, as the real queue answers).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .server import ApiRequest, LocalDeployment, Reply, error


class InMemoryQueue:
    """Tasks in a dict; install it on a ``LocalDeployment`` with ``install()``."""

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}

    def install(self, deployment: LocalDeployment) -> InMemoryQueue:
        for name in ("createTask", "task", "status", "listTaskGroup", "getLatestArtifact"):
            deployment.handle("queue", name, getattr(self, f"_{name}"))
        self._root_url = deployment.root_url
        return self

    def _status(self, request: ApiRequest) -> Any:
        task_id = request.params["taskId"]
        if task_id not in self.tasks:
            return error(404, "ResourceNotFound", f"Task {task_id} not found")
        task = self.tasks[task_id]
        return {"status": {"taskId": task_id, "taskGroupId": task["taskGroupId"],
                           "state": "pending", "runs": [],
                           "deadline": task.get("deadline"), "expires": task.get("expires")}}

    def _createTask(self, request: ApiRequest) -> Any:
        task_id = request.params["taskId"]
        task = dict(request.payload or {})
        task.setdefault("taskGroupId", task_id)
        previous = self.tasks.get(task_id)
        if previous is not None and previous != task:
            return error(409, "RequestConflict", f"Task {task_id} exists with a different "
                         "definition")
        task["created"] = dt.datetime.now(dt.timezone.utc).isoformat()
        self.tasks[task_id] = task
        return self._status(request)

    def _task(self, request: ApiRequest) -> Any:
        task = self.tasks.get(request.params["taskId"])
        if task is None:
            return error(404, "ResourceNotFound", f"Task {request.params['taskId']} not found")
        return task

    def _listTaskGroup(self, request: ApiRequest) -> Any:
        group = request.params["taskGroupId"]
        members = sorted(t for t, task in self.tasks.items() if task["taskGroupId"] == group)
        start = int(request.query.get("continuationToken", "0"))
        limit = int(request.query.get("limit", "1000"))
        page = members[start:start + limit]
        answer: dict[str, Any] = {"taskGroupId": group, "tasks": [
            {"status": self._status(_with_task(request, t))["status"], "task": self.tasks[t]}
            for t in page]}
        if start + limit < len(members):
            answer["continuationToken"] = str(start + limit)
        return answer

    def _getLatestArtifact(self, request: ApiRequest) -> Any:
        url = (f"{self._root_url}/artifacts/{request.params['taskId']}/"
               f"{request.params['name']}")
        return Reply({"storageType": "s3", "url": url}, 303, {"Location": url})


def _with_task(request: ApiRequest, task_id: str) -> ApiRequest:
    return ApiRequest(**{**request.__dict__, "params": {"taskId": task_id}})
