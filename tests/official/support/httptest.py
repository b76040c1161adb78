"""A stand-in for the ``httptest`` package the official tests use: ``Server(handler_class)``,
a real HTTP server on loopback in a thread, and ``Handler`` (``http.server``'s, quiet).
``url()`` names 127.0.0.1 (httptest says ``localhost``, which may resolve to ``::1`` first)."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any


class Handler(http.server.SimpleHTTPRequestHandler):
    """A request handler: define ``do_GET``, ``do_PUT``, ..."""

    def json(self, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class Server:
    """``with Server(HandlerClass) as ts:`` serves on ``ts.url()`` until the block ends."""

    def __init__(self, handler: type[Handler], addr: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        self._handler = handler
        self._addr = addr
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Server:
        self._server = http.server.ThreadingHTTPServer(self._addr, self._handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"
