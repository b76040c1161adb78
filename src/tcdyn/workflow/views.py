"""What a person reads about tasks, groups, queues and pools, as rows of plain values.

The row functions shape what the queue answered (``task_rows``, ``run_rows``,
``group_rows``, ``state_counts``, ``artifact_rows``); the flows gather what several calls
answer: ``queue_counts_flow`` (pending and claimed tasks per task queue, from
``queue.taskQueueCountsBatch`` where the deployment has it, 1000 queues a call, else one
``taskQueueCounts`` per queue, concurrently) and ``pools_flow`` (worker-manager's pools,
their workers, the tasks waiting for them and their errors). ``task_queue_counts`` and
``worker_pools`` (and their async forms) run them. Values the server sent stay as it sent
them: escape them to show them (``tcdyn.terminal``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from .flow import Call, Flow, Gather, Items, arun, run

__all__ = ["STATES", "aqueue_counts", "artifact_rows", "aworker_pools", "group_rows",
           "pools_flow", "queue_counts_flow", "run_rows", "state_counts", "task_queue_counts",
           "task_rows", "worker_pools"]

#: Task states in the order of a task's life.
STATES = ("unscheduled", "pending", "running", "completed", "failed", "exception")
#: Task queues per ``taskQueueCountsBatch`` call (the queue's limit).
BATCH = 1000


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def short_time(text: Any) -> str:
    """An ISO date as ``YYYY-MM-DD HH:MM:SS`` (UTC, as the queue gives it) for a table."""
    if not isinstance(text, str) or len(text) < 19:
        return ""
    return text[:10] + " " + text[11:19]


def duration(start: Any, end: Any) -> str:
    """``end - start`` as ``1h02m``, ``3m04s`` or ``5s`` ('' when one is missing)."""
    import datetime as dt

    try:
        seconds = int((dt.datetime.fromisoformat(str(end).replace("Z", "+00:00"))
                       - dt.datetime.fromisoformat(str(start).replace("Z", "+00:00"))
                       ).total_seconds())
    except ValueError:
        return ""
    if seconds < 0:
        return ""
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def run_rows(status: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per run of a task's status: id, state, why it began and ended, worker,
    times (as the queue gave them) and duration."""
    rows = []
    runs = status.get("runs")
    for run_ in runs if isinstance(runs, list) else []:
        if not isinstance(run_, Mapping):
            continue
        worker = "/".join(str(run_[k]) for k in ("workerGroup", "workerId") if run_.get(k))
        rows.append({
            "run": run_.get("runId"), "state": run_.get("state"),
            "created": run_.get("reasonCreated"), "resolved": run_.get("reasonResolved") or "",
            "worker": worker, "scheduled": run_.get("scheduled"),
            "started": run_.get("started"), "finished": run_.get("resolved"),
            "duration": duration(run_.get("started"), run_.get("resolved")
                                 or _now()) if run_.get("started") else ""})
    return rows


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).isoformat()


def task_rows(status: Mapping[str, Any], task: Mapping[str, Any] | None = None
              ) -> list[tuple[str, str]]:
    """A task's facts as (label, value) pairs: id, name, state, queue, group, dates."""
    rows = [("task", str(status.get("taskId", "")))]
    name = _get(task, "metadata", "name")
    if isinstance(name, str):
        rows.append(("name", name))
    rows += [("state", str(status.get("state", ""))),
             ("queue", str(status.get("taskQueueId", ""))),
             ("group", str(status.get("taskGroupId", ""))),
             ("scheduler", str(status.get("schedulerId", ""))),
             ("deadline", short_time(status.get("deadline"))),
             ("expires", short_time(status.get("expires"))),
             ("retries left", str(status.get("retriesLeft", "")))]
    deps = _get(task, "dependencies")
    if isinstance(deps, list) and deps:
        rows.append(("dependencies", str(len(deps))))
    return rows


