"""A local Taskcluster deployment on loopback, for tests and demos.

It serves a reference set under ``/references/`` and ``/schemas/`` (in the served, absolute
form a live deployment uses, or the abstract form), checks every API request's Hawk
signature, bewit, certificate and authorizedScopes the way the auth service does
(``tcdyn.testing.auth``), optionally enforces each entry's scope expression, and answers
API routes with handlers a test registers::

    with LocalDeployment(path, clients={"me": ClientRecord("secret", ("queue:*",))}) as dep:
        dep.handle("queue", "task", lambda req: {"taskId": req.params["taskId"]})
        tcdyn.Queue(rootUrl=dep.root_url, credentials=...).task("abc")
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..legacy import legacy_host
from ..model import ServiceModel
from ..references import ReferenceSet
from .auth import Authenticated, AuthRejected, ClientRecord, authenticate


class DropConnection(Exception):
    """Raised by a handler: close the connection without answering."""


@dataclass
class ApiRequest:
    """What a handler receives."""

    service: str
    name: str
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    payload: Any
    body: bytes
    headers: dict[str, str]
    client_id: str | None
    scopes: tuple[str, ...]


@dataclass
class Reply:
    """A handler's answer, when it needs more than a JSON body with status 200.

    ``raw`` sends those bytes as they are instead of ``body`` as JSON (e.g. a proxy's HTML).
    """

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


def error(status: int, code: str, message: str, **headers: str) -> Reply:
    """A Taskcluster-style error reply."""
    return Reply({"code": code, "message": message,
                  "requestInfo": {"method": "", "params": {}, "payload": {}, "time": ""}},
                 status, dict(headers))


Handler = Callable[[ApiRequest], Any]


@dataclass
class _Route:
    service: str
    entry_name: str
    method: str
    pattern: re.Pattern[str]
    args: tuple[str, ...]
    scopes: Any


class LocalDeployment:
    """A loopback HTTP server playing a Taskcluster deployment."""

    def __init__(self, source: str | Path | ReferenceSet | None = None, *,
                 clients: Mapping[str, ClientRecord] | None = None,
                 anonymous_scopes: tuple[str, ...] = (), check_scopes: bool = False,
                 absolute: bool = True, serve_bundle: bool = True,
                 legacy_hosts: bool = False,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        if source is None:
            refs = ReferenceSet.bundled()
        elif isinstance(source, ReferenceSet):
            refs = source
        else:
            refs = ReferenceSet.from_directory(source)
        self.references = refs
        self.clients: dict[str, ClientRecord] = dict(clients or {})
        self.anonymous_scopes = tuple(anonymous_scopes)
        self.check_scopes = check_scopes
        self.absolute = absolute
        self.serve_bundle = serve_bundle
        #: Also answer the legacy rootUrl's service hosts: a request with ``Host:
        #: <service>.taskcluster.net`` (brought here by a test transport standing in for TLS)
        #: is routed by its host and ``/<version>/<route>``, and verified for
        #: ``https://<service>.taskcluster.net``.
        self.legacy_hosts = legacy_hosts
        self._legacy: dict[str, str] = {}  # "queue.taskcluster.net" -> "queue"
        self.handlers: dict[tuple[str, str], Handler] = {}
        #: Every API request received, in order (for assertions).
        self.requests: list[ApiRequest] = []
        self.rejections: list[str] = []
        self._routes = self._build_routes()
        self._server = _Server((host, port), _make_handler(self))
        self._thread: threading.Thread | None = None

    # -- set-up ---------------------------------------------------------------------

    def _build_routes(self) -> dict[tuple[str, str], list[_Route]]:
        routes: dict[tuple[str, str], list[_Route]] = {}
        for name in self.references.names():
            try:
                model = self.references.model(name)
            except Exception:  # a malformed reference is served, not routed
                continue
            if not isinstance(model, ServiceModel):
                continue
            host = legacy_host(model.baseUrl) or f"https://{model.serviceName}.taskcluster.net"
            self._legacy.setdefault(host.removeprefix("https://"), model.serviceName)
            for entry in model.entries.values():
                regex = "".join(
                    re.escape(p) if isinstance(p, str) else f"(?P<{entry.args[p]}>[^/]+)"
                    for p in entry.route_parts)
                routes.setdefault((model.serviceName, model.apiVersion), []).append(_Route(
                    model.serviceName, entry.name, entry.method, re.compile(f"^{regex}$"),
                    entry.args, entry.scopes))
        for candidates in routes.values():  # literal routes win over parameterised ones
            candidates.sort(key=lambda r: len(r.args))
        return routes

    def handle(self, service: str, name: str, handler: Handler | None = None) -> Any:
        """Register ``handler`` for ``service.name`` (usable as a decorator)."""
        def register(fn: Handler) -> Handler:
            self.handlers[(service, name)] = fn
            return fn
        return register(handler) if handler is not None else register

    def reset(self) -> None:
        """Forget registered handlers, recorded requests and rejections (between tests)."""
        self.handlers.clear()
        self.requests.clear()
        self.rejections.clear()

    def echo(self, request: ApiRequest) -> dict:
        """The default answer: what the server understood of the request."""
        return {"service": request.service, "name": request.name, "method": request.method,
                "params": request.params, "query": request.query,
                "payload": request.payload, "clientId": request.client_id,
                "scopes": list(request.scopes)}

    # -- life cycle -----------------------------------------------------------------

    @property
    def root_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalDeployment:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            name="tcdyn-local-deployment", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LocalDeployment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving files --------------------------------------------------------------

    def _file(self, path: str) -> Any | None:
        """A served reference or schema (abstract or absolute form), or None."""
        rel = path.lstrip("/")
        if rel == "references/references.json":
            return self._bundle() if self.serve_bundle else None
        if rel.startswith("schemas/"):
            doc = self.references.schema("/" + rel)
        elif rel.startswith("references/"):
            file = self.references.references_dir / rel.removeprefix("references/")
            if ".." in rel.split("/") or not file.is_file():
                return None
            doc = json.loads(file.read_bytes())
        else:
            return None
        return self._served(doc) if doc is not None else None

    def _served(self, doc: Any) -> Any:
        if not self.absolute or not isinstance(doc, dict):
            return doc
        doc = dict(doc)
        for key in ("$schema", "$id"):
            if isinstance(doc.get(key), str) and doc[key].startswith("/"):
                doc[key] = self.root_url + doc[key]
        if isinstance(doc.get("references"), list):
            doc["references"] = [self.root_url + r if r.startswith("/") else r
                                 for r in doc["references"]]
        return doc

    def _bundle(self) -> Any | None:
        """``references.json``: the deployment's own if it has one, else made from its
        files (abstract form, as a deployment serves it); None when a file is not JSON."""
        root = self.references.references_dir
        file = root / "references.json"
        if file.is_file():
            return json.loads(file.read_bytes())
        tops = [("references", root), ("schemas", self.references.schemas_dir)]
        try:
            return [{"filename": f"{top}/{p.relative_to(base).as_posix()}",
                     "content": json.loads(p.read_bytes())}
                    for top, base in tops if base is not None and base.is_dir()
                    for p in sorted(base.rglob("*.json"))]
        except ValueError:
            return None

    # -- serving the API ------------------------------------------------------------

    def _route(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        m = re.match(r"^/api/([^/]+)/(v[0-9]+)(/.*)$", path)
        if not m:
            return None
        for route in self._routes.get((m.group(1), m.group(2)), []):
            if route.method != method:
                continue
            found = route.pattern.match(m.group(3))
            if found:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def _legacy_url(self, host: str, path: str) -> tuple[str, str] | None:
        """For a legacy service host: the URL to verify and the ``/api/...`` path to route."""
        service = self._legacy.get(host.removesuffix(":443")) if self.legacy_hosts else None
        if service is None:
            return None
        return f"https://{host.removesuffix(':443')}{path}", f"/api/{service}{urlsplit(path).path}"

    def _api(self, method: str, url: str, headers: dict[str, str], body: bytes,
             route_path: str | None = None) -> Reply:
        parts = urlsplit(url)
        found = self._route(method, route_path or parts.path)
        if found is None:
            return error(404, "ResourceNotFound", f"no such route: {method} {parts.path}")
        route, params = found
        try:
            who: Authenticated | None = authenticate(method, url, headers, body, self.clients)
        except AuthRejected as exc:
            self.rejections.append(str(exc))
            return error(401, "AuthenticationFailed", str(exc))
        try:
            payload = json.loads(body) if body else None
        except ValueError as exc:
            return error(400, "MalformedPayload", f"payload is not JSON: {exc}")
        query = dict(parse_qsl(parts.query))
        query.pop("bewit", None)
        scopes = who.scopes if who else self.anonymous_scopes
        request = ApiRequest(route.service, route.entry_name, method, parts.path, params,
                             query, payload, body, headers, who.clientId if who else None,
                             tuple(scopes))
        self.requests.append(request)
        if self.check_scopes and route.scopes is not None:
            denied = self._denied(route, request)
            if denied:
                return error(403, "InsufficientScopes", denied)
        handler = self.handlers.get((route.service, route.entry_name)) or _BUILTIN.get(
            (route.service, route.entry_name), self.echo)
        result = handler(request)
        return result if isinstance(result, Reply) else Reply(result)

    def _denied(self, route: _Route, request: ApiRequest) -> str | None:
        from .. import scopes as sc

        params: dict[str, Any] = {}
        if isinstance(request.payload, dict):
            params.update(request.payload)
        params.update(request.params)
        result = sc.check(request.scopes, route.scopes,
                          sc.service_params(route.service, route.entry_name, params))
        if result.ok is False:
            return (f"Client {request.client_id or 'anonymous'} lacks scopes for "
                    f"{route.service}.{route.entry_name}; missing: {result.missing}")
        return None


def _current_scopes(request: ApiRequest) -> dict:
    return {"scopes": sorted(request.scopes)}


#: Answers the deployment gives unless a test registers its own handler.
_BUILTIN: dict[tuple[str, str], Handler] = {("auth", "currentScopes"): _current_scopes}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (timeouts, dropped connections) is not news."""


def _make_handler(deployment: LocalDeployment) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in separate writes
        server_version = "tcdyn-local-deployment"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _respond(self, reply: Reply) -> None:
            if reply.raw is not None:
                data = reply.raw
            else:
                data = b"" if reply.body is None or reply.status == 204 else json.dumps(
                    reply.body).encode()
            self.send_response(reply.status)
            if data and reply.raw is None:
                self.send_header("Content-Type", "application/json")
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = urlsplit(self.path).path
            if self.command == "GET" and path.startswith(("/references/", "/schemas/")):
                doc = deployment._file(path)
                self._respond(Reply(doc) if doc is not None else
                              error(404, "ResourceNotFound", f"{path} not found"))
                return
            url = f"http://{self.headers.get('Host', '')}{self.path}"
            legacy = deployment._legacy_url(self.headers.get("Host", ""), self.path)
            url, route_path = legacy if legacy else (url, None)
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                reply = deployment._api(self.command, url, headers, body, route_path)
            except DropConnection:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            except Exception as exc:  # a broken handler is a 500, as a service would say
                reply = error(500, "InternalServerError", f"{type(exc).__name__}: {exc}")
            self._respond(reply)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    return RequestHandler
