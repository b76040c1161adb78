"""An in-memory imitation of the Taskcluster v106 queue, for the local deployment.

It answers ``createTask`` (idempotent: an identical repeat returns the same status, a
different one is a 409 ``RequestConflict``), ``task``, ``status``, ``cancelTask``,
``rerunTask``, ``listTaskGroup`` (``limit``/``continuationToken``), ``getTaskGroup``,
``sealTaskGroup``, ``cancelTaskGroup``, ``listDependentTasks``, ``claimWork`` and
``claimTask`` (with run credentials issued by the queue's own client), ``reportCompleted``,
``reportFailed``, ``reportException`` (``worker-shutdown`` and ``intermittent-task`` retry)
and the artifact entries of ``tcdyn.testing.queue_artifacts``, following
``services/queue/src/api.js`` of v106: the same defaults, date normalisation, errors and
answers. It does not long-poll (``claimWork`` answers at once), publish Pulse messages or
expire claims. ``tests/parity`` holds it to the real service.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from ..auth.credentials import createTemporaryCredentials
from . import queue_clock as clock
from .auth import ClientRecord
from .objects import Storage
from .queue_artifacts import InMemoryArtifacts
from .server import ApiRequest, LocalDeployment, Reply, error
from .task_queues import InMemoryTaskQueues

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
DEADLINE_LIMIT = dt.timedelta(days=5)
DRIFT = dt.timedelta(minutes=15)
MAX_RUNS = 50
#: ``reportException`` reasons the queue retries, and the new run's ``reasonCreated``.
RETRIED = {"worker-shutdown": "retry", "intermittent-task": "task-retry"}
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

    def past_deadline(self) -> bool:
        deadline: str = self.definition["deadline"]
        return deadline < clock.js(clock.now())

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
    as the real service does, its error bodies) and ``check_scopes=True``. ``storage`` (a
    started ``tcdyn.testing.objects.Storage``) holds the bytes of ``s3`` artifacts; with
    ``live_log=True`` every run also gets a ``public/logs/live.log`` there (``s3``,
    ``text/plain``) with a line for each change of the run, as a worker's log would show;
    the real queue leaves artifacts to workers.
    """

    def __init__(self, storage: Storage | None = None, *, live_log: bool = False) -> None:
        if live_log and storage is None:
            raise ValueError("InMemoryQueue(live_log=True) needs a storage host: "
                             "InMemoryQueue(tcdyn.testing.objects.Storage().start(), ...)")
        self.tasks: dict[str, _Task] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.artifacts = InMemoryArtifacts(self, storage)
        self.task_queues = InMemoryTaskQueues(self)
        self.live_log = live_log
        self._token = secrets.token_urlsafe(33)
        self._deployment: LocalDeployment | None = None

    @property
    def deployment(self) -> LocalDeployment:
        if self._deployment is None:
            raise RuntimeError("InMemoryQueue is not installed: call install(deployment)")
        return self._deployment

    def install(self, deployment: LocalDeployment) -> InMemoryQueue:
        """Register the handlers, the queue's parameter patterns and the queue's own client
        (which issues the run credentials of ``claimWork`` and ``claimTask``)."""
        for name in ("createTask", "task", "status", "cancelTask", "rerunTask",
                     "listTaskGroup", "getTaskGroup", "sealTaskGroup", "cancelTaskGroup",
                     "listDependentTasks", "claimWork", "claimTask", "reportCompleted",
                     "reportFailed", "reportException"):
            deployment.handle("queue", name, getattr(self, f"_{name}"))
        self.artifacts.install(deployment)
        self.task_queues.install(deployment)
        deployment.param_patterns["queue"] = dict(PARAM_PATTERNS)
        deployment.clients[QUEUE_CLIENT_ID] = ClientRecord(self._token, ("*",))
        self._deployment = deployment
        return self

    # -- runs -----------------------------------------------------------------------

    def _add_run(self, task: _Task, reason: str) -> None:
        task.runs.append(_pending(reason))
        run_id = len(task.runs) - 1
        if self.live_log:
            self.artifacts.add_live_log(task, run_id)
        self._log(task, run_id, reason)

    def _update_run(self, task: _Task, run_id: int, line: str, **changes: Any) -> None:
        task.runs[run_id].update(changes)
        self._log(task, run_id, line)

    def _log(self, task: _Task, run_id: int, line: str) -> None:
        if self.live_log:
            self.artifacts.append_log(task.task_id, run_id, f"run {run_id} {line}")

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
        if group is not None and group.get("sealed"):
            return error(409, "RequestConflict", f"Task group `{definition['taskGroupId']}` "
                         "is sealed and does not accept new tasks.")
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
            self._add_run(task, "scheduled")
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
                self._add_run(task, "scheduled")

    def _cancelTask(self, request: ApiRequest) -> Any:
        task = self.tasks.get(request.params["taskId"])
        if task is None:
            return _no_task(request.params["taskId"])
        denied = self.deployment.authorize(request, _task_params(task))
        if denied is not None:
            return denied
        if task.past_deadline():
            return error(409, "RequestConflict", f"Task `{task.task_id}` can't be canceled "
                         f"past its deadline of {task.definition['deadline']}.")
        self._cancel(task)
        return {"status": task.status()}

    def _cancel(self, task: _Task) -> bool:
        """``cancel_task``: resolve an unresolved task's last run (one added if it has none)
        as ``exception``/``canceled``, and schedule what depends on it."""
        if task.state() not in ("unscheduled", "pending", "running"):
            return False
        if not task.runs:
            self._add_run(task, "exception")
        self._update_run(task, len(task.runs) - 1, "exception (canceled)", state="exception",
                         reasonResolved="canceled", resolved=clock.js(clock.now()))
        self._schedule_dependents(task.task_id)
        return True

    def _rerunTask(self, request: ApiRequest) -> Any:
        task_id = request.params["taskId"]
        task = self.tasks.get(task_id)
        if task is None:
            return error(404, "ResourceNotFound", f"`{task_id}` does not correspond to a task "
                         "that exists.\nAre you sure this task has been submitted before?")
        denied = self.deployment.authorize(request, _task_params(task))
        if denied is not None:
            return denied
        if task.past_deadline():
            return error(409, "RequestConflict", f"Task `{task_id}` can't be rescheduled past "
                         f"its deadline of {task.definition['deadline']}.")
        if task.state() in ("pending", "running"):
            return {"status": task.status()}
        if len(task.runs) >= MAX_RUNS:
            return error(409, "RequestConflict", f"Maximum number of runs reached ({MAX_RUNS}).")
        task.retries_left = min(task.definition["retries"], MAX_RUNS - len(task.runs) - 1)
        self._add_run(task, "rerun")
        return {"status": task.status()}

    # -- task groups ----------------------------------------------------------------

    def _listTaskGroup(self, request: ApiRequest) -> Any:
        group_id = request.params["taskGroupId"]
        page = clock.page(request, sorted(t for t, task in self.tasks.items()
                                     if task.definition["taskGroupId"] == group_id))
        if isinstance(page, Reply):
            return page
        group = self.groups.get(group_id)
        if group is None:
            return _no_group(group_id)
        ids, token = page
        answer: dict[str, Any] = {
            **_group(group_id, group),
            "tasks": [{"status": self.tasks[t].status(), "task": self.tasks[t].definition}
                      for t in ids]}
        if token:
            answer["continuationToken"] = token
        return answer

    def _getTaskGroup(self, request: ApiRequest) -> Any:
        group_id = request.params["taskGroupId"]
        group = self.groups.get(group_id)
        return _no_group(group_id) if group is None else _group(group_id, group)

    def _sealTaskGroup(self, request: ApiRequest) -> Any:
        group_id = request.params["taskGroupId"]
        group = self.groups.get(group_id)
        if group is None:
            return _no_group(group_id)
        denied = self.deployment.authorize(request, {"schedulerId": group["schedulerId"]})
        if denied is not None:
            return denied
        group.setdefault("sealed", clock.js(clock.now()))  # once; a repeat answers the same
        return _group(group_id, group)

    def _cancelTaskGroup(self, request: ApiRequest) -> Any:
        group_id = request.params["taskGroupId"]
        group = self.groups.get(group_id)
        if group is None:
            return _no_group(group_id)
        if not group.get("sealed"):
            return error(409, "RequestConflict", f"Cannot cancel unsealed task group: "
                         f"`{group_id}`")
        denied = self.deployment.authorize(request, {"schedulerId": group["schedulerId"]})
        if denied is not None:
            return denied
        members = [t for t in self.tasks.values() if t.definition["taskGroupId"] == group_id]
        cancelled = [t.task_id for t in members if not t.past_deadline() and self._cancel(t)]
        return {"taskGroupId": group_id, "taskGroupSize": len(members),
                "cancelledCount": len(cancelled), "taskIds": cancelled}

    def _listDependentTasks(self, request: ApiRequest) -> Any:
        task_id = request.params["taskId"]
        if task_id not in self.tasks:
            return error(404, "ResourceNotFound", f"Task with taskId: `{task_id}` was not "
                         "found")
        page = clock.page(request, sorted(t for t, task in self.tasks.items()
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
        self.task_queues.seen(queue_id, by_worker=True)
        pending = [t for t in self.tasks.values() if t.state() == "pending"
                   and t.definition["taskQueueId"] == queue_id]
        pending.sort(key=lambda t: PRIORITIES.index(t.definition["priority"]))
        return {"tasks": [self._claim(task, len(task.runs) - 1, body["workerGroup"],
                                      body["workerId"])
                          for task in pending[:body["tasks"]]]}

    def _claim(self, task: _Task, run_id: int, group: str, worker: str) -> dict[str, Any]:
        """Mark the run running for the worker; the claim with the run's credentials."""
        now = clock.now()
        until = (now + CLAIM_TIMEOUT).replace(microsecond=0) + dt.timedelta(seconds=1)
        if task.runs[run_id]["state"] == "pending":
            self._update_run(task, run_id, f"claimed by {group}/{worker}", state="running",
                             workerGroup=group, workerId=worker, takenUntil=clock.js(until),
                             started=clock.js(now))
        name = "/".join(("task-client", task.task_id, str(run_id), "on", group, worker,
                         "until", str(int(until.timestamp()))))
        credentials = createTemporaryCredentials(
            QUEUE_CLIENT_ID, self._token, now, until, [
                f"queue:reclaim-task:{task.task_id}/{run_id}",
                f"queue:resolve-task:{task.task_id}/{run_id}",
                f"queue:create-artifact:{task.task_id}/{run_id}",
                *task.definition["scopes"]], name)
        return {"status": task.status(), "runId": run_id, "workerGroup": group,
                "workerId": worker, "takenUntil": task.runs[run_id]["takenUntil"],
                "task": task.definition, "credentials": credentials}

    def _claimTask(self, request: ApiRequest) -> Any:
        task_id, run_id = request.params["taskId"], int(request.params["runId"])
        group, worker = request.payload["workerGroup"], request.payload["workerId"]
        task = self.tasks.get(task_id)
        if task is None:
            return _no_task(task_id)
        d = task.definition
        denied = self.deployment.authorize(request, {
            "provisionerId": d["provisionerId"], "workerType": d["workerType"]})
        if denied is not None:
            return denied
        self.task_queues.seen(d["taskQueueId"], by_worker=False)
        if task.past_deadline():
            return error(409, "RequestConflict", f"Task `{task_id}` can't be claimed past "
                         f"its deadline of {d['deadline']}.")
        if run_id >= len(task.runs):
            return _no_run(task_id, run_id)
        run = task.runs[run_id]
        mine = run["state"] == "running" and (run.get("workerGroup"), run.get("workerId")) == (
            group, worker)  # claiming again is idempotent for the same worker
        if run_id != len(task.runs) - 1 or not (run["state"] == "pending" or mine):
            return error(409, "RequestConflict", f"Run {run_id} was already claimed by "
                         "another worker.")
        return self._claim(task, run_id, group, worker)

    def _reportCompleted(self, request: ApiRequest) -> Any:
        return self._resolve(request, "completed")

    def _reportFailed(self, request: ApiRequest) -> Any:
        return self._resolve(request, "failed")

    def _resolve(self, request: ApiRequest, target: str) -> Any:
        task_id, run_id = request.params["taskId"], int(request.params["runId"])
        task = self.tasks.get(task_id)
        if task is None:
            return _no_task(task_id)
        if run_id >= len(task.runs):
            return _no_run(task_id, run_id)
        run = task.runs[run_id]
        if run["state"] not in ("running", target):
            return error(409, "RequestConflict", f"Run {run_id} of task `{task_id}` is not "
                         f"running or {target}.")
        if run["state"] == "running":
            if run_id != len(task.runs) - 1:
                return _resolved(task_id, run_id)
            self._update_run(task, run_id, target, state=target, reasonResolved=target,
                             resolved=clock.js(clock.now()))
            self._schedule_dependents(task_id)
        elif run.get("reasonResolved") != target or run_id != len(task.runs) - 1:
            return _resolved(task_id, run_id)
        return {"status": task.status()}

    def _reportException(self, request: ApiRequest) -> Any:
        task_id, run_id = request.params["taskId"], int(request.params["runId"])
        reason = request.payload["reason"]
        task = self.tasks.get(task_id)
        if task is None:
            return error(404, "ResourceNotFound", f"Task `{task_id}` not found. Are you sure "
                         "it exists?")
        if run_id >= len(task.runs):
            return _no_run(task_id, run_id)
        run = task.runs[run_id]
        if run["state"] == "running" and run_id == len(task.runs) - 1:
            self._update_run(task, run_id, f"exception ({reason})", state="exception",
                             reasonResolved=reason, resolved=clock.js(clock.now()))
            retry = RETRIED.get(reason)
            if retry is not None and task.retries_left > 0:
                task.retries_left -= 1
                self._add_run(task, retry)
            else:
                self._schedule_dependents(task_id)
        elif (run["state"] != "exception" or run.get("reasonResolved") != reason
              or len(task.runs) - 1 > run_id + 1):
            return _resolved(task_id, run_id)
        return {"status": task.status()}


# -- helpers ------------------------------------------------------------------------------

def _no_task(task_id: str) -> Reply:
    return error(404, "ResourceNotFound", f"Task `{task_id}` not found. Are you sure it was "
                 "created?")


def _no_run(task_id: str, run_id: int) -> Reply:
    return error(404, "ResourceNotFound", f"Run {run_id} not found on task `{task_id}`.")


def _resolved(task_id: str, run_id: int) -> Reply:
    return error(409, "RequestConflict", f"Run {run_id} on task `{task_id}` is resolved or "
                 "not running.")


def _no_group(group_id: str) -> Reply:
    return error(404, "ResourceNotFound", f"No task-group with taskGroupId: `{group_id}`")


def _group(group_id: str, group: dict[str, Any]) -> dict[str, Any]:
    """``TaskGroup.serialize()``: ``sealed`` only once sealed."""
    out = {"taskGroupId": group_id, "schedulerId": group["schedulerId"],
           "expires": group["expires"]}
    if group.get("sealed"):
        out["sealed"] = group["sealed"]
    return out


def _task_params(task: _Task) -> dict[str, Any]:
    d = task.definition
    return {"schedulerId": d["schedulerId"], "taskGroupId": d["taskGroupId"],
            "projectId": d["projectId"]}


def _pending(reason: str) -> dict[str, Any]:
    return {"state": "pending", "reasonCreated": reason, "scheduled": clock.js(clock.now())}


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
    created, deadline = clock.parse_time(task["created"]), clock.parse_time(task["deadline"])
    now = clock.now()
    problem = (
        "`created` cannot be in the past (max 15min drift)" if created < now - DRIFT else
        "`created` cannot be in the future (max 15min drift)" if created > now + DRIFT else
        "`deadline` cannot be later than `created`" if created > deadline else
        "`deadline` cannot be in the past" if deadline < now else
        f"`deadline` cannot be more than {DEADLINE_LIMIT.days} days into the future"
        if deadline - now > DEADLINE_LIMIT + DRIFT else None)
    if problem:
        return error(400, "InputError", problem)
    if task.get("expires"):
        expires = clock.parse_time(task["expires"])
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
            "created": clock.js(created), "deadline": clock.js(deadline),
            "expires": clock.js(expires),
            **{k: out[k] for k in ("scopes", "payload", "metadata", "tags", "extra")}}
