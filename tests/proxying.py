"""Test helpers for proxies: a recording HTTP forward proxy and a TLS front, on loopback.

``RecordingProxy`` is a real forward proxy: absolute-form requests (GET, PUT, POST, ...)
are forwarded to their origin (``Connection: close`` both ways, so each request is one
connection) and CONNECT opens a tunnel; every request it receives is recorded, Proxy-
Authorization included, and with ``credentials`` it answers 407 to any other. ``TLSFront``
terminates TLS with a certificate made by ``openssl`` and relays the bytes to a plain HTTP
server, so an ``https://`` URL reaches a loopback test server (through CONNECT when proxied).
"""

from __future__ import annotations

import base64
import contextlib
import socket
import socketserver
import ssl
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit


@dataclass
class Passed:
    """One request the proxy received: ``target`` is the absolute URL, or ``host:port``
    for CONNECT; ``headers`` keep their case-insensitive names lower-cased."""

    method: str
    target: str
    headers: dict[str, str]

    @property
    def host(self) -> str:
        """``host:port`` the request was for."""
        if self.method == "CONNECT":
            return self.target
        parts = urlsplit(self.target)
        return f"{parts.hostname}:{parts.port or 80}"


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):  # clients hanging up are not news
        pass


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the end of the head")
        data += chunk
        if len(data) > 1 << 20:
            raise ConnectionError("head too large")
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            chunk = source.recv(1 << 20)
            if not chunk:
                break
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _relay(a: socket.socket, b: socket.socket) -> None:
    other = threading.Thread(target=_pump, args=(b, a), daemon=True)
    other.start()
    _pump(a, b)
    other.join(60)


class RecordingProxy:
    """An HTTP forward proxy on 127.0.0.1 that records what passes (``passed``)."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.passed: list[Passed] = []
        self.credentials = credentials
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:port``, with the credentials if it has some."""
        if self.credentials is None:
            return f"http://127.0.0.1:{self.port}"
        user, password = (quote(x, safe="") for x in self.credentials)
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def clear(self) -> None:
        with self._lock:
            self.passed.clear()

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.credentials is None:
            return True
        token = base64.b64encode(":".join(self.credentials).encode()).decode()
        return headers.get("proxy-authorization") == f"Basic {token}"

    def _handle(self, client: socket.socket) -> None:
        head, rest = _read_head(client)
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        fields = [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:] if line]
        headers = {k.lower(): v for k, v in fields}
        with self._lock:
            self.passed.append(Passed(method, target, headers))
        if not self._authorized(headers):
            client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                           b"Proxy-Authenticate: Basic realm=\"test\"\r\n"
                           b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = socket.create_connection((host.strip("[]"), int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            with upstream:
                _relay(client, upstream)
            return
        parts = urlsplit(target)
        if not parts.scheme or not parts.hostname:
            client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                           b"Connection: close\r\n\r\n")
            return
        upstream = socket.create_connection((parts.hostname, parts.port or 80))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        hop = {"proxy-authorization", "proxy-connection", "connection", "keep-alive"}
        kept = [f"{k}: {v}" for k, v in fields if k.lower() not in hop]
        upstream.sendall(f"{method} {path} {version}\r\n".encode("latin-1")
                         + "\r\n".join([*kept, "Connection: close"]).encode("latin-1")
                         + b"\r\n\r\n" + rest)
        with upstream:
            sender = threading.Thread(target=_pump, args=(client, upstream), daemon=True)
            sender.start()  # the rest of a request body, as the client sends it
            answer, body = _read_head(upstream)
            status, *answer_fields = answer.split(b"\r\n")
            kept_answer = [f for f in answer_fields
                           if f.split(b":", 1)[0].strip().lower() not in
                           (b"connection", b"keep-alive")]
            client.sendall(b"\r\n".join([status, *kept_answer, b"Connection: close"])
                           + b"\r\n\r\n" + body)
            _pump(upstream, client)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert, key)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class TLSFront:
    """``https://127.0.0.1:port`` relaying, once TLS is done, to ``127.0.0.1:origin_port``."""

    def __init__(self, origin_port: int, cert: Path, key: Path) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        front = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with context.wrap_socket(self.request, server_side=True) as tls, \
                        socket.create_connection(("127.0.0.1", front.origin_port)) as plain:
                    _relay_tls(tls, plain)

        self.origin_port = origin_port
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def __enter__(self) -> TLSFront:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _relay_tls(tls: ssl.SSLSocket, plain: socket.socket) -> None:
    """Relay between a TLS socket and a plain one in one thread (an SSL socket must not be
    read and written from two threads at once), until either side ends."""
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(tls, selectors.EVENT_READ)
        selector.register(plain, selectors.EVENT_READ)
        while True:
            ready = [key.fileobj for key, _ in selector.select(60)] if not tls.pending() \
                else [tls]
            if not ready:
                return
            try:
                for sock in ready:
                    chunk = sock.recv(1 << 20)
                    if not chunk:
                        return
                    (plain if sock is tls else tls).sendall(chunk)
            except OSError:
                return
