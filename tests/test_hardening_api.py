"""Issue 8, items 16 and 18-22: the client's own names, argument and option errors, preflight,
lazy class lookup and official-client compatibility, against the local deployment."""

from __future__ import annotations

import asyncio
import gc
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import taskcluster.utils as official

import tcdyn
from helpers import SECRET, run
from tcdyn.credentials import Credentials
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment, error

ME = Credentials("me", SECRET)
#: Exactly what createTask needs for a task with only taskQueueId "prov/wt" and the
#: queue's defaults (schedulerId "-", projectId "none", priority "lowest", no scopes/routes).
NARROW_SCOPES = ("queue:create-task:project:none", "queue:scheduler-id:-",
                 "queue:create-task:lowest:prov/wt")
CLASHING = ("close", "retry", "validate", "timeout", "whoami", "methods", "options", "meta",
            "rootUrl", "serviceName", "buildUrl")
PRIVATE = (("__del__", "delete"), ("__bool__", "get"), ("__getattr__", "get"),
           ("_hidden", "get"))


def _entry(name: str, method: str = "get") -> dict:
    return {"type": "function", "name": name, "method": method, "route": f"/probe/{name}",
            "args": [], "stability": "experimental", "title": name, "description": name,
            "category": "probe"}


@pytest.fixture(scope="module")
def dep_dir(deployment_dir, tmp_path_factory) -> Path:
    """The v106 deployment with queue entries named like tcdyn's attributes and dunders,
    and queue exchanges named like the events class's attributes."""
    copy = tmp_path_factory.mktemp("hardening") / "dep"
    shutil.copytree(deployment_dir, copy, ignore=shutil.ignore_patterns("references.json"))
    api = copy / "references/queue/v1/api.json"
    ref = json.loads(api.read_text())
    ref["entries"] += [_entry(n) for n in CLASHING] + [_entry(n, m) for n, m in PRIVATE]
    api.write_text(json.dumps(ref))
    exchanges = copy / "references/queue/v1/exchanges.json"
    ref = json.loads(exchanges.read_text())
    first = ref["entries"][0]
    ref["entries"] += [dict(first, name=n, exchange=f"probe-{n}")
                       for n in ("options", "rootUrl", "exchange_name")]
    exchanges.write_text(json.dumps(ref))
    return copy


@pytest.fixture(scope="module")
def server(dep_dir):
    with LocalDeployment(dep_dir, clients={
            "me": ClientRecord(SECRET, ("queue:*", "secrets:get:a/*")),
            "narrow": ClientRecord(SECRET, NARROW_SCOPES)}) as dep:
        yield dep


@pytest.fixture(autouse=True)
def fresh(request):
    if "server" in request.fixturenames:
        request.getfixturevalue("server").reset()


@pytest.fixture
def tc(dep_dir):
    return tcdyn.load(dep_dir)


# -- 16: repr and whoami with a credentials provider ------------------------------------

def test_repr_never_calls_the_credentials_provider():
    calls = []

    def provider():
        calls.append(1)
        raise RuntimeError("the vault is down")

    q = tcdyn.Queue(rootUrl="https://tc.example.com", credentials=provider)
    assert "credentials from a provider" in repr(q) and calls == []
    fixed = tcdyn.Queue(rootUrl="https://tc.example.com", credentials=ME)
    assert "clientId='me'" in repr(fixed) and SECRET not in repr(fixed)


def test_whoami_asks_the_provider_once(server, tc, flavour):
    calls = []

    def provider():
        calls.append(1)
        return ME

    me = run(flavour, "Queue", tc, lambda q: q.whoami(), rootUrl=server.root_url,
             credentials=provider)
    assert me["clientId"] == "me" and "queue:*" in me["scopes"]
    assert len(calls) == 1


def test_async_whoami_and_preflight_await_an_async_provider(server, tc):
    calls = []

    async def provider():
        await asyncio.sleep(0)
        calls.append(1)
        return ME

    me = run("async", "Queue", tc, lambda q: q.whoami(), rootUrl=server.root_url,
             credentials=provider)
    assert me["clientId"] == "me" and "queue:*" in me["scopes"] and len(calls) == 1
    check = run("async", "Queue", tc, lambda q: q.task.preflight("t"),
                rootUrl=server.root_url, credentials=provider)
    assert check.ok is True


# -- 18: the API's names against tcdyn's own ------------------------------------------

