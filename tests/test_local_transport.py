"""The local deployment in process: ``LocalDeployment.transport()`` answers exactly as its
socket does (same bytes, same Hawk checks), and ``serve=False`` needs no socket or thread."""

from __future__ import annotations

import asyncio
import gzip
import threading

import httpx
import pytest

import tcdyn
from helpers import CREDS, SECRET
from tcdyn.call.options import RetryPolicy
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import DropConnection, LocalDeployment, Reply, error

FAST = RetryPolicy(delay_factor=0.001, max_delay=0.01)
CLIENTS = {"tester": ClientRecord(SECRET, ("queue:*",))}


@pytest.fixture(scope="module")
def dep(deployment_dir):
    with LocalDeployment(deployment_dir, clients=CLIENTS) as served:
        yield served


@pytest.fixture
def offline(deployment_dir):
    return LocalDeployment(deployment_dir, clients=CLIENTS, serve=False)


def _answer(response: httpx.Response) -> tuple:
    headers = {k: v for k, v in response.headers.items() if k not in ("date", "server")}
    return response.status_code, headers, response.content


def _signed(dep: LocalDeployment, client: httpx.Client, *parts: tuple) -> list[tuple]:
    queue = tcdyn.Queue(rootUrl=dep.root_url, credentials=CREDS, client=client,
                        validate=False, maxRetries=0)
    answers = []
    for method, path, body in parts:
        url = dep.root_url + path
        request = client.build_request(method, url, json=body)
        answers.append(_answer(client.send(request)))
    answers.append(queue.task("abc"))
    return answers


def test_the_transport_answers_byte_for_byte_as_the_socket(dep):
    dep.reset()
    dep.handle("queue", "status", lambda r: Reply(raw=b"<html>proxy</html>", status=502,
                                                  headers={"Content-Type": "text/html"}))
    dep.handle("queue", "cancelTask", lambda r: 1 / 0)
    dep.handle("queue", "getLatestArtifact", lambda r: Reply(
        raw=gzip.compress(b'{"a": 1}'), headers={"Content-Encoding": "gzip",
                                                 "Content-Type": "application/json"}))
    requests = [("GET", "/references/queue/v1/api.json", None),
                ("GET", "/schemas/queue/v1/task.json", None),
                ("GET", "/references/nope.json", None),
                ("GET", "/api/queue/v1/nope", None),
                ("GET", "/api/queue/v1/task/abc", None),  # unsigned: an anonymous echo
                ("GET", "/api/queue/v1/task/abc/status", None),
                ("POST", "/api/queue/v1/task/abc/cancel", None),
                ("GET", "/api/queue/v1/task/abc/artifacts/x", None),
                ("PUT", "/api/queue/v1/task/abc", {"not": "signed"})]
    with httpx.Client() as socket_client, httpx.Client(transport=dep.transport()) as mock:
        over_socket = _signed(dep, socket_client, *requests)
        in_process = _signed(dep, mock, *requests)
    assert in_process == over_socket
    assert over_socket[0][2].startswith(b'{"$schema": "http://127.0.0.1:')  # absolute form
    assert [a[0] for a in over_socket[:-1]] == [200, 200, 404, 404, 200, 502, 500, 200, 200]
    assert over_socket[-1]["clientId"] == "tester"
    assert dep.rejections == []


def test_in_process_deployment_has_no_socket_nor_thread(offline):
    threads = threading.active_count()
    with offline:
        assert offline.root_url == "http://tcdyn.local"
        offline.handle("queue", "task", lambda r: {"taskId": r.params["taskId"],
                                                   "by": r.client_id})
        with tcdyn.Queue(rootUrl=offline.root_url, credentials=CREDS,
                         client=httpx.Client(transport=offline.transport())) as queue:
            assert queue.task("abc") == {"taskId": "abc", "by": "tester"}

        async def main() -> dict:
            async with tcdyn.aio.Queue(
                    rootUrl=offline.root_url, credentials=CREDS,
                    session=httpx.AsyncClient(transport=offline.transport())) as q:
                return await q.task("def")

        assert asyncio.run(main()) == {"taskId": "def", "by": "tester"}
        assert threading.active_count() == threads
    assert [r.name for r in offline.requests] == ["task", "task"]
    assert offline.rejections == []


def test_hawk_is_verified_for_the_host_and_port_the_client_signed(offline):
    with tcdyn.Queue(rootUrl=offline.root_url, credentials=CREDS, maxRetries=0,
                     client=httpx.Client(transport=offline.transport())) as queue:
        queue.task("abc")
    bad = {"clientId": "tester", "accessToken": "wrong"}
    with tcdyn.Queue(rootUrl=offline.root_url, credentials=bad, maxRetries=0,
                     client=httpx.Client(transport=offline.transport())) as queue, \
            pytest.raises(tcdyn.TaskclusterAuthFailure, match="Bad mac"):
        queue.task("abc")

    class OtherPort(httpx.BaseTransport):  # a proxy that changes the Host after signing
        def __init__(self) -> None:
            self.inner = offline.transport()

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            request.headers["Host"] = "tcdyn.local:8080"
            return self.inner.handle_request(request)

    with tcdyn.Queue(rootUrl=offline.root_url, credentials=CREDS, maxRetries=0,
                     client=httpx.Client(transport=OtherPort())) as queue, \
            pytest.raises(tcdyn.TaskclusterAuthFailure, match="Bad mac"):
        queue.task("abc")
    assert len(offline.rejections) == 2


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_dropped_connection_is_a_transport_error_and_retried(offline, flavour):
    calls = []

    def flaky(request):
        calls.append(1)
        if len(calls) < 3:
            raise DropConnection()
        return {"ok": len(calls)}

    offline.handle("queue", "task", flaky)
    kwargs = {"rootUrl": offline.root_url, "credentials": CREDS, "retry": FAST}
    if flavour == "sync":
        with tcdyn.Queue(client=httpx.Client(transport=offline.transport()),
                         **kwargs) as queue:
            assert queue.task("abc") == {"ok": 3}
            offline.handle("queue", "task", lambda r: (_ for _ in ()).throw(DropConnection()))
            with pytest.raises(tcdyn.TaskclusterConnectionError, match="RemoteProtocolError"):
                queue.task("abc")
    else:
        async def main() -> None:
            async with tcdyn.aio.Queue(
                    session=httpx.AsyncClient(transport=offline.transport()), **kwargs) as q:
                assert await q.task("abc") == {"ok": 3}

        asyncio.run(main())


def test_errors_reach_the_client_typed(offline):
    offline.handle("queue", "task", lambda r: error(409, "RequestConflict", "taken"))
    with tcdyn.Queue(rootUrl=offline.root_url, credentials=CREDS,
                     client=httpx.Client(transport=offline.transport())) as queue, \
            pytest.raises(tcdyn.TaskclusterRestFailure) as info:
        queue.task("abc")
    assert info.value.status_code == 409 and info.value.code == "RequestConflict"
