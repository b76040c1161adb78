"""`tcdyn artifact put`/`get` and `tcdyn listen` against the real stack: subprocesses with real
stdout, stderr and exit codes, the queue and object service of v106 (moto as S3) and the
queue's own Pulse messages on the stack's RabbitMQ."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from real_helpers import claim, slug, task_def, task_queue

import tcdyn

INLINE = 8192  # the object service's inline upload limit (test_real_artifacts.py)


def _env(stack: dict[str, str], tmp: Path, credentials: dict[str, str] | None = None,
         **extra: str) -> dict[str, str]:
    """The environment a user runs the command in: the stack's root client, or
    ``credentials`` (a run's temporary ones) instead."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TASKCLUSTER_", "TCDYN_PULSE"))}
    env["TASKCLUSTER_ROOT_URL"] = stack["TASKCLUSTER_ROOT_URL"]
    if credentials is None:
        env["TASKCLUSTER_CLIENT_ID"] = stack["TASKCLUSTER_CLIENT_ID"]
        env["TASKCLUSTER_ACCESS_TOKEN"] = stack["TASKCLUSTER_ACCESS_TOKEN"]
    else:
        env["TASKCLUSTER_CLIENT_ID"] = credentials["clientId"]
        env["TASKCLUSTER_ACCESS_TOKEN"] = credentials["accessToken"]
        env["TASKCLUSTER_CERTIFICATE"] = credentials["certificate"]
    env["TCDYN_CONFIG"] = str(tmp / "no-config.toml")
    env.update(extra)
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcdyn", *args], env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def one_line_error(done: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    first, *rest = done.stderr.rstrip("\n").split("\n")  # a server's own lines indented
    assert all(not line or line.startswith("  ") for line in rest), done.stderr
    assert first.startswith("tcdyn: ") and "Traceback" not in done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


async def _claimed(queue: tcdyn.Queue) -> tuple[str, dict]:
    """A fresh task, claimed: its id and the claim (run id, run credentials, task)."""
    tq, task_id = task_queue(), slug()
    queue.createTask(task_id, task_def(tq))
    [claimed] = await claim(queue, tq)
    return task_id, claimed


def _names(queue: tcdyn.Queue, task_id: str, run_id: int = 0) -> list[str]:
    return sorted(a["name"] for a in queue.listArtifacts(task_id, run_id)["artifacts"])


@pytest.fixture
def queue(root, root_url) -> Iterator[tcdyn.Queue]:
    with tcdyn.Queue(rootUrl=root_url, credentials=root) as client:
        yield client


@dataclass
class Put:
    """A claimed task's run 0, the command's environments (root, the run's credentials) and
    a small file to publish."""
    task_id: str
    claimed: dict
    env: dict[str, str]
    worker: dict[str, str]
    path: Path
    put: tuple[str, ...]


@pytest.fixture
async def claimed_run(stack, queue, tmp_path) -> Put:
    task_id, claimed = await _claimed(queue)
    path = tmp_path / "f.txt"
    path.write_text("hello\n")
    return Put(task_id, claimed, _env(stack, tmp_path),
               _env(stack, tmp_path, claimed["credentials"]), path,
               ("artifact", "put", task_id, "0"))


async def test_put_publishes_files_read_back_by_get_and_the_library(stack, queue, tmp_path):
    task_id, claimed = await _claimed(queue)
    run_id = str(claimed["runId"])
    worker = _env(stack, tmp_path, claimed["credentials"])  # what a worker holds
    small = tmp_path / "small.json"
    small.write_bytes(b"{}\n")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4 * INLINE + 1))

    guessed = run(worker, "artifact", "put", task_id, run_id, "public/small.json", str(small),
                  "--expires", "1 hour")
    assert guessed.returncode == 0, guessed.stderr
    answer = json.loads(guessed.stdout)
    assert answer["storageType"] == "object" and answer["contentLength"] == 3
    assert answer["contentType"] == "application/json"  # guessed from the name
    assert answer["name"] == "public/small.json" and answer["taskId"] == task_id
    # the root client may read the task: the expiry defaults to the task's own
    given = run(_env(stack, tmp_path), "artifact", "put", task_id, run_id, "private/big.bin",
                str(big), "--content-type", "application/x-tcdyn")
    assert given.returncode == 0, given.stderr
    answer = json.loads(given.stdout)
    assert answer["contentType"] == "application/x-tcdyn"
    assert answer["contentLength"] == big.stat().st_size
    assert answer["expires"] == claimed["task"]["expires"]
    assert stack["TASKCLUSTER_ACCESS_TOKEN"] not in guessed.stdout + given.stdout
    assert claimed["credentials"]["accessToken"] not in guessed.stderr + given.stderr

    env = _env(stack, tmp_path)
    out = run(env, "artifact", "get", task_id, "public/small.json")
    assert out.returncode == 0 and out.stdout == "{}\n", out.stderr
    target = tmp_path / "got.bin"
    got = run(env, "artifact", "get", task_id, "private/big.bin", "--run-id", run_id,
              "-o", str(target))
    assert got.returncode == 0, got.stderr
    assert target.read_bytes() == big.read_bytes()
    for name, source, content_type in (("public/small.json", small, "application/json"),
                                       ("private/big.bin", big, "application/x-tcdyn")):
        data, ctype = tcdyn.download.downloadArtifactToBuf(taskId=task_id, name=name,
                                                            queueService=queue)
        assert bytes(data) == source.read_bytes() and ctype == content_type
    listed = {a["name"]: a for a in queue.listArtifacts(task_id, 0)["artifacts"]}
    assert listed["private/big.bin"]["storageType"] == "object"
    assert listed["public/small.json"]["contentType"] == "application/json"
    queue.reportCompleted(task_id, claimed["runId"])


