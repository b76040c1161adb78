"""A task group's timeline on the real Taskcluster v106 queue (issue 23 item 3): a group
with dependencies (scheduled by the queue's own dependency resolver), a failure and its
rerun, an exception and a run the queue retried, turned into a page by ``tcdyn group
timeline`` and rendered in a real headless Chromium.

With ``TCDYN_TIMELINE_SCREENSHOT=docs/img/timeline.png`` the screenshot is kept there (the
README's)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from real_helpers import task_queue

import tcdyn
from browser import Chromium, available
from timeline_scenario import GEOMETRY, check_bars, play, when

NAMES = {"A": "build (linux64)", "B": "test: unit (flaky)", "C": "lint",
         "D": "report results", "E": "docs"}


def run_cli(stack: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **{k: v for k, v in stack.items() if k.startswith("TASKCLUSTER_")}}
    env.pop("TASKCLUSTER_CERTIFICATE", None)
    return subprocess.run([sys.executable, "-m", "tcdyn", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def group(stack: dict[str, str], root: tcdyn.Credentials) -> tuple[str, dict[str, str],
                                                                    dict[str, Any]]:
    group_id = tcdyn.slugId()
    with tcdyn.Queue(rootUrl=stack["TASKCLUSTER_ROOT_URL"], credentials=root) as queue:
        ids = play(queue, task_queue(), group_id, names=NAMES, pause=1.0)
        statuses = {k: queue.status(v)["status"] for k, v in ids.items()}
    return group_id, ids, statuses


def test_the_timeline_of_a_real_group(stack, root, group) -> None:
    group_id, ids, statuses = group
    with tcdyn.Queue(rootUrl=stack["TASKCLUSTER_ROOT_URL"], credentials=root) as queue:
        timeline = tcdyn.timeline(queue, group_id)
    by_id = {t.task_id: t for t in timeline.tasks}
    assert [(r.state, r.reason_created) for r in by_id[ids["B"]].runs] == [
        ("failed", "scheduled"), ("completed", "rerun")]
    assert [(r.state, r.reason_created, r.reason_resolved) for r in by_id[ids["E"]].runs] == [
        ("exception", "scheduled", "worker-shutdown"), ("completed", "retry", "completed")]
    assert by_id[ids["C"]].runs[0].reason_resolved == "malformed-payload"
    assert timeline.critical_path == (ids["A"], ids["C"], ids["D"])
    runs = [r for s in statuses.values() for r in s["runs"]]
    assert timeline.run_time == pytest.approx(sum(
        (when(r["resolved"]) - when(r["started"])).total_seconds() for r in runs))
    assert timeline.wall_time == pytest.approx(
        (max(when(r["resolved"]) for r in runs) - min(when(r["scheduled"]) for r in runs))
        .total_seconds())


async def test_the_command_page_in_chromium(stack, group, tmp_path: Path) -> None:
    if available() is not None:
        pytest.skip(str(available()))
    group_id, ids, statuses = group
    page_file = tmp_path / "timeline.html"
    run = run_cli(stack, "group", "timeline", group_id, "-o", str(page_file))
    assert run.returncode == 0, run.stderr
    trace = run_cli(stack, "group", "timeline", group_id, "--format", "trace-event")
    assert trace.returncode == 0, trace.stderr
    events = json.loads(trace.stdout)["traceEvents"]
    assert sum(1 for e in events if e["ph"] == "X" and e["cat"] != "pending") == 7
    async with Chromium() as browser:
        page = await browser.open(page_file)
        assert await page.evaluate("document.body.dataset.rendered") == "1"
        geometry = await page.evaluate(GEOMETRY)
        shot = await page.screenshot()
        assert page.errors == [] and page.requests == [page_file.as_uri()]
    assert shot.startswith(b"\x89PNG") and len(shot) > 10_000
    (tmp_path / "timeline.png").write_bytes(shot)
    keep = os.environ.get("TCDYN_TIMELINE_SCREENSHOT")
    if keep:
        shutil.copyfile(tmp_path / "timeline.png", keep)
    assert check_bars(geometry, statuses, ids) == 7
    assert set(geometry["critical"]) == {ids["A"], ids["C"], ids["D"]}
