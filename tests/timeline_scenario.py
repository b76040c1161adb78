"""A task group worth a timeline, played through a queue's public API (the local
deployment's in-memory queue or the real one): dependencies, a failure and its rerun, an
exception, and a run the queue retried itself.

    E  claimed, worker-shutdown (exception) -> the queue retries it (run 1) -> completed
    A  claimed -> completed                                    (B and C are then scheduled)
    B  needs A: claimed -> failed
    C  needs A: claimed -> exception (malformed-payload)
    D  needs B and C, requires all-resolved (scheduled once C is resolved)
    B  rerun (run 1) -> claimed -> completed
    D  claimed -> completed                                      (the last to end)

So the critical path is A -> C -> D (B's rerun ended after D was scheduled).
"""

from __future__ import annotations

import time
from typing import Any

import tcdyn

WORKER = {"workerGroup": "tcdyn-timeline", "workerId": "w1"}
NAMES = {"A": "build", "B": "test (flaky)", "C": "lint", "D": "report", "E": "docs"}


def define(queue_id: str, group: str, name: str, dependencies: list[str] | None = None,
           **extra: Any) -> dict[str, Any]:
    return {
        "taskQueueId": queue_id, "taskGroupId": group,
        "schedulerId": extra.pop("schedulerId", "tcdyn-timeline"),
        "projectId": extra.pop("projectId", "tcdyn-timeline"),
        "created": tcdyn.fromNowJSON("0 seconds"), "deadline": tcdyn.fromNowJSON("1 hour"),
        "expires": tcdyn.fromNowJSON("1 day"), "dependencies": dependencies or [],
        "payload": {"command": [["true"]], "maxRunTime": 60},
        "metadata": {"name": name, "description": "tests/timeline_scenario.py",
                     "owner": "tcdyn@example.com", "source": "https://example.com/tcdyn"},
        **extra}


def play(queue: Any, queue_id: str, group: str, *, names: dict[str, str] | None = None,
         pause: float = 0.3) -> dict[str, str]:
    """Create and drive the group's tasks; returns {letter: taskId}."""
    names = {**NAMES, **(names or {})}
    ids = {letter: tcdyn.slugId() for letter in "ABCDE"}

    def create(letter: str, deps: str = "", **extra: Any) -> None:
        queue.createTask(ids[letter], define(queue_id, group, names[letter],
                                             [ids[d] for d in deps], **extra))

    def run(letter: str, run_id: int, outcome: str) -> None:
        queue.claimTask(ids[letter], run_id, WORKER)
        time.sleep(pause)
        if outcome == "completed":
            queue.reportCompleted(ids[letter], run_id)
        elif outcome == "failed":
            queue.reportFailed(ids[letter], run_id)
        else:
            queue.reportException(ids[letter], run_id, {"reason": outcome})

    create("E")
    time.sleep(pause)
    run("E", 0, "worker-shutdown")
    run("E", 1, "completed")
    create("A")
    create("B", "A")
    create("C", "A")
    create("D", "BC", requires="all-resolved")
    time.sleep(pause)
    run("A", 0, "completed")
    run("B", 0, "failed")
    run("C", 0, "malformed-payload")
    queue.rerunTask(ids["B"])
    run("B", 1, "completed")
    time.sleep(pause)
    run("D", 0, "completed")
    return ids