def test_entries_named_like_client_attributes_win_and_tcdyn_keeps_them_under_meta(server,
                                                                                   tc):
    with tc.Queue(rootUrl=server.root_url, credentials=ME) as q:
        for name in CLASHING:
            assert getattr(q, name)()["name"] == name  # each is the API's method
        assert [r.name for r in server.requests] == list(CLASHING)
        # `meta` is an entry here too: `_meta` is the same namespace under a name no entry
        # can take.
        extras = q._meta
        assert extras.timeout == 30.0 and extras.retry.max_retries == 5
        assert extras.rootUrl == server.root_url and extras.serviceName == "queue"
        assert extras.options["maxRetries"] == 5 and "createTask" in extras.methods
        assert extras.buildUrl("task", "T").endswith("/api/queue/v1/task/T")
        assert extras.whoami()["clientId"] == "me" and extras.validate is None
        assert q.task("T")["params"] == {"taskId": "T"}
        server.reset()
    assert server.requests == []  # leaving `with` closed the client: no `close` request
    assert "Queue" not in tc.references.problems
    plain = tcdyn.Queue(rootUrl=server.root_url)
    assert plain.meta.timeout == plain.timeout == 30.0 and "close" in dir(plain.meta)


def test_exchange_entries_named_like_events_attributes_win(tc):
    events = tc.QueueEvents({"rootUrl": "https://tc.example.com"})
    binding = events.options()
    assert binding.exchange == "exchange/taskcluster-queue/v1/probe-options"
    assert events.rootUrl().exchange.endswith("probe-rootUrl")
    assert events.meta.options == {"rootUrl": "https://tc.example.com"}
    assert events.meta.rootUrl == "https://tc.example.com"
    assert events.meta.exchange_name("taskDefined") == \
        "exchange/taskcluster-queue/v1/task-defined"
    assert events.taskDefined(taskId="T").service == "queue"


def test_private_entry_names_are_refused_per_entry_and_recorded(server, tc):
    q = tc.Queue(rootUrl=server.root_url, credentials=ME)
    problems = {k: str(v) for k, v in tc.references.problems.items()}
    for name, _ in PRIVATE:
        assert name not in vars(type(q))
        [message] = [m for m in problems.values() if f"entry {name!r}" in m]
        assert "queue/v1/api.json" in message
    assert len(problems) == len(PRIVATE) and all(k.startswith("Queue.entries[") for k in
                                                 problems)
    assert "Queue" not in problems
    assert bool(q) is True
    with pytest.raises(AttributeError):
        q.no_such_attribute  # noqa: B018
    assert q.task("T")["name"] == "task"  # the rest of the service is there
    del q
    gc.collect()
    assert [r.name for r in server.requests] == ["task"]  # no DELETE, no GET from Python


def test_a_standalone_shape_check_refuses_a_private_entry_name():
    from tcdyn.model.reference import check_reference

    ref = json.loads((tcdyn.references.ReferenceSet.bundled().references_dir
                      / "queue/v1/api.json").read_text())
    ref["entries"].append(_entry("__del__", "delete"))
    with pytest.raises(tcdyn.ReferenceLoadError, match=r"api\.json: entries\[\d+\]\.name: "
                       "entry '__del__' left out"):
        check_reference(ref, "queue/v1/api.json")


# -- 19: argument and option errors ------------------------------------------------------

def _python_says(signature: str, *args, **kwargs) -> str:
    """What Python itself says for a function of that signature called so."""
    namespace: dict = {}
    exec(f"def f({signature}): pass", namespace)
    try:
        namespace["f"](*args, **kwargs)
    except TypeError as exc:
        return str(exc).removeprefix("f() ")
    raise AssertionError("Python accepted the call")


TASK = {"taskQueueId": "prov/wt", "payload": {}}


@pytest.mark.parametrize(("call", "signature", "args", "kwargs"), [
    ("task", "taskId", ("T",), {"taskId": "T"}),
    ("createTask", "taskId, payload", ("T", {}), {"payload": {}}),
    ("createTask", "taskId, payload", (TASK,), {}),
    ("task", "taskId", ("a", "b"), {}),
    ("task", "taskId", (), {}),
    ("createTask", "taskId, payload", (), {}),
    ("getArtifact", "taskId, runId, name", ("T",), {}),
])
def test_argument_errors_use_pythons_words(server, tc, call, signature, args, kwargs):
    q = tc.Queue(rootUrl=server.root_url, credentials=ME)
    with pytest.raises(TypeError) as info:
        getattr(q, call)(*args, **kwargs)
    assert str(info.value).startswith(f"{call}() {_python_says(signature, *args, **kwargs)}")
    assert isinstance(info.value, tcdyn.TaskclusterFailure)
    assert server.requests == []