async def test_put_refuses_bad_input_before_sending(queue, claimed_run, tmp_path):
    c = claimed_run
    task_id, claimed, env, worker, path, put = (c.task_id, c.claimed, c.env, c.worker,
                                                 c.path, c.put)
    # a run's credentials cannot read the task's expiry: the command names its option
    one_line_error(run(worker, *put, "public/a.txt", str(path)), 2, "--expires",
                   f"queue:get-task:{task_id}")
    one_line_error(run(env, *put, "public/a.txt", str(path), "--expires", "soonish"), 2,
                   "--expires 'soonish'")
    one_line_error(run(env, *put, "public/a.txt", str(tmp_path / "absent")), 2,
                   "no such file")
    assert _names(queue, task_id) == []
    queue.reportCompleted(task_id, claimed["runId"])


async def test_put_errors_of_the_queue_are_one_line_and_publish_nothing(queue, claimed_run):
    c = claimed_run
    task_id, claimed, env, worker, path, put = (c.task_id, c.claimed, c.env, c.worker,
                                                 c.path, c.put)
    one_line_error(run(env, "artifact", "put", task_id, "1", "public/a.txt", str(path)), 3,
                   "InputError", "Run not found")
    one_line_error(run(worker, "artifact", "put", task_id, "1", "public/a.txt", str(path),
                       "--expires", "1 hour"), 6, "InsufficientScopes",
                   f"queue:create-artifact:{task_id}/1")
    one_line_error(run(env, *put, "public/a.txt", str(path), "--expires", "10 years"), 3,
                   "InputError", "after the task expiration")
    assert _names(queue, task_id) == []

    # a run not claimed (pending) or already resolved takes no artifact
    pending = slug()
    queue.createTask(pending, task_def(task_queue()))
    one_line_error(run(env, "artifact", "put", pending, "0", "public/a.txt", str(path)), 3,
                   "InputError", "Run was not claimed")
    assert _names(queue, pending) == []
    queue.reportCompleted(task_id, claimed["runId"])
    one_line_error(run(env, *put, "public/a.txt", str(path)), 3, "RequestConflict",
                   "after it is resolved")
    assert _names(queue, task_id) == []


async def test_put_twice_stops_before_sending(queue, claimed_run):
    """The real queue answers a second object artifact of one name with a 500 (after every
    retry); the command says what is wrong at once and leaves the first in place."""
    task_id, claimed, env, path = (claimed_run.task_id, claimed_run.claimed, claimed_run.env,
                                   claimed_run.path)
    put = (*claimed_run.put, "public/a.txt", str(path))
    assert run(env, *put).returncode == 0
    path.write_text("replaced\n")
    one_line_error(run(env, *put), 3, "already has an artifact 'public/a.txt'")
    data, _ = tcdyn.download.downloadArtifactToBuf(taskId=task_id, name="public/a.txt",
                                                   queueService=queue)
    assert bytes(data) == b"hello\n"
    assert _names(queue, task_id) == ["public/a.txt"]
    queue.reportCompleted(task_id, claimed["runId"])


async def test_put_twice_with_a_runs_credentials_exits_3_at_once(queue, claimed_run):
    """A run's credentials cannot read artifacts (403 on queue.artifact and artifactInfo):
    the check still finds the name, so the second put is refused, not sent for six 500s."""
    c = claimed_run
    put = (*c.put, "private/a.txt", str(c.path), "--expires", "1 hour")
    done = run(c.worker, *put)
    assert done.returncode == 0, done.stderr
    start = time.monotonic()
    one_line_error(run(c.worker, *put), 3, "already has an artifact 'private/a.txt'",
                   "cannot be replaced")
    assert time.monotonic() - start < 20
    assert _names(queue, c.task_id) == ["private/a.txt"]
    queue.reportCompleted(c.task_id, c.claimed["runId"])


