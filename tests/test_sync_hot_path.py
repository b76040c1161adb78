"""Issue 11 items 2 and 3: the sync hot path (httpcore's pool driven directly, Hawk signed
without mohawk's generic path) and the one shared SSL context.

Everything here runs over real sockets: ``tcdyn.testing``'s deployment (which verifies Hawk),
small capture servers that record the exact request head, and a TLS server with a
certificate made by ``openssl`` for the test.
"""

from __future__ import annotations

import asyncio
import datetime
import http.server
import json
import re
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import mohawk
import pytest
import taskcluster

import tcdyn
import tcdyn.aio
from helpers import CREDS, SECRET
from tcdyn.credentials import Credentials
from tcdyn.testing.auth import ClientRecord, authenticate
from tcdyn.testing.server import LocalDeployment
from tcdyn.transport import clients, hawk, httpcore_transport, sockets, tls
from tcdyn.transport.httpx_transport import HttpxTransport

SCOPES = ["queue:get-task:*", "queue:create-task:*"]


@pytest.fixture(scope="module")
def server(deployment_dir: Path) -> Iterator[LocalDeployment]:
    with LocalDeployment(deployment_dir, clients={
            "tester": ClientRecord(SECRET, ("queue:*", "auth:*"))}) as dep:
        yield dep


class _Capture:
    """A loopback HTTP/1.1 server that records each request head and body, answers ``{}``."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.root_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        data = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in data:
                    more = conn.recv(65536)
                    if not more:
                        return
                    data += more
                head, _, data = data.partition(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length: *(\d+)", head)
                n = int(length.group(1)) if length else 0
                while len(data) < n:
                    data += conn.recv(65536)
                self.heads.append(head)
                self.bodies.append(data[:n])
                data = data[n:]
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 2\r\n\r\n{}")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def capture() -> Iterator[_Capture]:
    cap = _Capture()
    yield cap
    cap.close()


def _attrs(header: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


# -- item 2: which transport, and the same bytes on the wire --------------------------------

def test_clients_tcdyn_creates_send_through_httpcore(server):
    with tcdyn.Queue(rootUrl=server.root_url, credentials=CREDS) as q:
        assert type(q._transport) is httpcore_transport.PoolTransport
        assert "queue:*" in q.current_scopes()
    with httpx.Client() as given, tcdyn.Queue(rootUrl=server.root_url, client=given) as q:
        assert type(q._transport) is HttpxTransport  # a user's client is used as given


def test_the_pool_sends_the_bytes_httpx_sends(capture, monkeypatch):
    """Request line and headers, in order, as the httpx path sends them (the Hawk mac, ts
    and nonce aside), for a GET, a PUT with a body, a POST without one and a query; the
    trace id (fixed here) in the same place."""
    def heads() -> list[bytes]:
        capture.heads.clear()
        with tcdyn.Queue(rootUrl=capture.root_url, credentials=CREDS, validate=False,
                         traceId="hot-path") as q:
            q.task("a b/c")
            q.createTask("abc", {"x": [1, "é"]})
            q.reportCompleted("abc", 0)
            q.listTaskGroup("g", query={"limit": 3, "continuationToken": "a b&c"})
            kind = type(q._transport).__name__
        return kind, [re.sub(rb'mac="[^"]*"|ts="\d+"|nonce="[^"]*"', b"", h)
                      for h in capture.heads]

    fast = heads()
    monkeypatch.setattr(httpcore_transport, "SUPPORTED", False)
    slow = heads()
    assert (fast[0], slow[0]) == ("PoolTransport", "HttpxTransport")
    assert fast[1] == slow[1] and len(fast[1]) == 4
    assert fast[1][0].startswith(b"GET /api/queue/v1/task/a%20b%2Fc HTTP/1.1\r\nHost: ")
    assert b"Content-Length: 0" in fast[1][2]
    assert all(b"\r\nx-taskcluster-trace-id: hot-path\r\nAuthorization: Hawk " in h
               for h in fast[1])


def test_a_non_normal_root_url_is_sent_as_httpx_normalises_it(capture):
    root = capture.root_url.replace("http://127.0.0.1", "http://LOCALHOST") + "/x/../y"
    with tcdyn.Queue(rootUrl=root, credentials=CREDS) as q:
        q.task("abc")
        q.task("abc")
    port = capture.root_url.rsplit(":", 1)[1]
    for head in capture.heads:
        assert head.startswith(b"GET /y/api/queue/v1/task/abc HTTP/1.1\r\nHost: localhost:"
                               + port.encode() + b"\r\n")


def test_fallback_to_httpx_when_httpcore_is_not_the_supported_version(server, monkeypatch):
    monkeypatch.setattr(httpcore_transport, "SUPPORTED", False)
    with tcdyn.Queue(rootUrl=server.root_url, credentials=CREDS) as q:
        assert type(q._transport) is HttpxTransport
        assert "queue:*" in q.current_scopes()
        assert q.task("AAAAAAAAAAAAAAAAAAAAAA")["clientId"] == "tester"


def test_an_environment_proxy_keeps_the_pool(server, monkeypatch):
    """The pool sends through the proxy tcdyn.proxies picks (tests/test_proxies.py); an
    https proxy is not one for this http:// rootUrl."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with tcdyn.Queue(rootUrl=server.root_url) as q:
        assert type(q._transport) is httpcore_transport.PoolTransport
        assert q.task("AAAAAAAAAAAAAAAAAAAAAA")["params"] == {"taskId": "AAAAAAAAAAAAAAAAAAAAAA"}


