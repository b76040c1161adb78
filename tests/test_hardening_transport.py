"""Issue 8, transport items: legacy-host signing (3), bounded bodies (4), a per-attempt
deadline (5), a redacted ``superExc`` (7), results per content type (12), quiet retry logs
(13), closed clients and event loops (15), async credential providers and ``auth=`` (17).

Every scenario runs through the sync and the async client where both exist.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib

import httpx
import pytest

import tcdyn
from helpers import CREDS, SECRET, run
from tcdyn.call.options import RetryPolicy
from tcdyn.call.response import InvalidResponse, ResponseTooLarge
from tcdyn.errors import ClientClosedError
from tcdyn.response import RawBody, Redirect
from tcdyn.testing.auth import ClientRecord, authenticate
from tcdyn.testing.server import LocalDeployment, Reply, error

FAST = RetryPolicy(delay_factor=0.001, max_delay=0.01)
CLIENTS = {"tester": ClientRecord(SECRET, ("queue:*", "auth:*"))}


@pytest.fixture(scope="module")
def server(deployment_dir):
    with LocalDeployment(deployment_dir, clients=CLIENTS) as dep:
        yield dep


@pytest.fixture(scope="module")
def tc(server):
    return tcdyn.load(server.root_url)


@pytest.fixture(autouse=True)
def fresh(request):
    if "server" in request.fixturenames:
        request.getfixturevalue("server").reset()


def kw(server, **extra):
    return {"rootUrl": server.root_url, "credentials": CREDS, "retry": FAST, "validate": False,
            **extra}


# -- 3: the legacy rootUrl signs for its service hosts, and only for them ------------------

class _Recorder(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers every request with 200 and keeps it: a stand-in for *.taskcluster.net."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"ok": True})

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self.handle_request(request)


def test_legacy_root_url_signs_requests_to_its_service_host(flavour):
    recorder = _Recorder()
    session = (httpx.Client if flavour == "sync" else httpx.AsyncClient)(transport=recorder)
    result = run(flavour, "Queue", tcdyn, lambda q: q.task("T"),
                 rootUrl="https://taskcluster.net", credentials=CREDS, client=session)
    assert result == {"ok": True}
    sent = recorder.requests[-1]
    assert str(sent.url) == "https://queue.taskcluster.net/v1/task/T"
    # The header verifies as the auth service would check it, for that very host and port.
    who = authenticate("GET", str(sent.url), sent.headers, b"", CLIENTS)
    assert who is not None and who.clientId == "tester"


def test_legacy_signing_refuses_every_other_host():
    q = tcdyn.Queue(rootUrl="https://taskcluster.net", credentials=CREDS)
    auth = q._auth()
    for url, signed in [("https://queue.taskcluster.net/v1/ping", True),
                        ("https://taskcluster.net/v1/ping", False),
                        ("https://auth.taskcluster.net/v1/ping", False),
                        ("http://queue.taskcluster.net/v1/ping", False),
                        ("https://queue.taskcluster.net:8443/v1/ping", False),
                        ("https://queue.taskcluster.net.evil.example/v1/ping", False),
                        ("https://evil.example/v1/ping", False)]:
        request = httpx.Request("GET", url, headers={"Authorization": "leftover"})
        headers = next(auth.auth_flow(request)).headers
        assert ("authorization" in headers) is signed, url
        if signed:
            assert headers["authorization"].startswith("Hawk ")


# -- 4: bounded bodies --------------------------------------------------------------------

@pytest.fixture(scope="module")
def gzip_bomb():
    """~0.3 MB of gzip that inflates to 300 MB of zeros."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1024 * 1024)
    parts = [packer.compress(zeros) for _ in range(300)]
    parts.append(packer.flush())
    return b"".join(parts)


def test_gzip_bomb_stops_at_the_limit_in_bounded_memory(server, flavour, tc, gzip_bomb):
    assert len(gzip_bomb) < 400_000
    server.handle("queue", "task", lambda r: Reply(raw=gzip_bomb, headers={
        "Content-Type": "application/json", "Content-Encoding": "gzip"}))
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge) as info:
            run(flavour, "Queue", tc, lambda q: q.task("t"), **kw(server))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 120 * 1024 * 1024, f"peak {peak / 1048576:.0f} MiB"
    err = info.value
    assert isinstance(err, tcdyn.TaskclusterFailure) and err.status_code == 200
    assert "larger than 64 MiB" in str(err) and "max_response_size" in str(err)


