"""The workflows against the real Taskcluster v106 services: a run whose
``public/logs/live.log`` is a reference artifact to a livelog on loopback (dropping
connections) and whose backing log is in the real object service, followed by the library
and by ``tcdyn task log --follow`` / ``tcdyn group log --follow`` (Pulse from the stack's
RabbitMQ); retrigger with dependencies; the views, ``tcdyn queues`` and ``task create``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from real_helpers import task_def, task_queue
from test_real_cli import _env, run

import tcdyn
from log_helpers import LogWorker, log_lines  # tests/, on the path by its conftest
from tcdyn import artifacts
from tcdyn.testing.livelog import LiveLog
from tcdyn.workflow import retrigger


def _put_object(tmp: Path):
    """Publish into the real object service (the queue's ``object`` artifacts)."""
    def put(queue: Any, task_id: str, run_id: int, name: str, data: bytes, expires: str
            ) -> None:
        path = tmp / f"{task_id}-{run_id}.log"
        path.write_bytes(data)
        artifacts.publish(queue, task_id, run_id, name, path, contentType="text/plain",
                          expires=expires)
    return put


def test_follow_a_real_run_through_dropped_connections(stack, root, root_url, tmp_path):
    queue_id = task_queue()
    with tcdyn.Queue(rootUrl=root_url, credentials=root) as queue:
        task_id = tcdyn.slugId()
        queue.createTask(task_id, task_def(queue_id))
        chunks = log_lines(150, seed=11)
        with LiveLog() as live:
            live.drops([300, 5000, 40, 12000])
            worker = LogWorker(queue, queue_id, put=_put_object(tmp_path)).start(
                task_id, live, chunks, pause=0.01, after=b"[worker] backing log only\n")
            notes: list[str] = []
            follower = tcdyn.logs.follow(queue, task_id, note=notes.append, poll=0.5)
            data = b"".join(piece.data for piece in follower)
            worker.join()
        assert data == b"".join(chunks) + b"[worker] backing log only\n"
        assert follower.outcome is not None and follower.outcome.exit_code == 0
        assert live.dropped >= 1
        # the real queue answers live.log now with the link to the object-stored backing log
        assert queue.latestArtifact(task_id, "public/logs/live.log")["storageType"] == "object"
        # read again once resolved: the whole log, from the backing log only
        again = b"".join(p.data for p in tcdyn.logs.follow(queue, task_id))
        assert again == data


def test_task_log_follow_and_group_log_follow_with_pulse(stack, root, root_url, tmp_path):
    env = _env(stack, tmp_path, TCDYN_PULSE_URL=stack["TCDYN_STACK_PULSE_URL"])
    queue_id, group = task_queue(), tcdyn.slugId()
    with tcdyn.Queue(rootUrl=root_url, credentials=root) as queue:
        ids = []
        for name in ("real build", "real test"):
            task_id = tcdyn.slugId()
            queue.createTask(task_id, task_def(queue_id, taskGroupId=group, metadata={
                "name": name, "description": "d", "owner": "tcdyn@example.com",
                "source": "https://example.com/tcdyn"}))
            ids.append(task_id)
        lives = [LiveLog().start() for _ in ids]
        try:
            put = _put_object(tmp_path)
            workers = [
                LogWorker(queue, queue_id, put=put).start(
                    ids[0], lives[0], [b"compiling\n", b"done\n"], pause=0.3, wait_before=4),
                LogWorker(queue, queue_id, put=put).start(
                    ids[1], lives[1], [b"1 test failed\n"], pause=0.3, wait_before=6,
                    resolve="failed")]
            followed = run(env, "group", "log", group, "--follow", "--poll", "30")
            for worker in workers:
                worker.join()
        finally:
            for live in lives:
                live.close()
        assert followed.returncode == 10, followed.stderr  # a task failed
        assert "(Pulse, and listing it every 30 s)" in followed.stderr
        assert sorted(followed.stdout.splitlines()) == [
            "real build               | compiling", "real build               | done",
            "real test                | 1 test failed"]
        single = run(env, "task", "log", ids[1], "--follow")
        assert single.returncode == 10 and single.stdout == "1 test failed\n"
        assert single.stderr.strip().endswith(f"task {ids[1]} run 0: failed")


def test_retrigger_a_real_task_with_its_dependents(stack, root, root_url, tmp_path):
    queue_id, group = task_queue(), tcdyn.slugId()
    with tcdyn.Queue(rootUrl=root_url, credentials=root) as queue:
        build, test = tcdyn.slugId(), tcdyn.slugId()
        queue.createTask(build, task_def(queue_id, taskGroupId=group, routes=["index.x"]))
        queue.createTask(test, task_def(queue_id, taskGroupId=group, dependencies=[build]))
        plain = retrigger.retrigger(queue, test)
        copy = queue.task(plain.taskId)
        assert copy["dependencies"] == [] and queue.status(plain.taskId)["status"][
            "state"] == "pending"
        original = queue.task(test)
        shift = (dt.datetime.fromisoformat(copy["created"][:-1])
                 - dt.datetime.fromisoformat(original["created"][:-1]))
        assert (dt.datetime.fromisoformat(copy["deadline"][:-1])
                - dt.datetime.fromisoformat(original["deadline"][:-1])) == shift
        wide = retrigger.retrigger(queue, build, group_wide_deps=True)
        new = {c.original: c.taskId for c in wide.plan.copies}
        assert set(new) == {build, test}
        assert queue.task(new[test])["dependencies"] == [new[build]]
        assert queue.task(new[build])["routes"] == []
        assert queue.status(new[test])["status"]["state"] == "unscheduled"
    env = _env(stack, tmp_path)
    exact = run(env, "task", "retrigger", build, "--exact")
    assert exact.returncode == 0, exact.stderr
    assert json.loads(run(env, "task", "def", exact.stdout.strip()).stdout)["routes"] == [
        "index.x"]


def test_views_queues_and_task_create(stack, root, root_url, tmp_path):
    env = _env(stack, tmp_path)
    queue_id = task_queue()
    made = run(env, "task", "create", "--task-queue", queue_id, "--image", "alpine",
               "--", "echo", "hello")
    assert made.returncode == 0, made.stderr
    task_id = made.stdout.strip()
    with tcdyn.Queue(rootUrl=root_url, credentials=root) as queue:
        definition = queue.task(task_id)
        assert definition["payload"] == {"image": "alpine", "command": ["echo", "hello"],
                                         "maxRunTime": 3600}
        assert definition["metadata"]["source"] == f"{root_url}/tasks/create"
        queue.claimWork(queue_id, {"workerGroup": "g", "workerId": "w", "tasks": 1})
        second = run(env, "task", "create", "--task-queue", queue_id, "--", "true")
        assert second.returncode == 0, second.stderr
    rows = run(env, "queues", queue_id).stdout.splitlines()
    assert rows[1].split()[:3] == [queue_id, "1", "1"], rows
    status = run(env, "task", "status", task_id)
    assert status.returncode == 0 and "running" in status.stdout and "\x1b" not in status.stdout
    listed = run(env, "group", "list", task_id).stdout.splitlines()
    assert listed[1].split()[:2] == [task_id, "echo"]
