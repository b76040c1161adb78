"""The example programs against the real Taskcluster stack (scripts/taskcluster.sh up), run
as a user runs them: a subprocess with the stack's TASKCLUSTER_* variables."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from real_helpers import name, task_def, task_queue

import tcdyn

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(stack: dict[str, str], script: str, *args: str, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    base = {**os.environ, **{k: v for k, v in stack.items() if k.startswith("TASKCLUSTER_")}}
    base.pop("TASKCLUSTER_CERTIFICATE", None)
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args],
                          env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def auth(stack: dict[str, str], root: tcdyn.Credentials) -> Any:
    with tcdyn.Auth(rootUrl=stack["TASKCLUSTER_ROOT_URL"], credentials=root) as client:
        yield client


@pytest.fixture
def example_client(auth: Any) -> Any:
    client_id = f"tcdyn-example/{name()}"
    created = auth.createClient(client_id, {
        "description": "tcdyn example", "expires": tcdyn.fromNow("1 day"),
        "scopes": ["queue:get-artifact:public/*"]})
    yield created
    auth.deleteClient(client_id)


def test_client_scopes(stack: dict[str, str], example_client: Any) -> None:
    result = run(stack, "client_scopes.py", example_client["clientId"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Client ID:  {example_client['clientId']}"
    assert lines[1] == f"Expires:    {example_client['expires']}"
    assert "  queue:get-artifact:public/*" in lines[3:]


def test_update_client(stack: dict[str, str], auth: Any, example_client: Any) -> None:
    result = run(stack, "update_client.py", example_client["clientId"], "updated by tcdyn",
                 "--expires", "2 days")
    assert result.returncode == 0, result.stderr
    after = auth.client(example_client["clientId"])
    assert after["description"] == "updated by tcdyn"
    assert after["expires"] > example_client["expires"]
    assert after["scopes"] == ["queue:get-artifact:public/*"]
    assert f"Expires:      {after['expires']}" in result.stdout


def test_create_task_and_list_artifacts(stack: dict[str, str], root: tcdyn.Credentials) -> None:
    """create_task.py makes a task the queue then reports; temporary_credentials.py lists
    its (still empty) artifacts with temporary credentials and authorizedScopes."""
    queue_id = task_queue()
    result = run(stack, "create_task.py", "--task-queue-id", queue_id, "--project-id",
                 "tcdyn-real", "--scheduler-id", "tcdyn-real")
    assert result.returncode == 0, result.stderr
    fields = dict(line.split(":", 1) for line in result.stdout.splitlines())
    task_id = fields["Task ID"].strip()
    # v106 asks for queue:status:<taskId> (the stack's anonymous role does not hold it)
    with tcdyn.Queue(rootUrl=stack["TASKCLUSTER_ROOT_URL"], credentials=root) as queue:
        assert queue.status(task_id)["status"]["state"] == "pending"
    assert fields["Log URL"].strip() == (f"{stack['TASKCLUSTER_ROOT_URL']}/api/queue/v1/task/"
                                         f"{task_id}/artifacts/public%2Flogs%2Flive.log")

    result = run(stack, "temporary_credentials.py", task_id)
    assert result.returncode == 0, result.stderr
    assert f"authorized scopes ['queue:list-artifacts:{task_id}']" in result.stdout
    assert result.stdout.rstrip().endswith(f"Artifacts of {task_id}:")

    refused = run(stack, "temporary_credentials.py", task_id, "--scope", "queue:get-artifact:*")
    assert refused.returncode == 1
    assert "InsufficientScopes" in refused.stderr or "401" in refused.stderr


def test_sniffer(stack: dict[str, str], root: tcdyn.Credentials) -> None:
    group = tcdyn.slugId()
    env = {**os.environ, "PULSE_URL": stack["TCDYN_STACK_PULSE_URL"]}
    sniffer = subprocess.Popen([sys.executable, str(EXAMPLES / "sniffer.py"), "--count", "1",
                                group], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert sniffer.stderr is not None
        assert sniffer.stderr.readline().startswith("listening on ")
        task_id = tcdyn.slugId()
        with tcdyn.Queue(rootUrl=stack["TASKCLUSTER_ROOT_URL"], credentials=root) as queue:
            queue.createTask(task_id, task_def(task_queue(), taskGroupId=group))
        out, _ = sniffer.communicate(timeout=60)
    finally:
        if sniffer.poll() is None:
            sniffer.kill()
            time.sleep(0.1)
    assert sniffer.returncode == 0
    assert "task-defined" in out and f"task {task_id}" in out
