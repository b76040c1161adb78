"""A task group's timeline (issue 23 item 3) against the local deployment's in-memory
queue, over real HTTP with Hawk: the runs, reruns, an exception, dependencies, the critical
path and the totals, as data, as trace-event JSON, as ``tcdyn group timeline``, and as a
page rendered in a real headless Chromium (console errors collected, bars measured,
hostile names shown as text and never run)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tcdyn
import tcdyn.aio
from browser import Chromium, available
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.queue import InMemoryQueue
from tcdyn.testing.server import LocalDeployment
from tcdyn.views.timeline import Timeline
from timeline_scenario import GEOMETRY, check_bars, play, when

CREDENTIALS = {"clientId": "timeline", "accessToken": "timeline-token"}
QUEUE_ID = "proj-timeline/ci"
HOSTILE = {
    "A": "</script><script>window.pwned = 'script'</script>",
    "B": '<img src=x onerror="window.pwned = \'img\'">',
    "C": "\"'><svg onload=\"window.pwned='svg'\"> \u2028 \u202e RLO & &amp; <!--",
}


@pytest.fixture(scope="module")
def local() -> Iterator[LocalDeployment]:
    clients = {CREDENTIALS["clientId"]: ClientRecord(CREDENTIALS["accessToken"], ("*",))}
    with LocalDeployment(clients=clients, check_scopes=True) as dep:
        InMemoryQueue().install(dep)
        yield dep


@pytest.fixture(scope="module")
def queue(local: LocalDeployment) -> Iterator[Any]:
    with tcdyn.Queue(rootUrl=local.root_url, credentials=CREDENTIALS) as client:
        yield client


@pytest.fixture(scope="module")
def group(queue: Any) -> tuple[str, dict[str, str]]:
    group_id = tcdyn.slugId()
    return group_id, play(queue, QUEUE_ID, group_id, pause=0.15)


@pytest.fixture(scope="module")
def hostile_group(queue: Any) -> tuple[str, dict[str, str]]:
    group_id = tcdyn.slugId()
    return group_id, play(queue, QUEUE_ID, group_id, names=HOSTILE, pause=0.05)


def statuses(queue: Any, ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    """What the queue says of each task, asked independently of the timeline."""
    return {letter: queue.status(task_id)["status"] for letter, task_id in ids.items()}


def test_the_timeline_has_every_run_and_the_critical_path(queue, group) -> None:
    group_id, ids = group
    timeline = tcdyn.timeline(queue, group_id)
    by_id = {task.task_id: task for task in timeline.tasks}
    assert set(by_id) == set(ids.values())
    letter = {task_id: name for name, task_id in ids.items()}
    b, c, d, e = (by_id[ids[x]] for x in "BCDE")
    assert [(r.state, r.reason_created, r.reason_resolved) for r in b.runs] == [
        ("failed", "scheduled", "failed"), ("completed", "rerun", "completed")]
    assert [(r.state, r.reason_resolved) for r in c.runs] == [
        ("exception", "malformed-payload")]
    assert [(r.state, r.reason_created, r.reason_resolved) for r in e.runs] == [
        ("exception", "scheduled", "worker-shutdown"), ("completed", "retry", "completed")]
    assert set(d.dependencies) == {ids["B"], ids["C"]} and d.requires == "all-resolved"
    assert [letter[t] for t in timeline.critical_path] == ["A", "C", "D"]
    assert all(r.worker == "tcdyn-timeline/w1" for t in timeline.tasks for r in t.runs)

    # the totals, from the queue's own statuses
    runs = [run for status in statuses(queue, ids).values() for run in status["runs"]]
    start = min(when(r["scheduled"]) for r in runs)
    end = max(when(r["resolved"]) for r in runs)
    assert timeline.start == start and timeline.end == end
    assert timeline.wall_time == pytest.approx((end - start).total_seconds())
    assert timeline.run_time == pytest.approx(sum(
        (when(r["resolved"]) - when(r["started"])).total_seconds() for r in runs))
    waits = sorted(((when(r["started"]) - when(r["scheduled"])).total_seconds()
                    for r in runs), reverse=True)
    assert [w.seconds for w in timeline.longest_waits()] == pytest.approx(waits[:5])
    data = timeline.to_dict()
    assert data["states"] == {"completed": 4, "exception": 1}
    assert json.loads(json.dumps(data)) == data


async def test_the_async_form_gathers_the_same(local, queue, group) -> None:
    group_id, _ = group
    now = dt.datetime.now(dt.UTC)
    sync = Timeline.from_items(group_id, queue.listTaskGroup.items(group_id), now=now)
    async with tcdyn.aio.Queue(rootUrl=local.root_url, credentials=CREDENTIALS) as client:
        found = await tcdyn.aio.timeline(client, group_id)
    assert Timeline(found.task_group_id, found.tasks, now).to_dict() == sync.to_dict()


def test_runs_not_resolved_end_now_and_bad_items_are_dropped() -> None:
    now = dt.datetime(2030, 1, 1, 0, 10, tzinfo=dt.UTC)
    items = [
        {"task": {"metadata": {"name": "x" * 1000}, "dependencies": ["nope", 3]},
         "status": {"taskId": "T1", "state": "running", "runs": [
             {"runId": 0, "state": "running", "reasonCreated": "scheduled",
              "scheduled": "2030-01-01T00:00:00.000Z", "started": "2030-01-01T00:01:00.000Z"},
             {"runId": "1", "state": "pending", "scheduled": "not a date"}, "junk"]}},
        {"status": {"taskId": 5}}, "junk", {"task": {}, "status": {"taskId": "T1"}},
    ]
    timeline = Timeline.from_items("G", items, now=now)
    (task,) = timeline.tasks
    assert len(task.name) == 300 and task.dependencies == ("nope",)
    assert task.runs[0].end(now) == now and task.runs[0].duration(now) == 540
    assert task.runs[1].run_id == -1 and task.runs[1].scheduled is None
    assert timeline.wall_time == 600 and timeline.critical_path == ("T1",)
    capped = Timeline.from_items("G", ({"status": {"taskId": f"T{n}"}} for n in range(5)),
                                 max_tasks=3)
    assert len(capped.tasks) == 3 and capped.truncated


def test_trace_event_json(queue, group) -> None:
    group_id, ids = group
    timeline = tcdyn.timeline(queue, group_id)
    trace = json.loads(json.dumps(timeline.to_trace_events()))
    events = trace["traceEvents"]
    assert trace["displayTimeUnit"] == "ms"
    names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert len(names) == 5 and all(ids[x] in " ".join(names.values()) for x in "ABCDE")
    slices = [e for e in events if e["ph"] == "X"]
    for event in slices:
        assert isinstance(event["ts"], int) and event["ts"] >= 0
        assert isinstance(event["dur"], int) and event["dur"] >= 0
        assert {"name", "cat", "pid", "tid", "args"} <= set(event)
    runs = {(e["args"]["taskId"], e["args"]["runId"]): e for e in slices
            if e["cat"] != "pending"}
    status = statuses(queue, ids)
    start = timeline.start
    assert start is not None
    for letter, task_id in ids.items():
        for run in status[letter]["runs"]:
            event = runs[(task_id, run["runId"])]
            assert event["cat"] == run["state"]
            assert event["ts"] == round((when(run["started"]) - start).total_seconds() * 1e6)
            assert event["ts"] + event["dur"] == pytest.approx(
                (when(run["resolved"]) - start).total_seconds() * 1e6, abs=1)
    flows = [e for e in events if e["ph"] in ("s", "f")]
    assert sorted(e["id"] for e in flows if e["ph"] == "s") == \
        sorted(e["id"] for e in flows if e["ph"] == "f")
    assert len(flows) == 2 * 4  # A->B, A->C, B->D, C->D


def _env(local: LocalDeployment, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKCLUSTER_")}
    return {**env, "TCDYN_CONFIG": str(tmp_path / "none.toml"),
            "TASKCLUSTER_ROOT_URL": local.root_url,
            "TASKCLUSTER_CLIENT_ID": CREDENTIALS["clientId"],
            "TASKCLUSTER_ACCESS_TOKEN": CREDENTIALS["accessToken"]}


def test_the_command_writes_each_format(local, group, tmp_path: Path) -> None:
    group_id, ids = group
    env = _env(local, tmp_path)
    for fmt, name in (("html", "timeline.html"), ("trace-event", "trace.json"),
                      ("json", "timeline.json")):
        out = tmp_path / name
        run = subprocess.run([sys.executable, "-m", "tcdyn", "group", "timeline", group_id,
                              "-o", str(out), "--format", fmt], env=env,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert run.stderr == f"wrote {out} (5 tasks)\n"
        text = out.read_text()
        if fmt == "html":
            assert text.startswith("<!DOCTYPE html>") and ids["D"] in text
        elif fmt == "trace-event":
            assert json.loads(text)["traceEvents"]
        else:
            assert json.loads(text)["criticalPath"] == [ids["A"], ids["C"], ids["D"]]
    run = subprocess.run([sys.executable, "-m", "tcdyn", "group", "timeline", group_id,
                          "--format", "json"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and json.loads(run.stdout)["taskGroupId"] == group_id


def test_the_page_is_self_contained_and_escapes_what_the_server_said(queue,
                                                                    hostile_group) -> None:
    group_id, _ = hostile_group
    page = tcdyn.timeline(queue, group_id).to_html()
    assert page.count("<script") == 2 and "<img" not in page and "<svg" not in page
    assert re.findall(r"""(?:src|href)\s*=\s*["']""", page) == []  # nothing to fetch
    assert re.findall(r"url\((?!#)", page) == [] and "@import" not in page
    assert "http" not in page.replace("http-equiv", "").replace("http://www.w3.org/2000/svg",
                                                                "")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    for name in HOSTILE.values():  # the data only as escaped JSON
        assert name not in page