def test_max_response_size_option(server, flavour, tc):
    big = {"data": "x" * 2_000_000}
    server.handle("queue", "task", lambda r: big)
    with pytest.raises(ResponseTooLarge, match=r"larger than 1000000 bytes"):
        run(flavour, "Queue", tc, lambda q: q.task("t"), **kw(server, max_response_size=10**6))
    assert run(flavour, "Queue", tc, lambda q: q.task("t"),
               **kw(server, max_response_size=3 * 10**6)) == big
    for bad in (0, -1, 1.5, "1", True):
        with pytest.raises(ValueError, match="max_response_size must be a positive int"):
            tc.Queue(max_response_size=bad)


def test_huge_error_message_is_cut_in_the_text_and_kept_on_the_body(server, flavour, tc):
    message = "m" * 5_000_000
    server.handle("queue", "task", lambda r: error(400, "InputError", message))
    with pytest.raises(tcdyn.InputError) as info:
        run(flavour, "Queue", tc, lambda q: q.task("t"), **kw(server))
    err = info.value
    assert len(str(err)) < 3000 and "4998000 more characters" in str(err)
    assert err.body["message"] == message
    server.handle("queue", "task", lambda r: Reply(raw=b"<p>" * 1_000_000, status=400))
    with pytest.raises(tcdyn.TaskclusterRestFailure) as info:
        run(flavour, "Queue", tc, lambda q: q.task("t"), **kw(server))
    assert len(str(info.value)) < 3000 and len(info.value.raw_body) == 3_000_000


# -- 5: timeout is a deadline per attempt -----------------------------------------------

class Dribbler:
    """A raw HTTP server that answers one byte every ``pause`` seconds (headers or body)."""

    def __init__(self, where: str, pause: float = 0.25) -> None:
        self.where, self.pause = where, pause
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        body = b'{"slow": "' + b"x" * 40 + b'"}'
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body))
        fast, slow = (head, body) if self.where == "body" else (b"", head + body)
        try:
            conn.recv(65536)
            conn.sendall(fast)
            for i in range(len(slow)):
                if self.stop.wait(self.pause):
                    break
                conn.sendall(slow[i:i + 1])
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.mark.parametrize("where", ["headers", "body"])
def test_timeout_bounds_each_whole_attempt(flavour, where):
    dribbler = Dribbler(where)
    try:
        start = time.monotonic()
        with pytest.raises(tcdyn.TaskclusterConnectionError, match="Timeout") as info:
            run(flavour, "Queue", tcdyn, lambda q: q.task("t"), rootUrl=dribbler.url,
                credentials=CREDS, timeout=1.0, retry=FAST, maxRetries=1)
        elapsed = time.monotonic() - start
    finally:
        dribbler.close()
    # two attempts of ~1 s each, where a per-read timeout let each run ~15 s
    assert elapsed < 3.5, elapsed
    assert info.value.attempts == 2 and dribbler.connections == 2


# -- 7: no Hawk header on superExc ---------------------------------------------------------

def test_connection_error_carries_no_authorization(flavour):
    with pytest.raises(tcdyn.TaskclusterConnectionError) as info:
        run(flavour, "Queue", tcdyn, lambda q: q.task("t"), rootUrl="http://127.0.0.1:9",
            credentials=CREDS, maxRetries=0)
    sent = info.value.superExc.request
    assert sent.url == "http://127.0.0.1:9/api/queue/v1/task/t"
    assert sent.headers["authorization"] == "<redacted>"
    assert all("mac=" not in v and "Hawk" not in v for v in sent.headers.values())
    assert info.value.__cause__ is info.value.superExc


# -- 12: every answer becomes a value or a typed error -------------------------------------

def test_corrupt_encoding_on_a_5xx_is_retried(server, flavour, tc):
    answers = [Reply(raw=b"this is not gzip", status=502, headers={"Content-Encoding": "gzip"})]
    server.handle("queue", "task", lambda r: answers.pop() if answers else {"ok": True})
    assert run(flavour, "Queue", tc, lambda q: q.task("t"), **kw(server)) == {"ok": True}
    assert len(server.requests) == 2
    server.handle("queue", "task", lambda r: Reply(raw=b"this is not gzip", status=502,
                                                   headers={"Content-Encoding": "gzip"}))
    with pytest.raises(tcdyn.TaskclusterRestFailure) as info:
        run(flavour, "Queue", tc, lambda q: q.task("t"), **kw(server, maxRetries=1))
    assert info.value.status_code == 502 and "not decodable" in str(info.value)