def test_sync_client_without_httpx_private_pool_uses_the_public_api(capture, monkeypatch):
    monkeypatch.setattr(clients, "_private_pool_ok", lambda: False)
    with clients.sync_client() as client:
        assert client.get(f"{capture.root_url}/x").json() == {}
        pool = client._transport._pool  # type: ignore[attr-defined]
        assert not isinstance(pool._network_backend, sockets.WrappedBackend)
        assert pool._ssl_context is tls.shared_ssl_context()


def test_pool_errors_are_httpx_errors_with_the_authorization_redacted():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    q = tcdyn.Queue(rootUrl=f"http://127.0.0.1:{port}", credentials=CREDS, maxRetries=1)
    with pytest.raises(tcdyn.TaskclusterConnectionError) as info:
        q.task("abc")
    exc = info.value.superExc
    assert type(exc) is httpx.ConnectError and info.value.attempts == 2
    assert exc.request.headers["authorization"] == "<redacted>"
    assert SECRET not in repr(exc.request.headers)
    q.close()
    with pytest.raises(tcdyn.ClientClosedError):
        q.task("abc")


def test_pool_calls_verify_against_the_local_deployment(server):
    """tcdyn.testing's Hawk validator accepts every signature of the pool path: a GET, a
    signed PUT with a body, temporary credentials (ext) and currentScopes."""
    now = datetime.datetime.now(datetime.UTC)
    temp = tcdyn.createTemporaryCredentials("tester", SECRET, now - datetime.timedelta(minutes=1),
                                            datetime.timedelta(minutes=10), ["queue:*"])
    for creds in (CREDS, temp):
        with tcdyn.Queue(rootUrl=server.root_url, credentials=creds,
                         authorizedScopes=["queue:*"]) as q:
            echo = q.task("AAAAAAAAAAAAAAAAAAAAAA")  # the deployment verified the header
            assert echo["clientId"] == "tester" and echo["scopes"] == ["queue:*"]
            assert "queue:*" in q.current_scopes()


# -- item 2: the Hawk header is mohawk's, the official client's, and verifies ------------

@pytest.mark.parametrize("method,url,body", [
    ("GET", "https://tc.example.com/api/queue/v1/task/abc", None),
    ("PUT", "http://127.0.0.1:8080/api/queue/v1/task/abc?x=1%202", b'{"a":"\xc3\xa9"}'),
])
@pytest.mark.parametrize("authorized", [None, ["queue:*"]])
def test_header_is_mohawks_sender_header(method, url, body, authorized):
    creds = Credentials("tester", SECRET, authorizedScopes=authorized)
    ts = int(time.time())
    ours = hawk.sign(creds, method, httpx.URL(url).host,
                     httpx.URL(url).port or (443 if url.startswith("https") else 80),
                     httpx.URL(url).raw_path.decode(), body, timestamp=ts,
                     nonce_value="Abc12_")
    sender = mohawk.Sender(
        {"id": "tester", "key": SECRET, "algorithm": "sha256"}, url, method,
        content=body if body else mohawk.base.EmptyValue,
        content_type="application/json" if body else mohawk.base.EmptyValue,
        always_hash_content=False, nonce="Abc12_", ext=creds.hawk_ext(),
        _timestamp=ts)
    assert ours == sender.request_header
    mohawk.Receiver(lambda cid: {"id": cid, "key": SECRET, "algorithm": "sha256"},
                    ours, url, method, content=body or b"",
                    content_type="application/json" if body else "",
                    accept_untrusted_content=body is None)
    record = {"tester": ClientRecord(SECRET, ("queue:*",))}
    who = authenticate(method, url, {"Authorization": ours, "Content-Type": "application/json"},
                       body or b"", record, now=ts)
    assert who is not None and who.clientId == "tester"


