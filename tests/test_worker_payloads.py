"""A task's worker payload is checked before the task is created (issue 25): with
``workerImplementation=``, ``createTask`` refuses a payload the worker's schema refuses and
sends nothing (a recording transport in front of the local deployment's queue proves it);
``tcdyn.payloads.check`` is the same check for tasks built elsewhere."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import tcdyn
import tcdyn.aio
from tcdyn import payloads
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.queue import InMemoryQueue
from tcdyn.testing.server import LocalDeployment

CREDENTIALS = {"clientId": "user", "accessToken": "token"}
POSIX = "generic-worker/multiuser_posix"
GOOD = {"command": [["/bin/sh", "-c", "true"]], "maxRunTime": 600}
#: issue 25's two mistakes: a misspelled key and a command given as a string
BAD = {"command": "echo hi", "maxRunTme": 600}


class Recording(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Every request, then the local deployment's answer."""

    def __init__(self, inner: httpx.MockTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def local() -> Iterator[tuple[LocalDeployment, InMemoryQueue, Recording]]:
    dep = LocalDeployment(clients={"user": ClientRecord("token", ("*",))}, serve=False)
    queue = InMemoryQueue().install(dep)
    yield dep, queue, Recording(dep.transport())


@pytest.fixture
def queue(local) -> Iterator[Any]:
    dep, _, recording = local
    with tcdyn.Queue(rootUrl=dep.root_url, credentials=CREDENTIALS,
                     client=httpx.Client(transport=recording)) as client:
        yield client


def task(payload: Any) -> dict[str, Any]:
    return {"taskQueueId": "proj-example/ci", "created": tcdyn.fromNow("0 seconds"),
            "deadline": tcdyn.fromNow("1 hour"), "payload": payload,
            "metadata": {"name": "n", "description": "d", "owner": "me@example.com",
                         "source": "https://example.com"}}


def test_a_bad_payload_is_refused_before_any_request(local, queue) -> None:
    _, memory, recording = local
    task_id = tcdyn.slugId()
    with pytest.raises(tcdyn.SchemaValidationError) as caught:
        queue.createTask(task_id, task(BAD), workerImplementation=POSIX)
    assert recording.requests == [] and memory.tasks == {}
    error = caught.value
    message = str(error)
    assert message.startswith(f"createTask task payload ({POSIX}): ")
    assert "/schemas/generic-worker/multiuser_posix.json" in message
    assert "'maxRunTme' was unexpected" in message and error.errors
    assert error.schema is not None and error.schema.endswith("multiuser_posix.json")


def test_the_report_is_the_one_of_every_schema_check(queue) -> None:
    """The same SchemaValidationError, violations and wording as the deployment's own check
    of that schema (validation's single entry point)."""
    windows = "generic-worker/multiuser_windows"
    with pytest.raises(tcdyn.SchemaValidationError) as by_call:
        queue.createTask(tcdyn.slugId(), task(GOOD), workerImplementation=windows)
    with pytest.raises(tcdyn.SchemaValidationError) as by_check:
        payloads.check(windows, GOOD)
    assert [str(v) for v in by_call.value.errors] == [str(v) for v in by_check.value.errors]
    assert "$.command[0]: ['/bin/sh', '-c', 'true'] is not of type 'string' [type]" in \
        str(by_call.value)


def test_a_good_payload_is_sent_without_the_keyword(local, queue) -> None:
    _, memory, recording = local
    task_id = tcdyn.slugId()
    payload = {**GOOD, "artifacts": [{"type": "file", "path": "out.txt", "name": "public/out",
                                      "expires": tcdyn.fromNow("1 day")}]}  # a datetime
    status = queue.createTask(task_id, task(payload), workerImplementation=POSIX)
    assert status["status"]["state"] == "pending"
    (request,) = recording.requests
    assert request.url.query == b"" and b"workerImplementation" not in request.content
    assert json.loads(request.content)["payload"]["maxRunTime"] == 600
    assert list(memory.tasks) == [task_id]


def test_without_the_keyword_the_queue_takes_any_payload(local, queue) -> None:
    """What the check adds: the queue's own schema takes any object as a payload."""
    _, memory, recording = local
    queue.createTask(tcdyn.slugId(), task(BAD))
    assert len(recording.requests) == 1 and len(memory.tasks) == 1


def test_asked_for_by_name_it_runs_even_with_validate_false(local) -> None:
    dep, _, recording = local
    with tcdyn.Queue(rootUrl=dep.root_url, credentials=CREDENTIALS, validate=False,
                     client=httpx.Client(transport=recording)) as client, \
            pytest.raises(tcdyn.SchemaValidationError):
        client.createTask(tcdyn.slugId(), task(BAD), workerImplementation=POSIX)
    assert recording.requests == []


def test_an_unknown_worker_is_refused_by_name(local, queue) -> None:
    _, _, recording = local
    with pytest.raises(tcdyn.TaskclusterArgumentError, match=r"workerImplementation must be "
                       r"one of generic-worker/multiuser_posix, .*docker-worker; got "
                       r"'generic-worker'"):
        queue.createTask(tcdyn.slugId(), task(GOOD), workerImplementation="generic-worker")
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="got 3"):
        queue.createTask(tcdyn.slugId(), task(GOOD), workerImplementation=3)
    assert recording.requests == []


