"""``tcdyn.helper`` and ``tcdyn.exceptions``: the official ``taskcluster.helper`` and
``taskcluster.exceptions`` names and behaviour, so a project moves over by changing an
import. The official helper has no tests of its own; these follow its code (v106
``clients/client-py/taskcluster/helper.py``) and README examples, against a local
deployment; the exception cases are the official ``test/test_exceptions.py``."""

from __future__ import annotations

import datetime as dt
import importlib
import pickle
import subprocess
import sys
from types import SimpleNamespace

import pytest
import slugid

import tcdyn
from tcdyn import helper
from tcdyn.errors import (
    CredentialsError,
    MissingSecretError,
    ServiceNotFound,
    TaskclusterArgumentError,
)
from tcdyn.exceptions import (
    TaskclusterArtifactError,
    TaskclusterAuthFailure,
    TaskclusterConnectionError,
    TaskclusterRestFailure,
)
from tcdyn.testing.auth import ClientRecord

ME = tcdyn.Credentials("helper-user", "helper-token-never-shown-000000")
VARIABLES = ("TASKCLUSTER_ROOT_URL", "TASKCLUSTER_CLIENT_ID", "TASKCLUSTER_ACCESS_TOKEN",
             "TASKCLUSTER_CERTIFICATE", "TASKCLUSTER_PROXY_URL", "TASK_ID", "RUN_ID")
#: The README's secret ``project/foo/prod-config``.
PROD_CONFIG = {"common": {"environment": "production",
                          "remote_log": "https://log.xx.com/payload"},
               "backend": {"bugzilla_token": "XXXX"},
               "task": {"backend_url": "https://backend.foo.mozilla.com"}}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def tcdyn_deployment_options():
    """The pytest plugin's deployment, whose anonymous role reads public secrets."""
    return {"imitate": True, "check_scopes": True,
            "anonymous_scopes": ("secrets:get:project/public/*",)}


@pytest.fixture
def dep(tcdyn_deployment):
    tcdyn_deployment.clients[ME.clientId] = ClientRecord(ME.accessToken,
                                                         ("secrets:get:project/*",))
    tcdyn_deployment.handle("secrets", "get", lambda r: {
        "secret": PROD_CONFIG, "expires": "3000-01-01T00:00:00.000Z"})
    return tcdyn_deployment


# -- TaskclusterConfig ----------------------------------------------------------------

def test_the_root_url_argument_environment_then_config_file(monkeypatch, tmp_path):
    with pytest.raises(TaskclusterArgumentError, match="You must specify a Taskcluster "
                                                       "deployment url"):
        helper.TaskclusterConfig()
    monkeypatch.setenv("TASKCLUSTER_ROOT_URL", "https://env.example.com")
    assert helper.TaskclusterConfig().default_url == "https://env.example.com"
    assert helper.TaskclusterConfig("https://arg.example.com").default_url == \
        "https://arg.example.com"
    monkeypatch.delenv("TASKCLUSTER_ROOT_URL")
    config = tmp_path / "config.toml"
    config.write_text('root_url = "https://file.example.com"\n')
    monkeypatch.setenv("TCDYN_CONFIG", str(config))
    assert helper.TaskclusterConfig().default_url == "https://file.example.com"


def test_auth_prefers_given_credentials_then_environment(monkeypatch):
    tc = helper.TaskclusterConfig("https://tc.example.com")
    tc.auth(client_id="me", access_token="secret")
    assert tc.options == {"maxRetries": 12, "rootUrl": "https://tc.example.com",
                          "credentials": {"clientId": "me", "accessToken": "secret"}}
    monkeypatch.setenv("TASKCLUSTER_CLIENT_ID", "env-me")
    monkeypatch.setenv("TASKCLUSTER_ACCESS_TOKEN", "env-secret")
    tc.auth(max_retries=3)
    assert tc.options == {"maxRetries": 3, "rootUrl": "https://tc.example.com",
                          "credentials": {"clientId": "env-me", "accessToken": "env-secret"}}
    monkeypatch.setenv("TASK_ID", "abc")  # credentials still win over the proxy
    tc.auth()
    assert tc.options["credentials"]["clientId"] == "env-me"
    assert "secret" not in repr(tc) and "env-me" in repr(tc)


