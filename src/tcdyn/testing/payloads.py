"""Realistic example payloads, valid against the v106 schemas, for tests, benchmarks and
demos: ``create_task()``, ``create_hook()``, ``create_worker_pool()``, ``set_secret()``.

Each call returns a fresh copy, so a caller may mutate it.
"""

from __future__ import annotations

from typing import Any


def create_task() -> dict[str, Any]:
    return {
        "provisionerId": "proj-releng",
        "workerType": "b-linux-large",
        "schedulerId": "gecko-level-3",
        "taskGroupId": "fD8K6RuIQ5iNbNc0bY8oCg",
        "projectId": "releng",
        "dependencies": ["eYN0HRI6SXuTaTuxKaa1mw", "Z3RmQ6BLSlmRnxU2y0LkHQ"],
        "requires": "all-completed",
        "routes": ["index.project.releng.build.latest", "tc-treeherder.v2.releng.abc123"],
        "priority": "low",
        "retries": 5,
        "created": "2024-05-01T12:00:00.000Z",
        "deadline": "2024-05-02T12:00:00.000Z",
        "expires": "2025-05-01T12:00:00.000Z",
        "scopes": ["queue:get-artifact:private/build/*", "secrets:get:project/releng/deploy"],
        "payload": {
            "image": "ubuntu:22.04",
            "command": ["/bin/bash", "-c", "make -j8 && make check"],
            "maxRunTime": 3600,
            "env": {"MOZ_BUILD": "1", "TASK_OWNER": "releng"},
            "artifacts": {"public/build": {"type": "directory", "path": "/builds/out",
                                           "expires": "2025-01-01T00:00:00.000Z"}},
        },
        "metadata": {"name": "build linux64", "description": "Builds and tests the tree",
                     "owner": "releng@example.com",
                     "source": "https://github.com/example/tree/blob/main/.taskcluster.yml"},
        "tags": {"kind": "build", "createdForUser": "releng@example.com"},
        "extra": {"treeherder": {"symbol": "B", "groupSymbol": "Linux"}},
    }


def create_hook() -> dict[str, Any]:
    return {
        "metadata": {"name": "nightly build", "description": "Builds the tree every night",
                     "owner": "releng@example.com", "emailOnError": True},
        "schedule": ["0 0 3 * * *", "0 0 15 * * 6"],
        "task": {"$merge": [{"provisionerId": "proj-releng"}, {"workerType": "nightly"}]},
        "bindings": [{"exchange": "exchange/taskcluster-github/v1/push",
                      "routingKeyPattern": "primary.example.#"}],
        "triggerSchema": {"type": "object", "additionalProperties": False},
    }


def create_worker_pool() -> dict[str, Any]:
    return {
        "providerId": "gcp-releng",
        "description": "Linux builders",
        "owner": "releng@example.com",
        "emailOnError": False,
        "config": {
            "minCapacity": 0, "maxCapacity": 50,
            "launchConfigs": [{"region": "us-east1", "zone": "us-east1-b",
                               "machineType": "n2-standard-8", "capacityPerInstance": 1}],
            "lifecycle": {"registrationTimeout": 1800, "reregistrationTimeout": 345600},
        },
    }


def set_secret() -> dict[str, Any]:
    return {"secret": {"token": "hunter2-value", "user": "deploy"},
            "expires": "2025-12-31T23:59:59Z"}
