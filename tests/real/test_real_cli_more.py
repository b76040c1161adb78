"""The rest of the tcdyn command against the real stack: the task and group actions a worker's
life cycle needs (log, artifacts, complete, rerun, group status and cancel), paging with
``--all``, a mirror pulled from the deployment, stubs generated from it, and the REPL."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect
from real_helpers import claim, task_def, task_queue
from test_real_cli import _env, run

import tcdyn
from tcdyn import artifacts

BUNDLED_STUBS = Path(__file__).resolve().parents[2] / "src" / "tcdyn" / "_services"


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _create(env: dict[str, str], queue_id: str, group: str | None = None) -> str:
    task_id = run(env, "slugid").stdout.strip()
    task = task_def(queue_id, **({"taskGroupId": group} if group else {}))
    created = run(env, "api", "queue", "createTask", task_id, input=json.dumps(task))
    assert created.returncode == 0, created.stderr
    return task_id


async def test_task_log_artifacts_complete_and_rerun(stack, root, root_url, tmp_path):
    env = _env(stack, tmp_path)
    queue_id = task_queue()
    task_id = _create(env, queue_id)
    # a worker's run: claimed, a live.log published, reported completed by the library
    with tcdyn.Queue(rootUrl=root_url, credentials=root) as queue:
        (claimed,) = await claim(queue, queue_id)
        assert claimed["status"]["taskId"] == task_id
        log_file = tmp_path / "live.log"
        log_file.write_text("step 1\nstep 2: done\n")
        artifacts.publish(queue, task_id, 0, "public/logs/live.log", log_file)  # text/plain
        queue.reportCompleted(task_id, 0)

    log = run(env, "task", "log", task_id)
    assert log.returncode == 0, log.stderr
    assert log.stdout == "step 1\nstep 2: done\n"
    listed = _lines(run(env, "task", "artifacts", task_id, "--json").stdout)
    assert [(a["name"], a["storageType"], a["contentType"]) for a in listed] == [
        ("public/logs/live.log", "object", "text/plain")]

    rerun = run(env, "task", "rerun", task_id, "--force", "--yes")
    assert rerun.returncode == 0, rerun.stderr
    assert [r["state"] for r in json.loads(rerun.stdout)["runs"]] == ["completed", "pending"]
    # the command claims the pending run 1 itself and reports it completed
    done = run(env, "task", "complete", task_id, "--yes")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "completed"
    status = json.loads(run(env, "task", "status", task_id, "--json").stdout)
    assert [r["state"] for r in status["runs"]] == ["completed", "completed"]
    again = run(env, "task", "complete", task_id, "--yes")
    assert again.returncode == 1 and "not pending or running" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    # the latest run (1) has no log: a 404 from the real queue, exit 3, one line
    no_log = run(env, "task", "log", task_id)
    assert no_log.returncode == 3 and "ResourceNotFound" in no_log.stderr


def test_group_status_cancel_and_paging(stack, tmp_path):
    env = _env(stack, tmp_path)
    queue_id = task_queue()
    group = run(env, "slugid").stdout.strip()
    ids = sorted(_create(env, queue_id, group) for _ in range(3))
    assert run(env, "task", "complete", ids[0], "--yes").returncode == 0

    # --all follows the real queue's continuationTokens: limit=1 means three pages
    paged = run(env, "api", "queue", "listTaskGroup", group, "--query", "limit=1", "--all")
    assert paged.returncode == 0, paged.stderr
    assert sorted(item["status"]["taskId"] for item in _lines(paged.stdout)) == ids
    one_page = json.loads(run(env, "api", "queue", "listTaskGroup", group,
                              "--query", "limit=1").stdout)
    assert len(one_page["tasks"]) == 1 and one_page["continuationToken"]

    status = json.loads(run(env, "group", "status", group, "--json").stdout)
    assert status == {"taskGroupId": group, "tasks": 3,
                      "states": {"completed": 1, "pending": 2}}
    unsealed = run(env, "group", "cancel", group, "--yes")
    assert unsealed.returncode == 3 and "Cannot cancel unsealed task group" in unsealed.stderr
    assert run(env, "api", "queue", "sealTaskGroup", group).returncode == 0
    cancel = run(env, "group", "cancel", group, "--yes")
    assert cancel.returncode == 0, cancel.stderr
    assert sorted(json.loads(cancel.stdout)["taskIds"]) == ids[1:]
    status = json.loads(run(env, "group", "status", group, "--json").stdout)
    assert status["states"] == {"completed": 1, "exception": 2}


def test_references_pull_and_stubs_from_the_deployment(stack, tmp_path):
    env = _env(stack, tmp_path)
    root_url = stack["TASKCLUSTER_ROOT_URL"]
    mirror = tmp_path / "mirror"
    pulled = run(env, "references", "pull", root_url, str(mirror))
    assert pulled.returncode == 0, pulled.stderr
    listed = run(env, "references", "list", str(mirror))
    assert listed.returncode == 0, listed.stderr
    for name in ("Queue", "Auth", "Object", "QueueEvents", "Hooks", "Secrets"):
        assert name in listed.stdout

    # the stubs of the live v106 deployment are those committed for the bundled v106 set
    out = tmp_path / "stubs"
    made = run(env, "stubs", "--root-url", root_url, "-o", str(out))
    assert made.returncode == 0, made.stderr
    # the bundled typed schemas are modules (tcdyn.types, tcdyn.payloads work at run time);
    # for another deployment they are written as stubs of the same text
    bundled = {p.with_suffix(".pyi").name: p for p in BUNDLED_STUBS.glob("*.py*")
               if p.name != "__init__.py" and p.name != "aio.py"}
    names = sorted(bundled)
    assert names == ["__init__.pyi", "aio.pyi", "payloads.pyi", "types.pyi"]
    assert sorted(p.name for p in out.glob("*.pyi")) == names
    for name in names:  # the same text below the first line, which names the source
        made_text = (out / name).read_text().splitlines()
        assert root_url in made_text[0]
        assert made_text[1:] == bundled[name].read_text().splitlines()[1:], name
    from_mirror = tmp_path / "stubs-mirror"
    assert run(env, "stubs", str(mirror), "-o", str(from_mirror)).returncode == 0
    for name in names:
        assert ((from_mirror / name).read_text().splitlines()[1:]
                == (out / name).read_text().splitlines()[1:]), name


def test_explore_against_the_deployment(stack, tmp_path):
    env = {**_env(stack, tmp_path), "TCDYN_SHELL": "python", "PAGER": "cat", "TERM": "dumb"}
    child = pexpect.spawn(sys.executable, ["-m", "tcdyn", "explore"], env=env,
                          encoding="utf-8", timeout=60, dimensions=(50, 200))
    try:
        child.expect_exact(">>> ")
        assert f"rootUrl {stack['TASKCLUSTER_ROOT_URL']}" in str(child.before)
        # the deployment's own references (cached once a day), as every other command
        assert "references of " + stack["TASKCLUSTER_ROOT_URL"] in str(child.before) or \
            "references fetched from " + stack["TASKCLUSTER_ROOT_URL"] in str(child.before)
        child.sendline("auth.currentScopes()['scopes']")
        child.expect_exact(">>> ")
        assert "'*'" in str(child.before) or "assume:" in str(child.before)
        child.sendline(f"queue.task({tcdyn.slugId()!r})")
        child.expect_exact(">>> ")
        assert "ResourceNotFound" in str(child.before)
        assert stack["TASKCLUSTER_ACCESS_TOKEN"] not in str(child.before)
        child.sendline("exit()")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, os.linesep.join(str(child.before).splitlines()[-5:])