def test_auth_inside_a_task_goes_through_the_proxy(monkeypatch):
    tc = helper.TaskclusterConfig("https://tc.example.com")
    monkeypatch.setenv("TASK_ID", "abc")
    tc.auth()
    assert tc.options == {"maxRetries": 12, "rootUrl": "http://taskcluster",
                          "proxyUrl": "http://taskcluster"}
    monkeypatch.setenv("TASKCLUSTER_PROXY_URL", "http://localhost:8080")
    tc.auth()
    assert tc.options["rootUrl"] == "http://localhost:8080"
    queue = tc.get_service("queue")
    assert queue.rootUrl == "http://localhost:8080" and "proxy" in repr(queue)


def test_auth_without_anything_is_anonymous():
    tc = helper.TaskclusterConfig("https://tc.example.com")
    tc.auth()
    assert tc.options == {"maxRetries": 12, "rootUrl": "https://tc.example.com"}


def test_half_a_set_of_credentials_is_refused(monkeypatch):
    tc = helper.TaskclusterConfig("https://tc.example.com")
    with pytest.raises(CredentialsError, match=r"needs both client_id and access_token "
                                               r"\(got only client_id\)"):
        tc.auth(client_id="me")
    monkeypatch.setenv("TASKCLUSTER_CLIENT_ID", "env-me")
    with pytest.raises(CredentialsError, match="TASKCLUSTER_ACCESS_TOKEN is not set"):
        tc.auth()


def test_temporary_credentials_from_the_environment_work(dep, monkeypatch):
    temp = ME.create_temporary(["secrets:get:project/*"], expiry=dt.timedelta(hours=1))
    monkeypatch.setenv("TASKCLUSTER_CLIENT_ID", temp.clientId)
    monkeypatch.setenv("TASKCLUSTER_ACCESS_TOKEN", temp.accessToken)
    monkeypatch.setenv("TASKCLUSTER_CERTIFICATE",
                       tcdyn.utils.dumpJson(dict(temp.certificate)))
    tc = helper.TaskclusterConfig(dep.root_url)
    assert tc.load_secrets("project/foo/prod-config", prefixes=["backend"]) == {
        "bugzilla_token": "XXXX"}
    assert dep.requests[-1].client_id == ME.clientId


def test_config_file_credentials_for_their_own_root_url_only(dep, monkeypatch, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'root_url = "{dep.root_url}"\n[credentials]\nclient_id = '
                      f'"{ME.clientId}"\naccess_token = "{ME.accessToken}"\n')
    config.chmod(0o600)
    monkeypatch.setenv("TCDYN_CONFIG", str(config))
    tc = helper.TaskclusterConfig()
    assert tc.load_secrets("project/foo/prod-config", prefixes=["task"]) == {
        "backend_url": "https://backend.foo.mozilla.com"}
    assert dep.requests[-1].client_id == ME.clientId
    other = helper.TaskclusterConfig("https://elsewhere.example.com")
    other.auth()
    assert "credentials" not in other.options


def test_get_service(dep):
    tc = helper.TaskclusterConfig(dep.root_url)
    queue = tc.get_service("queue")  # auth() on first use
    assert type(queue) is tcdyn.Queue and tc.options is not None
    assert type(tc.get_service("hooks", use_async=True)) is tcdyn.aio.Hooks
    assert type(tc.get_service("purge-cache")) is tcdyn.PurgeCache
    assert type(tc.get_service("workerManager")) is tcdyn.WorkerManager
    assert type(tc.get_service("queue-events")) is tcdyn.QueueEvents
    with pytest.raises(ServiceNotFound, match="Invalid Taskcluster service") as caught:
        tc.get_service("nope")
    assert isinstance(caught.value, LookupError) and "Queue" in caught.value.names
    loaded = tcdyn.load(dep.root_url)
    own = helper.TaskclusterConfig(dep.root_url, deployment=loaded)
    assert type(own.get_service("queue")) is loaded.Queue


