"""The storage GET of tcdyn.aio.download (tcdyn.aio_storage): aiohttp unless the environment
names a proxy, and either way the storage rules: identity encoding, no credentials,
redirects followed, failures mapped and retried as with httpx, no signature in an error."""

from __future__ import annotations

import asyncio
import http.server
import os
import threading

import pytest

import tcdyn
from test_artifacts import CREDS, EXPIRES, env, world  # noqa: F401  (fixtures)


async def _round_trip(dep, data):
    async with tcdyn.aio.Object(rootUrl=dep.root_url, credentials=CREDS) as obj:
        await tcdyn.aio.upload.uploadFromBuf(projectId="p", name="o", contentType="a/b",
                                             contentLength=len(data), expires=EXPIRES,
                                             objectService=obj, data=data)
        got, _ = await tcdyn.aio.download.downloadToBuf(name="o", objectService=obj)
    return got


@pytest.mark.parametrize("proxy", [False, True])
def test_async_gets_use_aiohttp_unless_a_proxy_is_set(env, monkeypatch, proxy):  # noqa: F811
    dep, storage, _ = env
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    if proxy:  # a proxy the loopback storage is exempt from: httpx decides, as for API calls
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    data = os.urandom(3 * 1024 * 1024 + 1)
    assert asyncio.run(_round_trip(dep, data)) == data
    [get] = [s for s in storage.seen if s.method == "GET"]
    headers = {k.lower(): v for k, v in get.headers.items()}
    assert ("aiohttp" in headers["user-agent"]) == (not proxy)
    assert headers["accept-encoding"] == "identity"
    assert not {"authorization", "cookie", "proxy-authorization"} & set(headers)


class _Redirects(http.server.BaseHTTPRequestHandler):
    """``/loop?…``: redirects to itself; ``/to?url``: redirects to ``url``."""

    def do_GET(self):
        self.send_response(302)
        target = self.path if self.path.startswith("/loop") else self.path.split("?", 1)[1]
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def redirector():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirects)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _fetch_artifact(dep, url):
    async def main():
        async with tcdyn.aio.Queue(rootUrl=dep.root_url, credentials=CREDS) as queue:
            return await tcdyn.aio.download.downloadArtifactToBuf(
                taskId="T", runId=0, name="public/x", queueService=queue, maxRetries=2)
    dep.handle("queue", "artifact", lambda req: {"storageType": "s3", "url": url})
    return asyncio.run(main())


def test_redirects_are_followed_without_credentials(env, redirector):  # noqa: F811
    dep, storage, _ = env
    storage.objects["k"] = (b"redirected bytes", "text/plain")
    data, ctype = _fetch_artifact(dep, f"{redirector}/to?{storage.url('k')}")
    assert data == b"redirected bytes" and ctype == "text/plain"
    [get] = [s for s in storage.seen if s.method == "GET"]
    assert not {"authorization", "cookie"} & {k.lower() for k in get.headers}


def test_a_redirect_loop_is_not_retried_and_hides_the_signature(env, redirector):  # noqa: F811
    dep = env[0]
    with pytest.raises(tcdyn.TaskclusterConnectionError, match="TooManyRedirects") as info:
        _fetch_artifact(dep, f"{redirector}/loop?X-Amz-Signature=s3cr3t")
    assert info.value.attempts == 1
    assert "s3cr3t" not in str(info.value) + repr(info.value.__dict__)


def test_a_refused_connection_is_retried_then_reported_without_the_query(env):  # noqa: F811
    dep = env[0]
    with pytest.raises(tcdyn.TaskclusterConnectionError, match="ConnectError") as info:
        _fetch_artifact(dep, "http://127.0.0.1:9/x?X-Amz-Signature=s3cr3t")
    assert info.value.attempts == 3
    assert "s3cr3t" not in str(info.value) + repr(info.value.__dict__)