def _half_made(queue: tcdyn.Queue, task_id: str, name: str) -> dict:
    """What an interrupted put leaves: createArtifact answered, nothing uploaded or
    finished."""
    return queue.createArtifact(task_id, 0, name, {
        "storageType": "object", "expires": tcdyn.fromNowJSON("1 hour"),
        "contentType": "text/plain"})


async def test_put_of_an_unfinished_artifact_is_refused_with_any_credentials(queue, claimed_run):
    c = claimed_run
    _half_made(queue, c.task_id, "public/half.txt")
    assert _names(queue, c.task_id) == ["public/half.txt"]  # listed...
    got = run(c.env, "artifact", "get", c.task_id, "public/half.txt")
    one_line_error(got, 3, "ResourceNotFound")  # ...but not there
    # the v106 queue answers 500 to createArtifact here (a second upload of one object)
    with pytest.raises(tcdyn.InternalServerError):
        queue.createArtifact(c.task_id, 0, "public/half.txt", {
            "storageType": "object", "expires": tcdyn.fromNowJSON("1 hour"),
            "contentType": "text/plain"}, )
    for env in (c.env, c.worker):
        start = time.monotonic()
        one_line_error(run(env, *c.put, "public/half.txt", str(c.path), "--expires",
                           "1 hour"), 3,
                       "already has an unfinished artifact 'public/half.txt'",
                       "another name")
        assert time.monotonic() - start < 20
    fresh = run(c.worker, *c.put, "public/other.txt", str(c.path), "--expires", "1 hour")
    assert fresh.returncode == 0, fresh.stderr  # the probe leaves a fresh name alone
    assert _names(queue, c.task_id) == ["public/half.txt", "public/other.txt"]
    queue.reportCompleted(c.task_id, c.claimed["runId"])