async def test_the_async_service_works(dep):
    tc = helper.TaskclusterConfig(dep.root_url)
    tc.auth(ME.clientId, ME.accessToken)
    async with tc.get_service("secrets", use_async=True) as secrets:
        answer = await secrets.get("project/foo/prod-config")
    assert answer["secret"] == PROD_CONFIG


# -- load_secrets: the README's cases ---------------------------------------------------

def test_load_secrets_as_the_readme_shows(dep):
    tc = helper.TaskclusterConfig(dep.root_url)
    tc.auth(ME.clientId, ME.accessToken)
    prod_config = helper.load_secrets(
        tc.get_service("secrets"), "project/foo/prod-config", prefixes=["common", "backend"],
        required=["bugzilla_token"], existing={"environment": "dev"})
    assert prod_config == {"environment": "production",
                           "remote_log": "https://log.xx.com/payload",
                           "bugzilla_token": "XXXX"}
    in_task = tc.load_secrets("project/foo/prod-config", prefixes=["common", "task"],
                              existing={"environment": "dev",
                                        "backend_url": "http://localhost:8000"})
    assert in_task == {"environment": "production", "remote_log": "https://log.xx.com/payload",
                       "backend_url": "https://backend.foo.mozilla.com"}
    assert tc.secrets == in_task
    everything = tc.load_secrets("project/foo/prod-config")
    assert everything == PROD_CONFIG


def test_load_secrets_from_local_secrets_sends_nothing(dep):
    tc = helper.TaskclusterConfig(dep.root_url)
    local = {"common": {"environment": "local"}, "task": {"x": 1}}
    assert tc.load_secrets(None, prefixes=["common"], local_secrets=local) == {
        "environment": "local"}
    assert dep.requests == []


def test_load_secrets_failures(dep):
    tc = helper.TaskclusterConfig(dep.root_url)
    tc.auth(ME.clientId, ME.accessToken)
    with pytest.raises(MissingSecretError, match=r"^Missing value github_token in "
                                                 r"secrets\.$") as caught:
        tc.load_secrets("project/foo/prod-config", required=["github_token"])
    assert isinstance(caught.value, Exception)  # what the official helper raised
    assert "XXXX" not in str(caught.value)
    with pytest.raises(TaskclusterArgumentError, match="Missing Taskcluster secret "
                                                       "secret_name"):
        tc.load_secrets(None)
    listed = SimpleNamespace(get=lambda name: {"secret": [1]})  # no v106 service says so
    with pytest.raises(tcdyn.errors.InvalidResponse, match="not an object of keys"):
        helper.load_secrets(listed, "project/other")
    with pytest.raises(tcdyn.errors.InvalidResponse, match="'environment' holds a str"):
        helper.load_secrets(None, None, prefixes=["environment"],
                            local_secrets={"environment": "x"})


def test_load_secrets_through_the_proxy_inside_a_task(dep, monkeypatch):
    """In a task, requests go unsigned to the taskcluster-proxy (here the deployment's
    anonymous scopes stand for the task's)."""
    monkeypatch.setenv("TASK_ID", slugid.nice())
    monkeypatch.setenv("TASKCLUSTER_PROXY_URL", dep.root_url)
    tc = helper.TaskclusterConfig("https://tc.example.com")
    assert tc.load_secrets("project/public/prod-config", prefixes=["backend"]) == {
        "bugzilla_token": "XXXX"}
    assert dep.requests[-1].client_id is None
    assert "authorization" not in dep.requests[-1].headers


# -- upload_artifact (deprecated, as in the official helper) --------------------------