def test_a_dict_given_for_the_task_id_is_named(tc):
    with pytest.raises(TypeError, match=r"missing 1 required positional argument: 'payload' "
                       r"\(a dict was given as 'taskId'\)"):
        tc.Queue(rootUrl="https://tc.example.com").createTask(TASK)


def test_unknown_client_option_reads_the_same_as_keyword_and_in_the_options_dict(tc):
    messages = []
    for make in (lambda: tc.Queue(rootUrl="https://tc.example.com", maxRetry=1),
                 lambda: tc.Queue({"rootUrl": "https://tc.example.com", "maxRetry": 1}),
                 lambda: tc.aio.Queue(rootUrl="https://tc.example.com", maxRetry=1)):
        with pytest.raises(tcdyn.TaskclusterFailure) as info:
            make()
        assert isinstance(info.value, TypeError)
        messages.append(str(info.value))
    assert messages[0] == messages[1] == messages[2]
    assert "unknown option 'maxRetry'; did you mean 'maxRetries'?" in messages[0]
    assert "_Base" not in messages[0]


def test_events_classes_refuse_misspelled_options(tc):
    for make in (lambda: tc.QueueEvents(exchangePrefx="exchange/x/"),
                 lambda: tc.QueueEvents({"exchangePrefx": "exchange/x/"})):
        with pytest.raises(tcdyn.TaskclusterFailure, match="unknown option 'exchangePrefx'; "
                           "did you mean 'exchangePrefix'"):
            make()
    # The HTTP clients' options are accepted (one options dict may serve both kinds).
    events = tc.QueueEvents({"rootUrl": "https://x", "credentials": {}, "maxRetries": 2})
    assert events.taskDefined().exchange.startswith("exchange/taskcluster-queue/")
    assert tc.QueueEvents(exchangePrefix="exchange/mine/").taskDefined().exchange == \
        "exchange/mine/task-defined"


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, "900", True])
def test_signed_url_expiration_must_be_positive(tc, value):
    with pytest.raises(tcdyn.TaskclusterFailure, match="signedUrlExpiration must be a "
                       "positive number of seconds"):
        tc.Queue(rootUrl="https://tc.example.com", signedUrlExpiration=value)
    with pytest.raises(ValueError, match="signedUrlExpiration"):
        tc.Queue({"rootUrl": "https://tc.example.com", "signedUrlExpiration": value})


def test_signed_url_expiration_is_respected(tc):
    q = tc.Queue(rootUrl="https://tc.example.com", credentials=ME, signedUrlExpiration=60)
    assert q.signedUrlExpiration == 60.0
    with pytest.raises(tcdyn.CredentialsError, match="expiration"):
        q.buildSignedUrl("task", "T", expiration=0)  # not silently the default


def test_http_client_of_the_wrong_kind_is_refused_at_construction(tc):
    import requests

    sync_client, async_client = httpx.Client(), httpx.AsyncClient()
    try:
        cases = [(tc.Queue, {"session": async_client}, "httpx.Client"),
                 (tc.Queue, {"client": requests.Session()}, "not requests"),
                 (tc.Queue, {"client": object()}, "httpx.Client"),
                 (tc.aio.Queue, {"client": sync_client}, "httpx.AsyncClient"),
                 (tc.Queue, {"client": sync_client, "session": sync_client}, "not both")]
        for cls, kwargs, message in cases:
            with pytest.raises(tcdyn.TaskclusterFailure, match=message):
                cls(rootUrl="https://tc.example.com", **kwargs)
        assert tc.Queue(rootUrl="https://tc.example.com", session=sync_client)
    finally:
        sync_client.close()
        asyncio.run(async_client.aclose())


# -- 20: preflight ------------------------------------------------------------------------

