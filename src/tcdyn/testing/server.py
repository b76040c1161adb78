"""A local Taskcluster deployment on loopback, for tests and demos.

It serves a reference set under ``/references/`` and ``/schemas/`` (in the served, absolute
form a live deployment uses, or the abstract form), checks every API request's Hawk
signature, bewit, certificate and authorizedScopes the way the auth service does
(``tcdyn.testing.auth``), optionally enforces each entry's scope expression
(``check_scopes``), with ``imitate=True`` behaves as the real v106 services do around a
handler (route parameter patterns, input and output schemas, ``ping``, error bodies with
``requestInfo`` and the message footer), and answers API routes with handlers a test
registers (imitation services such as ``tcdyn.testing.queue.InMemoryQueue`` register
several)::

    with LocalDeployment(path, clients={"me": ClientRecord("secret", ("queue:*",))}) as dep:
        dep.handle("queue", "task", lambda req: {"taskId": req.params["taskId"]})
        tcdyn.Queue(rootUrl=dep.root_url, credentials=...).task("abc")
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
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
    """A Taskcluster-style error reply.

    Answering a routed request with ``imitate=True``, the deployment fills in
    ``requestInfo`` (the entry's name, the route parameters, the payload, the time) and
    appends the services' footer to the message, as every Taskcluster service does
    (``libraries/api/src/middleware/express-error.js``).
    """
    return Reply({"code": code, "message": message,
                  "requestInfo": {"method": "", "params": {}, "payload": {}, "time": ""}},
                 status, dict(headers))


def _finish_error(reply: Reply, request: ApiRequest) -> Reply:
    body = reply.body
    if not (reply.status >= 400 and isinstance(body, dict)
            and set(body) == {"code", "message", "requestInfo"}
            and isinstance(body["requestInfo"], dict)
            and body["requestInfo"].get("time") == ""):
        return reply
    stamp = _js_now()
    payload = request.payload if isinstance(request.payload, dict) else {}
    message = (f"{body['message']}\n\n---\n\n* method:     {request.name}\n"
               f"* errorCode:  {body['code']}\n* statusCode: {reply.status}\n"
               f"* time:       {stamp}")
    info = {"method": request.name, "params": dict(request.params), "payload": payload,
            "time": stamp}
    return Reply({"code": body["code"], "message": message, "requestInfo": info},
                 reply.status, reply.headers)


def _js_now() -> str:
    """The time as JavaScript's ``Date.toJSON()`` writes it (milliseconds, ``Z``)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


Handler = Callable[[ApiRequest], Any]


@dataclass
class _Route:
    service: str
    entry_name: str
    method: str
    pattern: re.Pattern[str]
    args: tuple[str, ...]
    scopes: Any
    input: str | None = None
    output: str | None = None


class LocalDeployment:
    """A loopback HTTP server playing a Taskcluster deployment."""

    def __init__(self, source: str | Path | ReferenceSet | None = None, *,
                 clients: Mapping[str, ClientRecord] | None = None,
                 anonymous_scopes: tuple[str, ...] = (), check_scopes: bool = False,
                 imitate: bool = False, absolute: bool = True, serve_bundle: bool = True,
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
        self.imitate = imitate
        #: Route parameter patterns per service, checked with ``imitate`` (a 400
        #: ``InvalidRequestArguments``); imitation services register their service's.
        self.param_patterns: dict[str, dict[str, re.Pattern[str]]] = {}
        self._schemas: Any = None
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
        self._entries = {(r.service, r.entry_name): r for rs in self._routes.values()
                         for r in rs}
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
                    model.serviceName, entry.name, entry.http_method, re.compile(f"^{regex}$"),
                    entry.args, entry.scopes, entry.input, entry.output))
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
        query = dict(parse_qsl(parts.query))
        query.pop("bewit", None)
        request = ApiRequest(route.service, route.entry_name, method, parts.path, params,
                             query, None, body, headers, None, tuple(self.anonymous_scopes))
        reply = self._answer(route, request, url)
        return _finish_error(reply, request) if self.imitate else reply

    def _answer(self, route: _Route, request: ApiRequest, url: str) -> Reply:
        """The services' order: authenticate, scopes known from the URL, route parameters,
        input schema, scopes that need the payload, the handler, the output schema."""
        try:
            who: Authenticated | None = authenticate(request.method, url, request.headers,
                                                     request.body, self.clients)
        except AuthRejected as exc:
            self.rejections.append(str(exc))
            return error(401, "AuthenticationFailed", str(exc))
        try:
            request.payload = json.loads(request.body) if request.body else None
        except ValueError as exc:
            return error(400, "MalformedPayload", f"payload is not JSON: {exc}")
        if who is not None:
            request.client_id, request.scopes = who.clientId, tuple(who.scopes)
        if self.imitate:  # the auth service grants every request the anonymous role
            request.scopes = _merge(request.scopes, ("assume:anonymous",
                                                     *self.anonymous_scopes))
        self.requests.append(request)
        from_url = self.check_scopes and self._from_url(route)
        if from_url and (denied := self.authorize(request)) is not None:
            return denied
        if self.imitate:
            invalid = self._check_params(route, request) or self._check_input(route, request)
            if invalid is not None:
                return invalid
        if self.check_scopes and not from_url and (denied := self.authorize(request)):
            return denied
        handler = self.handlers.get((route.service, route.entry_name)) or _BUILTIN.get(
            (route.service, route.entry_name))
        if handler is None and self.imitate and route.entry_name == "ping":
            handler = _ping  # as every service answers; the echo would fail no schema
        result = (handler or self.echo)(request)
        reply = result if isinstance(result, Reply) else Reply(result)
        if self.imitate and route.output and reply.status < 300 and reply.raw is None:
            return self._check_output(route, reply)
        return reply

    # -- scopes ---------------------------------------------------------------------

    def _from_url(self, route: _Route) -> bool:
        """Whether the entry's scopes need only route parameters: the services check
        those before anything else, the others once the payload has been validated."""
        from .. import scopes as sc

        return route.scopes is not None and set(sc.params_of(route.scopes)) <= set(route.args)

    def authorize(self, request: ApiRequest, extra: Mapping[str, Any] | None = None
                  ) -> Reply | None:
        """The 403 ``InsufficientScopes`` reply when ``request``'s scopes do not satisfy its
        entry's scope expression (with the payload, route and ``extra`` parameters), in the
        services' words; ``None`` when they do, or when that cannot be decided yet (a handler
        calls this again with the parameters it looked up, as the services do)."""
        from .. import scopes as sc

        route = self._entries[(request.service, request.name)]
        if route.scopes is None:
            return None
        params: dict[str, Any] = {}
        if isinstance(request.payload, dict):
            params.update(request.payload)
        params.update(request.params)
        params.update(extra or {})
        params = sc.service_params(route.service, route.entry_name, params)
        result = sc.check(request.scopes, route.scopes, params)
        if result.ok is not False:
            return None
        lines = [f"Client ID {request.client_id} does not have sufficient scopes and is "
                 "missing the following scopes:", "", "```", _render(result.missing), "```",
                 "", "This request requires the client to satisfy the following scope "
                 "expression:", "", "```", _render(sc.render(route.scopes, params)), "```"]
        if request.client_id is None:
            lines = ["This request requires Taskcluster credentials that satisfy the "
                     "following scope expression:", "", *lines[-4:]]
        return error(403, "InsufficientScopes", "\n".join(lines))

    # -- schemas --------------------------------------------------------------------

    @property
    def schemas(self) -> Any:
        """The reference set's schema registry (``tcdyn.schemas.SchemaRegistry``)."""
        if self._schemas is None:
            from ..schemas import SchemaRegistry

            self._schemas = SchemaRegistry(self.references.schema)
        return self._schemas

    def _check_params(self, route: _Route, request: ApiRequest) -> Reply | None:
        patterns = self.param_patterns.get(route.service, {})
        bad = [f"{name}: {value!r} does not match {patterns[name].pattern}"
               for name, value in request.params.items()
               if name in patterns and not patterns[name].search(value)]
        if bad:
            return error(400, "InvalidRequestArguments",
                         "Invalid URL patterns:\n" + "\n".join(bad))
        return None

    def _check_input(self, route: _Route, request: ApiRequest) -> Reply | None:
        from ..errors import SchemaValidationError

        if route.input is None:
            return None
        try:
            self.schemas.validate(self.schemas.schema_path(route.service, route.input),
                                  request.payload, what=f"{route.entry_name} payload")
        except SchemaValidationError as exc:
            return error(400, "InputValidationError", str(exc))
        return None

    def _check_output(self, route: _Route, reply: Reply) -> Reply:
        """A handler's answer that fails the output schema is the services' 500."""
        from ..errors import SchemaValidationError

        assert route.output is not None
        try:
            self.schemas.validate(self.schemas.schema_path(route.service, route.output),
                                  reply.body, what=f"{route.entry_name} answer")
        except SchemaValidationError as exc:
            return error(500, "InternalServerError", f"Output schema validation error: {exc}")
        return reply


def _merge(*scope_sets: tuple[str, ...]) -> tuple[str, ...]:
    """``mergeScopeSets``: the union, sorted, without scopes a ``*`` scope already covers."""
    union = {s for scopes in scope_sets for s in scopes}
    stars = [s[:-1] for s in union if s.endswith("*")]
    return tuple(sorted(s for s in union
                        if not any(s != p + "*" and s.startswith(p) for p in stars)))


def _render(expression: Any) -> str:
    """A scope expression as the services print it in a message."""
    return expression if isinstance(expression, str) else json.dumps(expression, indent=2)


def _current_scopes(request: ApiRequest) -> dict:
    return {"scopes": sorted(request.scopes)}


_STARTED = time.monotonic()


def _ping(request: ApiRequest) -> dict:
    return {"alive": True, "uptime": time.monotonic() - _STARTED}


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
