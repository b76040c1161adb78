"""An in-memory imitation of the Taskcluster v106 worker-manager's pools and their errors,
for the local deployment (the v106 stack of ``scripts/taskcluster.sh`` runs no
worker-manager).

It answers ``createWorkerPool``, ``workerPool``, ``listWorkerPools`` (paged),
``reportWorkerError`` (kind ``worker-error``; the worker's group and id added to ``extra``),
``listWorkerPoolErrors`` (newest first, paged) and ``workerPoolErrorStats`` (the last 7
days, by day, hour, title, code and pool), following ``services/worker-manager/src/api.js``.
It provisions nothing: ``workers(pool, running=, requested=, stopping=)`` sets the counts a
pool reports.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import slugid

from .server import ApiRequest, LocalDeployment, Reply, error

_COUNTS = ("requested", "running", "stopping", "stopped")


class InMemoryWorkerManager:
    """Pools per ``workerPoolId`` and their errors; ``install()`` it on a deployment."""

    def __init__(self) -> None:
        self.pools: dict[str, dict[str, Any]] = {}
        self.errors: list[dict[str, Any]] = []
        self._deployment: LocalDeployment | None = None

    def install(self, deployment: LocalDeployment) -> InMemoryWorkerManager:
        for name in ("createWorkerPool", "workerPool", "listWorkerPools", "reportWorkerError",
                     "listWorkerPoolErrors", "workerPoolErrorStats"):
            deployment.handle("worker-manager", name, getattr(self, f"_{name}"))
        self._deployment = deployment
        return self

    def workers(self, pool_id: str, **counts: int) -> None:
        """Set how many workers the pool has in each state (capacity 1 each)."""
        pool = self.pools[pool_id]
        for state, count in counts.items():
            if state not in _COUNTS:
                raise ValueError(f"workers: {state!r} is not one of {_COUNTS}")
            pool[f"{state}Count"] = pool[f"{state}Capacity"] = count
        pool["currentCapacity"] = pool["requestedCapacity"] + pool["runningCapacity"]

    def _createWorkerPool(self, request: ApiRequest) -> Any:
        from .queue_clock import js as _js
        from .queue_clock import now as _now

        pool_id = request.params["workerPoolId"]
        if pool_id in self.pools:
            return error(409, "RequestConflict", "Worker pool already exists")
        body = request.payload
        now = _js(_now())
        self.pools[pool_id] = {
            "workerPoolId": pool_id, "providerId": body["providerId"],
            "description": body["description"], "config": body["config"],
            "owner": body["owner"], "emailOnError": body["emailOnError"], "created": now,
            "lastModified": now, "currentCapacity": 0,
            **{f"{s}{k}": 0 for s in _COUNTS for k in ("Count", "Capacity")}}
        return self.pools[pool_id]

    def _workerPool(self, request: ApiRequest) -> Any:
        pool = self.pools.get(request.params["workerPoolId"])
        return pool if pool is not None else error(404, "ResourceNotFound",
                                                   "Worker Pool does not exist")

    def _listWorkerPools(self, request: ApiRequest) -> Any:
        from .queue_clock import page as _page

        page = _page(request, sorted(self.pools))
        if isinstance(page, Reply):
            return page
        ids, token = page
        answer: dict[str, Any] = {"workerPools": [self.pools[i] for i in ids]}
        if token:
            answer["continuationToken"] = token
        return answer

    def _reportWorkerError(self, request: ApiRequest) -> Any:
        from .queue_clock import js as _js
        from .queue_clock import now as _now

        pool_id = request.params["workerPoolId"]
        if pool_id not in self.pools:
            return error(404, "ResourceNotFound", "Worker pool does not exist")
        body = request.payload
        record = {"errorId": slugid.nice(), "workerPoolId": pool_id,
                  "reported": _js(_now()), "kind": "worker-error", "title": body["title"],
                  "description": body["description"],
                  "extra": {**body["extra"], "workerGroup": body["workerGroup"],
                            "workerId": body["workerId"]}}
        self.errors.append(record)
        return record

    def _listWorkerPoolErrors(self, request: ApiRequest) -> Any:
        from .queue_clock import page as _page

        pool_id = request.params["workerPoolId"]
        mine = [e for e in reversed(self.errors) if e["workerPoolId"] == pool_id]
        page = _page(request, [str(i) for i in range(len(mine))])
        if isinstance(page, Reply):
            return page
        rows, token = page
        answer: dict[str, Any] = {"workerPoolErrors": [mine[int(i)] for i in rows]}
        if token:
            answer["continuationToken"] = token
        return answer

    def _workerPoolErrorStats(self, request: ApiRequest) -> Any:
        from .queue_clock import now as _now
        from .queue_clock import parse_time as _parse

        pool_id = request.query.get("workerPoolId") or ""
        assert self._deployment is not None
        denied = self._deployment.authorize(request, {"workerPoolId": pool_id or "*"})
        if denied is not None:  # every pool's errors: the scope for the pool id "*"
            return denied
        if pool_id and pool_id not in self.pools:
            return error(404, "ResourceNotFound", "Worker pool does not exist")
        now = _now()
        week = [e for e in self.errors if (not pool_id or e["workerPoolId"] == pool_id)
                and _parse(e["reported"]) > now - dt.timedelta(days=7)]

        def bucket(e: dict[str, Any], unit: str) -> str:
            moment = _parse(e["reported"])
            moment = moment.replace(minute=0, second=0, microsecond=0)
            if unit == "day":
                moment = moment.replace(hour=0)
            return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

        day = now - dt.timedelta(hours=24)
        return {"workerPoolId": pool_id, "totals": {
            "total": len(week),
            "daily": dict(Counter(bucket(e, "day") for e in week)),
            "hourly": dict(Counter(bucket(e, "hour") for e in week
                                   if _parse(e["reported"]) > day)),
            "title": dict(Counter(e["title"] for e in week)),
            "code": dict(Counter(str(e["extra"].get("code", "unknown")) for e in week)),
            "workerPool": dict(Counter(e["workerPoolId"] for e in week)),
            "launchConfig": {}}}