def test_preflight_of_a_modern_task_uses_the_queues_own_defaults(server, tc, flavour):
    narrow = Credentials("narrow", SECRET)
    ok = run(flavour, "Queue", tc, lambda q: q.createTask.preflight("T", TASK),
             rootUrl=server.root_url, credentials=narrow, validate=False)
    assert ok.ok is True and ok.unknown == ()
    elsewhere = {**TASK, "taskQueueId": "prov/other"}
    missing = run(flavour, "Queue", tc, lambda q: q.createTask.preflight("T", elsewhere),
                  rootUrl=server.root_url, credentials=narrow, validate=False)
    assert missing.ok is False and "prov/other" in str(missing.missing)
    routed = run(flavour, "Queue", tc,
                 lambda q: q.createTask.preflight("T", {**TASK, "routes": ["index.x"]}),
                 rootUrl=server.root_url, credentials=narrow, validate=False)
    assert routed.ok is False and "queue:route:index.x" in str(routed.missing)
    # Neither taskQueueId nor provisionerId/workerType: preflight cannot tell.
    unknown = run(flavour, "Queue", tc, lambda q: q.createTask.preflight("T", {"payload": {}}),
                  rootUrl=server.root_url, credentials=narrow, validate=False)
    assert unknown.ok is None and set(unknown.unknown) == {"provisionerId", "workerType"}


def test_preflight_without_access_to_current_scopes_cannot_tell(server, tc, flavour):
    server.handle("auth", "currentScopes",
                  lambda r: error(403, "InsufficientScopes", "you need auth:current-scopes"))
    result = run(flavour, "Queue", tc, lambda q: q.createTask.preflight("T", TASK),
                 rootUrl=server.root_url, credentials=ME, validate=False)
    assert result.ok is None and "InsufficientScopes" in result.reason
    assert "auth:current-scopes" in result.reason


# -- 21: lazy classes --------------------------------------------------------------------

def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60, check=False)


