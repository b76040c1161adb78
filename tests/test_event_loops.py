"""Issue 18 item 8: one async client used from two event loops at once (two threads, each
running its own loop) must not close the connection pool the other loop is using. Each loop
gets a pool of its own, closed when that loop shuts down or by ``aclose()`` on it; both async
transports (aiohttp, the default, and httpx's) keep that rule."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

import tcdyn
from helpers import CREDS, SECRET
from tcdyn.errors import ClientClosedError
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment


@pytest.fixture(scope="module")
def server(deployment_dir):
    with LocalDeployment(deployment_dir,
                         clients={"tester": ClientRecord(SECRET, ("queue:*",))}) as dep:
        yield dep


@pytest.fixture(scope="module")
def tc(server):
    return tcdyn.load(server.root_url)


class _Unsigned(httpx.Auth):
    """A user's own ``auth=``: the client then sends through httpx (``AsyncHttpxTransport``)."""

    def auth_flow(self, request):
        yield request


def _client(tc, server, kind):
    options = {"rootUrl": server.root_url, "validate": False, "maxRetries": 0}
    if kind == "httpx":
        options.update(credentials=None, auth=_Unsigned())
    else:
        options["credentials"] = CREDS
    client = tc.aio.Queue(**options)
    assert type(client._transport).__name__ == {"aiohttp": "AiohttpTransport",
                                                "httpx": "AsyncHttpxTransport"}[kind]
    return client


def _threads(target, count=2):
    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
def test_one_async_client_serves_two_event_loops_at_once(server, tc, kind):
    queue = _client(tc, server, kind)
    answers: list[str] = []
    failures: list[BaseException] = []

    def worker(n: int) -> None:
        async def burst(round_: int) -> None:
            got = await asyncio.gather(*(queue.task(f"t{n}-{round_}-{i}") for i in range(30)),
                                       return_exceptions=True)
            for result in got:
                if isinstance(result, BaseException):
                    failures.append(result)
                else:
                    answers.append(result["params"]["taskId"])

        for round_ in range(10):  # loops start and end while the other thread's loop runs
            asyncio.run(burst(round_))

    _threads(worker)
    assert [f"{type(f).__name__}: {f}" for f in failures] == []
    assert len(answers) == 600 and len(set(answers)) == 600
    asyncio.run(queue.aclose())


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
def test_aclose_on_one_loop_lets_the_other_finish_and_then_refuses(server, tc, kind):
    """A call in flight on another loop ends with its answer; that loop's next call is
    refused with ``ClientClosedError`` (never aiohttp's "Session is closed")."""
    arrived = threading.Event()

    def slow(request):
        if request.params["taskId"] == "slow":
            arrived.set()
            time.sleep(0.5)
        return {"taskId": request.params["taskId"]}

    server.reset()
    server.handle("queue", "task", slow)
    queue = _client(tc, server, kind)
    outcomes: list[str] = []

    async def other_loop() -> None:
        for task_id in ("slow", "after"):
            try:
                outcomes.append((await queue.task(task_id))["taskId"])
            except ClientClosedError:
                outcomes.append("refused")
            except BaseException as exc:  # e.g. RuntimeError: Session is closed
                outcomes.append(f"{type(exc).__name__}: {exc}")

    thread = threading.Thread(target=lambda: asyncio.run(other_loop()))
    thread.start()
    assert arrived.wait(30)
    assert asyncio.run(_call_then_close(queue)) == {"taskId": "mine"}
    thread.join(30)
    assert outcomes == ["slow", "refused"]
    server.reset()


async def _call_then_close(queue):
    answer = await queue.task("mine")
    await queue.aclose()
    return answer
