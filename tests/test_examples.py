"""The example programs (examples/*.py), run as a user runs them (a subprocess, real stdout
and exit status) against the local deployment, which checks Hawk, temporary credentials,
authorizedScopes and each entry's scopes. tests/real/test_real_examples.py runs them against
the real Taskcluster stack."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.queue import InMemoryQueue
from tcdyn.testing.server import ApiRequest, LocalDeployment, error

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCOPES = ("auth:get-client:example/*", "auth:update-client:example/*", "queue:*",
          "assume:project:example")


@pytest.fixture(scope="module")
def local() -> Iterator[LocalDeployment]:
    clients = {"example/user": ClientRecord("example-token", SCOPES)}
    with LocalDeployment(clients=clients, check_scopes=True) as dep:
        yield dep


@pytest.fixture
def dep(local: LocalDeployment) -> LocalDeployment:
    local.reset()
    return local


def run(dep: LocalDeployment, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TASKCLUSTER_ROOT_URL": dep.root_url,
           "TASKCLUSTER_CLIENT_ID": "example/user", "TASKCLUSTER_ACCESS_TOKEN": "example-token"}
    env.pop("TASKCLUSTER_CERTIFICATE", None)
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], env=env,
                          capture_output=True, text=True, timeout=60)


def client_record(client_id: str, **fields: Any) -> dict[str, Any]:
    return {"clientId": client_id, "description": "an example client",
            "expires": "2031-01-01T00:00:00.000Z", "created": "2024-01-01T00:00:00.000Z",
            "lastModified": "2024-01-01T00:00:00.000Z", "lastDateUsed": "2024-01-01T00:00:00.000Z",
            "lastRotated": "2024-01-01T00:00:00.000Z", "deleteOnExpiration": False,
            "disabled": False, "scopes": ["assume:project:example"],
            "expandedScopes": ["assume:project:example", "queue:create-task:*"], **fields}


def test_client_scopes(dep: LocalDeployment) -> None:
    dep.handle("auth", "client", lambda req: client_record(req.params["clientId"]))
    result = run(dep, "client_scopes.py", "example/ci")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Client ID:  example/ci", "Expires:    2031-01-01T00:00:00.000Z", "Scopes:",
        "  assume:project:example", "  queue:create-task:*"]


def test_client_scopes_unknown_client(dep: LocalDeployment) -> None:
    dep.handle("auth", "client", lambda req: error(404, "ResourceNotFound", "no such client"))
    result = run(dep, "client_scopes.py", "example/nobody")
    assert result.returncode == 1
    assert result.stderr == "no client 'example/nobody'\n"


def test_update_client(dep: LocalDeployment) -> None:
    sent: list[dict[str, Any]] = []

    def update(req: ApiRequest) -> dict[str, Any]:
        sent.append(req.payload)
        return client_record(req.params["clientId"], description=req.payload["description"],
                             expires=req.payload["expires"])

    dep.handle("auth", "client", lambda req: client_record(req.params["clientId"]))
    dep.handle("auth", "updateClient", update)
    result = run(dep, "update_client.py", "example/ci", "CI client", "--expires", "2 years")
    assert result.returncode == 0, result.stderr
    assert sent[0]["description"] == "CI client"
    assert sent[0]["scopes"] == ["assume:project:example"]
    assert sent[0]["expires"][:4] >= "2027"
    assert "Description:  CI client" in result.stdout
    assert f"Expires:      {sent[0]['expires']}" in result.stdout


def test_create_task(dep: LocalDeployment) -> None:
    queue = InMemoryQueue().install(dep)
    result = run(dep, "create_task.py", "--task-queue-id", "proj-example/ci")
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(":", 1) for line in result.stdout.splitlines())
    task_id = lines["Task ID"].strip()
    assert list(queue.tasks) == [task_id]
    assert lines["State"].strip() == "pending"
    assert lines["Log URL"].strip() == (f"{dep.root_url}/api/queue/v1/task/{task_id}"
                                        "/artifacts/public%2Flogs%2Flive.log")


def test_create_task_signed_log_url(dep: LocalDeployment) -> None:
    InMemoryQueue().install(dep)
    result = run(dep, "create_task.py", "--signed")
    assert result.returncode == 0, result.stderr
    assert "?bewit=" in result.stdout and "example-token" not in result.stdout


def test_temporary_credentials(dep: LocalDeployment) -> None:
    artifacts = [{"name": "public/logs/live.log", "storageType": "s3",
                  "contentType": "text/plain", "expires": "2031-01-01T00:00:00.000Z"}]
    dep.handle("queue", "listLatestArtifacts", lambda req: {"artifacts": artifacts})
    result = run(dep, "temporary_credentials.py", "T1xXaIJtQbWz1vh6fM0CJA")
    assert result.returncode == 0, result.stderr
    assert "  public/logs/live.log  (s3, text/plain, expires 2031-01-01T00:00:00.000Z)" \
        in result.stdout
    (request,) = dep.requests
    assert request.client_id == "example/user"
    # the local deployment applied the certificate and the authorizedScopes
    assert request.scopes == ("queue:list-artifacts:T1xXaIJtQbWz1vh6fM0CJA",)


def test_temporary_credentials_scope_refused(dep: LocalDeployment) -> None:
    """Temporary credentials without the scope the call needs: a 403, exit status 1."""
    dep.handle("queue", "listLatestArtifacts", lambda req: {"artifacts": []})
    result = run(dep, "temporary_credentials.py", "T1xXaIJtQbWz1vh6fM0CJA",
                 "--scope", "queue:get-artifact:*")
    assert result.returncode == 1
    assert "InsufficientScopes" in result.stderr or "AuthenticationFailed" in result.stderr
