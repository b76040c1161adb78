"""A local Taskcluster deployment, for tests and demos: on loopback, or in process.

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

What it does is ``tcdyn.testing.dispatch``; this module adds the socket (a thread running a
``ThreadingHTTPServer``), and ``transport()`` the same answers without one
(``tcdyn.testing.mock``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..references.index import ReferenceSet
from .auth import ClientRecord
from .dispatch import Dispatcher
from .replies import ApiRequest, DropConnection, Handler, Reply, error

if TYPE_CHECKING:
    import httpx

__all__ = ["ApiRequest", "DropConnection", "Handler", "LocalDeployment", "Reply", "error"]

#: The rootUrl of a deployment made with ``serve=False`` (reached only through
#: ``transport()``; ``.local`` names nothing on the internet).
IN_PROCESS_ROOT_URL = "http://tcdyn.local"


class LocalDeployment(Dispatcher):
    """A Taskcluster deployment on a loopback HTTP server (``serve=False``: only in process,
    through ``transport()``, at ``http://tcdyn.local``)."""

    def __init__(self, source: str | Path | ReferenceSet | None = None, *,
                 clients: Mapping[str, ClientRecord] | None = None,
                 anonymous_scopes: tuple[str, ...] = (), check_scopes: bool = False,
                 imitate: bool = False, absolute: bool = True, serve_bundle: bool = True,
                 legacy_hosts: bool = False, serve: bool = True,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(source, clients=clients, anonymous_scopes=anonymous_scopes,
                         check_scopes=check_scopes, imitate=imitate, absolute=absolute,
                         serve_bundle=serve_bundle, legacy_hosts=legacy_hosts)
        self._server = _Server((host, port), _make_handler(self)) if serve else None
        self._thread: threading.Thread | None = None

    @property
    def root_url(self) -> str:
        if self._server is None:
            return IN_PROCESS_ROOT_URL
        # an AF_INET server's address is (host, port); typeshed allows any socket's
        host, port = cast("tuple[str, int]", self._server.server_address[:2])
        return f"http://{host}:{port}"

    def transport(self) -> httpx.MockTransport:
        """An ``httpx`` transport answering in process, exactly as the socket does, for
        ``httpx.Client(transport=...)`` and ``httpx.AsyncClient(transport=...)``: requests
        to ``root_url`` are verified for that host and port."""
        from .mock import transport

        return transport(self)

    def start(self) -> LocalDeployment:
        """Serve on the socket (in a daemon thread); nothing to do with ``serve=False``."""
        if self._thread is None and self._server is not None:
            # polled every 50 ms: stop() (shutdown waits for a poll) returns at once, which
            # a deployment per test (tcdyn.testing.pytest_plugin) relies on
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                            name="tcdyn-local-deployment", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None and self._server is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        if self._server is not None:
            self._server.server_close()

    def __enter__(self) -> LocalDeployment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    #: socketserver's 5 drops a burst of concurrent connects (the client then waits out
    #: SYN-ACK retransmits, seconds each); 128 is what ``socket.listen()`` picks.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (timeouts, dropped connections) is not news."""


def _make_handler(deployment: Dispatcher) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in separate writes
        server_version = "tcdyn-local-deployment"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = f"http://{self.headers.get('Host', '')}{self.path}"
            try:
                status, headers, data = deployment.respond(self.command, url,
                                                           dict(self.headers.items()), body)
            except DropConnection:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    return RequestHandler
