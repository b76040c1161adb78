"""An object service and a storage host on loopback, for tests, demos and benchmarks.

``Storage`` is a plain HTTP server keeping PUT bodies in memory and answering GETs, which
can be told to misbehave for the next requests (``fail``: an error status; ``stall``: stop
sending; ``truncate``: close the connection early; ``corrupt``: flip a byte) and records every
request's headers. ``InMemoryObjects`` answers the object service's ``createUpload``,
``finishUpload`` and ``startDownload`` on a ``LocalDeployment`` with URLs of that storage.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import quote, unquote, urlsplit

from .server import ApiRequest, LocalDeployment, error


@dataclass
class Fault:
    """What to do to the next matching request: ``kind`` is ``fail`` (answer ``status``),
    ``stall`` (headers, part of the body, then silence for ``seconds``), ``truncate`` (send
    half of the body, then close) or ``corrupt`` (flip one byte of the body)."""

    kind: str
    method: str = "GET"
    status: int = 503
    seconds: float = 5.0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    length: int = 0


@dataclass
class Storage:
    """A loopback storage host. ``url(key)`` is where an object lives."""

    objects: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    chunk: int = 256 * 1024
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self._server = _Quiet((self.host, 0), _handler(self))
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        # an AF_INET server's address is (host, port); typeshed allows any socket's
        host, port = cast("tuple[str, int]", self._server.server_address[:2])
        return f"http://{host}:{port}"

    def url(self, key: str, signature: str = "s3cr3t-signature") -> str:
        return f"{self.base_url}/bucket/{quote(key, safe='')}?X-Signature={signature}"

    def fault(self, kind: str, method: str = "GET", times: int = 1, **kwargs: Any) -> None:
        for _ in range(times):
            self.faults.append(Fault(kind, method, **kwargs))

    def _next_fault(self, method: str) -> Fault | None:
        with self._lock:
            if self.faults and self.faults[0].method == method:
                return self.faults.popleft()
        return None

    def start(self) -> Storage:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Storage:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (the faults provoke it) are not news."""


def _handler(storage: Storage) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _key(self) -> str:
            return unquote(urlsplit(self.path).path.removeprefix("/bucket/"))

        def _status(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            storage.seen.append(Seen("PUT", self.path, dict(self.headers.items()), length))
            fault = storage._next_fault("PUT")
            if fault is not None and fault.kind == "truncate":  # hang up mid-upload
                self.rfile.read(length // 2)
                self.close_connection = True
                return
            body = self.rfile.read(length)
            if fault is not None and fault.kind == "fail":
                self._status(fault.status, b"<Error><Code>SlowDown</Code></Error>")
                return
            if fault is not None and fault.kind == "stall":
                time.sleep(fault.seconds)
            storage.objects[self._key()] = (body, self.headers.get("Content-Type", ""))
            self._status(200)

        def do_GET(self) -> None:
            storage.seen.append(Seen("GET", self.path, dict(self.headers.items())))
            found = storage.objects.get(self._key())
            if found is None:
                self._status(404, b"<Error><Code>NoSuchKey</Code></Error>")
                return
            data, content_type = found
            fault = storage._next_fault("GET")
            if fault is not None and fault.kind == "fail":
                self._status(fault.status, b"<Error><Code>InternalError</Code></Error>")
                return
            if fault is not None and fault.kind == "corrupt" and data:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            self.send_response(200)
            self.send_header("Content-Type", content_type or "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if fault is not None and fault.kind in ("truncate", "stall"):
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
                if fault.kind == "stall":
                    time.sleep(fault.seconds)
                self.close_connection = True
                return
            view = memoryview(data)
            for start in range(0, len(data), storage.chunk):
                self.wfile.write(view[start:start + storage.chunk])

    return Handler


class InMemoryObjects:
    """The object service's upload and download entries, over a ``Storage``."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        #: name -> {"projectId", "uploadId", "expires", "hashes", "finished", "contentType"}
        self.records: dict[str, dict[str, Any]] = {}
        #: Seconds a putUrl / getUrl stays valid (negative: already expired).
        self.url_lifetime = 60.0
        self.inline = True

    def install(self, deployment: LocalDeployment) -> InMemoryObjects:
        for name in ("createUpload", "finishUpload", "startDownload"):
            deployment.handle("object", name, getattr(self, f"_{name}"))
        return self

    def _expires(self) -> str:
        moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.url_lifetime)
        return moment.isoformat().replace("+00:00", "Z")

    def _createUpload(self, request: ApiRequest) -> Any:
        name, body = request.params["name"], request.payload
        record = self.records.get(name)
        if record is not None and record["uploadId"] != body["uploadId"]:
            return error(409, "RequestConflict", "Object already exists")
        self.records[name] = record = {"projectId": body["projectId"],
                                       "uploadId": body["uploadId"],
                                       "expires": body["expires"], "hashes": {},
                                       "finished": False}
        methods = body.get("proposedUploadMethods", {})
        answer = {"projectId": body["projectId"], "uploadId": body["uploadId"],
                  "expires": body["expires"], "uploadMethod": {}}
        if self.inline and "dataInline" in methods:
            inline = methods["dataInline"]
            self.storage.objects[name] = (base64.b64decode(inline["objectData"]),
                                          inline["contentType"])
            answer["uploadMethod"] = {"dataInline": True}
        elif "putUrl" in methods:
            put = methods["putUrl"]
            answer["uploadMethod"] = {"putUrl": {
                "url": self.storage.url(name), "expires": self._expires(),
                "headers": {"Content-Type": put["contentType"],
                            "Content-Length": str(put["contentLength"]),
                            "Content-Encoding": "identity"}}}
        return answer

    def _finishUpload(self, request: ApiRequest) -> Any:
        name, body = request.params["name"], request.payload
        record = self.records.get(name)
        if record is None or record["uploadId"] != body["uploadId"]:
            return error(409, "RequestConflict", f"Object {name} does not have that uploadId")
        record["hashes"] = dict(body.get("hashes", {}))
        record["finished"] = True
        return None

    def _startDownload(self, request: ApiRequest) -> Any:
        name = request.params["name"]
        record = self.records.get(name)
        if record is None or not record["finished"]:
            return error(404, "ResourceNotFound", f"Object {name} not found")
        return {"method": "getUrl", "url": self.storage.url(name),
                "expires": self._expires(), "hashes": record["hashes"]}