def test_upload_artifact_inside_a_task(dep, monkeypatch):
    root = tcdyn.Credentials("root", "root-token-never-shown-0000000")
    dep.clients["root"] = ClientRecord(root.accessToken, ("*",))
    dep.anonymous_scopes = ("queue:*",)  # what the proxy adds: the task's scopes
    with tcdyn.Queue(rootUrl=dep.root_url, credentials=root) as queue:
        task_id = slugid.nice()
        queue.createTask(task_id, {
            "taskQueueId": "helper/test", "created": tcdyn.fromNowJSON("0 seconds"),
            "deadline": tcdyn.fromNowJSON("1 hour"), "payload": {},
            "metadata": {"name": "t", "description": "d", "owner": "me@example.com",
                         "source": "https://example.com"}})
        queue.claimTask(task_id, "0", {"workerGroup": "g", "workerId": "w"})
    monkeypatch.setenv("TASK_ID", task_id)
    monkeypatch.setenv("RUN_ID", "0")
    monkeypatch.setenv("TASKCLUSTER_PROXY_URL", dep.root_url)
    tc = helper.TaskclusterConfig("https://tc.example.com")
    url = tc.upload_artifact("public/report.txt", "all good\n", "text/plain",
                             dt.timedelta(hours=1))
    assert url == f"https://tc.example.com/api/queue/v1/task/{task_id}/runs/0/artifacts/" \
                  "public/report.txt"
    with tcdyn.Queue(rootUrl=dep.root_url, credentials=root) as queue:
        listed = queue.listArtifacts(task_id, "0")["artifacts"]  # and the run's live log
        assert [(a["name"], a["storageType"], a["contentType"]) for a in listed
                if a["name"] != "public/logs/live.log"] == [
            ("public/report.txt", "s3", "text/plain")]
        assert tcdyn.download.downloadArtifactToBuf(
            taskId=task_id, name="public/report.txt", queueService=queue)[0] == b"all good\n"


def test_upload_artifact_refusals(monkeypatch):
    tc = helper.TaskclusterConfig("https://tc.example.com")
    with pytest.raises(TaskclusterArgumentError, match="Can only run in Taskcluster tasks "
                                                       "with proxy"):
        tc.upload_artifact("public/x", "x", "text/plain", dt.timedelta(hours=1))
    for name, value in (("TASK_ID", "abc"), ("RUN_ID", "0"),
                        ("TASKCLUSTER_PROXY_URL", "http://127.0.0.1:9")):
        monkeypatch.setenv(name, value)
    with pytest.raises(TaskclusterArgumentError, match=r"ttl must be a datetime\.timedelta"):
        helper.upload_artifact(None, "public/x", "x", "text/plain", 3600)
    with pytest.raises(TaskclusterArgumentError, match="content must be str or bytes"):
        helper.upload_artifact(None, "public/x", ["x"], "text/plain", dt.timedelta(1))


# -- tcdyn.exceptions: the official test/test_exceptions.py and test_imports.py ---------

@pytest.mark.parametrize(("exc_class", "kwargs"), [
    (TaskclusterRestFailure, {"msg": "Test", "superExc": Exception("Test"),
                              "status_code": 500, "body": {}}),
    (TaskclusterConnectionError, {"msg": "Test", "superExc": Exception("Test")}),
    (TaskclusterAuthFailure, {"msg": "Test", "superExc": None, "status_code": 401,
                              "body": {}}),
    (TaskclusterArtifactError, {"message": "Test", "reason": "Test"}),
])
def test_exception_pickle(exc_class, kwargs):
    """Test that taskcluster exceptions can be pickled."""
    exc = exc_class(**kwargs)
    unpickled = pickle.loads(pickle.dumps(exc))
    assert isinstance(unpickled, exc_class)
    assert str(unpickled) == str(exc) and str(exc).endswith("Test")


def test_taskcluster_exceptions_import():
    exceptions = importlib.import_module("tcdyn.exceptions")
    assert exceptions.TaskclusterRestFailure is tcdyn.TaskclusterRestFailure
    assert set(exceptions.__all__) == {
        "TaskclusterFailure", "TaskclusterRestFailure", "TaskclusterConnectionError",
        "TaskclusterAuthFailure", "TaskclusterTopicExchangeFailure",
        "TaskclusterArtifactError", "ObjectHashVerificationError"}


def test_what_tcdyn_raises_is_caught_by_the_official_names(dep):
    with tcdyn.Secrets(rootUrl=dep.root_url) as secrets, \
            pytest.raises(TaskclusterRestFailure) as caught:
        secrets.get("project/private/x")  # anonymous: 403
    assert caught.value.status_code == 403


def test_importing_the_facades_loads_nothing_heavy():
    code = ("import sys, tcdyn.helper, tcdyn.exceptions; "
            "print(sorted(m for m in ('httpx', 'jsonschema', 'aio_pika', 'aiohttp') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