def _reply(raw: bytes, ctype: str | None = None, status: int = 200, **headers: str) -> Reply:
    if ctype:
        headers["Content-Type"] = ctype
    return Reply(raw=raw, status=status, headers=headers)


@pytest.mark.parametrize(("reply", "match"), [
    (_reply(b"[" * 100_000 + b"]" * 100_000, "application/json"), "nested too deeply"),
    (_reply(b"{not json", "application/json"), "not JSON: invalid JSON"),
    (_reply(b'{"a": "\xff"}', "application/json"), "not UTF-8"),
    (_reply(b"<html>Sign in to the Wi-Fi</html>", "text/html; charset=utf-8"), "HTML page"),
    (_reply(b"garbage", "application/json", **{"Content-Encoding": "gzip"}), "corrupt"),
])
def test_unusable_2xx_bodies_raise_invalid_response(server, flavour, tc, reply, match):
    server.handle("queue", "task", lambda r: reply)
    with pytest.raises(InvalidResponse, match=match) as info:
        run(flavour, "Queue", tc, lambda q: q.task("t"), **kw(server))
    err = info.value
    assert isinstance(err, tcdyn.TaskclusterRestFailure) and err.status_code == 200
    assert err.url.endswith("/api/queue/v1/task/t") and "content type" in str(err)
    assert len(server.requests) == 1  # a 2xx is never re-sent


def test_binary_2xx_is_returned_as_exact_bytes_with_headers(server, flavour, tc):
    data = bytes(range(256)) * 4
    server.handle("queue", "task", lambda r: _reply(data, "application/octet-stream",
                                                    **{"X-Thing": "1"}))
    result = run(flavour, "Queue", tc, lambda q: q.task("t"), **kw(server))
    assert isinstance(result, RawBody) and result == data
    assert result.content_type == "application/octet-stream" and result.status_code == 200
    assert result.headers["x-thing"] == "1"


def test_redirects_keep_their_location(server, flavour, tc):
    server.handle("queue", "getLatestArtifact", lambda r: Reply(
        None, 303, {"Location": "/elsewhere/x"}))
    result = run(flavour, "Queue", tc, lambda q: q.getLatestArtifact("t", "public/x"),
                 **kw(server))
    assert isinstance(result, Redirect) and result.status_code == 303
    assert result == {"location": server.root_url + "/elsewhere/x"}
    assert result.location == server.root_url + "/elsewhere/x"
    body = {"storageType": "s3", "url": "https://bucket.example/x"}
    server.handle("queue", "getLatestArtifact", lambda r: Reply(
        body, 303, {"Location": "https://bucket.example/x"}))
    result = run(flavour, "Queue", tc, lambda q: q.getLatestArtifact("t", "public/x"),
                 **kw(server))
    assert result == body and result.location == "https://bucket.example/x"
    assert result.headers["location"] == "https://bucket.example/x"
    server.handle("queue", "getLatestArtifact", lambda r: _reply(
        b"<a href=/x>See Other</a>", "text/html", 303, Location="https://bucket.example/y"))
    result = run(flavour, "Queue", tc, lambda q: q.getLatestArtifact("t", "public/x"),
                 **kw(server))
    assert result == {"location": "https://bucket.example/y"}


def test_gzip_json_is_inflated(server, flavour, tc):
    body = {"tasks": list(range(1000))}
    server.handle("queue", "task", lambda r: _reply(
        gzip.compress(json.dumps(body).encode()), "application/json",
        **{"Content-Encoding": "gzip"}))
    assert run(flavour, "Queue", tc, lambda q: q.task("t"), **kw(server)) == body
    assert server.requests[-1].headers["accept-encoding"] == "gzip, deflate"


# -- 13: retry logs ----------------------------------------------------------------------