# -- in a real browser

pytestmark_browser = pytest.mark.skipif(available() is not None, reason=str(available()))


@pytestmark_browser
async def test_the_page_in_chromium(queue, group, tmp_path: Path) -> None:
    """No script error, nothing fetched, every bar where its run's times put it, the
    critical path outlined, a task's dependencies drawn on click; a screenshot."""
    group_id, ids = group
    page_file = tmp_path / "timeline.html"
    page_file.write_text(tcdyn.timeline(queue, group_id).to_html())
    status = statuses(queue, ids)
    async with Chromium() as browser:
        page = await browser.open(page_file)
        assert await page.evaluate("document.body.dataset.rendered") == "1"
        shot = await page.screenshot()
        (tmp_path / "timeline.png").write_bytes(shot)
        assert shot.startswith(b"\x89PNG\r\n\x1a\n") and len(shot) > 10_000
        geometry = await page.evaluate(GEOMETRY)
        await page.evaluate(f"""document.querySelector('.row[data-task="{ids["D"]}"]')
                                .dispatchEvent(new MouseEvent("click"))""")
        shown = await page.evaluate("""[...document.querySelectorAll("path.dep")]
            .filter((e) => getComputedStyle(e).display !== "none")
            .map((e) => e.dataset.from + ">" + e.dataset.to)""")
        assert page.errors == []
        assert page.requests == [page_file.as_uri()]
    assert check_bars(geometry, status, ids) == 7
    assert set(geometry["critical"]) == {ids["A"], ids["C"], ids["D"]}
    assert sorted(geometry["reruns"]) == ["#1", "#1"]  # B's rerun, E's retry
    assert sorted(shown) == sorted([f"{ids['B']}>{ids['D']}", f"{ids['C']}>{ids['D']}"])


@pytestmark_browser
async def test_hostile_names_are_text_in_chromium(queue, hostile_group,
                                                  tmp_path: Path) -> None:
    group_id, ids = hostile_group
    page_file = tmp_path / "hostile.html"
    page_file.write_text(tcdyn.timeline(queue, group_id).to_html())
    async with Chromium() as browser:
        page = await browser.open(page_file)
        assert await page.evaluate("document.body.dataset.rendered") == "1"
        assert await page.evaluate("window.pwned === undefined") is True
        titles = await page.evaluate("""Object.fromEntries([...document.querySelectorAll(
            ".row")].map((e) => [e.dataset.task, e.querySelector("title").textContent]))""")
        injected = await page.evaluate(
            "document.querySelectorAll('img, script:not([id]):not([type]) ~ script, "
            "svg svg, foreignObject').length")
        assert page.errors == [] and page.requests == [page_file.as_uri()]
    for letter, name in HOSTILE.items():
        assert titles[ids[letter]] == f"{name} ({ids[letter]})"
    assert injected == 0
