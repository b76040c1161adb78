"""One scenario list, run against the local deployment and the real Taskcluster v106 stack.

``tests/test_parity_local.py`` runs it against ``tcdyn.testing.server.LocalDeployment`` with
the imitation services, ``tests/real/test_real_parity.py`` against ``scripts/taskcluster.sh``'s
stack. Both assert the same thing for every call: the HTTP status, the Taskcluster error code,
and the shape of the answer: a success validates against the entry's v106 output schema (the
bundled ``references/``), an error is exactly ``{code, message, requestInfo: {method, params,
payload, time}}`` with the services' message footer. A scenario is a small function over a
:class:`Session` plus the ``(label, status, code)`` of each call it makes (``SCENARIOS``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import jsonschema
import slugid

import tcdyn
from tcdyn import utils

SCHEDULER = "tcdyn-parity"
PROJECT = "tcdyn-parity"
#: Every scope the scenarios need, so the real root client and the local one behave alike.
NEEDED_SCOPES = ("queue:*", "auth:current-scopes", "assume:*", "*")


@dataclass(frozen=True)
class Outcome:
    """One call as the server answered it."""

    label: str
    service: str
    name: str
    status: int
    code: str | None
    body: Any
    params: dict[str, str] = field(default_factory=dict)


class Session:
    """Clients of one deployment (the bundled v106 classes), recording every answer."""

    def __init__(self, root_url: str, credentials: tcdyn.Credentials) -> None:
        self.root_url = root_url
        self.credentials = credentials
        self.outcomes: list[Outcome] = []
        self._statuses: list[int] = []
        self._http = httpx.Client(event_hooks={"response": [self._seen]})

    def _seen(self, response: httpx.Response) -> None:
        self._statuses.append(response.status_code)

    def close(self) -> None:
        self._http.close()

    def client(self, service: str, credentials: Any = None, **options: Any) -> Any:
        """A bundled ``tcdyn.<service>`` on this deployment; ``maxRetries=0`` so a 5xx shows.
        ``credentials=False``: none at all."""
        options.setdefault("maxRetries", 0)
        if credentials is not False:
            options["credentials"] = credentials or self.credentials
        return getattr(tcdyn, service)(rootUrl=self.root_url, client=self._http, **options)

    def call(self, label: str, method: Any, *args: Any, **kwargs: Any) -> Outcome:
        """Call a bound client method; record its status, error code and body."""
        self._statuses.clear()
        try:
            body, code = method(*args, **kwargs), None
        except tcdyn.TaskclusterRestFailure as exc:
            body, code = exc.body, exc.code
        assert self._statuses, f"{label}: no response"
        entry = method.entry
        params = {name: str(value) for name, value in zip(entry.args, args[:len(entry.args)],
                                                             strict=True)}
        outcome = Outcome(label, type(method.__self__).serviceName, entry.name,
                          self._statuses[-1], code, body, params)
        self.outcomes.append(outcome)
        return outcome


# -- helpers --------------------------------------------------------------------------

def task_queue() -> str:
    return f"tcdyn-parity/w{slugid.nice().lower().replace('_', 'x').replace('-', 'y')[:20]}"


def stamp(expr: str) -> str:
    """``fromNow(expr)`` in milliseconds, the precision Taskcluster keeps (JavaScript's Date):
    sent so, a date comes back as sent (``stringDate`` writes microseconds, as the official
    client does)."""
    moment = utils.fromNow(expr)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def task_def(task_queue_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    task = {
        "taskQueueId": task_queue_id or task_queue(),
        "schedulerId": SCHEDULER,
        "projectId": PROJECT,
        "created": stamp("0 seconds"),
        "deadline": stamp("1 hour"),
        "expires": stamp("1 day"),
        "payload": {"command": ["true"]},
        "metadata": {"name": "tcdyn parity", "description": "tests/parity",
                     "owner": "tcdyn@example.com", "source": "https://example.com/tcdyn"},
    }
    task.update(overrides)
    return task


#: What the queue fills in for a task definition that leaves them out.
TASK_DEFAULTS = {"dependencies": [], "requires": "all-completed", "routes": [],
                 "priority": "lowest", "retries": 5, "scopes": [], "tags": {}, "extra": {}}


# -- the scenarios --------------------------------------------------------------------

def ping(s: Session) -> None:
    for service in ("Queue", "Auth"):
        out = s.call(f"{service}.ping", s.client(service).ping)
        assert out.body["alive"] is True and isinstance(out.body["uptime"], (int, float))
        assert set(out.body) == {"alive", "uptime"}


def create_task_idempotent(s: Session) -> None:
    queue, task_id, task = s.client("Queue"), slugid.nice(), task_def()
    first = s.call("createTask", queue.createTask, task_id, task).body["status"]
    again = s.call("createTask again, identical", queue.createTask, task_id, task)
    assert again.body["status"] == first
    assert first["taskId"] == task_id and first["state"] == "pending"
    assert [r["state"] for r in first["runs"]] == ["pending"]
    assert first["taskGroupId"] == task_id  # defaults to the taskId
    provisioner, worker = task["taskQueueId"].split("/")
    assert (first["provisionerId"], first["workerType"]) == (provisioner, worker)
    definition = s.call("task", queue.task, task_id).body
    assert {k: definition[k] for k in task} == task  # `created` and all kept as sent
    assert {k: definition[k] for k in TASK_DEFAULTS} == TASK_DEFAULTS
    assert s.call("status", queue.status, task_id).body == {"status": first}


def create_task_conflict(s: Session) -> None:
    queue, task_id, task = s.client("Queue"), slugid.nice(), task_def()
    s.call("createTask", queue.createTask, task_id, task)
    changed = {**task, "metadata": {**task["metadata"], "name": "another"}}
    s.call("createTask again, different", queue.createTask, task_id, changed)


def unknown_task(s: Session) -> None:
    queue, task_id = s.client("Queue"), slugid.nice()
    s.call("task of an unknown taskId", queue.task, task_id)
    s.call("status of an unknown taskId", queue.status, task_id)
    s.call("listTaskGroup of an unknown group", queue.listTaskGroup, task_id)


def invalid_arguments(s: Session) -> None:
    s.call("task('not-a-task-id')", s.client("Queue").task, "not-a-task-id")


def invalid_payload(s: Session) -> None:
    queue, task_id = s.client("Queue", validate=False), slugid.nice()
    out = s.call("createTask, priority 'urgent'", queue.createTask, task_id,
                 task_def(priority="urgent"))
    assert "priority" in out.body["message"]
    s.call("task: nothing was created", queue.task, task_id)


def insufficient_scopes(s: Session) -> None:
    queue, task_id = s.client("Queue"), slugid.nice()
    s.call("createTask", queue.createTask, task_id, task_def())
    weak = s.client("Queue", s.credentials.with_authorized_scopes(["queue:status:*"]))
    out = s.call("task without queue:get-task", weak.task, task_id)
    assert _missing(out) == [f"queue:get-task:{task_id}"]
    task = task_def(routes=["index.tcdyn-parity.x"])
    out = s.call("createTask without its scopes", weak.createTask, slugid.nice(), task)
    assert f"queue:route:{task['routes'][0]}" in _missing(out)
    assert f"queue:scheduler-id:{SCHEDULER}" in _missing(out)


def no_credentials(s: Session) -> None:
    out = s.call("task without credentials", s.client("Queue", False).task, slugid.nice())
    assert out.body["message"].startswith("This request requires Taskcluster credentials")
    s.call("ping without credentials", s.client("Queue", False).ping)


def _missing(out: Outcome) -> list[str]:
    """The scopes an InsufficientScopes message lists as missing (one scope as is, an
    expression as JSON)."""
    text = out.body["message"].split("```")[1].strip()
    return _scopes_in(json.loads(text)) if text.startswith("{") else [text]


def _scopes_in(expression: Any) -> list[str]:
    if isinstance(expression, str):
        return [expression]
    if isinstance(expression, list):
        return [s for item in expression for s in _scopes_in(item)]
    return [s for value in expression.values() for s in _scopes_in(value)]


def cancel_task(s: Session) -> None:
    queue, task_id = s.client("Queue"), slugid.nice()
    s.call("createTask", queue.createTask, task_id, task_def())
    status = s.call("cancelTask", queue.cancelTask, task_id).body["status"]
    assert status["state"] == "exception"
    assert [(r["state"], r["reasonResolved"]) for r in status["runs"]] == [
        ("exception", "canceled")]
    assert s.call("cancelTask again", queue.cancelTask, task_id).body["status"] == status
    assert s.call("status", queue.status, task_id).body["status"] == status
    s.call("cancelTask of an unknown taskId", queue.cancelTask, slugid.nice())


def list_task_group_pages(s: Session) -> None:
    queue, group = s.client("Queue"), slugid.nice()
    ids = sorted(slugid.nice() for _ in range(2))
    for task_id in ids:
        s.call("createTask in the group", queue.createTask, task_id, task_def(taskGroupId=group))
    first = s.call("listTaskGroup limit=1", queue.listTaskGroup, group,
                   query={"limit": 1}).body
    assert len(first["tasks"]) == 1 and first["taskGroupId"] == group
    assert first["schedulerId"] == SCHEDULER
    second = s.call("listTaskGroup next page", queue.listTaskGroup, group, query={
        "limit": 1, "continuationToken": first["continuationToken"]}).body
    assert len(second["tasks"]) == 1
    seen = [t["status"]["taskId"] for t in first["tasks"] + second["tasks"]]
    assert sorted(seen) == ids
    if "continuationToken" in second:  # allowed, but then the next page is empty
        third = s.call("listTaskGroup last page", queue.listTaskGroup, group, query={
            "limit": 1, "continuationToken": second["continuationToken"]}).body
        assert third["tasks"] == [] and "continuationToken" not in third
    every = s.call("listTaskGroup, no limit", queue.listTaskGroup, group).body
    assert sorted(t["status"]["taskId"] for t in every["tasks"]) == ids
    assert "continuationToken" not in every


def claim_and_complete(s: Session) -> None:
    queue, task_id, tq = s.client("Queue"), slugid.nice(), task_queue()
    s.call("createTask", queue.createTask, task_id, task_def(tq))
    claim = _claim(s, queue, tq)
    assert claim["status"]["taskId"] == task_id and claim["runId"] == 0
    assert claim["status"]["state"] == "running"
    assert claim["task"]["taskQueueId"] == tq
    run = claim["status"]["runs"][0]
    assert (run["workerGroup"], run["workerId"]) == ("tcdyn-parity", "w1")
    creds = tcdyn.Credentials.coerce(claim["credentials"])  # issued by the queue
    worker = s.client("Queue", creds)
    done = s.call("reportCompleted with the run's credentials", worker.reportCompleted,
                  task_id, "0").body["status"]
    assert done["state"] == "completed" and done["runs"][0]["reasonResolved"] == "completed"
    assert s.call("status", queue.status, task_id).body["status"] == done
    s.call("reportCompleted of another run", worker.reportCompleted, task_id, "1")


def _claim(s: Session, queue: Any, tq: str) -> dict[str, Any]:
    """claimWork until the task comes (the real queue long-polls; the task's pending message
    may take a moment to be seen)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = s.call("claimWork", queue.claimWork, tq, {
            "workerGroup": "tcdyn-parity", "workerId": "w1", "tasks": 1}).body
        if answer["tasks"]:
            return answer["tasks"][0]
    raise AssertionError(f"claimWork({tq!r}) gave nothing for 60 s")


def current_scopes(s: Session) -> None:
    scopes = ["auth:current-scopes", "queue:get-task:abc", "queue:status:abc"]
    auth = s.client("Auth", s.credentials.with_authorized_scopes(scopes))
    # every request also holds the anonymous role (empty on both deployments)
    answer = s.call("currentScopes", auth.currentScopes).body
    assert answer == {"scopes": ["assume:anonymous", *scopes]}
    weak = s.client("Auth", s.credentials.with_authorized_scopes(scopes[1:]))
    out = s.call("currentScopes without auth:current-scopes", weak.currentScopes)
    assert _missing(out) == ["auth:current-scopes"]


def _worker(s: Session, claim: Outcome) -> Any:
    """A Queue client with the run's own credentials, as a worker has them."""
    return s.client("Queue", tcdyn.Credentials.coerce(claim.body["credentials"]))


WORKER = {"workerGroup": "tcdyn-parity", "workerId": "w1"}


def claim_task_and_exception(s: Session) -> None:
    queue, task_id = s.client("Queue"), slugid.nice()
    s.call("createTask", queue.createTask, task_id, task_def(retries=1))
    claim = s.call("claimTask", queue.claimTask, task_id, "0", WORKER)
    assert claim.body["runId"] == 0 and claim.body["status"]["state"] == "running"
    assert claim.body["status"]["runs"][0]["workerId"] == "w1"
    again = s.call("claimTask again, same worker", queue.claimTask, task_id, "0", WORKER)
    assert again.body["status"] == claim.body["status"]
    s.call("claimTask by another worker", queue.claimTask, task_id, "0",
           {**WORKER, "workerId": "w2"})
    worker = _worker(s, claim)
    status = s.call("reportException worker-shutdown", worker.reportException, task_id, "0",
                    {"reason": "worker-shutdown"}).body["status"]
    assert [(r["state"], r.get("reasonResolved"), r["reasonCreated"])
            for r in status["runs"]] == [("exception", "worker-shutdown", "scheduled"),
                                         ("pending", None, "retry")]
    assert status["state"] == "pending" and status["retriesLeft"] == 0
    s.call("reportException again", worker.reportException, task_id, "0",
           {"reason": "worker-shutdown"})
    s.call("reportException, another reason", worker.reportException, task_id, "0",
           {"reason": "internal-error"})
    s.call("claimTask of the old run", queue.claimTask, task_id, "0", WORKER)
    retry = s.call("claimTask of the retry", queue.claimTask, task_id, "1", WORKER)
    done = s.call("reportException malformed-payload", _worker(s, retry).reportException,
                  task_id, "1", {"reason": "malformed-payload"}).body["status"]
    assert done["state"] == "exception" and len(done["runs"]) == 2  # no retries left
    s.call("claimTask of a run that does not exist", queue.claimTask, task_id, "5", WORKER)
    s.call("reportException of an unknown task", queue.reportException, slugid.nice(), "0",
           {"reason": "internal-error"})


def rerun_task(s: Session) -> None:
    queue, task_id = s.client("Queue"), slugid.nice()
    s.call("createTask", queue.createTask, task_id, task_def())
    s.call("rerunTask of a pending task", queue.rerunTask, task_id)
    claim = s.call("claimTask", queue.claimTask, task_id, "0", WORKER)
    s.call("reportFailed", _worker(s, claim).reportFailed, task_id, "0")
    status = s.call("rerunTask", queue.rerunTask, task_id).body["status"]
    assert [(r["state"], r["reasonCreated"]) for r in status["runs"]] == [
        ("failed", "scheduled"), ("pending", "rerun")]
    assert status["state"] == "pending" and status["retriesLeft"] == 5
    assert s.call("rerunTask again", queue.rerunTask, task_id).body["status"] == status
    s.call("reportFailed of the old run", _worker(s, claim).reportFailed, task_id, "0")
    s.call("rerunTask of an unknown task", queue.rerunTask, slugid.nice())


def artifacts(s: Session) -> None:
    queue, task_id = s.client("Queue"), slugid.nice()
    s.call("createTask", queue.createTask, task_id, task_def())
    s.call("listLatestArtifacts, no run yet claimed", queue.listLatestArtifacts, task_id)
    s.call("createArtifact on an unclaimed run", queue.createArtifact, task_id, "0",
           "public/x", {"storageType": "error", "expires": stamp("1 hour"),
                        "reason": "file-missing-on-worker", "message": "gone"})
    worker = _worker(s, s.call("claimTask", queue.claimTask, task_id, "0", WORKER))
    expires = stamp("2 hours")
    url = "https://example.com/tcdyn-parity/log.txt"
    for name, body in (
            ("public/ref", {"storageType": "reference", "url": url, "contentType": "text/plain"}),
            ("public/err", {"storageType": "error", "reason": "file-missing-on-worker",
                            "message": "no such file"}),
            ("public/link", {"storageType": "link", "artifact": "public/ref"})):
        answer = s.call(f"createArtifact {body['storageType']}", worker.createArtifact,
                        task_id, "0", name, {**body, "expires": expires}).body
        assert answer == {"storageType": body["storageType"]}
    s.call("createArtifact again, another storage type", worker.createArtifact, task_id, "0",
           "public/err", {"storageType": "reference", "url": url, "expires": expires,
                          "contentType": "text/plain"})
    first = s.call("listLatestArtifacts limit=2", queue.listLatestArtifacts, task_id,
                   query={"limit": 2}).body
    rest = s.call("listLatestArtifacts next page", queue.listLatestArtifacts, task_id,
                  query={"limit": 2, "continuationToken": first["continuationToken"]}).body
    listed = first["artifacts"] + rest["artifacts"]
    assert sorted(a["name"] for a in listed) == ["public/err", "public/link", "public/ref"]
    ref = next(a for a in listed if a["name"] == "public/ref")
    assert ref == {"storageType": "reference", "name": "public/ref", "expires": expires,
                   "contentType": "text/plain"}
    assert s.call("listArtifacts run 0", queue.listArtifacts, task_id, "0").body[
        "artifacts"] == s.call("listLatestArtifacts", queue.listLatestArtifacts,
                               task_id).body["artifacts"]
    s.call("listArtifacts run 1", queue.listArtifacts, task_id, "1")
    assert s.call("latestArtifactInfo", queue.latestArtifactInfo, task_id,
                  "public/ref").body == ref
    assert s.call("latestArtifact reference", queue.latestArtifact, task_id,
                  "public/ref").body == {"storageType": "reference", "url": url}
    assert s.call("latestArtifact link", queue.latestArtifact, task_id,
                  "public/link").body == {"storageType": "reference", "url": url}
    assert s.call("artifact error", queue.artifact, task_id, "0", "public/err").body == {
        "storageType": "error", "reason": "file-missing-on-worker", "message": "no such file"}
    assert s.call("getLatestArtifact reference", queue.getLatestArtifact, task_id,
                  "public/ref").body == {"storageType": "reference", "url": url}
    assert s.call("getArtifact link", queue.getArtifact, task_id, "0", "public/link").body == {
        "storageType": "reference", "url": url}
    assert s.call("getLatestArtifact error", queue.getLatestArtifact, task_id,
                  "public/err").body == {"reason": "file-missing-on-worker",
                                         "message": "no such file"}
    s.call("getLatestArtifact of a missing name", queue.getLatestArtifact, task_id, "public/no")
    s.call("latestArtifact of an unknown task", queue.latestArtifact, slugid.nice(), "public/x")
    weak = s.client("Queue", s.credentials.with_authorized_scopes(["queue:get-artifact:public/l*"]))
    out = s.call("getLatestArtifact link without its target's scope", weak.getLatestArtifact,
                 task_id, "public/link")
    assert _missing(out) == ["queue:get-artifact:public/ref"]


def s3_artifact(s: Session) -> None:
    # a private name: the queue signs its URL (moto's public bucket is not anonymous-readable)
    queue, task_id = s.client("Queue"), slugid.nice()
    s.call("createTask", queue.createTask, task_id, task_def())
    worker = _worker(s, s.call("claimTask", queue.claimTask, task_id, "0", WORKER))
    put = s.call("createArtifact s3", worker.createArtifact, task_id, "0", "private/a.txt", {
        "storageType": "s3", "contentType": "text/plain",
        "expires": stamp("2 hours")}).body
    assert put["storageType"] == "s3" and put["contentType"] == "text/plain"
    with httpx.Client() as http:
        http.put(put["putUrl"], content=b"tcdyn parity\n",
                 headers={"Content-Type": "text/plain"}).raise_for_status()
        got = s.call("getLatestArtifact s3", queue.getLatestArtifact, task_id,
                     "private/a.txt").body
        assert got["storageType"] == "s3"
        assert http.get(got["url"]).content == b"tcdyn parity\n"
        content = s.call("latestArtifact s3", queue.latestArtifact, task_id, "private/a.txt")
        assert http.get(content.body["url"]).content == b"tcdyn parity\n"
    s.call("reportCompleted", worker.reportCompleted, task_id, "0")
    s.call("createArtifact after completion", worker.createArtifact, task_id, "0",
           "private/b.txt", {"storageType": "s3", "contentType": "text/plain",
                            "expires": stamp("2 hours")})


def seal_and_cancel_task_group(s: Session) -> None:
    queue, group = s.client("Queue"), slugid.nice()
    tq = task_queue()
    ids = sorted(slugid.nice() for _ in range(2))
    for task_id in ids:
        s.call("createTask in the group", queue.createTask, task_id,
               task_def(tq, taskGroupId=group))
    info = s.call("getTaskGroup", queue.getTaskGroup, group).body
    assert "sealed" not in info and info["schedulerId"] == SCHEDULER
    s.call("cancelTaskGroup, not sealed", queue.cancelTaskGroup, group)
    sealed = s.call("sealTaskGroup", queue.sealTaskGroup, group).body
    assert sealed["taskGroupId"] == group and "sealed" in sealed
    assert s.call("sealTaskGroup again", queue.sealTaskGroup, group).body == sealed
    s.call("createTask in the sealed group", queue.createTask, slugid.nice(),
           task_def(tq, taskGroupId=group))
    cancelled = s.call("cancelTaskGroup", queue.cancelTaskGroup, group).body
    assert cancelled == {"taskGroupId": group, "taskGroupSize": 2, "cancelledCount": 2,
                         "taskIds": cancelled["taskIds"]}
    assert sorted(cancelled["taskIds"]) == ids
    again = s.call("cancelTaskGroup again", queue.cancelTaskGroup, group).body
    assert (again["cancelledCount"], again["taskIds"]) == (0, [])
    listed = s.call("listTaskGroup", queue.listTaskGroup, group).body
    assert listed["sealed"] == sealed["sealed"]
    assert {t["status"]["state"] for t in listed["tasks"]} == {"exception"}
    s.call("sealTaskGroup of an unknown group", queue.sealTaskGroup, slugid.nice())


def task_queues(s: Session) -> None:
    """A task queue is known once a worker was seen on it; its counts come from its tasks."""
    queue, tq = s.client("Queue"), task_queue()
    s.call("createTask", queue.createTask, slugid.nice(), task_def(tq))
    s.call("getTaskQueue before a worker claimed", queue.getTaskQueue, tq)
    counts = s.call("taskQueueCounts", queue.taskQueueCounts, tq).body
    assert (counts["pendingTasks"], counts["claimedTasks"]) == (1, 0), counts
    _claim(s, queue, tq)
    seen = s.call("getTaskQueue", queue.getTaskQueue, tq).body
    assert (seen["taskQueueId"], seen["stability"], seen["description"]) == (
        tq, "experimental", "")
    s.call("createTask", queue.createTask, slugid.nice(), task_def(tq))
    counts = s.call("taskQueueCounts", queue.taskQueueCounts, tq).body
    assert (counts["pendingTasks"], counts["claimedTasks"]) == (1, 1), counts
    assert counts["taskQueueId"] == tq and counts["workerType"] == tq.split("/")[1]
    s.call("listTaskQueues limit=1", queue.listTaskQueues, query={"limit": 1})


def expand_scopes(s: Session) -> None:
    auth = s.client("Auth")
    answer = s.call("expandScopes", auth.expandScopes, {"scopes": [
        "queue:b", "queue:a", "secrets:get:tcdyn-parity/*",
        "secrets:get:tcdyn-parity/x"]}).body
    assert answer == {"scopes": ["queue:a", "queue:b", "secrets:get:tcdyn-parity/*"]}


@dataclass(frozen=True)
class Scenario:
    fn: Callable[[Session], None]
    #: (label, status, code) of each call, in order; a label repeated by a loop is listed
    #: once per call.
    steps: tuple[tuple[str, int, str | None], ...]


def _claimed(steps: list[tuple[str, int, str | None]]) -> list[tuple[str, int, str | None]]:
    """claimWork may answer empty before the task shows: fold those repeats."""
    out: list[tuple[str, int, str | None]] = []
    for step in steps:
        if not (out and step[0] == "claimWork" and out[-1] == step):
            out.append(step)
    return out


OK = None
SCENARIOS: dict[str, Scenario] = {
    "ping": Scenario(ping, (("Queue.ping", 200, OK), ("Auth.ping", 200, OK))),
    "createTask idempotent": Scenario(create_task_idempotent, (
        ("createTask", 200, OK), ("createTask again, identical", 200, OK), ("task", 200, OK),
        ("status", 200, OK))),
    "createTask conflicting": Scenario(create_task_conflict, (
        ("createTask", 200, OK), ("createTask again, different", 409, "RequestConflict"))),
    "unknown task": Scenario(unknown_task, (
        ("task of an unknown taskId", 404, "ResourceNotFound"),
        ("status of an unknown taskId", 404, "ResourceNotFound"),
        ("listTaskGroup of an unknown group", 404, "ResourceNotFound"))),
    "invalid request arguments": Scenario(invalid_arguments, (
        ("task('not-a-task-id')", 400, "InvalidRequestArguments"),)),
    "invalid payload, validate=False": Scenario(invalid_payload, (
        ("createTask, priority 'urgent'", 400, "InputValidationError"),
        ("task: nothing was created", 404, "ResourceNotFound"))),
    "insufficient scopes": Scenario(insufficient_scopes, (
        ("createTask", 200, OK), ("task without queue:get-task", 403, "InsufficientScopes"),
        ("createTask without its scopes", 403, "InsufficientScopes"))),
    "no credentials": Scenario(no_credentials, (
        ("task without credentials", 403, "InsufficientScopes"),
        ("ping without credentials", 200, OK))),
    "cancelTask": Scenario(cancel_task, (
        ("createTask", 200, OK), ("cancelTask", 200, OK), ("cancelTask again", 200, OK),
        ("status", 200, OK), ("cancelTask of an unknown taskId", 404, "ResourceNotFound"))),
    "listTaskGroup paging": Scenario(list_task_group_pages, (
        ("createTask in the group", 200, OK), ("createTask in the group", 200, OK),
        ("listTaskGroup limit=1", 200, OK), ("listTaskGroup next page", 200, OK),
        ("listTaskGroup, no limit", 200, OK))),
    "claimWork and reportCompleted": Scenario(claim_and_complete, (
        ("createTask", 200, OK), ("claimWork", 200, OK),
        ("reportCompleted with the run's credentials", 200, OK), ("status", 200, OK),
        ("reportCompleted of another run", 403, "InsufficientScopes"))),
    "claimTask and reportException": Scenario(claim_task_and_exception, (
        ("createTask", 200, OK), ("claimTask", 200, OK),
        ("claimTask again, same worker", 200, OK),
        ("claimTask by another worker", 409, "RequestConflict"),
        ("reportException worker-shutdown", 200, OK), ("reportException again", 200, OK),
        ("reportException, another reason", 409, "RequestConflict"),
        ("claimTask of the old run", 409, "RequestConflict"),
        ("claimTask of the retry", 200, OK), ("reportException malformed-payload", 200, OK),
        ("claimTask of a run that does not exist", 404, "ResourceNotFound"),
        ("reportException of an unknown task", 404, "ResourceNotFound"))),
    "rerunTask": Scenario(rerun_task, (
        ("createTask", 200, OK), ("rerunTask of a pending task", 200, OK),
        ("claimTask", 200, OK), ("reportFailed", 200, OK), ("rerunTask", 200, OK),
        ("rerunTask again", 200, OK),
        ("reportFailed of the old run", 409, "RequestConflict"),
        ("rerunTask of an unknown task", 404, "ResourceNotFound"))),
    "artifacts": Scenario(artifacts, (
        ("createTask", 200, OK), ("listLatestArtifacts, no run yet claimed", 200, OK),
        ("createArtifact on an unclaimed run", 400, "InputError"), ("claimTask", 200, OK),
        ("createArtifact reference", 200, OK), ("createArtifact error", 200, OK),
        ("createArtifact link", 200, OK),
        ("createArtifact again, another storage type", 409, "RequestConflict"),
        ("listLatestArtifacts limit=2", 200, OK), ("listLatestArtifacts next page", 200, OK),
        ("listArtifacts run 0", 200, OK), ("listLatestArtifacts", 200, OK),
        ("listArtifacts run 1", 404, "ResourceNotFound"), ("latestArtifactInfo", 200, OK),
        ("latestArtifact reference", 200, OK), ("latestArtifact link", 200, OK),
        ("artifact error", 200, OK), ("getLatestArtifact reference", 303, OK),
        ("getArtifact link", 303, OK), ("getLatestArtifact error", 424, OK),
        ("getLatestArtifact of a missing name", 404, "ResourceNotFound"),
        ("latestArtifact of an unknown task", 404, "ResourceNotFound"),
        ("getLatestArtifact link without its target's scope", 403, "InsufficientScopes"))),
    "s3 artifact": Scenario(s3_artifact, (
        ("createTask", 200, OK), ("claimTask", 200, OK), ("createArtifact s3", 200, OK),
        ("getLatestArtifact s3", 303, OK), ("latestArtifact s3", 200, OK),
        ("reportCompleted", 200, OK),
        ("createArtifact after completion", 409, "RequestConflict"))),
    "sealTaskGroup and cancelTaskGroup": Scenario(seal_and_cancel_task_group, (
        ("createTask in the group", 200, OK), ("createTask in the group", 200, OK),
        ("getTaskGroup", 200, OK), ("cancelTaskGroup, not sealed", 409, "RequestConflict"),
        ("sealTaskGroup", 200, OK), ("sealTaskGroup again", 200, OK),
        ("createTask in the sealed group", 409, "RequestConflict"),
        ("cancelTaskGroup", 200, OK), ("cancelTaskGroup again", 200, OK),
        ("listTaskGroup", 200, OK),
        ("sealTaskGroup of an unknown group", 404, "ResourceNotFound"))),
    "task queues": Scenario(task_queues, (
        ("createTask", 200, OK),
        ("getTaskQueue before a worker claimed", 404, "ResourceNotFound"),
        ("taskQueueCounts", 200, OK), ("claimWork", 200, OK), ("getTaskQueue", 200, OK),
        ("createTask", 200, OK), ("taskQueueCounts", 200, OK),
        ("listTaskQueues limit=1", 200, OK))),
    "auth.expandScopes": Scenario(expand_scopes, (("expandScopes", 200, OK),)),
    "auth.currentScopes": Scenario(current_scopes, (
        ("currentScopes", 200, OK),
        ("currentScopes without auth:current-scopes", 403, "InsufficientScopes"))),
}


# -- the checks -----------------------------------------------------------------------

def run(name: str, session: Session) -> list[Outcome]:
    """Run one scenario; check every call's status, code and shape; return the calls."""
    scenario = SCENARIOS[name]
    session.outcomes.clear()
    scenario.fn(session)
    got = [(o.label, o.status, o.code) for o in session.outcomes]
    got = [g for g in _claimed(got) if g[0] != "listTaskGroup last page"]
    assert got == list(scenario.steps), f"{name}: {got}"
    for outcome in session.outcomes:
        check_shape(outcome)
    return list(session.outcomes)


def check_shape(out: Outcome) -> None:
    """A success validates against the entry's v106 output schema; an error has exactly the
    services' error shape."""
    method = getattr(getattr(tcdyn, _class_name(out.service)), out.name)
    if out.status == 424:  # an error artifact: its reason and message, not an error body
        assert out.name in ("getArtifact", "getLatestArtifact"), out
        assert set(out.body) == {"reason", "message"}, out
        return
    if out.code is None:
        assert 200 <= out.status < 300 or (out.status == 303 and out.name in (
            "getArtifact", "getLatestArtifact")), out
        schema = method.output_schema
        if schema is not None:
            validator = jsonschema.Draft6Validator(
                schema, format_checker=jsonschema.Draft6Validator.FORMAT_CHECKER)
            errors = [f"{list(e.absolute_path)}: {e.message}"
                      for e in validator.iter_errors(out.body)]
            assert not errors, f"{out.label}: {errors}"
        return
    check_error(out)


def check_error(out: Outcome) -> None:
    body = out.body
    assert isinstance(body, dict) and set(body) == {"code", "message", "requestInfo"}, body
    assert body["code"] == out.code
    info = body["requestInfo"]
    assert set(info) == {"method", "params", "payload", "time"}, info
    assert info["method"] == out.name
    assert info["params"] == out.params
    assert isinstance(info["payload"], dict)
    stamp = info["time"]
    assert stamp.endswith("Z") and datetime.fromisoformat(stamp[:-1]), stamp
    footer = (f"\n\n---\n\n* method:     {out.name}\n* errorCode:  {out.code}\n"
              f"* statusCode: {out.status}\n* time:       {stamp}")
    assert body["message"].endswith(footer), body["message"]


def _class_name(service: str) -> str:
    return "".join(word.capitalize() for word in service.split("-"))
