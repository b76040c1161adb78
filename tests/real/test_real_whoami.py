"""``tcdyn whoami`` with temporary and task credentials against the real v106 services,
which answer their ``auth.currentScopes`` with 403 (they lack ``auth:current-scopes``): the
command shows what is known locally and what the deployment would not tell (issue 18 item
23)."""

from __future__ import annotations

import json

from real_helpers import task_def, task_queue
from test_real_cli import _env, run

import tcdyn


def _exports(text: str) -> dict[str, str]:
    import shlex

    return dict(shlex.split(line)[1].split("=", 1) for line in text.splitlines()
                if line.startswith("export "))


def test_whoami_of_temporary_credentials(stack, tmp_path):
    env = _env(stack, tmp_path)
    temp = run(env, "temp-creds", "--scope", "queue:get-task:*", "--expiry", "10 minutes")
    assert temp.returncode == 0, temp.stderr
    temp_env = {**env, **_exports(temp.stdout)}
    denied = run(temp_env, "api", "auth", "currentScopes")
    assert denied.returncode == 6 and "auth:current-scopes" in denied.stderr  # the premise
    me = run(temp_env, "whoami")
    assert me.returncode == 0, me.stderr
    who = json.loads(me.stdout)
    assert who["clientId"] == stack["TASKCLUSTER_CLIENT_ID"] and who["temporary"] is True
    assert who["certificateScopes"] == ["queue:get-task:*"] and who["expires"]
    assert who["scopes"] is None and "auth:current-scopes" in who["scopesUnavailable"]
    assert temp_env["TASKCLUSTER_ACCESS_TOKEN"] not in me.stdout + me.stderr


def test_whoami_of_a_runs_task_credentials(stack, root_url, root, tmp_path):
    queue = tcdyn.Queue(rootUrl=root_url, credentials=root)
    queue_id = task_queue()
    task_id = tcdyn.slugId()
    queue.createTask(task_id, task_def(queue_id))
    claim = {"tasks": []}
    for _ in range(20):
        claim = queue.claimWork(queue_id, {"workerGroup": "tcdyn", "workerId": "w1",
                                           "tasks": 1})
        if claim["tasks"]:
            break
    [work] = claim["tasks"]
    creds = work["credentials"]
    env = _env(stack, tmp_path, TASKCLUSTER_CLIENT_ID=creds["clientId"],
               TASKCLUSTER_ACCESS_TOKEN=creds["accessToken"],
               TASKCLUSTER_CERTIFICATE=creds["certificate"])
    me = run(env, "whoami")
    assert me.returncode == 0, me.stderr
    who = json.loads(me.stdout)
    assert who["temporary"] is True and who["scopes"] is None
    assert f"queue:resolve-task:{task_id}/0" in who["certificateScopes"]
    assert "auth:current-scopes" in who["scopesUnavailable"]
    queue.reportCompleted(task_id, "0")
    queue.close()
