"""``tcdyn serve [--port P] [--references DIR] [--client ID:TOKEN[:SCOPE,...]]``.

The local deployment of ``tcdyn.testing`` (Hawk checked) with a small in-memory queue: tasks
get a pending run and a ``public/logs/live.log`` served by a second loopback "storage host";
``claimTask``, ``reportCompleted``, ``cancelTask``, ``rerunTask``, ``listLatestArtifacts``,
``latestArtifact``/``getLatestArtifact`` and ``auth.expandScopes`` answer as the services
do (roles are not expanded). It prints ``export TASKCLUSTER_*`` lines for a client holding
``*`` (a fresh token each start) and runs until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .output import UsageError

DEFAULT_CLIENT = "tcdyn-serve"


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", help="run a local deployment (for your own tests)",
                       description=__doc__.split("\n\n", 1)[1] if __doc__ else None)
    p.add_argument("--port", type=int, default=0, help="default: any free port")
    p.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (loopback)")
    p.add_argument("--references", metavar="DIR", help="serve this mirror (default: bundled)")
    p.add_argument("--client", action="append", default=[], metavar="ID:TOKEN[:SCOPES]",
                   help="a test client of this local deployment (scopes comma-separated; "
                        "default '*'); repeat for more")
    p.add_argument("--check-scopes", action="store_true",
                   help="refuse calls whose scopes the caller lacks (403)")
    p.set_defaults(run=_serve)


def parse_client(text: str) -> tuple[str, Any]:
    from ..testing.auth import ClientRecord

    client_id, _, rest = text.partition(":")
    token, _, scopes = rest.partition(":")
    if not client_id or not token:
        raise UsageError(f"--client {client_id or '?'}:...: expected ID:TOKEN[:SCOPE,...]")
    return client_id, ClientRecord(token, tuple(scopes.split(",")) if scopes else ("*",))


def _serve(args: argparse.Namespace) -> int:
    import slugid

    from ..testing.auth import ClientRecord
    from ..testing.server import LocalDeployment

    clients = dict(parse_client(c) for c in args.client)
    token = None
    if not clients:
        token = slugid.nice() + slugid.nice()
        clients[DEFAULT_CLIENT] = ClientRecord(token, ("*",))
    storage = Storage(args.host)
    deployment = LocalDeployment(args.references, clients=clients, host=args.host,
                                 port=args.port, check_scopes=args.check_scopes)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with storage, deployment:
        ServeQueue(storage).install(deployment)
        deployment.handle("auth", "expandScopes",
                          lambda req: {"scopes": sorted(set(req.payload.get("scopes", [])))})
        print(f"export TASKCLUSTER_ROOT_URL={deployment.root_url}")
        if token is not None:  # the local deployment's own test client, printed on purpose
            print(f"export TASKCLUSTER_CLIENT_ID={DEFAULT_CLIENT}")
            print(f"export TASKCLUSTER_ACCESS_TOKEN={token}")
        sys.stdout.flush()
        print(f"tcdyn serve: serving {deployment.references.describe()} at "
              f"{deployment.root_url}; Ctrl-C to stop", file=sys.stderr, flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    print("tcdyn serve: stopped", file=sys.stderr, flush=True)
    return 0


class Storage:
    """A loopback "storage host" serving artifact bytes at ``/<taskId>/<name>``."""

    def __init__(self, host: str) -> None:
        self.blobs: dict[str, bytes] = {}
        blobs = self.blobs

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                data = blobs.get(self.path.lstrip("/").split("?", 1)[0])
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def append(self, key: str, line: str) -> None:
        now = dt.datetime.now(dt.timezone.utc).strftime("%H:%M:%S")
        self.blobs[key] = self.blobs.get(key, b"") + f"[{now}] {line}\n".encode()

    def __enter__(self) -> Storage:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class ServeQueue:
    """The in-memory queue of ``tcdyn.testing.queue`` with runs, logs and a few actions."""

    LOG = "public/logs/live.log"

    def __init__(self, storage: Storage) -> None:
        from ..testing.queue import InMemoryQueue

        self.base = InMemoryQueue()
        self.storage = storage
        self.runs: dict[str, list[dict[str, Any]]] = {}

    def install(self, deployment: Any) -> ServeQueue:
        self.base.install(deployment)
        self.base._status = self._status  # type: ignore[method-assign]
        for name in ("status", "createTask", "claimTask", "reportCompleted", "cancelTask",
                     "rerunTask", "listLatestArtifacts", "latestArtifact",
                     "getLatestArtifact"):
            deployment.handle("queue", name, getattr(self, f"_{name}"))
        return self

    def _missing(self, task_id: str) -> Any:
        from ..testing.server import error

        return error(404, "ResourceNotFound", f"Task {task_id} not found")

    def _status(self, request: Any) -> Any:
        task_id = request.params["taskId"]
        task = self.base.tasks.get(task_id)
        if task is None:
            return self._missing(task_id)
        runs = self.runs.get(task_id, [])
        return {"status": {"taskId": task_id, "taskGroupId": task["taskGroupId"],
                           "provisionerId": task.get("provisionerId"),
                           "workerType": task.get("workerType"),
                           "state": runs[-1]["state"] if runs else "unscheduled",
                           "runs": runs, "deadline": task.get("deadline"),
                           "expires": task.get("expires")}}

    def _createTask(self, request: Any) -> Any:
        task_id = request.params["taskId"]
        fresh = task_id not in self.base.tasks
        answer = self.base._createTask(request)
        if fresh and task_id in self.base.tasks:
            self._new_run(task_id, "scheduled")
        return self._status(request) if task_id in self.base.tasks else answer

    def _new_run(self, task_id: str, reason: str) -> None:
        runs = self.runs.setdefault(task_id, [])
        runs.append({"runId": len(runs), "state": "pending", "reasonCreated": reason,
                     "scheduled": _now()})
        self.storage.append(f"{task_id}/{self.LOG}", f"run {len(runs) - 1} {reason}")

    def _run(self, request: Any) -> tuple[dict[str, Any] | None, Any]:
        task_id = request.params["taskId"]
        runs = self.runs.get(task_id)
        if not runs:
            return None, self._missing(task_id)
        run_id = int(request.params.get("runId", len(runs) - 1))
        if not 0 <= run_id < len(runs):
            from ..testing.server import error

            return None, error(404, "ResourceNotFound", f"Run {run_id} not found")
        return runs[run_id], None

    def _claimTask(self, request: Any) -> Any:
        run, missing = self._run(request)
        if run is None:
            return missing
        if run["state"] != "pending":
            from ..testing.server import error

            return error(409, "RequestConflict", f"run {run['runId']} is {run['state']}")
        worker = request.payload or {}
        run.update(state="running", started=_now(), workerGroup=worker.get("workerGroup"),
                   workerId=worker.get("workerId"))
        self.storage.append(f"{request.params['taskId']}/{self.LOG}",
                            f"run {run['runId']} claimed by {worker.get('workerGroup')}/"
                            f"{worker.get('workerId')}")
        task = self.base.tasks[request.params["taskId"]]
        return {**self._status(request), "runId": run["runId"], "task": task,
                "workerGroup": worker.get("workerGroup"), "workerId": worker.get("workerId"),
                "takenUntil": _now(), "credentials": {"clientId": "x", "accessToken": "x"}}

    def _reportCompleted(self, request: Any) -> Any:
        return self._resolve(request, "completed", "completed")

    def _resolve(self, request: Any, state: str, reason: str) -> Any:
        run, missing = self._run(request)
        if run is None:
            return missing
        run.update(state=state, reasonResolved=reason, resolved=_now())
        self.storage.append(f"{request.params['taskId']}/{self.LOG}",
                            f"run {run['runId']} {state}")
        return self._status(request)

    def _cancelTask(self, request: Any) -> Any:
        runs = self.runs.get(request.params["taskId"])
        if not runs:
            return self._missing(request.params["taskId"])
        if runs[-1]["state"] in ("pending", "running"):
            return self._resolve(request, "exception", "canceled")
        return self._status(request)

    def _rerunTask(self, request: Any) -> Any:
        if not self.runs.get(request.params["taskId"]):
            return self._missing(request.params["taskId"])
        self._new_run(request.params["taskId"], "rerun")
        return self._status(request)

    def _listLatestArtifacts(self, request: Any) -> Any:
        task_id = request.params["taskId"]
        if task_id not in self.base.tasks:
            return self._missing(task_id)
        names = sorted(k.split("/", 1)[1] for k in self.storage.blobs
                       if k.startswith(f"{task_id}/"))
        return {"artifacts": [{"storageType": "s3", "name": n, "contentType": "text/plain",
                               "expires": self.base.tasks[task_id].get("expires")}
                              for n in names]}

    def _latestArtifact(self, request: Any) -> Any:
        key = f"{request.params['taskId']}/{request.params['name']}"
        if key not in self.storage.blobs:
            from ..testing.server import error

            return error(404, "ResourceNotFound", f"Artifact {request.params['name']} "
                         "not found")
        return {"storageType": "s3", "url": f"{self.storage.url}/{key}"}

    def _getLatestArtifact(self, request: Any) -> Any:
        from ..testing.server import Reply

        answer = self._latestArtifact(request)
        if not isinstance(answer, dict):
            return answer
        return Reply(answer, 303, {"Location": answer["url"]})