def group_rows(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per task of ``listTaskGroup``'s items: id, name, state, runs, last reason,
    start, duration; sorted by state then name."""
    rows = []
    for item in items:
        status, task = _get(item, "status"), _get(item, "task")
        if not isinstance(status, Mapping):
            continue
        listed = status.get("runs")
        runs: list[Any] = listed if isinstance(listed, list) else []
        last = runs[-1] if runs and isinstance(runs[-1], Mapping) else {}
        started = next((r.get("started") for r in runs if isinstance(r, Mapping)
                        and r.get("started")), None)
        name = _get(task, "metadata", "name")
        rows.append({
            "taskId": status.get("taskId"), "name": name if isinstance(name, str) else "",
            "state": status.get("state"), "runs": len(runs),
            "reason": last.get("reasonResolved") or "",
            "started": started,
            "duration": duration(started, last.get("resolved") or _now()) if started
            else ""})
    order = {state: i for i, state in enumerate(STATES)}
    rows.sort(key=lambda r: (order.get(str(r["state"]), len(order)), r["name"],
                             str(r["taskId"])))
    return rows


def state_counts(items: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many tasks are in each state, in the order of a task's life."""
    counts = Counter(str(_get(item, "status", "state")) for item in items)
    order = {state: i for i, state in enumerate(STATES)}
    return dict(sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def artifact_rows(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per artifact of a listing: ``name``, ``storage``, ``contentType``,
    ``expires``, as sent (items that are not mappings are left out)."""
    return [{"name": a.get("name"), "storage": a.get("storageType"),
             "contentType": a.get("contentType") or "", "expires": a.get("expires")}
            for a in items if isinstance(a, Mapping)]


# -- task queues and worker pools ------------------------------------------------------------

def _counts(ids: list[str], batch: bool) -> Flow[dict[str, Mapping[str, Any]]]:
    """Pending and claimed tasks of each task queue in ``ids``."""
    counts: dict[str, Mapping[str, Any]] = {}
    if batch:
        for start in range(0, len(ids), BATCH):
            answer = yield Call("taskQueueCountsBatch",
                                ({"taskQueueIds": ids[start:start + BATCH]},))
            for count in _get(answer, "taskQueueCounts") or []:
                if isinstance(count, Mapping) and isinstance(count.get("taskQueueId"), str):
                    counts[count["taskQueueId"]] = count
        return counts
    answers = yield Gather(tuple(Call("taskQueueCounts", (i,)) for i in ids))
    for task_queue_id, answer in zip(ids, answers, strict=True):
        if isinstance(answer, BaseException):
            raise answer
        counts[task_queue_id] = answer
    return counts


def queue_counts_flow(prefix: str = "", *, batch: bool) -> Flow[list[dict[str, Any]]]:
    """Every task queue whose id starts with ``prefix``, with its pending and claimed tasks
    (``batch``: the deployment has ``taskQueueCountsBatch``)."""
    queues = yield Items(Call("listTaskQueues"))
    found = {q["taskQueueId"]: q for q in queues if isinstance(q, Mapping)
             and isinstance(q.get("taskQueueId"), str) and q["taskQueueId"].startswith(prefix)}
    ids = sorted(found)
    counts = yield from _counts(ids, batch)
    return [{"taskQueueId": i, "pendingTasks": _get(counts.get(i), "pendingTasks"),
             "claimedTasks": _get(counts.get(i), "claimedTasks"),
             "lastDateActive": found[i].get("lastDateActive")} for i in ids]


def pools_flow(prefix: str = "", *, batch: bool) -> Flow[list[dict[str, Any]]]:
    """Worker-manager's pools whose id starts with ``prefix``: provider, capacity, workers
    by state, pending tasks of the pool's task queue, errors (worker-manager's count and
    the latest one's title; ``None`` when these credentials may not read them)."""
    from ..errors import TaskclusterRestFailure

    pools = yield Items(Call("listWorkerPools", client="workerManager"))
    pools = [p for p in pools if isinstance(p, Mapping) and isinstance(
        p.get("workerPoolId"), str) and p["workerPoolId"].startswith(prefix)]
    ids = sorted(p["workerPoolId"] for p in pools)
    try:
        stats = yield Call("workerPoolErrorStats", client="workerManager")
        per_pool = _get(stats, "totals", "workerPool")
        errors: dict[str, Any] | None = dict(per_pool) if isinstance(per_pool, Mapping) else {}
    except TaskclusterRestFailure:
        errors = None
    failing = [i for i in ids if errors and errors.get(i)]
    latest = yield Gather(tuple(Call("listWorkerPoolErrors", (i,), {"query": {"limit": 1}},
                                     client="workerManager") for i in failing))
    titles = {i: (_get(answer, "workerPoolErrors") or [{}])[0].get("title")
              for i, answer in zip(failing, latest, strict=True)
              if not isinstance(answer, BaseException)}
    try:
        counts = yield from _counts(ids, batch)
    except TaskclusterRestFailure:
        counts = {}
    rows = []
    for pool in sorted(pools, key=lambda p: p["workerPoolId"]):
        i = pool["workerPoolId"]
        given = pool.get("config")
        config: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        rows.append({
            "workerPoolId": i, "providerId": pool.get("providerId"),
            "currentCapacity": pool.get("currentCapacity"),
            "minCapacity": config.get("minCapacity"), "maxCapacity": config.get("maxCapacity"),
            "requestedCount": pool.get("requestedCount"),
            "runningCount": pool.get("runningCount"),
            "stoppingCount": pool.get("stoppingCount"),
            "pendingTasks": _get(counts.get(i), "pendingTasks"),
            "errors": None if errors is None else int(errors.get(i) or 0),
            "lastError": titles.get(i)})
    return rows


def _has(client: Any, method: str) -> bool:
    return method in getattr(type(client), "methods", ())


def task_queue_counts(queue: Any, prefix: str = "") -> list[dict[str, Any]]:
    """``queue_counts_flow`` with a sync queue."""
    return run(queue_counts_flow(prefix, batch=_has(queue, "taskQueueCountsBatch")),
               {"queue": queue})


async def aqueue_counts(queue: Any, prefix: str = "") -> list[dict[str, Any]]:
    """``queue_counts_flow`` with an async queue."""
    return await arun(queue_counts_flow(prefix, batch=_has(queue, "taskQueueCountsBatch")),
                      {"queue": queue})


def worker_pools(worker_manager: Any, queue: Any, prefix: str = "") -> list[dict[str, Any]]:
    """``pools_flow`` with sync clients."""
    return run(pools_flow(prefix, batch=_has(queue, "taskQueueCountsBatch")),
               {"workerManager": worker_manager, "queue": queue})


async def aworker_pools(worker_manager: Any, queue: Any, prefix: str = ""
                        ) -> list[dict[str, Any]]:
    """``pools_flow`` with async clients."""
    return await arun(pools_flow(prefix, batch=_has(queue, "taskQueueCountsBatch")),
                      {"workerManager": worker_manager, "queue": queue})
