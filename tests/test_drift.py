"""Drift between the bundled API and a deployment's (issue 22 item 7): ``tcdyn.references.diff``
and ``tcdyn references diff`` against a local deployment serving a v107-like set
(``tests/drifted.py``), and a bundled method that deployment has no route for: its 404
(lib-app's ``{"error": "Not found"}``, not a Taskcluster ``ResourceNotFound``) says the
API differs and how to load the deployment's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import slugid

import drifted
import tcdyn
from tcdyn.errors import DeploymentApiMismatch, ResourceNotFound
from tcdyn.references import ReferenceSet, diff
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.queue import InMemoryQueue
from tcdyn.testing.server import LocalDeployment, Reply

ROOT = tcdyn.Credentials("drift-root", "drift-root-token-never-shown-00")


@pytest.fixture(scope="module")
def v107(tmp_path_factory):
    mirror = drifted.make(tmp_path_factory.mktemp("drift") / "v107")
    clients = {ROOT.clientId: ClientRecord(ROOT.accessToken, ("*",))}
    with LocalDeployment(mirror, clients=clients, imitate=True, check_scopes=True) as dep:
        InMemoryQueue().install(dep)
        yield dep


def test_diff_lists_what_was_added_removed_and_changed(v107):
    result = diff(ReferenceSet.bundled(), tcdyn.load(v107.root_url, refresh=True).references)
    assert result.old == "bundled references"
    assert result.new == f"references fetched from {v107.root_url}"
    assert [c.name for c in result.of("method", "removed")] == sorted(
        f"auth.{name}" for name in drifted.AZURE)
    assert [(c.name, c.detail) for c in result.of("method", "added")] == [
        ("queue.taskQueueCountsBatch", "POST /task-queues/counts")]
    assert [(c.name, c.fields) for c in result.of("method", "changed")] == [
        ("queue.listTaskGroup", ("query",))]
    assert [(c.name, c.detail) for c in result.of("exchange", "added")] == [
        ("github.issueComment", "exchange/taskcluster-github/v1/issue-comment")]
    assert result.of("exchange", "removed") == result.of("exchange", "changed") == []
    assert [c.name for c in result.of("schema", "added")] == sorted([
        "github/v1/github-issue-comment-message.json",
        *(f"queue/v1/{n}" for n in drifted.COUNTS_SCHEMAS)])
    assert [c.name for c in result.of("schema", "removed")] == sorted(
        f"auth/v1/{n}" for n in drifted.AZURE_SCHEMAS)
    assert [c.name for c in result.of("schema", "changed")] == ["queue/v1/task.json"]
    assert result.problems == ()
    assert json.loads(json.dumps(result.as_dict()))["methods"]["added"] == [
        {"name": "queue.taskQueueCountsBatch", "detail": "POST /task-queues/counts"}]


def test_the_same_api_served_is_no_drift():
    with LocalDeployment() as dep:  # the bundled set, served in its absolute form
        result = diff(ReferenceSet.bundled(), tcdyn.load(dep.root_url).references)
    assert not result and result.changes == ()


def test_an_unreadable_reference_is_a_problem_not_a_crash(tmp_path):
    mirror = drifted.make(tmp_path / "m")
    (mirror / "references" / "hooks" / "v1" / "api.json").write_text('{"oops": 1}')
    result = diff(ReferenceSet.bundled(), ReferenceSet.from_directory(mirror))
    assert len(result.problems) == 1 and "Hooks" in result.problems[0]
    assert "hooks.listHooks" not in [c.name for c in result.changes]


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_bundled_method_the_deployment_lacks_says_the_api_differs(v107, flavour):
    def check(error: DeploymentApiMismatch) -> None:
        assert error.status_code == 404 and error.code is None
        assert error.service == "auth" and error.method_name == "azureAccounts"
        assert error.describe() == (
            f"auth.azureAccounts: HTTP 404 (GET {v107.root_url}/api/auth/v1/azure/accounts):"
            " the deployment has no route for auth.azureAccounts (it answered: Not found): "
            "its API differs from the references this client was built from; build the "
            f"client from the deployment's own references with tcdyn.load('{v107.root_url}')"
            f" ('tcdyn references diff --root-url {v107.root_url}' lists the differences)")

    if flavour == "sync":
        with tcdyn.Auth(rootUrl=v107.root_url, credentials=ROOT) as auth, \
                pytest.raises(DeploymentApiMismatch) as caught:
            auth.azureAccounts()
        check(caught.value)
        return

    import asyncio

    async def main() -> None:
        async with tcdyn.aio.Auth(rootUrl=v107.root_url, credentials=ROOT) as auth:
            with pytest.raises(DeploymentApiMismatch) as caught:
                await auth.azureAccounts()
            check(caught.value)

    asyncio.run(main())


def test_the_deployments_own_classes_have_its_api(v107):
    own = tcdyn.load(v107.root_url)
    with own.Auth(rootUrl=v107.root_url, credentials=ROOT) as auth:
        assert not hasattr(auth, "azureAccounts")
    assert "taskQueueCountsBatch" in dir(own.Queue)
    assert "taskQueueCountsBatch" not in dir(tcdyn.Queue)


def test_a_resource_the_service_lacks_is_still_resource_not_found(v107):
    with tcdyn.Queue(rootUrl=v107.root_url, credentials=ROOT) as queue, \
            pytest.raises(ResourceNotFound) as caught:
        queue.task(slugid.nice())
    assert not isinstance(caught.value, DeploymentApiMismatch)


def test_a_proxy_page_404_is_a_mismatch_too():
    """A 404 that is no Taskcluster error (a front proxy's page for a service the
    deployment does not run) means the route is not there either."""
    with LocalDeployment(clients={ROOT.clientId: ClientRecord(ROOT.accessToken, ("*",))}
                         ) as dep:
        dep.handle("purge-cache", "ping", lambda r: Reply(
            status=404, raw=b"<html><body><h1>404 Not Found</h1></body></html>",
            headers={"Content-Type": "text/html"}))
        with tcdyn.PurgeCache(rootUrl=dep.root_url) as purge, \
                pytest.raises(DeploymentApiMismatch, match=r"no route for purge-cache\.ping"):
            purge.ping()


# -- the command --------------------------------------------------------------------------

def _run(*args: str, tmp_path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKCLUSTER_")}
    env.update(TCDYN_CONFIG=str(tmp_path / "none.toml"), TCDYN_CACHE_DIR=str(tmp_path / "c"),
               TASKCLUSTER_CLIENT_ID=ROOT.clientId, TASKCLUSTER_ACCESS_TOKEN=ROOT.accessToken)
    return subprocess.run([sys.executable, "-m", "tcdyn", *args], env=env, text=True,
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


def test_references_diff_command(v107, tmp_path):
    run = _run("references", "diff", "--root-url", v107.root_url, tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[:3] == ["from bundled references",
                         f"  to references fetched from {v107.root_url}",
                         "methods: 1 added, 5 removed, 1 changed"]
    assert "  + queue.taskQueueCountsBatch  POST /task-queues/counts" in lines
    assert "  - auth.azureAccounts          GET /azure/accounts" in lines
    assert "  ~ queue.listTaskGroup         query" in lines
    assert "exchanges: 1 added" in lines
    assert "schemas: 3 added, 5 removed, 1 changed" in lines
    assert lines[-1] == (f"a client built from the bundled references gets HTTP 404 for what "
                         f"{v107.root_url} lacks: build it with tcdyn.load('{v107.root_url}')")
    as_json = _run("references", "diff", "--root-url", v107.root_url, "--json",
                   tmp_path=tmp_path)
    doc = json.loads(as_json.stdout)
    assert [m["name"] for m in doc["methods"]["removed"]] == sorted(
        f"auth.{n}" for n in drifted.AZURE)
    same = _run("references", "diff", "--root-url", v107.root_url, "--from", v107.root_url,
                tmp_path=tmp_path)
    assert same.stdout.splitlines()[2:] == ["methods: no change", "exchanges: no change",
                                            "schemas: no change"]


def test_a_drifted_call_from_the_command(v107, tmp_path):
    bundled = _run("api", "auth", "azureAccounts", "--root-url", v107.root_url,
                   "--references", "bundled", tmp_path=tmp_path)
    assert bundled.returncode == 3
    assert "the deployment has no route for auth.azureAccounts" in bundled.stderr
    own = _run("api", "auth", "azureAccounts", "--root-url", v107.root_url,
               tmp_path=tmp_path)  # the rootUrl's own references: no such method
    assert own.returncode == 2 and "azureAccounts" in own.stderr


def test_references_diff_of_a_server_that_is_no_deployment(tmp_path):
    run = _run("references", "diff", "--root-url", "http://127.0.0.1:9", "--timeout", "5",
               tmp_path=tmp_path)
    assert run.returncode == 4 and "cannot reach http://127.0.0.1:9" in run.stderr
