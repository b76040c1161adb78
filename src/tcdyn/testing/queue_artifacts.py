"""The artifacts of ``tcdyn.testing.queue.InMemoryQueue``, as the v106 queue keeps them.

``createArtifact`` (storage types ``s3``, ``reference``, ``link`` and ``error``; the bytes of
``s3`` artifacts go to a loopback ``tcdyn.testing.objects.Storage`` through the ``putUrl``,
presigned as the queue's ``createPutUrl`` does: 45 min + 10 s, the content type signed),
``listArtifacts``/``listLatestArtifacts`` (paged), ``artifactInfo``/``latestArtifactInfo``,
``artifact``/``latestArtifact`` and ``getArtifact``/``getLatestArtifact`` (a 303 to the
bytes, links followed, an ``error`` artifact a 424), following
``services/queue/src/artifacts.js``. ``object`` artifacts (which need the object service)
are not imitated.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from . import queue_clock as clock
from .objects import Storage
from .server import ApiRequest, LocalDeployment, Reply, error

if TYPE_CHECKING:
    from .queue import InMemoryQueue, _Task

LIVE_LOG = "public/logs/live.log"
#: How long an ``exception`` run still accepts artifacts after its resolution.
EXCEPTION_GRACE = dt.timedelta(minutes=25)


class InMemoryArtifacts:
    """Artifact records per ``(taskId, runId, name)``; installed by the queue."""

    def __init__(self, queue: InMemoryQueue, storage: Storage | None) -> None:
        self.queue = queue
        self.storage = storage
        self.records: dict[tuple[str, int, str], dict[str, Any]] = {}

    def install(self, deployment: LocalDeployment) -> None:
        for name in ("createArtifact", "listArtifacts", "listLatestArtifacts", "artifactInfo",
                     "latestArtifactInfo", "artifact", "latestArtifact", "getArtifact",
                     "getLatestArtifact"):
            deployment.handle("queue", name, getattr(self, f"_{name}"))

    # -- the live log -----------------------------------------------------------------

    def add_live_log(self, task: _Task, run_id: int) -> None:
        """A ``public/logs/live.log`` for a new run (what a worker would create)."""
        assert self.storage is not None
        self.records[(task.task_id, run_id, LIVE_LOG)] = {
            "storageType": "s3", "name": LIVE_LOG, "contentType": "text/plain",
            "expires": task.definition["expires"], "details": {}}
        self.storage.objects[_key(task.task_id, run_id, LIVE_LOG)] = (
            b"", "text/plain; charset=utf-8")

    def append_log(self, task_id: str, run_id: int, line: str) -> None:
        assert self.storage is not None
        key = _key(task_id, run_id, LIVE_LOG)
        data, content_type = self.storage.objects.get(key, (b"", "text/plain; charset=utf-8"))
        stamp = dt.datetime.now(dt.UTC).strftime("%H:%M:%S")
        self.storage.objects[key] = (data + f"[{stamp}] {line}\n".encode(), content_type)

    # -- creating -----------------------------------------------------------------------

    def _createArtifact(self, request: ApiRequest) -> Any:

        task_id, run_id, name = (request.params["taskId"], int(request.params["runId"]),
                                 request.params["name"])
        body = request.payload
        expires = clock.parse_time(body["expires"])
        if expires < clock.now() - dt.timedelta(minutes=15):
            return error(400, "InputError", "Expires must be in the future")
        task = self.queue.tasks.get(task_id)
        if task is None:
            return error(400, "InputError", "Task not found")
        if run_id >= len(task.runs):
            return error(400, "InputError", "Run not found")
        run = task.runs[run_id]
        if not run.get("workerGroup") or not run.get("workerId"):
            return error(400, "InputError", "Run was not claimed by a worker and so no "
                         "artifacts can exist")
        if expires > clock.parse_time(task.definition["expires"]):
            return error(400, "InputError", f"Artifact expires ({clock.js(expires)}) after the "
                         f"task expiration {task.definition['expires']} (task.expires < expires) - "
                         "this is not allowed, artifacts may not expire after the task they "
                         "belong to expires")
        if run["state"] != "running" and not (
                run["state"] == "exception"
                and clock.parse_time(run["resolved"]) > clock.now() - EXCEPTION_GRACE):
            return error(409, "RequestConflict", "Artifacts cannot be created for a task after "
                         "it is resolved, unless it is resolved 'exception', and even in this "
                         "case only up to 25 min past resolution.This to ensure that artifacts "
                         "have been uploaded before a task is 'completed' and output is "
                         "consumed by a dependent task\n\nTask status: "
                         + json.dumps(task.status()))
        storage_type = body["storageType"]
        if storage_type == "object":
            return error(500, "InternalServerError", "object artifacts are not imitated "
                         "(tcdyn.testing.queue_artifacts): use s3, reference, link or error")
        if storage_type == "s3" and self.storage is None:
            return error(500, "InternalServerError", "s3 artifacts need a storage host: "
                         "InMemoryQueue(storage=tcdyn.testing.objects.Storage().start())")
        details = {"reference": {"url": body.get("url")}, "link": {"artifact": body.get(
            "artifact")}, "error": {"message": body.get("message"), "reason": body.get(
            "reason")}}.get(storage_type, {})
        content_type = body.get("contentType") or "application/binary"
        record = {"storageType": storage_type, "name": name, "contentType": content_type,
                  "expires": clock.js(expires), "details": details}
        key = (task_id, run_id, name)
        original = self.records.get(key)
        if original is not None and not _compatible(original, record):
            return error(409, "RequestConflict", "Artifact already exists with different "
                         "properties, and none of the allowed exceptions apply: " + json.dumps(
                             {k: original[k] for k in ("storageType", "contentType",
                                                       "expires")}))
        self.records[key] = record
        if storage_type != "s3":
            return {"storageType": storage_type}
        assert self.storage is not None
        return {"storageType": "s3", "contentType": content_type,
                "expires": clock.js(clock.now() + dt.timedelta(minutes=45)),
                "putUrl": self.storage.url(_key(*key), "PUT", expires_in=45 * 60 + 10,
                                           headers={"Content-Type": content_type})}

    # -- listing ------------------------------------------------------------------------

    def _latest_run(self, task_id: str) -> int | Reply:
        task = self.queue.tasks.get(task_id)
        if task is None:
            return error(404, "ResourceNotFound", "Task not found")
        if not task.runs:
            return error(404, "ResourceNotFound", "Task doesn't have any runs")
        return len(task.runs) - 1

    def _list(self, request: ApiRequest, task_id: str, run_id: int) -> Any:

        names = sorted(n for (t, r, n) in self.records if (t, r) == (task_id, run_id))
        page = clock.page(request, names)
        if isinstance(page, Reply):
            return page
        names, token = page
        answer: dict[str, Any] = {"artifacts": [
            _serialize(self.records[(task_id, run_id, n)]) for n in names]}
        if token:
            answer["continuationToken"] = token
        return answer

    def _listArtifacts(self, request: ApiRequest) -> Any:
        task_id, run_id = request.params["taskId"], int(request.params["runId"])
        latest = self._latest_run(task_id)
        if isinstance(latest, Reply):
            return latest
        if run_id > latest:
            return error(404, "ResourceNotFound", f"Task with taskId: `{task_id}` has no run "
                         f"with runId: {run_id}")
        return self._list(request, task_id, run_id)

    def _listLatestArtifacts(self, request: ApiRequest) -> Any:
        latest = self._latest_run(request.params["taskId"])
        if isinstance(latest, Reply):
            return latest
        return self._list(request, request.params["taskId"], latest)

    def _info(self, task_id: str, run_id: int, name: str) -> Any:
        record = self.records.get((task_id, run_id, name))
        return _serialize(record) if record else error(404, "ResourceNotFound",
                                                       "Artifact not found")

    def _artifactInfo(self, request: ApiRequest) -> Any:
        p = request.params
        return self._info(p["taskId"], int(p["runId"]), p["name"])

    def _latestArtifactInfo(self, request: ApiRequest) -> Any:
        latest = self._latest_run(request.params["taskId"])
        if isinstance(latest, Reply):
            return latest
        return self._info(request.params["taskId"], latest, request.params["name"])

    # -- reading ------------------------------------------------------------------------

    def _follow(self, request: ApiRequest, task_id: str, run_id: int, name: str
                ) -> dict[str, Any] | Reply:
        """``getArtifactFollowingLinks``: authorize every name on the way."""

        names: list[str] = []
        while True:
            names.append(name)
            denied = self.queue.deployment.authorize(request, {"names": list(names)})
            if denied is not None:
                return denied
            record = self.records.get((task_id, run_id, name))
            if record is None:
                return error(404, "ResourceNotFound", "Artifact not found")
            if record["expires"] < clock.js(clock.now()):
                return error(410, "ResourceExpired", "Artifact expired")
            if record["storageType"] != "link":
                return record
            name = record["details"]["artifact"]
            if name in names:
                return error(400, "InputError", "Artifact leads to a link cycle")

    def _content(self, request: ApiRequest, task_id: str, run_id: int) -> Any:
        record = self._follow(request, task_id, run_id, request.params["name"])
        if isinstance(record, Reply):
            return record
        kind = record["storageType"]
        if kind == "error":
            return {"storageType": kind, **record["details"]}
        return {"storageType": kind, "url": self._url(task_id, run_id, record)}

    def _download(self, request: ApiRequest, task_id: str, run_id: int) -> Any:
        record = self._follow(request, task_id, run_id, request.params["name"])
        if isinstance(record, Reply):
            return record
        kind = record["storageType"]
        headers = {"x-taskcluster-artifact-storage-type": kind}
        if kind == "error":
            return Reply({"reason": record["details"]["reason"],
                          "message": record["details"]["message"]}, 424, headers)
        url = self._url(task_id, run_id, record)
        return Reply({"storageType": kind, "url": url}, 303, {**headers, "Location": url})

    def _url(self, task_id: str, run_id: int, record: dict[str, Any]) -> str:
        if record["storageType"] == "reference":
            url: str = record["details"]["url"]
            return url
        assert self.storage is not None  # signed for 30 min, as the queue with
        # signPublicArtifactUrls (or for the private bucket) signs its s3 GET URLs
        return self.storage.url(_key(task_id, run_id, record["name"]), expires_in=30 * 60)

    def _artifact(self, request: ApiRequest) -> Any:
        return self._content(request, request.params["taskId"], int(request.params["runId"]))

    def _latestArtifact(self, request: ApiRequest) -> Any:
        latest = self._latest_run(request.params["taskId"])
        return latest if isinstance(latest, Reply) else self._content(
            request, request.params["taskId"], latest)

    def _getArtifact(self, request: ApiRequest) -> Any:
        return self._download(request, request.params["taskId"], int(request.params["runId"]))

    def _getLatestArtifact(self, request: ApiRequest) -> Any:
        # the scopes are checked before a missing task or run is reported
        denied = self.queue.deployment.authorize(request, {"names": [request.params["name"]]})
        if denied is not None:
            return denied
        latest = self._latest_run(request.params["taskId"])
        return latest if isinstance(latest, Reply) else self._download(
            request, request.params["taskId"], latest)


def _key(task_id: str, run_id: int, name: str) -> str:
    return f"{task_id}/{run_id}/{name}"


def _serialize(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in ("storageType", "name", "expires", "contentType")}


def _compatible(original: dict[str, Any], new: dict[str, Any]) -> bool:
    """``createArtifactCallsCompatible``: the same artifact again, a later ``expires``, new
    details for a ``reference``, or a ``link`` replacing a ``reference``."""
    if new["storageType"] != "link" and original["contentType"] != new["contentType"]:
        return False
    if original["expires"] > new["expires"]:
        return False
    if original["storageType"] == new["storageType"]:
        return bool(original["details"] == new["details"]
                    or new["storageType"] == "reference")
    return (original["storageType"], new["storageType"]) == ("reference", "link")
