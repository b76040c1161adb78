"""tcdyn's pytest plugin (``tcdyn.testing.pytest_plugin``, entry point ``pytest11``): its
fixtures used here directly (this suite runs with the plugin, as every project with tcdyn
installed does), the testing guide's example run as a project of its own, and a project that does
not use the fixtures paying nothing for them."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
import slugid

import drifted
import tcdyn
from test_guide_recipes import python_blocks

SCOPES = ("queue:create-task:project:none", "queue:scheduler-id:-",
          "queue:create-task:lowest:plugin/test")


def task() -> dict:
    return {"taskQueueId": "plugin/test", "payload": {},
            "created": tcdyn.fromNowJSON("0 seconds"), "deadline": tcdyn.fromNowJSON("1 hour"),
            "metadata": {"name": "plugin", "description": "d", "owner": "me@example.com",
                         "source": "https://example.com"}}


def test_the_entry_point_is_registered():
    [entry] = [e for e in importlib.metadata.entry_points(group="pytest11")
               if e.name == "tcdyn"]
    assert entry.value == "tcdyn.testing.pytest_plugin"


def test_a_client_holds_exactly_the_scopes_it_was_given(tcdyn_client, tcdyn_queue):
    narrow = tcdyn_client("Queue", "queue:get-task:*")
    with pytest.raises(tcdyn.InsufficientScopes, match="queue:scheduler-id:-"):
        narrow.createTask(slugid.nice(), task())
    assert tcdyn_queue.tasks == {}  # refused before it reached the queue
    enough = tcdyn_client("Queue", *SCOPES)
    task_id = slugid.nice()
    assert enough.createTask(task_id, task())["status"]["state"] == "pending"
    assert list(tcdyn_queue.tasks) == [task_id]
    assert narrow.task(task_id)["taskQueueId"] == "plugin/test"


def test_each_test_has_a_deployment_of_its_own(tcdyn_queue, tcdyn_deployment):
    assert tcdyn_queue.tasks == {}  # the previous test's task is not here
    assert tcdyn_deployment.requests == []


def test_anonymous_and_explicit_credentials(tcdyn_client, tcdyn_credentials):
    anonymous = tcdyn_client("Queue", credentials=None)
    with pytest.raises(tcdyn.InsufficientScopes):
        anonymous.createTask(slugid.nice(), task())
    mine = tcdyn_credentials("auth:current-scopes", "queue:*", client_id="me/laptop")
    auth = tcdyn_client("Auth", credentials=mine)
    assert auth.currentScopes()["scopes"] == ["assume:anonymous", "auth:current-scopes",
                                              "queue:*"]
    with pytest.raises(ValueError, match="already has a client 'me/laptop'"):
        tcdyn_credentials(client_id="me/laptop")


def test_a_run_has_its_live_log(tcdyn_client):
    queue = tcdyn_client("Queue")
    task_id = slugid.nice()
    queue.createTask(task_id, task())
    url = queue.artifact(task_id, "0", "public/logs/live.log")["url"]
    assert httpx.get(url).text.endswith("run 0 scheduled\n")


def test_exchange_classes_need_no_credentials(tcdyn_client):
    events = tcdyn_client("QueueEvents")
    assert events.taskDefined(taskId="abc")["routingKeyPattern"].startswith("primary.abc.")


def test_tcdyn_env_serves_code_that_reads_the_environment(tcdyn_env, tcdyn_deployment):
    variables = tcdyn_env("auth:current-scopes")
    with tcdyn.Auth.from_env() as auth:
        assert auth.rootUrl == tcdyn_deployment.root_url
        assert auth.currentScopes()["scopes"] == ["assume:anonymous", "auth:current-scopes"]
    assert auth.credentials.clientId == variables["TASKCLUSTER_CLIENT_ID"]


async def test_async_clients(tcdyn_async_client, tcdyn_queue):
    async with tcdyn_async_client("Queue", *SCOPES) as queue:
        task_id = slugid.nice()
        await queue.createTask(task_id, task())
    assert list(tcdyn_queue.tasks) == [task_id]
    unclosed = tcdyn_async_client("Auth", "auth:current-scopes")
    assert "auth:current-scopes" in (await unclosed.currentScopes())["scopes"]


class TestOptionsCanBeOverridden:
    @pytest.fixture
    def tcdyn_deployment_options(self):
        return {"imitate": True, "check_scopes": False}

    @pytest.fixture
    def tcdyn_queue_options(self):
        return {"live_log": False}

    def test_no_scope_checks_and_no_live_log(self, tcdyn_client):
        queue = tcdyn_client("Queue", credentials=None)
        task_id = slugid.nice()
        queue.createTask(task_id, task())  # scopes not checked
        assert queue.listLatestArtifacts(task_id) == {"artifacts": []}


# -- as other projects use it -------------------------------------------------------------

def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--rootdir", str(project), "-c", str(project / "pytest.ini"),
                           *args, str(project)],
                          cwd=project, capture_output=True, text=True, timeout=300)


def test_the_guide_example_passes_as_a_project_of_its_own(tmp_path):
    [example] = python_blocks("testing.md", "## pytest fixtures (`tcdyn.testing.pytest_plugin`)")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_example.py").write_text(example)
    run = _pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1].startswith("3 passed")


def test_given_references_are_served(tmp_path):
    drifted.make(tmp_path / "mirror")
    (tmp_path / "pytest.ini").write_text("[pytest]\ntcdyn_references = mirror\n")
    (tmp_path / "test_refs.py").write_text(textwrap.dedent("""
        import pytest
        import tcdyn

        def test_the_mirror_is_served(tcdyn_client, tcdyn_references):
            queue = tcdyn_client("Queue")
            assert "taskQueueCountsBatch" in dir(queue)
            assert not hasattr(tcdyn_client("Auth"), "azureAccounts")
            assert tcdyn_references.describe().startswith("references from ")
    """))
    run = _pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    (tmp_path / "pytest.ini").write_text("[pytest]\ntcdyn_references = nowhere\n")
    run = _pytest(tmp_path)
    assert run.returncode == 1 and "nowhere: no references/manifest.json" in run.stdout


def test_a_project_that_does_not_use_it_pays_nothing(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_plain.py").write_text(textwrap.dedent("""
        import sys

        def test_nothing_of_tcdyn_was_loaded(request):
            assert request.config.pluginmanager.hasplugin("tcdyn")
            loaded = sorted(m for m in sys.modules if m.split(".")[0] == "tcdyn")
            assert loaded == ["tcdyn", "tcdyn.errors", "tcdyn.testing",
                              "tcdyn.testing.pytest_plugin"]
            assert not {"httpx", "jsonschema", "aio_pika", "aiohttp"} & set(sys.modules)

        def test_no_fixture_is_autouse(request):
            names = request.fixturenames
            assert not [n for n in names if n.startswith("tcdyn")], names
    """))
    run = _pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    listed = _pytest(tmp_path, "--fixtures")
    for name in ("tcdyn_deployment", "tcdyn_queue", "tcdyn_client", "tcdyn_async_client",
                 "tcdyn_credentials", "tcdyn_env", "tcdyn_references"):
        assert name in listed.stdout


def test_importing_the_plugin_is_quick():
    code = ("import time; t = time.perf_counter(); import tcdyn.testing.pytest_plugin; "
            "print(time.perf_counter() - t)")
    # pytest itself is imported first by a real run; here too, so only the plugin counts
    seconds = float(subprocess.run([sys.executable, "-c", "import pytest; " + code],
                                   capture_output=True, text=True, check=True).stdout)
    assert seconds < 0.05
