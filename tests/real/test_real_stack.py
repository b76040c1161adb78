"""The stack script and what the deployment serves."""

from __future__ import annotations

import subprocess
import time
import urllib.parse

import httpx
from real_helpers import SCRIPT


def test_up_again_is_a_no_op(stack):
    started = time.monotonic()
    done = subprocess.run(["bash", str(SCRIPT), "up"], capture_output=True, text=True,
                          check=True)
    assert time.monotonic() - started < 10
    assert "already up" in done.stderr
    assert f"rootUrl:      {stack['TASKCLUSTER_ROOT_URL']}" in done.stdout
    status = subprocess.run(["bash", str(SCRIPT), "status"], capture_output=True, text=True)
    assert status.returncode == 0, status.stdout
    # what it prints lands in CI logs: the root token and the Pulse password stay in the file
    password = urllib.parse.urlsplit(stack["TCDYN_STACK_PULSE_URL"]).password
    assert password
    for output in (done.stdout, done.stderr, status.stdout, status.stderr):
        assert stack["TASKCLUSTER_ACCESS_TOKEN"] not in output
        assert password not in output


def test_deployment_serves_v106_references_and_schemas(tc, root_url):
    manifest = httpx.get(f"{root_url}/references/manifest.json").json()
    assert manifest["$schema"] == f"{root_url}/schemas/common/manifest-v3.json#"
    assert f"{root_url}/references/queue/v1/api.json" in manifest["references"]
    schema = httpx.get(f"{root_url}/schemas/queue/v1/task.json").json()
    assert schema["$id"] == f"{root_url}/schemas/queue/v1/task.json#"
    # tcdyn.load read the one-request bundle and builds what v106 has.
    assert "fetched" in tc.references.describe()
    assert tc.WebServer.methods and "taskQueueId" in str(tc.Queue.createTask.input_schema)
