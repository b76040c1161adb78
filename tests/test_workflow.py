"""The library side of tcdyn's everyday workflows (tcdyn.workflow), sync and async, against
the local deployment (Hawk, scopes, the in-memory queue and worker-manager): retrigger and
its three ways with dependencies, rerun's refusal, a group's cancel by cancelTaskGroup and
task by task, the views' rows and counts (taskQueueCountsBatch where the references have
it, else concurrent per-queue calls), and new_task."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

import tcdyn
from log_helpers import task
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.objects import Storage
from tcdyn.testing.queue import InMemoryQueue
from tcdyn.testing.server import LocalDeployment
from tcdyn.testing.worker_manager import InMemoryWorkerManager
from tcdyn.workflow import actions, retrigger, tasks, views

ROOT = Path(__file__).resolve().parents[1]
CREDS = {"clientId": "me", "accessToken": "workflow-token"}
SCOPED = {"clientId": "reader", "accessToken": "reader-token"}


def _deployment(source=None) -> LocalDeployment:
    return LocalDeployment(source, clients={
        "me": ClientRecord("workflow-token", ("*",)),
        "reader": ClientRecord("reader-token", ("queue:*", "worker-manager:list-worker-pools",
                                                "worker-manager:list-worker-pool-errors:a/*"))},
        imitate=True, check_scopes=True)


@pytest.fixture(scope="module")
def served():
    with Storage() as storage, _deployment() as dep:
        InMemoryQueue(storage).install(dep)
        wm = InMemoryWorkerManager().install(dep)
        yield dep, wm


@pytest.fixture
def queue(served):
    with tcdyn.Queue(rootUrl=served[0].root_url, credentials=CREDS) as q:
        yield q


def _queue_id() -> str:
    return f"wf/{tcdyn.slugId()[:10].lower().replace('-', 'x').replace('_', 'y')}z"


def _make(queue, queue_id, **overrides) -> str:
    task_id = tcdyn.slugId()
    queue.createTask(task_id, task(queue_id, **overrides))
    return task_id


def _resolve(queue, task_id, how="completed") -> None:
    run_id = len(queue.status(task_id)["status"]["runs"]) - 1
    queue.claimTask(task_id, run_id, {"workerGroup": "g", "workerId": "w"})
    if how == "completed":
        queue.reportCompleted(task_id, run_id)
    else:
        queue.reportFailed(task_id, run_id)


def _ms(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- retrigger --------------------------------------------------------------------------------

def test_retrigger_makes_a_fresh_copy_without_dependencies_or_routes(queue):
    queue_id = _queue_id()
    upstream = _make(queue, queue_id)
    original = _make(queue, queue_id, dependencies=[upstream], routes=["index.x.y"],
                     retries=2, created=tcdyn.fromNowJSON("-10 minutes"),
                     deadline=tcdyn.fromNowJSON("50 minutes"),
                     expires=tcdyn.fromNowJSON("1 day"))
    before = queue.task(original)
    done = retrigger.retrigger(queue, original)
    (copy,) = done.plan.copies
    assert copy.original == original and copy.taskId != original
    made = queue.task(copy.taskId)
    assert made["dependencies"] == [] and made["routes"] == []
    assert made["retries"] == 2 and made["taskGroupId"] == before["taskGroupId"]
    assert made["payload"] == before["payload"] and made["metadata"] == before["metadata"]
    shift = _ms(made["created"]) - _ms(before["created"])
    assert dt.timedelta(minutes=9) < shift < dt.timedelta(minutes=11)
    for key in ("deadline", "expires"):  # each moved by the very same amount
        assert _ms(made[key]) - _ms(before[key]) == shift
    assert queue.status(copy.taskId)["status"]["state"] == "pending"  # it does not wait
    assert done.statuses[0]["taskId"] == copy.taskId


def test_retrigger_exact_keeps_dependencies_and_routes_and_says_what_waits(queue):
    queue_id = _queue_id()
    failed = _make(queue, queue_id)
    _resolve(queue, failed, "failed")
    pending = _make(queue, queue_id)
    original = _make(queue, queue_id, dependencies=[failed, pending], routes=["index.a"],
                     requires="all-resolved")
    plan = retrigger.retrigger(queue, original, exact=True, dry_run=True).plan
    (copy,) = plan.copies
    assert copy.task["dependencies"] == [failed, pending]
    assert copy.task["routes"] == ["index.a"]
    assert any(failed in n and "failed" in n and "until its deadline" in n for n in plan.notes)
    assert any(pending in n and "waits for it" in n for n in plan.notes)
    with pytest.raises(tcdyn.ResourceNotFound):  # a dry run created nothing
        queue.task(copy.taskId)


def test_retrigger_group_wide_deps_copies_the_dependents_on_the_copies(queue):
    queue_id, group = _queue_id(), tcdyn.slugId()
    outside = _make(queue, queue_id)  # another group: depended on, never copied
    build = _make(queue, queue_id, taskGroupId=group)
    test = _make(queue, queue_id, taskGroupId=group, dependencies=[build, outside])
    sign = _make(queue, queue_id, taskGroupId=group, dependencies=[build])
    publish = _make(queue, queue_id, taskGroupId=group, dependencies=[test, sign],
                    routes=["notify.email.x.on-failed"])
    other_group = _make(queue, queue_id, dependencies=[build])  # not in the group: not copied
    done = retrigger.retrigger(queue, build, group_wide_deps=True)
    copies = {c.original: c for c in done.plan.copies}
    assert set(copies) == {build, test, sign, publish}
    assert other_group not in copies
    new = {orig: c.taskId for orig, c in copies.items()}
    order = [c.original for c in done.plan.copies]
    assert order[0] == build and order.index(publish) > max(order.index(test),
                                                            order.index(sign))
    assert queue.task(new[test])["dependencies"] == [new[build], outside]
    assert queue.task(new[publish])["dependencies"] == [new[test], new[sign]]
    assert queue.task(new[publish])["routes"] == []  # routes only with --exact
    assert queue.status(new[test])["status"]["state"] == "unscheduled"  # waits on the copy
    # the originals are untouched
    assert queue.task(publish)["dependencies"] == [test, sign]


def test_retrigger_checks_every_copy_before_sending_any(served, queue):
    dep = served[0]
    queue_id = _queue_id()
    original = _make(queue, queue_id)
    dep.requests.clear()
    with tcdyn.Queue(rootUrl=dep.root_url, credentials=CREDS) as q:
        broken = {**q.task(original), "priority": "urgent"}  # not an enum value
        plan = retrigger.RetriggerPlan((retrigger.Copy(tcdyn.slugId(), original, broken),))
        with pytest.raises(tcdyn.SchemaValidationError, match="priority"):
            retrigger._check(q, plan)
    assert not [r for r in dep.requests if r.name == "createTask"]


def test_retrigger_of_a_missing_task_and_a_sealed_group(queue):
    with pytest.raises(tcdyn.ResourceNotFound):
        retrigger.retrigger(queue, tcdyn.slugId())
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="taskId"):
        retrigger.retrigger(queue, "")
    group = tcdyn.slugId()
    original = _make(queue, _queue_id(), taskGroupId=group)
    queue.sealTaskGroup(group)
    with pytest.raises(tcdyn.RequestConflict, match="sealed"):
        retrigger.retrigger(queue, original)


def test_a_failure_midway_names_the_copies_made(queue):
    queue_id, group = _queue_id(), tcdyn.slugId()
    build = _make(queue, queue_id, taskGroupId=group)
    _make(queue, queue_id, taskGroupId=group, dependencies=[build])
    plan = retrigger.retrigger(queue, build, group_wide_deps=True, dry_run=True).plan
    second = plan.copies[1]
    queue.createTask(second.taskId, {**second.task, "dependencies": []})  # the id is taken
    with pytest.raises(tcdyn.RequestConflict) as caught:
        tcdyn.workflow.flow.run(retrigger.create_flow(plan), {"queue": queue})
    assert f"created before this failure: {plan.copies[0].taskId}" in str(
        caught.value.__notes__)


def test_async_retrigger(served):
    async def main():
        async with tcdyn.aio.Queue(rootUrl=served[0].root_url, credentials=CREDS) as q:
            original = tcdyn.slugId()
            await q.createTask(original, task(_queue_id(), routes=["index.r"]))
            done = await retrigger.aretrigger(q, original, exact=True)
            return await q.task(done.taskId)

    made = asyncio.run(main())
    assert made["routes"] == ["index.r"] and made["metadata"]["name"] == "log test"


# -- rerun and a group's cancel -----------------------------------------------------------------

def test_rerun_refuses_what_did_not_fail_unless_forced(queue):
    queue_id = _queue_id()
    done = _make(queue, queue_id)
    _resolve(queue, done)
    with pytest.raises(actions.ActionRefused, match="completed, not failed"):
        actions.rerun(queue, done)
    assert [r["state"] for r in queue.status(done)["status"]["runs"]] == ["completed"]
    status = actions.rerun(queue, done, force=True)
    assert [r["state"] for r in status["runs"]] == ["completed", "pending"]
    failed = _make(queue, queue_id)
    _resolve(queue, failed, "failed")
    assert actions.rerun(queue, failed)["runs"][-1]["reasonCreated"] == "rerun"


def test_cancel_group_with_cancel_task_group_seals_when_asked(queue):
    queue_id, group = _queue_id(), tcdyn.slugId()
    ids = [_make(queue, queue_id, taskGroupId=group) for _ in range(3)]
    _resolve(queue, ids[0])
    with pytest.raises(tcdyn.RequestConflict, match="seal it first") as caught:
        actions.cancel_group(queue, group)
    assert "Cannot cancel unsealed task group" in str(caught.value)
    answer = actions.cancel_group(queue, group, seal=True)
    assert sorted(answer["taskIds"]) == sorted(ids[1:]) and answer["cancelledCount"] == 2
    assert "sealed" in queue.getTaskGroup(group)


@pytest.fixture(scope="module")
def older(tmp_path_factory):
    """A deployment whose queue has no cancelTaskGroup (before v54)."""
    mirror = tmp_path_factory.mktemp("older") / "refs"
    shutil.copytree(ROOT / "references", mirror)
    api = mirror / "references" / "queue" / "v1" / "api.json"
    ref = json.loads(api.read_text())
    ref["entries"] = [e for e in ref["entries"] if e["name"] != "cancelTaskGroup"]
    api.write_text(json.dumps(ref))
    with Storage() as storage, _deployment(mirror) as dep:
        InMemoryQueue(storage).install(dep)
        yield dep, tcdyn.load(str(mirror))


def test_cancel_group_task_by_task_with_progress(older):
    dep, deployment = older
    with deployment.Queue(rootUrl=dep.root_url, credentials=CREDS) as q:
        assert "cancelTaskGroup" not in type(q).methods
        queue_id, group = _queue_id(), tcdyn.slugId()
        ids = [_make(q, queue_id, taskGroupId=group) for _ in range(4)]
        _resolve(q, ids[0])
        seen = []
        answer = actions.cancel_group(q, group, progress=lambda d, t: seen.append((d, t)))
        assert sorted(answer["taskIds"]) == sorted(ids[1:])
        assert answer == {"taskGroupId": group, "taskGroupSize": 4, "cancelledCount": 3,
                          "taskIds": answer["taskIds"]}
        assert seen == [(1, 3), (2, 3), (3, 3)]
        assert {q.status(t)["status"]["state"] for t in ids[1:]} == {"exception"}


def test_cancel_group_task_by_task_reports_what_it_could_not_cancel(older):
    dep, deployment = older
    with deployment.Queue(rootUrl=dep.root_url, credentials=CREDS) as q:
        queue_id, group = _queue_id(), tcdyn.slugId()
        ids = [_make(q, queue_id, taskGroupId=group) for _ in range(2)]

        def refuse(request):
            from tcdyn.testing.server import error
            return error(403, "InsufficientScopes", "not this one")

        original = dep.handlers[("queue", "cancelTask")]
        dep.handle("queue", "cancelTask", lambda r: refuse(r) if r.params["taskId"] == ids[0]
                   else original(r))
        try:
            with pytest.raises(tcdyn.InsufficientScopes) as caught:
                actions.cancel_group(q, group)
        finally:
            dep.handle("queue", "cancelTask", original)
        assert "1 of 2 tasks cancelled; 1 not: " + ids[0] in "\n".join(caught.value.__notes__)
        assert q.status(ids[1])["status"]["state"] == "exception"


# -- views ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def newer(tmp_path_factory):
    """A deployment whose queue has taskQueueCountsBatch (as v107 and later)."""
    mirror = tmp_path_factory.mktemp("newer") / "refs"
    shutil.copytree(ROOT / "references", mirror)
    api = mirror / "references" / "queue" / "v1" / "api.json"
    ref = json.loads(api.read_text())
    ref["entries"].append({
        "type": "function", "method": "post", "route": "/task-queues/counts", "args": [],
        "name": "taskQueueCountsBatch", "stability": "stable", "category": "Worker Metadata",
        "input": "v1/task-queue-counts-batch-request.json#",
        "output": "v1/task-queue-counts-batch-response.json#", "query": [],
        "title": "Get pending and claimed task counts for task queues",
        "description": "As in v107.", "scopes": "queue:list-task-queues"})
    api.write_text(json.dumps(ref))
    schemas = mirror / "schemas" / "queue" / "v1"
    ident = {"type": "string", "pattern": "^[a-zA-Z0-9-_]{1,38}/[a-z]([-a-z0-9]{0,36}[a-z0-9])?$"}
    (schemas / "task-queue-counts-batch-request.json").write_text(json.dumps({
        "$schema": "/schemas/common/metaschema.json#",
        "$id": "/schemas/queue/v1/task-queue-counts-batch-request.json#", "type": "object",
        "properties": {"taskQueueIds": {"type": "array", "items": ident, "maxItems": 1000}},
        "required": ["taskQueueIds"], "additionalProperties": False}))
    (schemas / "task-queue-counts-batch-response.json").write_text(json.dumps({
        "$schema": "/schemas/common/metaschema.json#",
        "$id": "/schemas/queue/v1/task-queue-counts-batch-response.json#", "type": "object",
        "properties": {"taskQueueCounts": {"type": "array", "items": {
            "type": "object", "properties": {"taskQueueId": ident,
                                             "pendingTasks": {"type": "integer"},
                                             "claimedTasks": {"type": "integer"}},
            "required": ["taskQueueId", "pendingTasks", "claimedTasks"],
            "additionalProperties": False}}},
        "required": ["taskQueueCounts"], "additionalProperties": False}))
    with Storage() as storage, _deployment(mirror) as dep:
        InMemoryQueue(storage).install(dep)
        yield dep, tcdyn.load(str(mirror))


def _busy_queues(q, prefix: str, n: int) -> list[str]:
    """Task queues seen by a worker: queue i has i + 1 tasks, one claimed when i is odd."""
    ids = [f"{prefix}/q{i}" for i in range(n)]
    for i, queue_id in enumerate(ids):
        if i % 2 == 0:  # seen, with nothing to claim yet
            assert q.claimWork(queue_id, {"workerGroup": "g", "workerId": "w",
                                          "tasks": 1})["tasks"] == []
        for _ in range(i + 1):
            _make(q, queue_id)
        if i % 2:
            q.claimWork(queue_id, {"workerGroup": "g", "workerId": "w", "tasks": 1})
    return ids


def test_queue_counts_one_call_per_queue_without_the_batch(served, queue):
    dep = served[0]
    prefix = _queue_id().split("/")[0] + "x" + tcdyn.slugId()[:4].lower().replace("-", "a") \
        .replace("_", "b")
    ids = _busy_queues(queue, prefix, 3)
    dep.requests.clear()
    rows = views.task_queue_counts(queue, prefix)
    assert [(r["taskQueueId"], r["pendingTasks"], r["claimedTasks"]) for r in rows] == [
        (ids[0], 1, 0), (ids[1], 1, 1), (ids[2], 3, 0)]
    assert sorted(r.name for r in dep.requests if r.name.startswith("taskQueue")) == [
        "taskQueueCounts"] * 3


def test_queue_counts_batched_where_the_deployment_has_it(newer):
    dep, deployment = newer
    with deployment.Queue(rootUrl=dep.root_url, credentials=CREDS) as q:
        ids = _busy_queues(q, "batched", 4)
        dep.requests.clear()
        rows = views.task_queue_counts(q, "batched/")
        assert [(r["pendingTasks"], r["claimedTasks"]) for r in rows] == [
            (1, 0), (1, 1), (3, 0), (3, 1)]
        assert [r.name for r in dep.requests if r.name.startswith("taskQueue")] == [
            "taskQueueCountsBatch"]
        assert [r["taskQueueId"] for r in rows] == ids

    async def main():
        async with deployment.aio.Queue(rootUrl=dep.root_url, credentials=CREDS) as aq:
            return await views.aqueue_counts(aq, "batched/")

    assert asyncio.run(main()) == rows


def test_pools_with_their_errors_and_waiting_tasks(served, queue):
    dep, wm = served
    with tcdyn.WorkerManager(rootUrl=dep.root_url, credentials=CREDS) as manager:
        for pool in ("a/linux", "a/win", "b/mac"):
            manager.createWorkerPool(pool, {
                "providerId": "aws", "description": "", "config": {
                    "minCapacity": 0, "maxCapacity": 10}, "owner": "o@example.com",
                "emailOnError": False})
        wm.workers("a/linux", running=3, requested=1)
        for title in ("disk full", "no route to host"):
            manager.reportWorkerError("a/linux", {
                "workerGroup": "us", "workerId": "i-1", "kind": "worker-error",
                "title": title, "description": "d", "extra": {}})
        _make(queue, "a/linux")
        rows = views.worker_pools(manager, queue, "a/")
    assert [r["workerPoolId"] for r in rows] == ["a/linux", "a/win"]
    linux = rows[0]
    assert (linux["runningCount"], linux["requestedCount"], linux["currentCapacity"],
            linux["maxCapacity"]) == (3, 1, 4, 10)
    assert linux["errors"] == 2 and linux["lastError"] == "no route to host"
    assert linux["pendingTasks"] == 1 and rows[1]["errors"] == 0
    # credentials that may not read every pool's errors: the pools, errors unknown
    with tcdyn.WorkerManager(rootUrl=dep.root_url, credentials=SCOPED) as limited, \
            tcdyn.Queue(rootUrl=dep.root_url, credentials=SCOPED) as q:
        rows = views.worker_pools(limited, q, "a/")
    assert [r["errors"] for r in rows] == [None, None]


def test_rows_keep_hostile_text_for_the_caller_to_escape():
    status = {"taskId": "T", "state": "failed", "runs": [
        {"runId": 0, "state": "failed", "reasonCreated": "scheduled",
         "reasonResolved": "failed", "workerGroup": "g\x1b[2J", "workerId": "w",
         "started": "2026-01-01T00:00:00.000Z", "resolved": "2026-01-01T01:02:03.000Z"}]}
    (row,) = views.run_rows(status)
    assert row["worker"] == "g\x1b[2J/w" and row["duration"] == "1h02m"
    assert views.state_counts([{"status": {"state": "running"}},
                               {"status": {"state": "pending"}}]) == {"pending": 1,
                                                                       "running": 1}
    assert views.group_rows([{"status": "not a mapping"}]) == []


# -- new_task ---------------------------------------------------------------------------------

def test_new_task_fills_the_defaults_and_the_queue_takes_it(queue):
    task_id, definition = tcdyn.new_task(
        queue, "proj/linux", tasks.docker_worker_payload("alpine", ["echo", "hi"]),
        name="hello")
    assert definition["taskGroupId"] == task_id and definition["schedulerId"] == "-"
    assert definition["metadata"] == {
        "name": "hello", "description": "A task made with tcdyn.new_task", "owner": "me",
        "source": f"{queue.rootUrl}/tasks/create"}
    created, deadline, expires = (_ms(definition[k]) for k in ("created", "deadline",
                                                                "expires"))
    assert deadline - created == dt.timedelta(days=1)
    assert expires.year == deadline.year + 1
    status = queue.createTask(task_id, definition)["status"]
    assert status["state"] == "pending" and status["taskQueueId"] == "proj/linux"
    assert queue.task(task_id)["payload"] == {"image": "alpine", "command": ["echo", "hi"],
                                              "maxRunTime": 3600}


def test_new_task_is_checked_before_anything_is_sent():
    with pytest.raises(tcdyn.SchemaValidationError, match="priority"):
        tcdyn.new_task(tcdyn.Queue, "p/w", {}, priority="urgent", source="https://x")
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="provisionerId/workerType"):
        tcdyn.new_task(tcdyn.Queue, "no-slash", {}, source="https://x")
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="at most 5 days"):
        tcdyn.new_task(tcdyn.Queue, "p/w", {}, deadline="6 days", source="https://x")
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="give source="):
        tcdyn.new_task(tcdyn.Queue, "p/w", {})  # the bundled class knows no rootUrl
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="list of strings"):
        tcdyn.new_task(tcdyn.Queue, "p/w", {}, routes="index.x", source="https://x")
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="at least the program"):
        tasks.generic_worker_payload([])
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="maxRunTime"):
        tasks.docker_worker_payload("img", ["x"], maxRunTime=0)
    group, upstream = tcdyn.slugId(), tcdyn.slugId()
    _, definition = tcdyn.new_task(tcdyn.Queue, "p/w", tasks.generic_worker_payload(
        ["make", "test"]), source="https://example.com/ci.yml", deadline="2 hours",
        taskGroupId=group, dependencies=[upstream], tags={"kind": "test"})
    assert definition["payload"]["command"] == [["make", "test"]]
    assert definition["taskGroupId"] == group and definition["dependencies"] == [upstream]
    assert definition["metadata"]["owner"] == "tcdyn"


def test_async_counts_concurrently_and_async_cancel_task_by_task(served, older):
    dep = served[0]
    with tcdyn.Queue(rootUrl=dep.root_url, credentials=CREDS) as q:
        prefix = "async" + tcdyn.slugId()[:6].lower().replace("-", "a").replace("_", "b")
        _busy_queues(q, prefix, 3)
        expected = views.task_queue_counts(q, prefix)
    old_dep, deployment = older
    with deployment.Queue(rootUrl=old_dep.root_url, credentials=CREDS) as q:
        group = tcdyn.slugId()
        ids = [_make(q, _queue_id(), taskGroupId=group) for _ in range(2)]

    async def main():
        async with tcdyn.aio.Queue(rootUrl=dep.root_url, credentials=CREDS) as aq:
            counts = await views.aqueue_counts(aq, prefix)
        async with deployment.aio.Queue(rootUrl=old_dep.root_url, credentials=CREDS) as aq:
            seen = []
            answer = await actions.acancel_group(aq, group,
                                                 progress=lambda d, t: seen.append(d))
        return counts, answer, seen

    counts, answer, seen = asyncio.run(main())
    assert counts == expected and len(counts) == 3
    assert sorted(answer["taskIds"]) == sorted(ids) and seen == [1, 2]


def test_the_guide_workflow_recipe_runs_as_copied(tmp_path, monkeypatch):
    import contextlib
    import io

    from test_guide_recipes import python_blocks

    [recipe] = python_blocks("workflows.md",
                             "## Follow a log, retrigger, views, a task in one line")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(recipe, "docs/guides/workflows.md: Workflows", "exec"), {})
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["compiling", "linking"]
    assert lines[2].endswith("run 0: failed -> exit code 10")
    assert lines[3].startswith("retriggered as ") and lines[3].endswith(" pending")
    assert "'pendingTasks': 1, 'claimedTasks': 0" in lines[4]