def test_other_methods_do_not_take_the_keyword(queue) -> None:
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="workerImplementation"):
        queue.task(tcdyn.slugId(), workerImplementation=POSIX)


async def test_the_async_client_checks_too(local) -> None:
    dep, memory, recording = local
    async with tcdyn.aio.Queue(rootUrl=dep.root_url, credentials=CREDENTIALS,
                               client=httpx.AsyncClient(transport=recording)) as client:
        with pytest.raises(tcdyn.SchemaValidationError, match="maxRunTme"):
            await client.createTask(tcdyn.slugId(), task(BAD), workerImplementation=POSIX)
        assert recording.requests == []
        await client.createTask(tcdyn.slugId(), task(GOOD), workerImplementation=POSIX)
    assert len(recording.requests) == 1 and len(memory.tasks) == 1


def test_docker_worker_and_the_docker_form_generic_worker_takes() -> None:
    docker = {"image": "ubuntu:24.04", "command": ["true"], "maxRunTime": 60}
    payloads.check("docker-worker", docker)
    payloads.check(POSIX, docker)  # generic-worker runs docker-worker payloads too
    with pytest.raises(tcdyn.SchemaValidationError, match="'image' is a required property"):
        payloads.check("docker-worker", GOOD)


def test_check_takes_the_json_form_and_refuses_what_is_not_json() -> None:
    payloads.check(POSIX, {**GOOD, "artifacts": [{"type": "file", "path": "a",
                                                  "expires": dt.datetime.now(dt.UTC)}]})
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="cannot be sent as JSON"):
        payloads.check(POSIX, {**GOOD, "env": {"A": {1, 2}}})
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="workerImplementation must be"):
        payloads.check("no-such-worker", GOOD)
    assert payloads.KINDS == ("generic-worker/multiuser_posix",
                              "generic-worker/multiuser_windows",
                              "generic-worker/insecure_posix", "docker-worker")
    assert payloads.schema_path("docker-worker") == "/schemas/docker-worker/v1/payload.json"


def test_a_deployment_without_the_schema_cannot_check(tmp_path: Path) -> None:
    """The check was asked for: a deployment that does not serve the schema is an error,
    not a silent pass."""
    mirror = tmp_path / "mirror"
    shutil.copytree(tcdyn.references.ReferenceSet.bundled().references_dir.parent, mirror)
    shutil.rmtree(mirror / "schemas" / "docker-worker")
    with pytest.raises(tcdyn.SchemaNotAvailable, match=r"docker-worker/v1/payload\.json"):
        payloads.check("docker-worker", {"image": "x", "maxRunTime": 1},
                       deployment=tcdyn.load(mirror))
    payloads.check(POSIX, GOOD, deployment=tcdyn.load(mirror))


def test_the_signature_shows_the_keyword() -> None:
    params = inspect.signature(tcdyn.Queue.createTask).parameters
    assert params["workerImplementation"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["workerImplementation"].default is None
    assert "workerImplementation" not in inspect.signature(tcdyn.Queue.task).parameters
