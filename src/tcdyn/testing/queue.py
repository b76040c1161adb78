"""An in-memory imitation of the Taskcluster v106 queue, for the local deployment.

It answers ``createTask`` (idempotent: an identical repeat returns the same status, a
different one is a 409 ``RequestConflict``), ``task``, ``status``, ``cancelTask``,
``listTaskGroup`` (``limit``/``continuationToken``), ``listDependentTasks``, ``claimWork``
(with run credentials issued by the queue's own client), ``reportCompleted``,
``reportFailed`` and ``getLatestArtifact`` (a 303, as the real queue answers), following
``services/queue/src/api.js`` of v106: the same defaults, date normalisation, errors and
answers. It does not long-poll (``claimWork`` answers at once), publish Pulse messages,
expire claims or store artifacts. ``tests/parity`` holds it to the real service.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from ..credentials import createTemporaryCredentials
from .auth import ClientRecord
from .server import ApiRequest, LocalDeployment, Reply, error

#: The queue's route parameter patterns (``params`` of its API builder).
SLUGID = re.compile(r"^[A-Za-z0-9_-]{8}[Q-T][A-Za-z0-9_-][CGKOSWaeimquy26-][A-Za-z0-9_-]{10}"
                    r"[AQgw]$")
_GENERIC = re.compile(r"^[a-zA-Z0-9-_]{1,38}$")
PARAM_PATTERNS = {
    "taskId": SLUGID, "taskGroupId": SLUGID,
    "taskQueueId": re.compile(r"^[a-zA-Z0-9-_]{1,38}/[a-z]([-a-z0-9]{0,36}[a-z0-9])?$"),
    "provisionerId": _GENERIC, "workerType": _GENERIC, "workerGroup": _GENERIC,
    "workerId": _GENERIC, "runId": re.compile(r"^[1-9]*[0-9]+$"),
    "name": re.compile(r"^[\x20-\x7e]+$"),
}
QUEUE_CLIENT_ID = "static/taskcluster/queue"
CLAIM_TIMEOUT = dt.timedelta(seconds=1200)
MAX_DEADLINE = dt.timedelta(days=5)
DRIFT = dt.timedelta(minutes=15)
PRIORITIES = ("highest", "very-high", "high", "medium", "low", "very-low", "lowest")
#: What the queue fills in for a task definition that leaves them out (schema defaults).
DEFAULTS: dict[str, Any] = {
    "schedulerId": "-", "dependencies": [], "requires": "all-completed", "routes": [],
    "priority": "lowest", "retries": 5, "scopes": [], "tags": {}, "extra": {}}


@dataclass
class _Task:
    task_id: str
    definition: dict[str, Any]
    retries_left: int
    runs: list[dict[str, Any]] = field(default_factory=list)

    def state(self) -> str:
        return self.runs[-1]["state"] if self.runs else "unscheduled"

    def status(self) -> dict[str, Any]:
        d = self.definition
        keys = ("provisionerId", "workerType", "taskQueueId", "schedulerId", "projectId",
                "taskGroupId", "priority", "deadline", "expires")
        return {"taskId": self.task_id, **{k: d[k] for k in keys},
                "retriesLeft": self.retries_left, "state": self.state(),
                "runs": [{"runId": i, **run} for i, run in enumerate(self.runs)]}


class InMemoryQueue:
    """Tasks in memory; install it on a ``LocalDeployment`` with ``install()``.

    Run the deployment with ``imitate=True`` (route parameters, payloads and answers checked
    as the real service does, its error bodies) and ``check_scopes=True``.
    """

    def __init__(self) -> None:
        self.tasks: dict[str, _Task] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self._token = secrets.token_urlsafe(33)

    def install(self, deployment: LocalDeployment) -> InMemoryQueue:
        """Register the handlers, the queue's parameter patterns and the queue's own client
        (which issues the run credentials of ``claimWork``)."""
        for name in ("createTask", "task", "status", "cancelTask", "listTaskGroup",
                     "listDependentTasks", "claimWork", "reportCompleted", "reportFailed",
                     "getLatestArtifact"):
            deployment.handle("queue", name, getattr(self, f"_{name}"))
        deployment.param_patterns["queue"] = dict(PARAM_PATTERNS)
        deployment.clients[QUEUE_CLIENT_ID] = ClientRecord(self._token, ("*",))
        self._deployment = deployment
        return self

    # -- tasks --------------------------------------------------------------------------

    def _get(self, request: ApiRequest) -> _Task | Reply:
        task = self.tasks.get(request.params["taskId"])
        if task is None:
            return error(404, "ResourceNotFound", f"`{request.params['taskId']}` does not "
                         "correspond to a task that exists.\nAre you sure this task exists?")
        return task

    def _task(self, request: ApiRequest) -> Any:
        task = self._get(request)
        return task if isinstance(task, Reply) else task.definition

    def _status(self, request: ApiRequest) -> Any:
        task = self._get(request)
        return task if isinstance(task, Reply) else {"status": task.status()}

    def _createTask(self, request: ApiRequest) -> Any:
        task_id = request.params["taskId"]
        definition = _definition(task_id, dict(request.payload or {}))
        if isinstance(definition, Reply):
            return definition
        previous = self.tasks.get(task_id)
        if previous is not None:
            if previous.definition != definition:
                return error(409, "RequestConflict", f"taskId `{task_id}` already used by "
                             "another task.\nThis could be the result of faulty idempotency!")
            return {"status": previous.status()}
        group = self.groups.get(definition["taskGroupId"])
        if group is not None and group["schedulerId"] != definition["schedulerId"]:
            return error(409, "RequestConflict", f"Task group `{definition['taskGroupId']}` "
                         f"contains tasks with schedulerId `{group['schedulerId']}`. You are "
                         f"attempting to include tasks from schedulerId "
                         f"`{definition['schedulerId']}`, which is not permitted.")
        missing = [d for d in definition["dependencies"] if d not in self.tasks]
        if missing:
            return error(400, "InputError", "`task.dependencies` references non-existing "
                         f"tasks: {', '.join(missing)}")
        expires = definition["expires"]
        if group is None:
            self.groups[definition["taskGroupId"]] = {
                "schedulerId": definition["schedulerId"], "expires": expires}
        elif expires > group["expires"]:
            group["expires"] = expires
        task = self.tasks[task_id] = _Task(task_id, definition, definition["retries"])
        if self._ready(task):
            task.runs.append(_pending("scheduled"))
        return {"status": task.status()}

    def _ready(self, task: _Task) -> bool:
        states = [self.tasks[d].state() for d in task.definition["dependencies"]]
        if task.definition["requires"] == "all-completed":
            return all(s == "completed" for s in states)
        return all(s in ("completed", "failed", "exception") for s in states)

    def _schedule_dependents(self, resolved: str) -> None:
        for task in self.tasks.values():
            if (not task.runs and resolved in task.definition["dependencies"]
                    and self._ready(task)):
                task.runs.append(_pending("scheduled"))

    def _cancelTask(self, request: ApiRequest) -> Any:
        task = self._get(request)
        if isinstance(task, Reply):
            return error(404, "ResourceNotFound", f"Task `{request.params['taskId']}` not "
                         "found. Are you sure it was created?")
        d = task.definition
        denied = self._deployment.authorize(request, {
            "schedulerId": d["schedulerId"], "taskGroupId": d["taskGroupId"],
            "projectId": d["projectId"]})
        if denied is not None:
            return denied
        if d["deadline"] < _js(_now()):
            return error(409, "RequestConflict", f"Task `{task.task_id}` can't be canceled "
                         f"past its deadline of {d['deadline']}.")
        if task.state() in ("unscheduled", "pending", "running"):
            if not task.runs:
                task.runs.append(_pending("exception"))
            run, now = task.runs[-1], _js(_now())
            run.update(state="exception", reasonResolved="canceled", resolved=now)
        return {"status": task.status()}

    # -- task groups ----------------------------------------------------------------

    def _listTaskGroup(self, request: ApiRequest) -> Any:
        group_id = request.params["taskGroupId"]
        page = _page(request, sorted(t for t, task in self.tasks.items()
                                     if task.definition["taskGroupId"] == group_id))
        if isinstance(page, Reply):
            return page
        group = self.groups.get(group_id)
        if group is None:
            return error(404, "ResourceNotFound", f"No task-group with taskGroupId: "
                         f"`{group_id}`")
        ids, token = page
        answer: dict[str, Any] = {
            "taskGroupId": group_id, "schedulerId": group["schedulerId"],
            "expires": group["expires"],
            "tasks": [{"status": self.tasks[t].status(), "task": self.tasks[t].definition}
                      for t in ids]}
        if token:
            answer["continuationToken"] = token
        return answer

    def _listDependentTasks(self, request: ApiRequest) -> Any:
        task_id = request.params["taskId"]
        if task_id not in self.tasks:
            return error(404, "ResourceNotFound", f"Task with taskId: `{task_id}` was not "
                         "found")
        page = _page(request, sorted(t for t, task in self.tasks.items()
                                     if task_id in task.definition["dependencies"]))
        if isinstance(page, Reply):
            return page
        ids, token = page
        answer: dict[str, Any] = {"taskId": task_id, "tasks": [
            {"status": self.tasks[t].status(), "task": self.tasks[t].definition}
            for t in ids]}
        if token:
            answer["continuationToken"] = token
        return answer

    # -- workers --------------------------------------------------------------------

    def _claimWork(self, request: ApiRequest) -> Any:
        queue_id = request.params["taskQueueId"]
        body = request.payload
        pending = [t for t in self.tasks.values() if t.state() == "pending"
                   and t.definition["taskQueueId"] == queue_id]
        pending.sort(key=lambda t: PRIORITIES.index(t.definition["priority"]))
        claims = []
        for task in pending[:body["tasks"]]:
            now = _now()
            until = (now + CLAIM_TIMEOUT).replace(microsecond=0) + dt.timedelta(seconds=1)
            run_id = len(task.runs) - 1
            task.runs[-1].update(state="running", workerGroup=body["workerGroup"],
                                 workerId=body["workerId"], takenUntil=_js(until),
                                 started=_js(now))
            name = "/".join(("task-client", task.task_id, str(run_id), "on",
                             body["workerGroup"], body["workerId"], "until",
                             str(int(until.timestamp()))))
            credentials = createTemporaryCredentials(
                QUEUE_CLIENT_ID, self._token, now, until, [
                    f"queue:reclaim-task:{task.task_id}/{run_id}",
                    f"queue:resolve-task:{task.task_id}/{run_id}",
                    f"queue:create-artifact:{task.task_id}/{run_id}",
                    *task.definition["scopes"]], name)
            claims.append({"status": task.status(), "runId": run_id,
                           "workerGroup": body["workerGroup"], "workerId": body["workerId"],
                           "takenUntil": _js(until), "task": task.definition,
                           "credentials": credentials})
        return {"tasks": claims}

    def _reportCompleted(self, request: ApiRequest) -> Any:
        return self._resolve(request, "completed")

    def _reportFailed(self, request: ApiRequest) -> Any:
        return self._resolve(request, "failed")

    def _resolve(self, request: ApiRequest, target: str) -> Any:
        task_id, run_id = request.params["taskId"], int(request.params["runId"])
        task = self.tasks.get(task_id)
        if task is None:
            return error(404, "ResourceNotFound", f"Task `{task_id}` not found. Are you sure "
                         "it was created?")
        if run_id >= len(task.runs):
            return error(404, "ResourceNotFound", f"Run {run_id} not found on task "
                         f"`{task_id}`.")
        run = task.runs[run_id]
        if run["state"] not in ("running", target):
            return error(409, "RequestConflict", f"Run {run_id} of task `{task_id}` is not "
                         f"running or {target}.")
        if run["state"] == "running":
            run.update(state=target, reasonResolved=target, resolved=_js(_now()))
            self._schedule_dependents(task_id)
        return {"status": task.status()}

    def _getLatestArtifact(self, request: ApiRequest) -> Any:
        url = (f"{self._deployment.root_url}/artifacts/{request.params['taskId']}/"
               f"{request.params['name']}")
        return Reply({"storageType": "s3", "url": url}, 303, {"Location": url})


# -- helpers ------------------------------------------------------------------------------

def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _js(moment: dt.datetime) -> str:
    """As JavaScript's ``Date.toJSON()``: UTC, milliseconds, ``Z``."""
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _parse(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _pending(reason: str) -> dict[str, Any]:
    return {"state": "pending", "reasonCreated": reason, "scheduled": _js(_now())}


def _definition(task_id: str, task: dict[str, Any]) -> dict[str, Any] | Reply:
    """The task as the queue stores it (``createTask`` and ``patchAndValidateTaskDef``)."""
    provisioner, worker, queue_id = (task.get(k) for k in (
        "provisionerId", "workerType", "taskQueueId"))
    if provisioner and worker and queue_id and f"{provisioner}/{worker}" != queue_id:
        return error(400, "InputError", 'taskQueueId must match "provisionerId/workerType"')
    if provisioner and worker:
        queue_id = f"{provisioner}/{worker}"
    elif queue_id:
        provisioner, worker = queue_id.split("/", 1)
    else:
        return error(400, "InputError", "at least a provisionerId and a workerType or a "
                     'taskQueueId must be provided"')
    created, deadline = _parse(task["created"]), _parse(task["deadline"])
    now = _now()
    problem = (
        "`created` cannot be in the past (max 15min drift)" if created < now - DRIFT else
        "`created` cannot be in the future (max 15min drift)" if created > now + DRIFT else
        "`deadline` cannot be later than `created`" if created > deadline else
        "`deadline` cannot be in the past" if deadline < now else
        f"`deadline` cannot be more than {MAX_DEADLINE.days} days into the future"
        if deadline - now > MAX_DEADLINE + DRIFT else None)
    if problem:
        return error(400, "InputError", problem)
    if task.get("expires"):
        expires = _parse(task["expires"])
    else:
        expires = deadline.replace(year=deadline.year + 1)
    if deadline > expires:
        return error(400, "InputError", "`expires` cannot be before `deadline`")
    out = {**DEFAULTS, **task}
    if any(s.endswith("**") for s in out["scopes"]):
        return error(400, "InputError", "scopes must not end with `**`")
    keys = ("dependencies", "requires", "routes", "priority", "retries")
    return {"provisionerId": provisioner, "workerType": worker, "taskQueueId": queue_id,
            "schedulerId": out["schedulerId"], "projectId": task.get("projectId") or "none",
            "taskGroupId": task.get("taskGroupId") or task_id,
            **{k: out[k] for k in keys},
            "created": _js(created), "deadline": _js(deadline), "expires": _js(expires),
            **{k: out[k] for k in ("scopes", "payload", "metadata", "tags", "extra")}}


def _page(request: ApiRequest, ids: list[str]) -> tuple[list[str], str | None] | Reply:
    """``paginateResults``: ``limit`` (at most 1000) rows from the token's offset; a token
    when more rows follow."""
    limit, token = request.query.get("limit", "1000"), request.query.get("continuationToken")
    if not re.match(r"^[0-9]+$", limit) or (token is not None and not token.isdigit()):
        return error(400, "InvalidRequestArguments", "Invalid query string parameters: "
                     "limit must be a number, continuationToken one this queue gave")
    start, size = int(token or 0), min(int(limit), 1000)
    rows = ids[start:start + size + 1]
    more = len(rows) > size
    return rows[:size], str(start + size) if more else None