def test_an_error_while_building_a_class_is_not_masked(deployment_dir, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(deployment_dir, mirror, ignore=shutil.ignore_patterns("references.json"))
    (mirror / "MIRROR.json").write_text("[]")  # breaks the set's loading with AttributeError
    code = """
import tcdyn
for get in (lambda: tcdyn.Queue, lambda: tcdyn.aio.Queue):
    try:
        get()
    except tcdyn.ReferenceLoadError as exc:
        print(type(exc.__cause__).__name__, "|", exc)
"""
    out = _python(code, {"TASKCLUSTER_REFERENCES": str(mirror)})
    lines = out.stdout.splitlines()
    assert len(lines) == 2 and out.returncode == 0, out.stderr
    for line in lines:
        assert line.startswith("AttributeError | ") and str(mirror) in line
        assert "building Queue failed" in line


def test_a_service_missing_from_the_bundle_says_how_to_get_it():
    # v106 bundles WebServer; a service of another deployment (the seed's EC2Manager) is not.
    for module, get in ((tcdyn, lambda: tcdyn.EC2Manager),
                        (tcdyn.aio, lambda: tcdyn.aio.EC2Manager)):
        with pytest.raises(AttributeError) as info:
            get()
        assert "tcdyn.load(rootUrl).EC2Manager" in str(info.value)
        assert module.__name__ in str(info.value)
    assert not hasattr(tcdyn, "EC2Manager")


# -- 22: official-client compatibility ---------------------------------------------------

def test_official_exception_constructors():
    cause = ValueError("boom")
    rest = tcdyn.TaskclusterRestFailure("msg", cause, 404, {"code": "ResourceNotFound"})
    assert (rest.superExc, rest.status_code, rest.body) == (cause, 404,
                                                            {"code": "ResourceNotFound"})
    assert rest.message == "msg" == str(rest) and rest.summary == "HTTP 404"
    conn = tcdyn.TaskclusterConnectionError("down", cause)
    assert conn.superExc is cause and str(conn) == "down"
    keyword = tcdyn.TaskclusterRestFailure("m", status_code=500, service="queue", attempts=2)
    assert keyword.status_code == 500 and keyword.attempts == 2


def test_argument_errors_are_taskcluster_failures():
    q = tcdyn.Queue(rootUrl="https://tc.example.com", credentials=ME)
    for bad in (lambda: q.task(), lambda: q.task(""), lambda: q.task("T", query={"x": 1}),
                lambda: q.buildUrl("nope"), lambda: q.createTask("T", {"x": object()}),
                lambda: q.getArtifact("T", runId="0", name="x"),
                lambda: q.listTaskGroup("G", params={"taskGroupId": "G"})):
        with pytest.raises(tcdyn.TaskclusterFailure):
            bad()
    with pytest.raises(AttributeError):  # buildUrl's unknown method stays an AttributeError
        q.buildUrl("nope")
    with pytest.raises(TypeError, match="either positionally or by keyword, not both"):
        q.getArtifact("T", runId="0", name="x")


def test_pagination_handler_gets_every_page(server, tc, flavour):
    def pages(request):
        token = int(request.query.get("continuationToken", "0"))
        page = {"taskGroupId": "G", "tasks": [{"n": token}], "limit": request.query.get("limit")}
        return {**page, "continuationToken": str(token + 1)} if token < 2 else page

    server.handle("queue", "listTaskGroup", pages)
    seen = []
    result = run(flavour, "Queue", tc,
                 lambda q: q.listTaskGroup("G", paginationHandler=seen.append,
                                           paginationLimit=7),
                 rootUrl=server.root_url, credentials=ME)
    assert result is None and [p["tasks"][0]["n"] for p in seen] == [0, 1, 2]
    assert {p["limit"] for p in seen} == {"7"}
    with pytest.raises(tcdyn.TaskclusterFailure, match="paginationHandler must be callable"):
        tc.Queue(rootUrl=server.root_url).listTaskGroup("G", paginationHandler=3)


def test_options_dict_like_the_official_client():
    q = tcdyn.Queue({"rootUrl": "https://tc.example.com/", "credentials": {
        "clientId": "me", "accessToken": SECRET}, "maxRetries": 2})
    opts = q.options
    assert opts["rootUrl"] == "https://tc.example.com" and opts["maxRetries"] == 2
    assert opts["signedUrlExpiration"] == 900 and opts["credentials"].clientId == "me"
    assert SECRET not in repr(opts)
    assert tcdyn.Queue(rootUrl="https://x").options["credentials"] is None


@pytest.mark.parametrize(("held", "required"), [
    (["a", "b"], [["a", "b"]]), (["a"], [["a", "b"], ["c"]]), (["c"], [["a", "b"], ["c"]]),
    (["x:*"], [["x:y:z"]]), (["x*"], [["xyz"]]), (["*"], [["anything"]]), ([], [[]]),
    ([], [["a"]]), (["a"], []), (["a*b"], [["a*bc"]]), (["a:"], [["a:*"]]),
])
def test_scope_match_matches_official(held, required):
    assert tcdyn.scopeMatch(held, required) is official.scopeMatch(held, required)


def test_official_utils_match(tmp_path):
    import time

    now = int(time.time() * 1000)
    for expiry in (now - 1, now + 500, now + 5_000, now + 3_600_000):
        cert = {"expiry": expiry}
        assert tcdyn.isExpired(cert) is official.isExpired(cert)
        assert tcdyn.isExpired(json.dumps(cert)) is official.isExpired(json.dumps(cert))
    assert tcdyn.isExpired({}) is official.isExpired({}) is True
    for text in ("", "a", "hello world\n" * 20, "é+/=", b"\xff\xfe"):
        assert tcdyn.encodeStringForB64Header(text) == official.encodeStringForB64Header(text)
    for text in ("a+b/c==", b"++//", "plain"):
        assert tcdyn.makeB64UrlSafe(text) == official.makeB64UrlSafe(text)
        assert tcdyn.makeB64UrlUnsafe(text) == official.makeB64UrlUnsafe(text)
    assert tcdyn.stringDate is tcdyn.utils.stringDate
    assert tcdyn.dumpJson({"a": [1]}) == official.dumpJson({"a": [1]})
    with tcdyn.createSession() as session:
        assert isinstance(session, httpx.Client)
        assert tcdyn.Queue(rootUrl="https://x", session=session)


def test_a_reference_without_api_version_is_v1(deployment_dir, tmp_path):
    from tcdyn.model.reference import build_model

    ref = json.loads((deployment_dir / "references/secrets/v1/api.json").read_text())
    del ref["apiVersion"]
    assert build_model(ref, "secrets/v1/api.json").apiVersion == "v1"
    copy = tmp_path / "dep"
    shutil.copytree(deployment_dir, copy, ignore=shutil.ignore_patterns("references.json"))
    (copy / "references/secrets/v1/api.json").write_text(json.dumps(ref))
    secrets = tcdyn.load(copy).Secrets(rootUrl="https://tc.example.com")
    assert secrets.apiVersion == "v1"
    assert secrets.buildUrl("get", "a/b") == "https://tc.example.com/api/secrets/v1/secret/a%2Fb"
