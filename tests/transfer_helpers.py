"""Helpers of the transfer tests: a storage host that serves any headers, gzip bombs, and
the v106 queue's object artifacts as handlers of a ``LocalDeployment``."""

from __future__ import annotations

import contextlib
import functools
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from helpers import CREDS
from tcdyn.testing.objects import InMemoryObjects, Storage
from tcdyn.testing.server import LocalDeployment, Reply, error

MiB = 1024 * 1024
EXPIRES = "2100-01-01T00:00:00.000Z"
UPLOAD_ID = "fK4kZGOFSKi3rQKOe5hhrQ"


class Host:
    """A storage host serving ``routes[path] = (status, headers, body)`` as given (any
    ``Content-Encoding``, whatever was asked for); it records what it was asked."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.seen: list[dict[str, str]] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                host.seen.append({k.lower(): v for k, v in self.headers.items()})
                status, headers, body = host.routes.get(self.path.split("?")[0],
                                                        (404, {}, b"no such key"))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def gzip(data_or_size: bytes | int) -> bytes:
    """``data``, or that many zero bytes, gzip-compressed (level 9: ~1,000 to 1)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    if isinstance(data_or_size, bytes):
        return packer.compress(data_or_size) + packer.flush()
    zeros = bytes(MiB)
    parts = [packer.compress(zeros) for _ in range(data_or_size // MiB)]
    return b"".join(parts) + packer.flush()


def serve_artifact(dep: LocalDeployment, url: str, kind: str = "reference") -> None:
    """The queue answers every artifact with ``url`` (a reference or s3 artifact)."""
    answer = {"storageType": kind, "url": url}
    dep.handle("queue", "artifact", lambda req: answer)
    dep.handle("queue", "latestArtifact", lambda req: answer)


class V106Artifacts:
    """The v106 queue's object artifacts (``services/queue/src/artifacts.js``): a second
    ``createArtifact`` of one name asks the object service for a new upload of the same
    object, which conflicts (the queue then answers 500); ``artifactInfo`` and ``artifact``
    answer 404 until ``finishArtifact``; ``finishArtifact`` answers 404 for no artifact, 400
    for a wrong uploadId, 204 again for a finished one. ``grant`` is what the caller's
    credentials hold: ``"all"`` or ``"run"`` (a run's own: create-artifact only)."""

    def __init__(self, dep: LocalDeployment, objects: InMemoryObjects) -> None:
        self.dep, self.objects = dep, objects
        self.records: dict[str, dict[str, Any]] = {}
        self.grant = "all"
        for name in ("task", "createArtifact", "finishArtifact", "artifactInfo", "artifact"):
            dep.handle("queue", name, getattr(self, name))

    def _denied(self, req: Any, scope: str) -> Reply | None:
        if self.grant == "run":
            return error(403, "InsufficientScopes", f"client lacks {scope}")
        return None

    def task(self, req: Any) -> Any:
        return self._denied(req, "queue:get-task") or {"expires": EXPIRES}

    def createArtifact(self, req: Any) -> Any:
        name = req.params["name"]
        if name in self.records:
            return error(500, "InternalServerError", "Internal Server Error")
        self.records[name] = {"uploadId": UPLOAD_ID, "present": False}
        object_name = f"t/{req.params['taskId']}/{req.params['runId']}/{name}"
        self.objects.records[object_name] = {"projectId": "proj", "uploadId": UPLOAD_ID,
                                             "expires": EXPIRES, "hashes": {},
                                             "finished": False}
        return {"storageType": "object", "name": object_name, "projectId": "proj",
                "uploadId": UPLOAD_ID, "expires": req.payload["expires"],
                "credentials": CREDS}

    def finishArtifact(self, req: Any) -> Any:
        record = self.records.get(req.params["name"])
        if record is None:
            return error(404, "ResourceNotFound", "Artifact not found")
        if record["present"]:
            return Reply(None, 204)
        if req.payload["uploadId"] != record["uploadId"]:
            return error(400, "InputError", "given uploadId does not match that for the "
                                            "artifact")
        record["present"] = True
        return Reply(None, 204)

    def artifactInfo(self, req: Any) -> Any:
        denied = self._denied(req, "queue:list-artifacts")
        if denied:
            return denied
        record = self.records.get(req.params["name"])
        if record is None or not record["present"]:
            return error(404, "ResourceNotFound", "Artifact not found")
        return {"storageType": "object", "name": req.params["name"], "expires": EXPIRES,
                "contentType": "text/plain"}

    def artifact(self, req: Any) -> Any:
        denied = self._denied(req, "queue:get-artifact")
        if denied:
            return denied
        record = self.records.get(req.params["name"])
        if record is None or not record["present"]:
            return error(404, "ResourceNotFound", "Artifact not found")
        return {"storageType": "object", "name": f"t/T/0/{req.params['name']}",
                "credentials": CREDS}


@functools.cache
def bomb(encoding: str) -> bytes:
    """1 GiB of zeros behind one gzip (``"gzip"``: ~1 MB) or two (``"gzip, gzip"``: ~2 KB)."""
    once = gzip(1024 * MiB)
    return once if encoding == "gzip" else gzip(once)


def fresh(dep: LocalDeployment, storage: Storage, host: Host) -> InMemoryObjects:
    """Forget what an earlier test registered, recorded or set up; a fresh object service."""
    dep.reset()
    storage.objects.clear()
    storage.seen.clear()
    storage.faults.clear()
    host.routes.clear()
    host.seen.clear()
    return InMemoryObjects(storage).install(dep)