@pytest.mark.parametrize("after", [0.0, 0.3, 2.0])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_an_interrupted_put_says_the_name_is_used_up(queue, claimed_run, tmp_path, sig,
                                                           after):
    """The signal comes ``after`` seconds once the queue lists the artifact: while its
    answer to createArtifact may still be on its way, while the upload's payload schema is
    compiled (where jsonschema-rs once swallowed it: the put ran to its end, exit 0), while
    the bytes go; the put stops at once, exit 130, saying the name is used up."""
    c = claimed_run
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(1024 ** 3)  # sparse: seconds to hash and send, nothing on disk
    proc = subprocess.Popen([sys.executable, "-m", "tcdyn", *c.put, "public/big.bin",
                             str(big), "--expires", "1 hour"], env=c.worker,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while "public/big.bin" not in _names(queue, c.task_id):  # createArtifact answered
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
            time.sleep(0.02)
        time.sleep(after)
        proc.send_signal(sig)
        signalled = time.monotonic()
        out, err = proc.communicate(timeout=60)
        stopped = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert stopped < 15, stopped  # at once, not once the gigabyte is sent
    assert out == "" and len(err.strip().splitlines()) == 1, err
    # the queue's answer to createArtifact may not have been read yet: "may have been"
    assert re.match("tcdyn: interrupted: artifact 'public/big.bin' of run 0 of task "
                    f"{c.task_id} (was|may have been) created but not finished", err), err
    one_line_error(run(c.env, "artifact", "get", c.task_id, "public/big.bin"), 3,
                   "ResourceNotFound")
    one_line_error(run(c.worker, *c.put, "public/big.bin", str(c.path), "--expires",
                       "1 hour"), 3, "already has an unfinished artifact 'public/big.bin'")
    queue.reportCompleted(c.task_id, c.claimed["runId"])


async def test_get_refuses_an_object_without_acceptable_hashes(stack, queue, claimed_run,
                                                               root_url):
    """An object finished without sha256/sha512 (the object service allows it): the command
    refuses it as the library does, before downloading, and writes nothing."""
    c = claimed_run
    answer = _half_made(queue, c.task_id, "public/nohash.txt")
    with tcdyn.Object(rootUrl=root_url, credentials=answer["credentials"]) as obj:
        obj.createUpload(answer["name"], {
            "projectId": answer["projectId"], "uploadId": answer["uploadId"],
            "expires": answer["expires"], "proposedUploadMethods": {"dataInline": {
                "contentType": "text/plain", "objectData": "aGVsbG8K"}}})
        obj.finishUpload(answer["name"], {"projectId": answer["projectId"],
                                          "uploadId": answer["uploadId"]})
    queue.finishArtifact(c.task_id, 0, "public/nohash.txt", {"uploadId": answer["uploadId"]})
    for output in ("-", str(c.path.parent / "out.txt")):
        one_line_error(run(c.env, "artifact", "get", c.task_id, "public/nohash.txt", "-o",
                           output), 1, "No acceptable hashes")
    assert not (c.path.parent / "out.txt").exists()
    with pytest.raises(tcdyn.ObjectHashVerificationError):
        tcdyn.download.downloadArtifactToBuf(taskId=c.task_id, name="public/nohash.txt",
                                             queueService=queue)
    queue.reportCompleted(c.task_id, c.claimed["runId"])


async def test_get_to_a_directory_is_refused_before_sending(queue, claimed_run, tmp_path):
    c = claimed_run
    assert run(c.env, *c.put, "public/a.txt", str(c.path)).returncode == 0
    one_line_error(run(c.env, "artifact", "get", c.task_id, "public/a.txt", "-o",
                       str(tmp_path)), 2, "is a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]
    queue.reportCompleted(c.task_id, c.claimed["runId"])


async def _start(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    """``tcdyn listen ...`` once its queue is bound (its banner read)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tcdyn", "listen", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    banner = (await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
    assert banner.startswith("listening on queue/"), banner
    return proc


async def _finish(proc: asyncio.subprocess.Process) -> tuple[int, str, str]:
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode, out.decode(), err.decode()


async def test_listen_prints_the_real_queues_messages(stack, tc, queue, tmp_path):
    env = _env(stack, tmp_path, TCDYN_PULSE_URL=stack["TCDYN_STACK_PULSE_URL"])
    group, task_id, route = slug(), slug(), f"tcdyn-real.{slug()}"
    every = await _start(env, "queue", f"--taskGroupId={group}", "--count", "2")
    pending = await _start(env, "queue", "task-pending", "--taskGroupId", group,
                           "--count", "1")
    queue.createTask(slug(), task_def(task_queue()))  # another group: not bound
    queue.createTask(task_id, task_def(task_queue(), taskGroupId=group, routes=[route]))

    code, out, err = await _finish(every)
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [m["exchange"] for m in lines] == ["exchange/taskcluster-queue/v1/task-defined",
                                             "exchange/taskcluster-queue/v1/task-pending"]
    for message in lines:
        assert set(message) == {"exchange", "routingKey", "routing", "routes", "redelivered",
                                "payload"}
        assert message["routing"]["taskId"] == task_id
        assert message["routing"]["taskGroupId"] == group
        assert message["routingKey"].startswith(f"primary.{task_id}.")
        assert message["routes"] == [route] and message["redelivered"] is False
        assert message["payload"]["status"]["taskId"] == task_id
    events = tc.QueueEvents()
    tc.validate_message(events.taskDefined(), lines[0]["payload"])  # the deployment's schema
    tc.validate_message(events.taskPending(), lines[1]["payload"])

    code, out, err = await _finish(pending)
    assert code == 0, err
    [message] = [json.loads(line) for line in out.splitlines()]
    assert message["exchange"].endswith("/task-pending")
    assert message["payload"]["status"]["state"] == "pending"
    assert message["payload"]["runId"] == 0 and message["routing"]["runId"] == "0"
    password = urlsplit(stack["TCDYN_STACK_PULSE_URL"]).password
    assert password and password not in out + err


async def test_listen_stops_on_ctrl_c_and_refuses_bad_input(stack, tmp_path):
    url = stack["TCDYN_STACK_PULSE_URL"]
    env = _env(stack, tmp_path, TCDYN_PULSE_URL=url)
    proc = await _start(env, "queue", "taskCompleted", f"--taskGroupId={slug()}")
    proc.send_signal(signal.SIGINT)
    code, out, err = await _finish(proc)
    assert (code, out, err) == (130, "", "tcdyn: interrupted\n")

    one_line_error(run(env, "listen", "queue", "taskNope"), 2, "no exchange 'taskNope'",
                   "taskDefined, taskPending")
    one_line_error(run(env, "listen", "queue", "task-defined", "--workerGroupz=x"), 2,
                   "no routing-key word 'workerGroupz'")
    parts = urlsplit(url)
    wrong = urlunsplit(parts._replace(
        netloc=f"{parts.username}:not-the-password@{parts.hostname}:{parts.port}"))
    refused = run({**env, "TCDYN_PULSE_URL": wrong}, "listen", "queue", "taskDefined",
                  "--count", "1")
    one_line_error(refused, 6, "ACCESS_REFUSED")  # a login refused is an auth failure
    assert "not-the-password" not in refused.stderr
    # A password on the command line is refused before connecting (argv is public).
    in_argv = run(env, "listen", "queue", "taskDefined", "--url", url, "--count", "1")
    one_line_error(in_argv, 2, "--url must not hold a password", "TCDYN_PULSE_PASSWORD")
    assert parts.password not in in_argv.stderr
