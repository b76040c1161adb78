"""The local deployment's request handling, without any I/O: one function,
``Dispatcher.respond(method, url, headers, body) -> (status, headers, body)``, that the
socket server (``tcdyn.testing.server``) and the in-process transport
(``tcdyn.testing.mock``) both call, so the two answer byte for byte alike."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..references.index import ReferenceSet
from .auth import Authenticated, AuthRejected, ClientRecord, authenticate
from .files import served_file
from .imitation import BUILTIN, IMITATED, insufficient_scopes, merge_scopes, ping
from .replies import (
    ApiRequest,
    DropConnection,
    Handler,
    Reply,
    Response,
    encode,
    error,
    finish_error,
)
from .routes import Route, Routes

#: What a v106 service answers for a route it does not have: lib-app's 404 handler, not a
#: Taskcluster error (no ``code``), which is how a client tells a missing route from a
#: missing resource.
NO_ROUTE = {"error": "Not found"}


class Dispatcher:
    """A Taskcluster deployment's behaviour: files, Hawk checks, scopes, handlers.

    Subclasses say where it is (``root_url``); ``LocalDeployment`` adds the socket.
    """

    def __init__(self, source: str | Path | ReferenceSet | None = None, *,
                 clients: Mapping[str, ClientRecord] | None = None,
                 anonymous_scopes: tuple[str, ...] = (), check_scopes: bool = False,
                 imitate: bool = False, absolute: bool = True, serve_bundle: bool = True,
                 legacy_hosts: bool = False) -> None:
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
        self.handlers: dict[tuple[str, str], Handler] = {}
        #: Every API request received, in order (for assertions).
        self.requests: list[ApiRequest] = []
        self.rejections: list[str] = []
        self._routes = Routes(refs)

    @property
    def root_url(self) -> str:
        raise NotImplementedError

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

    def echo(self, request: ApiRequest) -> dict[str, Any]:
        """The default answer: what the server understood of the request."""
        return {"service": request.service, "name": request.name, "method": request.method,
                "params": request.params, "query": request.query,
                "payload": request.payload, "clientId": request.client_id,
                "scopes": list(request.scopes)}

    # -- the one entry point ------------------------------------------------------------

    def respond(self, method: str, url: str, headers: Mapping[str, str],
                body: bytes) -> Response:
        """Answer one HTTP request. ``url`` is ``http://<Host header><request target>``,
        the URL the client signed. Raises ``DropConnection`` when a handler does."""
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if method == "GET" and parts.path.startswith(("/references/", "/schemas/")):
            doc = served_file(self.references, parts.path, self.root_url,
                              absolute=self.absolute, bundle=self.serve_bundle)
            return encode(Reply(doc) if doc is not None else
                          error(404, "ResourceNotFound", f"{parts.path} not found"))
        legacy = self._routes.legacy_url(parts.netloc, target) if self.legacy_hosts else None
        url, route_path = legacy if legacy else (url, None)
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            return encode(self._api(method, url, lowered, body, route_path))
        except DropConnection:
            raise
        except Exception as exc:  # a broken handler is a 500, as a service would say
            return encode(error(500, "InternalServerError", f"{type(exc).__name__}: {exc}"))

    def _api(self, method: str, url: str, headers: dict[str, str], body: bytes,
             route_path: str | None = None) -> Reply:
        parts = urlsplit(url)
        found = self._routes.match(method, route_path or parts.path)
        if found is None:  # as a service's express app answers a route it does not have
            return Reply(NO_ROUTE, 404)  # (libraries/app/src/index.js, createServer)
        route, params = found
        query = dict(parse_qsl(parts.query))
        query.pop("bewit", None)
        request = ApiRequest(route.service, route.entry_name, method, parts.path, params,
                             query, None, body, headers, None, tuple(self.anonymous_scopes))
        reply = self._answer(route, request, url)
        return finish_error(reply, request) if self.imitate else reply

    def _answer(self, route: Route, request: ApiRequest, url: str) -> Reply:
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
            request.scopes = merge_scopes(request.scopes, ("assume:anonymous",
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
        key = (route.service, route.entry_name)
        handler = self.handlers.get(key) or BUILTIN.get(key)
        if handler is None and self.imitate:
            handler = IMITATED.get(key)
            if route.entry_name == "ping":
                handler = ping  # as every service answers; the echo would fail no schema
        result = (handler or self.echo)(request)
        reply = result if isinstance(result, Reply) else Reply(result)
        if self.imitate and route.output and reply.status < 300 and reply.raw is None:
            return self._check_output(route, reply)
        return reply

    # -- scopes -------------------------------------------------------------------------

    def _from_url(self, route: Route) -> bool:
        """Whether the entry's scopes need only route parameters: the services check
        those before anything else, the others once the payload has been validated."""
        from ..auth import scopes as sc

        return route.scopes is not None and set(sc.params_of(route.scopes)) <= set(route.args)

    def authorize(self, request: ApiRequest, extra: Mapping[str, Any] | None = None
                  ) -> Reply | None:
        """The 403 ``InsufficientScopes`` reply when ``request``'s scopes do not satisfy its
        entry's scope expression (with the payload, route and ``extra`` parameters), in the
        services' words; ``None`` when they do, or when that cannot be decided yet (a handler
        calls this again with the parameters it looked up, as the services do)."""
        from ..auth import scopes as sc

        route = self._routes.entries[(request.service, request.name)]
        if route.scopes is None:
            return None
        params = sc.call_params(route.service, route.entry_name, request.params,
                                request.payload, extra)
        result = sc.check(request.scopes, route.scopes, params)
        if result.ok is not False:
            return None
        return error(403, "InsufficientScopes", insufficient_scopes(
            request.client_id, result.missing, sc.render(route.scopes, params)))

    # -- schemas ------------------------------------------------------------------------

    @property
    def schemas(self) -> Any:
        """The reference set's schema registry (``tcdyn.schemas.SchemaRegistry``)."""
        if self._schemas is None:
            from ..schemas.registry import SchemaRegistry

            self._schemas = SchemaRegistry(self.references.schema)
        return self._schemas

    def _check_params(self, route: Route, request: ApiRequest) -> Reply | None:
        patterns = self.param_patterns.get(route.service, {})
        bad = [f"{name}: {value!r} does not match {patterns[name].pattern}"
               for name, value in request.params.items()
               if name in patterns and not patterns[name].search(value)]
        if bad:
            return error(400, "InvalidRequestArguments",
                         "Invalid URL patterns:\n" + "\n".join(bad))
        return None

    def _check_input(self, route: Route, request: ApiRequest) -> Reply | None:
        from ..errors import SchemaValidationError

        if route.input is None:
            return None
        try:
            self.schemas.validate(self.schemas.schema_path(route.service, route.input),
                                  request.payload, what=f"{route.entry_name} payload")
        except SchemaValidationError as exc:
            return error(400, "InputValidationError", str(exc))
        return None

    def _check_output(self, route: Route, reply: Reply) -> Reply:
        """A handler's answer that fails the output schema is the services' 500."""
        from ..errors import SchemaValidationError

        assert route.output is not None
        try:
            self.schemas.validate(self.schemas.schema_path(route.service, route.output),
                                  reply.body, what=f"{route.entry_name} answer")
        except SchemaValidationError as exc:
            return error(500, "InternalServerError", f"Output schema validation error: {exc}")
        return reply