def test_retries_log_at_debug_only_when_a_retry_happens(server, flavour, tc, caplog):
    caplog.set_level(logging.DEBUG, logger="tcdyn")
    server.handle("queue", "task", lambda r: error(500, "InternalServerError", "x"))
    with pytest.raises(tcdyn.InternalServerError):
        run(flavour, "Queue", tc, lambda q: q.task("t"), **kw(server, maxRetries=2))
    records = [r for r in caplog.records if r.name.startswith("tcdyn")]
    assert [r.levelno for r in records] == [logging.DEBUG] * 2
    assert "retry 1 of 2" in records[0].getMessage()
    assert "retry 2 of 2" in records[1].getMessage()
    caplog.clear()
    with pytest.raises(tcdyn.InternalServerError):
        run(flavour, "Queue", tc, lambda q: q.task("t"), **kw(server, maxRetries=0))
    assert [r for r in caplog.records if r.name.startswith("tcdyn")] == []


def test_no_log_output_without_logging_configured():
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("tcdyn").handlers)
    script = """
import asyncio, tcdyn
from tcdyn.call.options import RetryPolicy
kw = dict(rootUrl="http://127.0.0.1:9", credentials={"clientId": "a", "accessToken": "b"},
          retry=RetryPolicy(max_retries=2, delay_factor=0.001))
try:
    tcdyn.Queue(**kw).task("t")
except tcdyn.TaskclusterConnectionError:
    pass
async def main():
    async with tcdyn.aio.Queue(**kw) as q:
        await q.task("t")
try:
    asyncio.run(main())
except tcdyn.TaskclusterConnectionError:
    print("done")
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout == "done\n" and out.stderr == ""


# -- 15: closed clients, event loops ---------------------------------------------------

def test_using_a_closed_client_raises(server, flavour, tc):
    async def use_after_close(q):
        await q.aclose()
        return await q.task("t")

    def sync_use(q):
        q.close()
        return q.task("t")

    with pytest.raises(ClientClosedError, match="client was closed"):
        run(flavour, "Queue", tc, sync_use if flavour == "sync" else use_after_close,
            **kw(server))
    assert server.requests == []
    assert issubclass(ClientClosedError, tcdyn.TaskclusterFailure)


def test_a_user_client_is_also_refused_after_close(server):
    with httpx.Client() as session:
        q = tcdyn.Queue(rootUrl=server.root_url, client=session)
        q.close()
        with pytest.raises(ClientClosedError):
            q.task("t")
        assert not session.is_closed


def test_async_client_works_across_event_loops(server, tc):
    q = tc.aio.Queue(**kw(server))
    assert asyncio.run(q.task("a"))["params"] == {"taskId": "a"}
    assert asyncio.run(q.task("b"))["params"] == {"taskId": "b"}

    async def twice():
        return [await q.task("c"), await q.task("d")]

    assert [r["params"]["taskId"] for r in asyncio.run(twice())] == ["c", "d"]
    asyncio.run(q.aclose())
    with pytest.raises(ClientClosedError):
        asyncio.run(q.task("e"))


# -- 17: async credential providers, auth= ------------------------------------------------

def test_async_credentials_provider_on_aio(server, tc):
    calls = []

    async def provider():
        await asyncio.sleep(0)
        calls.append(1)
        return CREDS

    result = run("async", "Queue", tc, lambda q: q.task("t"), **kw(server, credentials=provider))
    assert result["clientId"] == "tester" and calls == [1]
    scoped = run("async", "Queue", tc, lambda q: q.task("t"),
                 **kw(server, credentials=provider, authorizedScopes=["queue:get-task:*"]))
    assert scoped["scopes"] == ["queue:get-task:*"]


def test_async_provider_on_a_sync_client_is_refused_before_sending(server, tc):
    async def provider():
        return CREDS

    with pytest.raises(tcdyn.CredentialsError, match="async"):
        run("sync", "Queue", tc, lambda q: q.task("t"), **kw(server, credentials=provider))
    assert server.requests == []


class _TokenAuth(httpx.Auth):
    def auth_flow(self, request):
        request.headers["X-Token"] = "t0ken"
        yield request


def test_own_auth(server, flavour, tc):
    result = run(flavour, "Queue", tc, lambda q: q.task("t"),
                 **kw(server, credentials=None, auth=_TokenAuth()))
    assert result["clientId"] is None
    sent = server.requests[-1].headers
    assert sent["x-token"] == "t0ken" and "authorization" not in sent
    with pytest.raises(TypeError, match="auth or credentials, not both"):
        tc.Queue(credentials=CREDS, auth=_TokenAuth())
    with pytest.raises(TypeError, match=r"auth must be an httpx\.Auth"):
        tc.Queue(auth=("user", "pass"))
