"""Errors from the real services, typed, with the server's details on the exception."""

from __future__ import annotations

import httpx
import pytest
from real_helpers import aw, name, slug, task_def, task_queue

import tcdyn
from tcdyn import utils


async def test_invalid_request_arguments(make, root):
    queue = make("Queue", credentials=root)
    with pytest.raises(tcdyn.InvalidRequestArguments) as info:
        await aw(queue.task("not-a-task-id"))
    assert info.value.status_code == 400 and info.value.code == "InvalidRequestArguments"
    assert info.value.request_info["params"] == {"taskId": "not-a-task-id"}


async def test_insufficient_scopes_names_the_required_scopes(make, root):
    secret = f"tcdyn-real/{name()}"
    weak = root.with_authorized_scopes(["secrets:get:somewhere-else/*"])
    with pytest.raises(tcdyn.InsufficientScopes) as info:
        await aw(make("Secrets", credentials=weak).get(secret))
    error = info.value
    assert error.status_code == 403 and error.code == "InsufficientScopes"
    # The service's message lists the missing scopes and the expression it required.
    missing = error.message.split("```")[1].split()
    assert missing == [f"secrets:get:{secret}"]
    assert error.request_info["params"] == {"name": secret}
    assert error.method_name == "get" and error.service == "secrets"


async def test_not_found(make, root):
    queue, index = make("Queue", credentials=root), make("Index", credentials=root)
    missing = slug()
    with pytest.raises(tcdyn.ResourceNotFound) as info:
        await aw(queue.task(missing))
    assert info.value.status_code == 404 and missing in info.value.url
    with pytest.raises(tcdyn.ResourceNotFound):
        await aw(index.findTask(f"tcdyn-real.{name()}.nothing"))


async def test_conflict(make, root):
    auth = make("Auth", credentials=root)
    client_id = f"tcdyn-real/{name()}"
    body = {"description": "one", "expires": utils.fromNow("1 hour"), "scopes": []}
    await aw(auth.createClient(client_id, body))
    with pytest.raises(tcdyn.RequestConflict) as info:
        await aw(auth.createClient(client_id, {**body, "description": "two"}))
    assert info.value.status_code == 409
    await aw(auth.deleteClient(client_id))


async def test_payload_refused_before_sending_and_by_the_service(flavour, tc, root, root_url):
    sent: list = []
    if flavour == "sync":
        http = httpx.Client(event_hooks={"request": [sent.append]})
        cls, option = tc.Queue, "client"
    else:
        async def hook(request):
            sent.append(request)
        http = httpx.AsyncClient(event_hooks={"request": [hook]})
        cls, option = tc.aio.Queue, "session"
    task_id = slug()
    bad = task_def(task_queue(), priority="urgent")  # not one of the schema's priorities
    try:
        checked = cls(rootUrl=root_url, credentials=root, **{option: http})
        with pytest.raises(tcdyn.SchemaValidationError) as info:
            await aw(checked.createTask(task_id, bad))
        assert [e.path for e in info.value.errors] == ["$.priority"]
        assert sent == []  # nothing left the client

        raw = cls(rootUrl=root_url, credentials=root, validate=False, **{option: http})
        with pytest.raises(tcdyn.InputValidationError) as server:
            await aw(raw.createTask(task_id, bad))
        assert server.value.status_code == 400 and "priority" in server.value.message
        assert len(sent) == 1  # sent once, not retried
        with pytest.raises(tcdyn.ResourceNotFound):
            await aw(raw.task(task_id))
    finally:
        await aw(http.aclose() if flavour == "async" else http.close())
