"""A worker's livelog on loopback, for tests of log followers.

It answers as Taskcluster's ``tools/livelog`` does: ``GET /log/<token>`` streams the log from
its first byte (a ``Range`` header is ignored: livelog dropped its support) as a chunked
``text/plain; charset=utf-8`` body that grows as the log is written and ends when the log is
finished; another path is a 401 ``Access denied``. And it misbehaves when told: ``drops``
(each new connection is cut after that many of its bytes, in the middle of a chunk, as a
dying worker or tunnel does), ``stalls`` (a connection sends nothing for a while after that
many bytes), ``restart`` (every connection cut and the port closed for a while, then served
again, as a restarted livelog)::

    with LiveLog() as live:
        live.write(b"step 1\\n")
        live.drops([5, None])   # the first connection is cut after 5 bytes
        ...                     # point a task's public/logs/live.log at live.url
        live.finish()
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

__all__ = ["LiveLog"]

#: Bytes sent in one chunk at most.
CHUNK = 4096


class LiveLog:
    """A livelog GET interface on ``host``, serving what ``write`` gives it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.token = secrets.token_urlsafe(16)
        self._data = bytearray()
        self._finished = False
        self._cond = threading.Condition()
        self._drops: deque[int | None] = deque()
        self._stalls: deque[tuple[int, float] | None] = deque()
        self._connections: set[socket.socket] = set()
        self._epoch = 0
        #: GET requests answered 200, connections cut by ``drops``, stalls made.
        self.requests = self.dropped = self.stalled = 0
        self._server = self._bind(port)
        self.port = cast("tuple[str, int]", self._server.server_address)[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/log/{self.token}"

    # -- the log ------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        with self._cond:
            if self._finished:
                raise RuntimeError("the log is finished")
            self._data += data
            self._cond.notify_all()

    def finish(self) -> None:
        """The task's log ended: every stream ends once it has sent all of it."""
        with self._cond:
            self._finished = True
            self._cond.notify_all()

    @property
    def data(self) -> bytes:
        with self._cond:
            return bytes(self._data)

    # -- misbehaving ----------------------------------------------------------------------

    def drops(self, after: Iterable[int | None]) -> None:
        """The next connections are cut after these many bytes each (None: not cut)."""
        with self._cond:
            self._drops.extend(after)

    def stalls(self, plan: Iterable[tuple[int, float] | None]) -> None:
        """The next connections stop sending after ``bytes`` for ``seconds`` each."""
        with self._cond:
            self._stalls.extend(plan)

    def restart(self, down_for: float = 0.0) -> None:
        """Cut every connection, close the port for ``down_for`` seconds, serve again on
        the same port."""
        self._stop_serving()
        time.sleep(down_for)
        self._server = self._bind(self.port)
        self.start()

    # -- serving --------------------------------------------------------------------------

    def _bind(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer((self.host, port), _handler(self))
        server.daemon_threads = True
        server.handle_error = lambda *args: None  # type: ignore[method-assign]
        return server

    def start(self) -> LiveLog:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            name="tcdyn-livelog", daemon=True)
            self._thread.start()
        return self

    def _stop_serving(self) -> None:
        with self._cond:
            self._epoch += 1
            for conn in list(self._connections):
                _cut(conn)
            self._cond.notify_all()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def close(self) -> None:
        self._stop_serving()

    def __enter__(self) -> LiveLog:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _plan(self) -> tuple[int | None, tuple[int, float] | None, int]:
        with self._cond:
            drop = self._drops.popleft() if self._drops else None
            stall = self._stalls.popleft() if self._stalls else None
            return drop, stall, self._epoch

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        drop, stall, epoch = self._plan()
        conn = handler.connection
        with self._cond:
            self.requests += 1
            self._connections.add(conn)
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/plain; charset=utf-8")
            handler.send_header("Access-Control-Allow-Origin", "*")
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            handler.wfile.flush()
            sent = 0
            while True:
                with self._cond:
                    while (len(self._data) <= sent and not self._finished
                           and self._epoch == epoch):
                        self._cond.wait(0.5)
                    if self._epoch != epoch:
                        return
                    chunk = bytes(self._data[sent:sent + CHUNK])
                    last = self._finished and sent + len(chunk) >= len(self._data)
                if stall is not None and sent <= stall[0] < sent + max(len(chunk), 1):
                    head = stall[0] - sent
                    if head:
                        _send(handler, chunk[:head])
                        sent += head
                        chunk = chunk[head:]
                    with self._cond:
                        self.stalled += 1
                    self._sleep(stall[1], epoch)
                    stall = None
                if drop is not None and sent + len(chunk) >= drop:
                    part = chunk[:drop - sent]
                    handler.wfile.write(f"{len(chunk):x}\r\n".encode() + part)
                    handler.wfile.flush()
                    with self._cond:
                        self.dropped += 1
                    _cut(conn)
                    return
                if chunk:
                    _send(handler, chunk)
                    sent += len(chunk)
                if last:
                    handler.wfile.write(b"0\r\n\r\n")
                    handler.wfile.flush()
                    return
        except OSError:
            return
        finally:
            with self._cond:
                self._connections.discard(conn)

    def _sleep(self, seconds: float, epoch: int) -> None:
        end = time.monotonic() + seconds
        with self._cond:
            while self._epoch == epoch and time.monotonic() < end:
                self._cond.wait(min(0.1, end - time.monotonic()))


def _send(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    handler.wfile.flush()


def _cut(conn: Any) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


def _handler(live: LiveLog) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path != f"/log/{live.token}":
                body = b"Access denied"
                self.send_response(401)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            live._serve(self)
            self.close_connection = True

    return Handler
