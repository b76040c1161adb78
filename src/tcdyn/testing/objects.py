"""An object service and a storage host on loopback, for tests, demos and benchmarks.

``Storage`` is a plain HTTP server keeping PUT bodies in memory and answering GETs, which
can be told to misbehave for the next requests (``fail``: an error status; ``stall``: stop
sending; ``truncate``: close the connection early; ``corrupt``: flip a byte) and records every
request's headers. Like S3 behind the v106 object service and queue, it takes only presigned
requests: ``url(key, method)`` signs one as S3's presigner does (AWS Signature Version 4,
query form: method, path, expiry and the signed headers' values), and an unsigned, tampered,
expired or other-method request is refused with S3's 403. ``InMemoryObjects`` answers the
object service's ``createUpload``, ``finishUpload`` and ``startDownload`` on a
``LocalDeployment`` with URLs of that storage.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from .server import ApiRequest, LocalDeployment, error

#: S3's presigned-URL parameters (AWS Signature Version 4, query form).
_ALGORITHM = "AWS4-HMAC-SHA256"
_REGION = "us-east-1"
#: How far in the future a signing date may lie (S3 allows 15 minutes of clock skew).
_SKEW = 15 * 60
#: Seconds the object service's URLs stay valid beyond the ``expires`` it announces.
GET_URL_GRACE, PUT_URL_GRACE = 60, 10


def _uri(text: str) -> str:
    return quote(text, safe="-_.~")


def sigv4_signature(secret: str, method: str, path: str, query: Mapping[str, str],
                    headers: Mapping[str, str]) -> str:
    """The signature of a presigned request: ``query`` holds the ``X-Amz-*`` parameters but
    the signature; ``headers`` the signed headers (lower-case names) and their values."""
    canonical_query = "&".join(f"{_uri(k)}={_uri(v)}" for k, v in sorted(query.items()))
    names = sorted(headers)
    request = "\n".join([method, path, canonical_query,
                         "".join(f"{n}:{' '.join(headers[n].split())}\n" for n in names),
                         ";".join(names), "UNSIGNED-PAYLOAD"])
    date = query["X-Amz-Date"]
    scope = query["X-Amz-Credential"].split("/", 1)[1]
    to_sign = "\n".join([_ALGORITHM, date, scope,
                         hashlib.sha256(request.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


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
    #: The key id in ``X-Amz-Credential`` (not secret); the signing key is made per host.
    access_key: str = "TCDYNLOCALSTORAGE"

    def __post_init__(self) -> None:
        self._server = _Quiet((self.host, 0), _handler(self))
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._secret = secrets.token_urlsafe(30)

    @property
    def base_url(self) -> str:
        # an AF_INET server's address is (host, port); typeshed allows any socket's
        host, port = cast("tuple[str, int]", self._server.server_address[:2])
        return f"http://{host}:{port}"

    def url(self, key: str, method: str = "GET", *, expires_in: float = 120,
            headers: Mapping[str, str] | None = None) -> str:
        """A presigned URL for ``method`` on object ``key``, valid for ``expires_in``
        seconds, with ``headers`` (e.g. ``Content-Type``) signed: the request must send
        them with exactly these values."""
        path = f"/bucket/{quote(key, safe='')}"
        now = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        query = {"X-Amz-Algorithm": _ALGORITHM, "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD",
                 "X-Amz-Credential": f"{self.access_key}/{now[:8]}/{_REGION}/s3/aws4_request",
                 "X-Amz-Date": now, "X-Amz-Expires": str(max(1, int(expires_in))),
                 "x-id": "PutObject" if method == "PUT" else "GetObject"}
        signed = {"host": self.base_url.split("//", 1)[1],
                  **{name.lower(): value for name, value in (headers or {}).items()}}
        query["X-Amz-SignedHeaders"] = ";".join(sorted(signed))
        signature = sigv4_signature(self._secret, method, path, query, signed)
        return (f"{self.base_url}{path}?"
                + "&".join(f"{_uri(k)}={_uri(v)}" for k, v in sorted(query.items()))
                + f"&X-Amz-Signature={signature}")

    def refusal(self, method: str, target: str, headers: Mapping[str, str]) -> bytes | None:
        """Why S3 would refuse this request (its 403 body), or None when it is presigned
        for this method, object and headers and has not expired."""
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        given = query.pop("X-Amz-Signature", None)
        needed = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                  "X-Amz-SignedHeaders")
        if given is None or any(k not in query for k in needed):
            return _s3_error("AccessDenied", "Request is missing Authentication Token")
        try:
            date = dt.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=dt.UTC).timestamp()
            lifetime = int(query["X-Amz-Expires"])
        except ValueError:
            return _s3_error("AuthorizationQueryParametersError", "X-Amz-Date or "
                             "X-Amz-Expires is malformed")
        names = query["X-Amz-SignedHeaders"].split(";")
        lower = {k.lower(): v for k, v in headers.items()}
        if "host" not in names or any(n not in lower for n in names) \
                or query["X-Amz-Algorithm"] != _ALGORITHM:
            return _s3_error("SignatureDoesNotMatch", "The request signature we calculated "
                             "does not match the signature you provided.")
        expected = sigv4_signature(self._secret, method, parts.path, query,
                                   {n: lower[n] for n in names})
        if not hmac.compare_digest(expected, given):
            return _s3_error("SignatureDoesNotMatch", "The request signature we calculated "
                             "does not match the signature you provided.")
        now = time.time()
        if now > date + lifetime:
            return _s3_error("AccessDenied", "Request has expired")
        if date > now + _SKEW:
            return _s3_error("AccessDenied", "Request is not valid yet")
        return None

    def fault(self, kind: str, method: str = "GET", times: int = 1, **kwargs: Any) -> None:
        for _ in range(times):
            self.faults.append(Fault(kind, method, **kwargs))

    def _next_fault(self, method: str) -> Fault | None:
        with self._lock:
            if self.faults and self.faults[0].method == method:
                return self.faults.popleft()
        return None

    def start(self) -> Storage:
        # polled every 50 ms, so that stop() (shutdown waits for a poll) is quick
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Storage:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _s3_error(code: str, message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>").encode()


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

        def _refused(self, method: str) -> bool:
            why = storage.refusal(method, self.path, dict(self.headers.items()))
            if why is not None:
                self.close_connection = True  # whatever body was sent is not read
                self._status(403, why)
            return why is not None

        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            storage.seen.append(Seen("PUT", self.path, dict(self.headers.items()), length))
            if self._refused("PUT"):
                return
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
            if self._refused("GET"):
                return
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

    def _signed_for(self, grace: float) -> float:
        """How long a URL's signature lasts: the announced lifetime plus the object
        service's margin (60 s for a getUrl, 10 s for a putUrl), as it signs them."""
        return max(0.0, self.url_lifetime) + grace

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
            headers = {"Content-Type": put["contentType"],
                       "Content-Length": str(put["contentLength"])}
            answer["uploadMethod"] = {"putUrl": {
                "url": self.storage.url(name, "PUT", headers=headers,
                                        expires_in=self._signed_for(PUT_URL_GRACE)),
                "expires": self._expires(),
                "headers": {**headers, "Content-Encoding": "identity"}}}
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
        return {"method": "getUrl",
                "url": self.storage.url(name, expires_in=self._signed_for(GET_URL_GRACE)),
                "expires": self._expires(), "hashes": record["hashes"]}
