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

import datetime as dt
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

    def pending(letter: str, run_id: int, timeout: float = 60) -> None:
        """Wait for the run to exist (the real queue's dependency resolver adds it soon
        after the dependencies are resolved, not at once)."""
        deadline = time.monotonic() + timeout
        while True:
            runs = queue.status(ids[letter])["status"]["runs"]
            if len(runs) > run_id and runs[run_id]["state"] == "pending":
                return
            assert time.monotonic() < deadline, f"{letter} run {run_id} never pending: {runs}"
            time.sleep(0.2)

    def create(letter: str, deps: str = "", **extra: Any) -> None:
        queue.createTask(ids[letter], define(queue_id, group, names[letter],
                                             [ids[d] for d in deps], **extra))

    def run(letter: str, run_id: int, outcome: str) -> None:
        pending(letter, run_id)
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
    pending("D", 0)  # scheduled now that B and C are resolved
    queue.rerunTask(ids["B"])
    run("B", 1, "completed")
    time.sleep(pause)
    run("D", 0, "completed")
    return ids


# -- the rendered page, measured (tests/test_timeline.py, tests/real/test_real_timeline.py)

#: What the test reads of the rendered page: the time axis, every bar and wait segment
#: (by class, task and run), the rows outlined as the critical path, the rerun labels.
GEOMETRY = """(() => {
    const r = (e) => { const b = e.getBoundingClientRect();
                       return {x: b.x, width: b.width, y: b.y}; };
    const bars = {};
    for (const e of document.querySelectorAll("rect.bar, rect.wait"))
        bars[e.getAttribute("class") + " " + e.dataset.task + " " + e.dataset.run] = r(e);
    return {axis: r(document.getElementById("axis-line")), bars,
            critical: [...document.querySelectorAll(".row.critical")].map((e) => e.dataset.task),
            reruns: [...document.querySelectorAll("text.rerun")].map((e) => e.textContent)};
})()"""


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_bars(geometry: dict[str, Any], statuses: dict[str, dict[str, Any]],
               ids: dict[str, str]) -> int:
    """Every run's bar and wait segment where the queue's own times put them on the page's
    axis (to a pixel); returns how many runs were measured."""
    runs = [run for status in statuses.values() for run in status["runs"]]
    t0 = min(when(r["scheduled"]) for r in runs)
    t1 = max(when(r["resolved"]) for r in runs)
    axis = geometry["axis"]

    def x(moment: str) -> float:
        return float(axis["x"] + (when(moment) - t0) / (t1 - t0) * axis["width"])

    measured = 0
    for letter, task_id in ids.items():
        for run in statuses[letter]["runs"]:
            bar = geometry["bars"][f"bar state-{run['state']} {task_id} {run['runId']}"]
            assert abs(bar["x"] - x(run["started"])) <= 1.0, (letter, run, bar)
            end = max(x(run["resolved"]), x(run["started"]) + 1)  # at least a pixel wide
            assert abs(bar["x"] + bar["width"] - end) <= 1.0, (letter, run, bar)
            wait = geometry["bars"][f"wait {task_id} {run['runId']}"]
            assert abs(wait["x"] - x(run["scheduled"])) <= 1.0, (letter, run, wait)
            measured += 1
    return measured
