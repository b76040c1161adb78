"""The tcdyn command against the real stack: subprocesses with real stdout, stderr and exit
codes, the rootUrl and credentials from the TASKCLUSTER_* variables (as a user runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from real_helpers import task_def, task_queue

import tcdyn


def _env(stack: dict[str, str], tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKCLUSTER_")}
    env.update({k: stack[k] for k in ("TASKCLUSTER_ROOT_URL", "TASKCLUSTER_CLIENT_ID",
                                      "TASKCLUSTER_ACCESS_TOKEN")})
    env["TCDYN_CONFIG"] = str(tmp / "no-config.toml")
    env.update(extra)
    return env


def run(env: dict[str, str], *args: str, input: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcdyn", *args], env=env, input=input,
                          capture_output=True, text=True, timeout=120,
                          stdin=None if input is not None else subprocess.DEVNULL)


def test_api_task_and_group_commands(stack, tmp_path):
    env = _env(stack, tmp_path)
    ping = run(env, "api", "queue", "ping")
    assert ping.returncode == 0, ping.stderr
    assert json.loads(ping.stdout)["alive"] is True

    task_id = run(env, "slugid").stdout.strip()
    created = run(env, "api", "queue", "createTask", task_id,
                  input=json.dumps(task_def(task_queue(), taskGroupId=task_id)))
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["status"]["state"] == "pending"

    status = run(env, "task", "status", task_id, "--json")
    assert status.returncode == 0, status.stderr
    assert "pending" in status.stdout
    definition = run(env, "task", "def", task_id)
    assert json.loads(definition.stdout)["metadata"]["owner"] == "tcdyn@example.com"
    listed = run(env, "group", "list", task_id, "--json")
    assert listed.returncode == 0, listed.stderr
    assert task_id in listed.stdout
    cancelled = run(env, "task", "cancel", task_id, "--yes")
    assert cancelled.returncode == 0, cancelled.stderr
    assert "exception" in cancelled.stdout


def test_errors_exit_with_the_documented_codes(stack, tmp_path):
    env = _env(stack, tmp_path)
    missing = run(env, "task", "status", tcdyn.slugId())
    assert missing.returncode == 3 and "ResourceNotFound" in missing.stderr
    first, *rest = missing.stderr.rstrip("\n").split("\n")  # the queue's lines, indented
    assert first.startswith("tcdyn: queue.status: HTTP 404 ResourceNotFound")
    assert rest and all(not line or line.startswith("  ") for line in rest)
    assert "  * errorCode:  ResourceNotFound" in rest  # as the queue wrote it
    invalid = run(env, "api", "queue", "createTask", tcdyn.slugId(), input='{"payload": {}}')
    assert invalid.returncode == 5, invalid.stderr  # refused before sending
    anonymous = {k: v for k, v in env.items()
                 if k not in ("TASKCLUSTER_CLIENT_ID", "TASKCLUSTER_ACCESS_TOKEN")}
    denied = run(anonymous, "api", "auth", "currentScopes")
    assert denied.returncode == 6 and "InsufficientScopes" in denied.stderr
    assert stack["TASKCLUSTER_ACCESS_TOKEN"] not in missing.stderr + denied.stderr


def test_credentials_commands(stack, tmp_path):
    env = _env(stack, tmp_path)
    me = run(env, "whoami")
    assert me.returncode == 0, me.stderr
    assert json.loads(me.stdout)["clientId"] == stack["TASKCLUSTER_CLIENT_ID"]
    assert stack["TASKCLUSTER_ACCESS_TOKEN"] not in me.stdout

    expanded = run(env, "expand-scopes", "queue:get-task:*", "queue:get-task:x")
    assert expanded.returncode == 0, expanded.stderr
    assert "queue:get-task:*" in expanded.stdout

    # temporary credentials the command prints as exports, used at once by the command
    temp = run(env, "temp-creds", "--scope", "queue:get-task:*", "--expiry", "10 minutes")
    assert temp.returncode == 0, temp.stderr
    exports = dict(line.removeprefix("export ").split("=", 1)
                   for line in temp.stdout.splitlines() if line.startswith("export "))
    exports = {k: v.strip("'\"") for k, v in exports.items()}
    assert set(exports) >= {"TASKCLUSTER_CLIENT_ID", "TASKCLUSTER_ACCESS_TOKEN",
                            "TASKCLUSTER_CERTIFICATE"}
    temp_env = {**env, **exports}
    scoped = run(temp_env, "api", "auth", "currentScopes")
    assert scoped.returncode == 6, scoped.stdout  # only queue:get-task:* was given
    task_id = run(env, "slugid").stdout.strip()
    assert run(env, "api", "queue", "createTask", task_id,
               input=json.dumps(task_def(task_queue()))).returncode == 0
    read = run(temp_env, "api", "queue", "task", task_id)
    assert read.returncode == 0, read.stderr

    # a signed URL the command prints works with no credentials at all
    signed = run(env, "signed-url", "queue", "task", task_id, "--expires", "5 minutes")
    assert signed.returncode == 0, signed.stderr
    url = signed.stdout.strip()
    assert "bewit=" in url and stack["TASKCLUSTER_ACCESS_TOKEN"] not in url
    assert httpx.get(url, timeout=10).json()["metadata"]["name"] == "tcdyn conformance"