def test_header_is_the_official_clients_for_the_same_ts_and_nonce(capture):
    """The official client's header for a createTask (its ext carries authorizedScopes), read
    off the wire, equals ours for the same timestamp and nonce."""
    # a copy: the official client turns the credentials it is given into bytes in place
    options = {"rootUrl": capture.root_url, "credentials": dict(CREDS),
               "authorizedScopes": SCOPES, "maxRetries": 0}
    taskcluster.Queue(options).createTask("abc", {"x": [1, "é"]})
    official = re.search(rb"(?im)^authorization: ([^\r\n]*)", capture.heads[-1]).group(1).decode()
    attrs = _attrs(official)
    body = capture.bodies[-1]
    assert json.loads(body) == {"x": [1, "é"]}
    url = httpx.URL(f"{capture.root_url}/api/queue/v1/task/abc")
    ours = hawk.sign(Credentials("tester", SECRET, authorizedScopes=SCOPES), "PUT", url.host,
                     url.port, url.raw_path.decode(), body, timestamp=int(attrs["ts"]),
                     nonce_value=attrs["nonce"])
    assert ours == official


def test_a_rotating_provider_is_asked_on_every_call(server):
    seen: list[int] = []

    def provider() -> dict:
        seen.append(1)
        return CREDS

    with tcdyn.Queue(rootUrl=server.root_url, credentials=provider) as q:
        for _ in range(3):
            assert q.task("AAAAAAAAAAAAAAAAAAAAAA")["clientId"] == "tester"
    assert len(seen) == 3


# -- item 3: one SSL context, made only for https ------------------------------------------

@pytest.fixture
def counted(monkeypatch) -> list[ssl.SSLContext]:
    """Every SSL context httpx makes from now on (the shared one reset first)."""
    made: list[ssl.SSLContext] = []
    real = httpx.create_ssl_context

    def counting(*args, **kwargs):
        context = real(*args, **kwargs)
        made.append(context)
        return context

    monkeypatch.setattr(httpx, "create_ssl_context", counting)
    monkeypatch.setattr(tls, "_ssl", None)
    return made


def test_http_clients_never_build_an_ssl_context(server, counted):
    with tcdyn.Queue(rootUrl=server.root_url, credentials=CREDS) as q:
        assert q.task("AAAAAAAAAAAAAAAAAAAAAA")["clientId"] == "tester"
        assert "queue:*" in q.current_scopes()
    assert tcdyn.load(server.root_url, refresh=True).Queue.serviceName == "queue"  # fetcher
    with clients.sync_client() as client:
        client.get(f"{server.root_url}/references/manifest.json")
    assert counted == []


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on 127.0.0.1 answering ``{}``, with a certificate made for the test."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_PUT = do_POST = _answer

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", cert
    httpd.shutdown()


def test_https_clients_share_one_context_made_at_the_first_handshake(tls_server, counted):
    root_url, cert = tls_server
    queue = tcdyn.Queue(rootUrl=root_url, credentials=CREDS)
    auth = tcdyn.Auth(rootUrl=root_url, credentials=CREDS)
    assert counted == []  # nothing made before a TLS handshake
    tls.shared_ssl_context().load_verify_locations(cert)  # trust the test's certificate
    assert queue.task("abc") == {} and auth.ping() == {}
    with clients.sync_client() as client:  # the reference fetcher's, uploads', downloads'
        assert client.get(f"{root_url}/references/manifest.json").json() == {}

    async def aio() -> dict:
        async with tcdyn.aio.Queue(rootUrl=root_url, credentials=CREDS) as q:
            return await q.task("abc")

    assert asyncio.run(aio()) == {}
    queue.close()
    auth.close()
    assert len(counted) == 1 and counted[0] is tls.shared_ssl_context()


def test_a_wrong_certificate_is_still_refused(tls_server, counted):
    root_url, _ = tls_server  # the shared context here does not trust the test certificate
    with tcdyn.Queue(rootUrl=root_url, credentials=CREDS, maxRetries=0) as q, \
            pytest.raises(tcdyn.TaskclusterConnectionError) as info:
        q.task("abc")
    assert type(info.value.superExc) is httpx.ConnectError
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value.superExc)
