"""The queue against the real service: tasks, claims, resolutions, dependencies, paging."""

from __future__ import annotations

import httpx
import pytest
from real_helpers import aw, claim, collect, slug, task_def, task_queue, wait_state

import tcdyn


async def test_create_task_is_idempotent_and_conflicts(make, root):
    queue = make("Queue", credentials=root)
    task_id, task = slug(), task_def(task_queue())
    first = await aw(queue.createTask(task_id, task))
    assert first["status"]["taskId"] == task_id and first["status"]["state"] == "pending"
    again = await aw(queue.createTask(task_id, task))  # the same definition: accepted
    assert again["status"] == first["status"]
    changed = {**task, "metadata": {**task["metadata"], "name": "something else"}}
    with pytest.raises(tcdyn.RequestConflict) as info:
        await aw(queue.createTask(task_id, changed))
    assert info.value.status_code == 409 and info.value.code == "RequestConflict"
    assert (await aw(queue.task(task_id)))["metadata"]["name"] == task["metadata"]["name"]


async def test_claim_work_and_resolve_with_the_issued_credentials(make, root):
    queue = make("Queue", credentials=root)
    tq = task_queue()
    ids = [slug() for _ in range(3)]
    for task_id in ids:
        await aw(queue.createTask(task_id, task_def(tq)))
    claims = {c["status"]["taskId"]: c for c in await claim(queue, tq, 3)}
    assert set(claims) == set(ids)

    def worker(task_id):  # the queue's temporary credentials for this run
        creds = claims[task_id]["credentials"]
        assert creds["clientId"] and creds["certificate"]
        return make("Queue", credentials=creds)

    completed, failed, excepted = ids
    await aw(worker(completed).reportCompleted(completed, claims[completed]["runId"]))
    await aw(worker(failed).reportFailed(failed, claims[failed]["runId"]))
    await aw(worker(excepted).reportException(excepted, claims[excepted]["runId"],
                                              {"reason": "malformed-payload"}))
    states = {t: (await aw(queue.status(t)))["status"] for t in ids}
    assert states[completed]["state"] == "completed"
    assert states[failed]["state"] == "failed"
    assert states[excepted]["state"] == "exception"
    assert states[excepted]["runs"][-1]["reasonResolved"] == "malformed-payload"

    rerun = await aw(queue.rerunTask(failed))
    assert rerun["status"]["state"] == "pending" and len(rerun["status"]["runs"]) == 2

    pending = slug()
    await aw(queue.createTask(pending, task_def(tq)))
    canceled = await aw(queue.cancelTask(pending))
    assert canceled["status"]["state"] == "exception"
    assert canceled["status"]["runs"][-1]["reasonResolved"] == "canceled"


async def test_dependencies(make, root):
    queue = make("Queue", credentials=root)
    tq = task_queue()
    first, second = slug(), slug()
    await aw(queue.createTask(first, task_def(tq)))
    status = await aw(queue.createTask(second, task_def(tq, dependencies=[first])))
    assert status["status"]["state"] == "unscheduled"
    dependents = await aw(queue.listDependentTasks(first))
    assert dependents["taskId"] == first
    assert [t["status"]["taskId"] for t in dependents["tasks"]] == [second]

    [run] = await claim(queue, tq)
    assert run["status"]["taskId"] == first  # the dependent one is not claimable yet
    await aw(queue.reportCompleted(first, run["runId"]))
    await wait_state(queue, second, "pending")  # the queue's dependency resolver


async def test_list_task_group_pages_and_items(make, root):
    queue = make("Queue", credentials=root)
    tq, group = task_queue(), slug()
    ids = {slug() for _ in range(5)}
    for task_id in ids:
        await aw(queue.createTask(task_id, task_def(tq, taskGroupId=group)))
    pages = await collect(queue.listTaskGroup.pages(group, query={"limit": 2}))
    assert [len(p["tasks"]) for p in pages] == [2, 2, 1]
    assert all(p["taskGroupId"] == group for p in pages)
    items = await collect(queue.listTaskGroup.items(group, query={"limit": 2}))
    assert {t["status"]["taskId"] for t in items} == ids
    limited = await collect(queue.listTaskGroup.items(group, query={"limit": 2}, max_items=3))
    assert len(limited) == 3


async def test_signed_url_fetched_without_credentials(make, root):
    queue = make("Queue", credentials=root)
    task_id = slug()
    await aw(queue.createTask(task_id, task_def(task_queue())))
    url = await aw(queue.buildSignedUrl("task", task_id))
    assert "bewit=" in url
    async with httpx.AsyncClient() as http:
        answer = await http.get(url)
        assert answer.status_code == 200, answer.text
        assert answer.json()["metadata"]["name"] == "tcdyn conformance"
        tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
        assert (await http.get(tampered)).status_code == 401  # the bewit is checked
