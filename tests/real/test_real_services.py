"""Secrets, index, hooks and purge-cache against the real services."""

from __future__ import annotations

import httpx
import pytest
from real_helpers import PROJECT, SCHEDULER, aw, collect, name, slug, task_queue

import tcdyn
from tcdyn import utils


async def test_secrets_round_trip_and_signed_url(make, root):
    secrets = make("Secrets", credentials=root)
    prefix = f"tcdyn-real/{name()}"
    names = [f"{prefix}/s{i}" for i in range(3)]
    for i, secret in enumerate(names):
        await aw(secrets.set(secret, {"secret": {"i": i}, "expires": utils.fromNow("1 hour")}))
    got = await aw(secrets.get(names[1]))
    assert got["secret"] == {"i": 1}
    listed = await collect(secrets.list.items(query={"limit": 2}))
    assert set(names) <= set(listed)

    url = await aw(secrets.buildSignedUrl("get", names[2]))  # needs secrets:get:<name>
    async with httpx.AsyncClient() as http:
        answer = await http.get(url)
        assert answer.status_code == 200, answer.text
        assert answer.json()["secret"] == {"i": 2}
        unsigned = await http.get(url.split("?")[0])
        assert unsigned.status_code == 403 and unsigned.json()["code"] == "InsufficientScopes"

    await aw(secrets.remove(names[0]))
    with pytest.raises(tcdyn.ResourceNotFound):
        await aw(secrets.get(names[0]))


async def test_index_insert_find_and_list(make, root):
    index = make("Index", credentials=root)
    parent = f"tcdyn-real.{name()}"
    inserted = {}
    for i in range(5):
        task_id = slug()
        inserted[f"{parent}.t{i}"] = task_id
        answer = await aw(index.insertTask(f"{parent}.t{i}", {
            "taskId": task_id, "rank": i, "data": {"i": i},
            "expires": utils.fromNow("1 day")}))
        assert answer["taskId"] == task_id and answer["namespace"] == f"{parent}.t{i}"
    found = await aw(index.findTask(f"{parent}.t3"))
    assert found["taskId"] == inserted[f"{parent}.t3"] and found["data"] == {"i": 3}
    pages = await collect(index.listTasks.pages(parent, query={"limit": 2}))
    assert [len(p["tasks"]) for p in pages] == [2, 2, 1]
    items = await collect(index.listTasks.items(parent, query={"limit": 2}))
    assert {t["namespace"]: t["taskId"] for t in items} == inserted


async def test_hooks_create_and_trigger_a_real_task(make, root):
    auth, hooks, queue = (make(s, credentials=root) for s in ("Auth", "Hooks", "Queue"))
    group, hook_id, tq = f"tcdyn-real-{name()}", name(), task_queue()
    await aw(auth.createRole(f"hook-id:{group}/*", {
        "description": "tcdyn conformance hooks",
        "scopes": ["queue:create-task:*", f"queue:scheduler-id:{SCHEDULER}"]}))
    definition = {
        "metadata": {"name": "tcdyn conformance", "description": "tests/real",
                     "owner": "tcdyn@example.com", "emailOnError": False},
        "schedule": [],
        "triggerSchema": {"type": "object", "required": ["value"],
                          "properties": {"value": {"type": "string"}},
                          "additionalProperties": False},
        "task": {
            "taskQueueId": tq, "schedulerId": SCHEDULER, "projectId": PROJECT,
            "created": {"$fromNow": "0 seconds"}, "deadline": {"$fromNow": "1 hour"},
            "expires": {"$fromNow": "1 day"},
            "payload": {"fromTrigger": {"$eval": "payload.value"}},
            "metadata": {"name": "hook task", "description": "made by triggerHook",
                         "owner": "tcdyn@example.com", "source": "https://example.com/tcdyn"},
        },
    }
    created = await aw(hooks.createHook(group, hook_id, definition))
    assert created["hookGroupId"] == group and created["hookId"] == hook_id
    listed = await aw(hooks.listHooks(group))
    assert [h["hookId"] for h in listed["hooks"]] == [hook_id]

    fired = await aw(hooks.triggerHook(group, hook_id, {"value": "hello"}))
    task_id = fired["status"]["taskId"]
    task = await aw(queue.task(task_id))
    assert task["payload"] == {"fromTrigger": "hello"} and task["taskQueueId"] == tq
    await aw(hooks.removeHook(group, hook_id))
    await aw(auth.deleteRole(f"hook-id:{group}/*"))


async def test_purge_cache(make, root):
    purge = make("PurgeCache", credentials=root)
    pool = f"tcdyn-real/{name()}"
    assert await aw(purge.purgeCache(pool, {"cacheName": "build-cache"})) is None
    requests = (await aw(purge.purgeRequests(pool)))["requests"]
    # v106 still answers with provisionerId/workerType, not workerPoolId.
    assert [(f"{r['provisionerId']}/{r['workerType']}", r["cacheName"]) for r in requests] == [
        (pool, "build-cache")]
    everything = await collect(purge.allPurgeRequests.items(query={"limit": 10}))
    assert (pool, "build-cache") in {
        (f"{r['provisionerId']}/{r['workerType']}", r["cacheName"]) for r in everything}
