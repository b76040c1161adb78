"""The workflow commands end to end, in subprocesses against a local deployment on loopback
(Hawk, scopes, the in-memory queue and worker-manager) and a livelog: task log --follow and
group log --follow with their exit codes, the tables (plain when piped, colour on a
terminal, server text escaped), the confirmations of cancel/rerun/complete and group
cancel (asked on a terminal, refused without --yes when not), retrigger, task create,
queues and pools."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from ptyrun import dangerous_in, run_on_pty

import tcdyn
from interrupt_at import SPREAD, moments, pick, run_at, signals_in_turn
from log_helpers import LogWorker, task
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.livelog import LiveLog
from tcdyn.testing.objects import Storage
from tcdyn.testing.queue import InMemoryQueue
from tcdyn.testing.server import LocalDeployment
from tcdyn.testing.worker_manager import InMemoryWorkerManager

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "workflow-cli-token-never-shown"
CREDS = {"clientId": "cli", "accessToken": TOKEN}


def _env(root_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKCLUSTER_",
                                                                       "TCDYN_PULSE"))}
    env.update(TASKCLUSTER_ROOT_URL=root_url, TASKCLUSTER_CLIENT_ID="cli",
               TASKCLUSTER_ACCESS_TOKEN=TOKEN, TCDYN_CONFIG=str(tmp / "none.toml"),
               TERM="xterm", COLUMNS="120", **extra)
    env.pop("NO_COLOR", None)
    return env


def cli(*args: str, env: dict[str, str], timeout: float = 90
          ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcdyn", *args], env=env,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    with Storage() as storage, LocalDeployment(
            clients={"cli": ClientRecord(TOKEN, ("*",))}, imitate=True,
            check_scopes=True) as dep:
        InMemoryQueue(storage).install(dep)
        wm = InMemoryWorkerManager().install(dep)
        tmp = tmp_path_factory.mktemp("cli")
        with tcdyn.Queue(rootUrl=dep.root_url, credentials=CREDS) as queue:
            yield dep, queue, wm, _env(dep.root_url, tmp)


def _queue_id() -> str:
    return f"cli/{tcdyn.slugId()[:10].lower().replace('-', 'x').replace('_', 'y')}z"


def _make(queue, queue_id=None, **overrides) -> str:
    task_id = tcdyn.slugId()
    queue.createTask(task_id, task(queue_id or _queue_id(), **overrides))
    return task_id


def _state(queue, task_id) -> str:
    return queue.status(task_id)["status"]["state"]


# -- task log --follow, group log --follow ------------------------------------------------------

def test_task_log_follow_prints_the_log_and_exits_with_the_outcome(local):
    _, queue, _, env = local
    queue_id = _queue_id()
    task_id = _make(queue, queue_id)
    chunks = [b"building\n", b"\x1b[31mred\x1b[0m\n", b"linking", b" done\n"]
    with LiveLog() as live:
        live.drops([12])
        worker = LogWorker(queue, queue_id).start(task_id, live, chunks, pause=0.2,
                                                  after=b"exit 1\n", resolve="failed")
        run = cli("task", "log", task_id, "--follow", "--poll", "0.3", env=env)
        worker.join()
    assert run.returncode == 10, run.stderr
    assert run.stdout == b"".join(chunks).decode() + "exit 1\n"  # piped: every byte as sent
    assert run.stderr.splitlines()[-1] == f"tcdyn: task {task_id} run 0: failed"
    assert TOKEN not in run.stderr


def test_task_log_follow_on_a_terminal_escapes_the_log(local):
    _, queue, _, env = local
    queue_id = _queue_id()
    task_id = _make(queue, queue_id)
    with LiveLog() as live:
        LogWorker(queue, queue_id).run(task_id, live, [b"ok\n", b"\x1b]52;c;AAAA\x07\n"],
                                       resolve="exception", reason="malformed-payload")
    run = run_on_pty("task", "log", task_id, "-f", env=env)
    assert run.returncode == 11, run.text
    assert dangerous_in(run.output) == []
    assert "\\x1b]52;c;AAAA\\x07" in run.text and "exception (malformed-payload)" in run.text


def test_group_log_follow_prefixes_each_line_and_exits_with_the_group(local):
    _, queue, _, env = local
    queue_id, group = _queue_id(), tcdyn.slugId()
    ids = [_make(queue, queue_id, taskGroupId=group, metadata={
        "name": name, "description": "d", "owner": "o", "source": "https://example.com"})
        for name in ("compile", "a-rather-long-task-name-that-is-cut")]
    lives = [LiveLog().start() for _ in ids]
    try:
        # both start once the command has listed the group (a task resolved before that
        # is not shown)
        workers = [LogWorker(queue, queue_id).start(ids[0], lives[0], [b"cc -c x.c\n"],
                                                    pause=0.3, wait_before=2.5),
                   LogWorker(queue, queue_id).start(ids[1], lives[1], [b"tests ok\n"],
                                                    pause=0.3, wait_before=3.0)]
        run = cli("group", "log", group, "--follow", "--poll", "0.3", env=env)
        for worker in workers:
            worker.join()
    finally:
        for live in lives:
            live.close()
    assert run.returncode == 0, run.stderr
    lines = sorted(run.stdout.splitlines())
    assert lines == ["a-rather-long-task-name… | tests ok",
                     "compile                  | cc -c x.c"]
    assert "resolved: 2 completed" in run.stderr
    usage = cli("group", "log", group, env=env)
    assert usage.returncode == 2 and "add --follow" in usage.stderr


def test_follow_of_an_unknown_task_exits_3(local):
    _, _, _, env = local
    run = cli("task", "log", tcdyn.slugId(), "--follow", env=env)
    assert run.returncode == 3 and "ResourceNotFound" in run.stderr
    bad = cli("task", "log", "x", "--follow", "--poll", "0", env=env)
    assert bad.returncode == 2 and "poll must be a positive number" in bad.stderr


# -- views ----------------------------------------------------------------------------------

def test_views_are_plain_tables_when_piped_and_json_on_request(local):
    _, queue, _, env = local
    group = tcdyn.slugId()
    done = _make(queue, taskGroupId=group, metadata={
        "name": "evil\x1b[2J\u202ename", "description": "d", "owner": "o",
        "source": "https://example.com"})
    _make(queue, taskGroupId=group)
    assert cli("task", "complete", done, "--yes", env=env).returncode == 0
    status = cli("task", "status", done, env=env)
    assert status.returncode == 0, status.stderr
    assert "\x1b" not in status.stdout and "\u202e" not in status.stdout
    assert "evil\\x1b[2J\\u202ename" in status.stdout
    header = next(line for line in status.stdout.splitlines() if line.startswith("RUN"))
    assert header.split() == ["RUN", "STATE", "BEGAN", "AS", "ENDED", "AS", "WORKER",
                              "STARTED", "DURATION"]
    assert json.loads(cli("task", "status", done, "--json", env=env).stdout)[
        "state"] == "completed"
    listed = cli("group", "list", group, env=env).stdout.splitlines()
    assert listed[0].split()[:3] == ["TASK", "NAME", "STATE"]
    assert [line.split()[0] for line in listed[1:]][::-1][0] == done  # pending first
    counts = cli("group", "status", group, env=env).stdout.splitlines()
    assert counts == [f"task group {group}: 2 tasks", "STATE      TASKS",
                      "pending        1", "completed      1"]
    artifacts = cli("task", "artifacts", done, env=env).stdout
    assert artifacts.splitlines() == ["NAME  STORAGE  CONTENT TYPE  EXPIRES"]  # none yet


def test_views_in_colour_on_a_terminal_unless_no_color(local):
    _, queue, _, env = local
    task_id = _make(queue)
    assert cli("task", "complete", task_id, "--yes", env=env).returncode == 0
    tty = run_on_pty("task", "status", task_id, env=env)
    assert tty.returncode == 0 and "\x1b[32mcompleted" in tty.text
    plain = run_on_pty("task", "status", task_id, env={**env, "NO_COLOR": "1"})
    assert "\x1b[" not in plain.text and "completed" in plain.text


def test_queues_and_pools(local):
    _, queue, wm, env = local
    prefix = _queue_id().split("/")[1]
    for i in range(2):
        queue.claimWork(f"{prefix}/w{i}", {"workerGroup": "g", "workerId": "w", "tasks": 1})
        _make(queue, f"{prefix}/w{i}")
    rows = cli("queues", prefix, env=env).stdout.splitlines()
    assert rows[0].split() == ["TASK", "QUEUE", "PENDING", "CLAIMED", "LAST", "ACTIVE"]
    assert [r.split()[:3] for r in rows[1:]] == [[f"{prefix}/w0", "1", "0"],
                                                 [f"{prefix}/w1", "1", "0"]]
    as_json = [json.loads(line) for line in cli("queues", prefix, "--json",
                                                  env=env).stdout.splitlines()]
    assert as_json[0]["taskQueueId"] == f"{prefix}/w0" and as_json[0]["lastDateActive"][-1] == "Z"
    with tcdyn.WorkerManager(rootUrl=queue.rootUrl, credentials=CREDS) as manager:
        manager.createWorkerPool(f"{prefix}/w0", {
            "providerId": "aws", "description": "", "config": {"maxCapacity": 5},
            "owner": "o@example.com", "emailOnError": False})
        manager.reportWorkerError(f"{prefix}/w0", {
            "workerGroup": "g", "workerId": "w", "kind": "worker-error",
            "title": "boot failed\x1b[5m", "description": "d", "extra": {}})
    wm.workers(f"{prefix}/w0", running=2)
    pools = cli("pools", prefix, env=env)
    assert pools.returncode == 0, pools.stderr
    header, row = pools.stdout.splitlines()
    assert header.split()[:3] == ["POOL", "PROVIDER", "CAPACITY"]
    assert row.split()[:7] == [f"{prefix}/w0", "aws", "2/5", "2", "0", "1", "1"]
    assert row.endswith("boot failed\\x1b[5m")


# -- confirmations ----------------------------------------------------------------------------

def test_cancel_asks_on_a_terminal_and_refuses_without_yes_otherwise(local):
    _, queue, _, env = local
    task_id = _make(queue)
    refused = cli("task", "cancel", task_id, env=env)
    assert refused.returncode == 2 and "add --yes" in refused.stderr
    dry = cli("task", "cancel", task_id, "--dry-run", env=env)
    assert dry.returncode == 0 and dry.stdout.startswith(f"would cancel task {task_id}")
    no = run_on_pty("task", "cancel", task_id, env=env, reply=(b"[y/N] ", b"n\n"))
    assert no.returncode == 1 and "not confirmed" in no.text
    assert _state(queue, task_id) == "pending"
    yes = run_on_pty("task", "cancel", task_id, env=env, reply=(b"[y/N] ", b"y\n"))
    assert yes.returncode == 0 and f"Cancel task {task_id}" in yes.text
    assert _state(queue, task_id) == "exception"


def test_rerun_refuses_a_task_that_did_not_fail_unless_forced(local):
    _, queue, _, env = local
    task_id = _make(queue)
    assert cli("task", "complete", task_id, "--yes", env=env).returncode == 0
    refused = cli("task", "rerun", task_id, "--yes", env=env)
    assert refused.returncode == 1 and "not failed or exception" in refused.stderr
    assert len(queue.status(task_id)["status"]["runs"]) == 1
    forced = cli("task", "rerun", task_id, "--force", "--yes", env=env)
    assert forced.returncode == 0, forced.stderr
    assert [r["state"] for r in json.loads(forced.stdout)["runs"]] == ["completed", "pending"]
    complete = cli("task", "complete", task_id, "--dry-run", env=env)
    assert complete.stdout.startswith("would report run 1 of task")
    assert _state(queue, task_id) == "pending"


@pytest.fixture(scope="module")
def older(tmp_path_factory):
    """A deployment whose queue has no cancelTaskGroup, and its mirror."""
    mirror = tmp_path_factory.mktemp("older") / "refs"
    shutil.copytree(ROOT / "references", mirror)
    api = mirror / "references" / "queue" / "v1" / "api.json"
    ref = json.loads(api.read_text())
    ref["entries"] = [e for e in ref["entries"] if e["name"] != "cancelTaskGroup"]
    api.write_text(json.dumps(ref))
    with Storage() as storage, LocalDeployment(
            mirror, clients={"cli": ClientRecord(TOKEN, ("*",))}, imitate=True,
            check_scopes=True) as dep:
        InMemoryQueue(storage).install(dep)
        with tcdyn.Queue(rootUrl=dep.root_url, credentials=CREDS) as queue:
            yield dep, queue, mirror, _env(dep.root_url, tmp_path_factory.mktemp("old"))


def test_group_cancel_task_by_task_with_a_progress_bar(older):
    dep, queue, mirror, env = older
    group = tcdyn.slugId()
    ids = [_make(queue, taskGroupId=group) for _ in range(3)]
    refused = cli("group", "cancel", group, "--references", str(mirror), env=env)
    assert refused.returncode == 2 and "one task at a time" in refused.stderr
    run = run_on_pty("group", "cancel", group, "--references", str(mirror), env=env,
                     reply=(b"[y/N] ", b"yes\n"))
    assert run.returncode == 0, run.text
    assert "cancelling [" in run.text and "3/3" in run.text
    assert {_state(queue, t) for t in ids} == {"exception"}
    assert not [r for r in dep.requests if r.name == "cancelTaskGroup"]


def test_group_cancel_seals_first_when_asked(local):
    _, queue, _, env = local
    group = tcdyn.slugId()
    ids = [_make(queue, taskGroupId=group) for _ in range(2)]
    dry = cli("group", "cancel", group, "--seal", "--dry-run", env=env)
    assert dry.stdout.startswith(f"would seal and cancel task group {group} (2 unfinished")
    assert "sealed" not in queue.getTaskGroup(group)
    done = cli("group", "cancel", group, "--seal", "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)["taskIds"]) == sorted(ids)


# -- retrigger, create ----------------------------------------------------------------------------

def test_retrigger_prints_the_new_task_and_dry_run_creates_nothing(local):
    _, queue, _, env = local
    upstream = _make(queue)
    original = _make(queue, dependencies=[upstream], routes=["index.project.x"])
    dry = cli("task", "retrigger", original, "--exact", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("would create ") and f"after {upstream}" in dry.stdout
    assert f"dependency {upstream} is pending: the copy waits for it" in dry.stderr
    planned = json.loads(cli("task", "retrigger", original, "--dry-run", "--json",
                               env=env).stdout)
    assert planned["retriggerOf"] == original and planned["task"]["dependencies"] == []
    with pytest.raises(tcdyn.ResourceNotFound):
        queue.task(planned["taskId"])
    run = cli("task", "retrigger", original, env=env)
    assert run.returncode == 0, run.stderr
    new = run.stdout.strip()
    assert queue.task(new)["routes"] == [] and _state(queue, new) == "pending"
    assert f"created {new} (pending), a copy of {original}" in run.stderr


def test_task_create_for_docker_worker_and_generic_worker(local):
    _, queue, _, env = local
    run = cli("task", "create", "--task-queue", "proj/docker", "--image", "alpine:3",
                "--env", "A=1", "--", "sh", "-c", "echo hi", env=env)
    assert run.returncode == 0, run.stderr
    task_id = run.stdout.strip()
    made = queue.task(task_id)
    assert made["payload"] == {"image": "alpine:3", "command": ["sh", "-c", "echo hi"],
                               "maxRunTime": 3600, "env": {"A": "1"}}
    assert made["metadata"]["name"] == "sh -c echo hi" and made["metadata"]["owner"] == "cli"
    assert made["taskGroupId"] == task_id
    dry = json.loads(cli("task", "create", "--task-queue", "proj/gw", "--deadline",
                           "2 hours", "--dry-run", "--", "make", "test", env=env).stdout)
    assert dry["task"]["payload"]["command"] == [["make", "test"]]
    with pytest.raises(tcdyn.ResourceNotFound):
        queue.task(dry["taskId"])
    for args, needle in ((("--deadline", "6 days"), "at most 5 days"),
                         (("--env", "NOEQUALS"), "expected NAME=VALUE"),
                         (("--deadline", "soon"), "deadline 'soon'")):
        bad = cli("task", "create", "--task-queue", "p/w", *args, "--", "true", env=env)
        assert bad.returncode == 2 and needle in bad.stderr, bad.stderr
    invalid = cli("task", "create", "--task-queue", "not a queue/x", "--", "true", env=env)
    assert invalid.returncode == 5 and "taskQueueId" in invalid.stderr


def test_new_commands_help_fits_and_says_the_exit_codes(local):
    env = {**local[3], "COLUMNS": "80"}
    for args in (("task", "log"), ("group", "log"), ("task", "retrigger"), ("task", "create"),
                 ("queues",), ("pools",), ("group", "cancel")):
        out = cli(*args, "--help", env=env).stdout
        assert out and all(len(line) <= 80 for line in out.splitlines()), args
    assert "12  deadline exceeded" in cli("task", "log", "--help", env=env).stdout
    assert "10  a task failed" in cli("group", "log", "--help", env=env).stdout


def test_interrupting_a_follow_exits_130(local):
    _, queue, _, env = local
    task_id = _make(queue)  # pending: the follower waits
    proc = subprocess.Popen([sys.executable, "-m", "tcdyn", "task", "log", task_id, "-f"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        said = ""
        while "waiting for a worker" not in said:  # signalled once it waits, however slow
            line = proc.stderr.readline()          # the start is
            assert line, said
            said += line
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130 and err.endswith("tcdyn: interrupted\n"), err


# -- issue 18 item 5: Ctrl-C or SIGTERM at any moment of task log --follow --------------------
# (tests/interrupt_at.py: the handler called at moments spread over a real run, and while
# the download thread hands the log over)

_FOLLOWED: dict[str, Any] = {}


@pytest.fixture
def followed(local, tmp_path_factory) -> tuple[dict[str, str], tuple[str, ...], bytes, list[str]]:
    """A completed task whose 3 MiB log the follower downloads (on its thread), the
    command, the log, and the moments of a run of it."""
    if not _FOLLOWED:
        _, queue, _, env = local
        queue_id = _queue_id()
        task_id = _make(queue, queue_id)
        chunks = [b"%07d building and linking\n" % i for i in range(3 * 1024 * 1024 // 26)]
        with LiveLog() as live:
            LogWorker(queue, queue_id).run(task_id, live, chunks)
        env = {**env, "PYTHONHASHSEED": "0"}
        args = ("task", "log", task_id, "--follow", "--poll", "0.3")
        listing = tmp_path_factory.mktemp("follow") / "moments.txt"
        _FOLLOWED.update(env=env, args=args, log=b"".join(chunks),
                         moments=moments(env, listing, lambda: None, *args))
    return _FOLLOWED["env"], _FOLLOWED["args"], _FOLLOWED["log"], _FOLLOWED["moments"]


@pytest.mark.parametrize(("choice", "sig"), signals_in_turn(
    [*(("spread", k) for k in range(SPREAD)), ("at", "Follower._download#2")]))
def test_a_signal_at_any_moment_of_a_follow_stops_it(followed, choice, sig):
    env, args, log, found = followed
    moment = pick(found, choice)
    start = time.monotonic()
    done = run_at(env, sig, moment, *args)
    err = done.stderr.decode()
    assert done.returncode == 130, (moment, done.returncode, err)
    assert time.monotonic() - start < 30, moment
    assert err.splitlines()[-1] == "tcdyn: interrupted", (moment, err)
    assert "Traceback" not in err and "Exception ignored" not in err, (moment, err)
    assert log.startswith(done.stdout), moment  # what was shown is the log, as sent


def test_group_lines_on_a_terminal_escape_the_name_and_the_line():
    from tcdyn.cli.follow import _body, _prefix

    colours: dict[str, str] = {}
    shown = _prefix("evil\x1b]0;title\x07name and more", "T1", True, colours)
    assert b"\x1b]0" not in shown and b"\x07" not in shown  # escaped, then cut to 24
    assert shown.startswith(b"\x1b[36m") and b"evil\\x1b]0;title\\x07nam\xe2\x80\xa6" in shown
    assert _prefix("build", "T1", False, colours) == b"build                    | "
    assert _body(b"ok\x1b[2J\n", True) == b"ok\\x1b[2J\n"
    assert _body(b"ok\x1b[2J\n", False) == b"ok\x1b[2J\n"  # piped: as sent
    assert _body(b"cut piece", False) == b"cut piece\n"
