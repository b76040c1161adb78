"""Issue 11 item 1: the async clients tcdyn creates send with aiohttp under tcdyn's own retry
flow; a user's ``httpx.AsyncClient``, ``auth=`` or an environment proxy keep the httpx path.

The sync/async parity scenarios (``flavour``) and ``test_hardening_transport.py`` run the
async side on this transport; these tests cover what is particular to it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading

import httpx
import pytest

import tcdyn
from helpers import CREDS, SECRET, run
from tcdyn.call.options import RetryPolicy
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment

FAST = RetryPolicy(delay_factor=0.001, max_delay=0.01)
CLIENTS = {"tester": ClientRecord(SECRET, ("queue:*", "index:*"))}


@pytest.fixture(scope="module")
def server(deployment_dir):
    with LocalDeployment(deployment_dir, clients=CLIENTS) as dep:
        yield dep


@pytest.fixture(scope="module")
def tc(server):
    return tcdyn.load(server.root_url)


def kw(server, **extra):
    return {"rootUrl": server.root_url, "credentials": CREDS, "retry": FAST, "validate": False,
            **extra}


def _transport(client):
    return type(client._transport).__name__


PROBE = """
import json, sys
import tcdyn, tcdyn.aio
tcdyn.aio.Queue
with tcdyn.Queue(rootUrl="http://127.0.0.1:9"):
    pass
before = "aiohttp" in sys.modules
tcdyn.aio.Queue(rootUrl="http://127.0.0.1:9")
print(json.dumps([before, "aiohttp" in sys.modules]))
"""


def test_aiohttp_is_imported_only_by_an_async_client():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == [False, True]


def test_async_clients_tcdyn_creates_send_with_aiohttp(server, tc):
    async def main():
        async with tc.aio.Queue(**kw(server)) as q:
            assert _transport(q) == "AiohttpTransport"
            return await q.task("t")

    assert asyncio.run(main())["clientId"] == "tester"
    assert "aiohttp" in server.requests[-1].headers["user-agent"]


def test_a_user_client_or_auth_keeps_httpx_and_a_proxy_keeps_aiohttp(server, tc, monkeypatch):
    class Token(httpx.Auth):
        def auth_flow(self, request):
            yield request

    async def kinds():
        given = tc.aio.Queue(**kw(server, client=httpx.AsyncClient()))
        own_auth = tc.aio.Queue(**kw(server, credentials=None, auth=Token()))
        result = [_transport(given), _transport(own_auth)]
        assert (await given.task("t"))["clientId"] == "tester"
        assert "httpx" in server.requests[-1].headers["user-agent"]
        await given._transport.client.aclose()
        return result

    assert asyncio.run(kinds()) == ["AsyncHttpxTransport", "AsyncHttpxTransport"]
    # aiohttp sends through the proxy tcdyn.proxies picks (tests/test_proxies.py)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    assert _transport(tc.aio.Queue(**kw(server))) == "AiohttpTransport"


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_awkward_route_arguments_and_queries_are_signed_as_sent(server, tc, flavour):
    """yarl must not re-encode what tcdyn encoded: the server checks Hawk over the path."""
    query = {"continuationToken": "a+b/c= d&e%2F~", "limit": 3}
    result = run(flavour, "Queue", tc, lambda q: q.listTaskGroup("a b/c%d.é?#", query=query),
                 **kw(server))
    assert result["clientId"] == "tester"
    assert result["params"] == {"taskGroupId": "a b/c%d.é?#"}
    assert result["query"] == {"continuationToken": "a+b/c= d&e%2F~", "limit": "3"}
    dots = run(flavour, "Index", tc, lambda q: q.findTask(".."), **kw(server))
    assert dots["params"] == {"indexPath": ".."} and dots["clientId"] == "tester"


def test_many_concurrent_calls_share_one_session(server, tc):
    async def main():
        async with tc.aio.Queue(**kw(server)) as q:
            results = await asyncio.gather(*(q.task(f"t{i}") for i in range(60)))
            session = q._transport.session
        return results, session

    results, session = asyncio.run(main())
    assert [r["params"]["taskId"] for r in results] == [f"t{i}" for i in range(60)]
    assert all(r["clientId"] == "tester" for r in results)  # 60 distinct valid signatures
    assert session.closed


class _Truncating:
    """A server promising 100 body bytes and closing after 10."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 100\r\n\r\n{\"a\": 1, ")


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_truncated_body_is_the_same_httpx_error_on_both(flavour):
    server = _Truncating()
    try:
        with pytest.raises(tcdyn.TaskclusterConnectionError) as info:
            run(flavour, "Queue", tcdyn, lambda q: q.task("t"), rootUrl=server.url,
                credentials=CREDS, retry=FAST, maxRetries=1)
    finally:
        server.sock.close()
    assert info.value.attempts == 2
    assert isinstance(info.value.superExc, httpx.RemoteProtocolError)
    assert info.value.superExc.request.headers["authorization"] == "<redacted>"
