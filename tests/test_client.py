"""The HTTP clients against a local deployment on loopback that checks Hawk signatures.

Every scenario runs through the sync and the async client: they must behave identically.
"""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest

import tcdyn
from helpers import CREDS, SECRET, collect, run
from tcdyn.call.options import RetryPolicy
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import DropConnection, LocalDeployment, Reply, error

FAST = RetryPolicy(delay_factor=0.001, max_delay=0.01)


@pytest.fixture(scope="module")
def server(deployment_dir, tmp_path_factory):
    dep = LocalDeployment(deployment_dir, clients={
        "tester": ClientRecord(SECRET, ("queue:*", "auth:*")),
    })
    with dep:
        yield dep


@pytest.fixture(scope="module")
def tc(server):
    return tcdyn.load(server.root_url)


@pytest.fixture(autouse=True)
def fresh(request):
    if "server" in request.fixturenames:
        request.getfixturevalue("server").reset()


def client_kwargs(server, **kw):
    # These tests are about the transport: payloads are probes, not valid task definitions.
    return {"rootUrl": server.root_url, "credentials": CREDS, "retry": FAST, "validate": False,
            **kw}


# -- every entry of every service -------------------------------------------------------

def _sample(arg: str) -> str:
    return {"name": "public/build/a b.txt"}.get(arg, f"{arg}-1")


def test_every_entry_of_every_service_is_reachable_with_its_route(server, tmp_path,
                                                                  monkeypatch):
    # Built from the manifest (file by file), not from references.json.
    monkeypatch.setenv("TCDYN_CACHE_DIR", str(tmp_path))
    server.serve_bundle = False
    try:
        tc = tcdyn.load(server.root_url)
    finally:
        server.serve_bundle = True
    services = [n for n in tc.references.names() if not n.endswith("Events")]
    assert {"Queue", "Auth", "Hooks", "Index", "Object", "PurgeCache", "Secrets",
            "WorkerManager", "WebServer", "Github", "Notify"} <= set(services)
    server.handle("auth", "currentScopes", server.echo)  # a built-in answer otherwise
    seen = 0
    # Routing and Hawk, not sockets: the calls go to the same handler in process.
    in_process = httpx.Client(transport=server.transport())
    for name in services:
        cls = getattr(tc, name)
        # rootUrl comes from the loaded deployment; the probes are not valid payloads
        with cls(credentials=CREDS, validate=False, client=in_process) as client:
            for entry in cls._model.entries.values():
                args = [_sample(a) for a in entry.args]
                if entry.input:
                    args.append({"probe": entry.name})
                kwargs = {"query": {q: "1" for q in entry.query}} if entry.query else {}
                answer = getattr(client, entry.name)(*args, **kwargs)
                assert answer["name"] == entry.name, (name, entry.name)
                assert answer["service"] == cls.serviceName
                assert answer["method"] == entry.http_method
                assert answer["params"] == dict(zip(entry.args, args, strict=False))
                assert answer["clientId"] == "tester"  # Hawk verified by the server
                if entry.input:
                    assert answer["payload"] == {"probe": entry.name}
                assert answer["query"] == {q: "1" for q in entry.query}
                sent = server.requests[-1]
                expected = entry.route
                for a in entry.args:
                    expected = expected.replace(f"<{a}>", re.escape(
                        httpx.URL("http://x/" + _quote(_sample(a))).raw_path.decode()[1:]))
                assert re.fullmatch(f"/api/{cls.serviceName}/{cls.apiVersion}{expected}",
                                    sent.path)
                seen += 1
    in_process.close()
    assert seen > 150
    assert server.rejections == []


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


# -- signing -----------------------------------------------------------------------------

def test_hawk_header_covers_payload_and_query(server, flavour, tc):
    result = run(flavour, "Queue", tc, lambda q: q.createTask("t1", {"a": [1, "é"]}),
                 **client_kwargs(server))
    assert result["payload"] == {"a": [1, "é"]} and result["clientId"] == "tester"
    header = server.requests[-1].headers["authorization"]
    assert header.startswith("Hawk ") and 'hash="' in header and SECRET not in header
    result = run(flavour, "Queue", tc,
                 lambda q: q.listTaskGroup("g", query={"limit": 2,
                                                       "continuationToken": "a b/c+d"}),
                 **client_kwargs(server))
    assert result["query"] == {"limit": "2", "continuationToken": "a b/c+d"}
    assert server.rejections == []


def test_wrong_token_is_rejected_by_the_server(server, flavour, tc):
    with pytest.raises(tcdyn.TaskclusterAuthFailure) as info:
        run(flavour, "Queue", tc, lambda q: q.task("t"),
            **client_kwargs(server, credentials={"clientId": "tester",
                                                 "accessToken": "wrong"}))
    err = info.value
    assert isinstance(err, tcdyn.AuthenticationFailed)
    assert err.status_code == 401 and err.code == "AuthenticationFailed"
    assert err.service == "queue" and err.method_name == "task" and err.http_method == "GET"
    assert err.url.endswith("/api/queue/v1/task/t") and err.attempts == 1
    assert "wrong" not in str(err) and SECRET not in str(err)
    assert len(server.rejections) == 1


def test_no_credentials_means_no_signature(server, flavour, tc):
    result = run(flavour, "Queue", tc, lambda q: q.task("t"),
                 **client_kwargs(server, credentials=None))
    assert result["clientId"] is None
    assert "authorization" not in server.requests[-1].headers


def test_credentials_provider_is_called_per_request(server, flavour, tc):
    calls = []

    def provider():
        calls.append(1)
        return CREDS

    run(flavour, "Queue", tc, lambda q: q.task("t"), **client_kwargs(server,
                                                                     credentials=provider))
    assert calls and server.requests[-1].client_id == "tester"


def test_official_options_dict_and_session(server):
    with httpx.Client() as session:
        q = tc_queue = tcdyn.Queue({"rootUrl": server.root_url, "credentials": CREDS,
                                    "maxRetries": 0}, session)
        assert q.task("x")["clientId"] == "tester"
        assert tc_queue.retry.max_retries == 0
        q.close()
        assert not session.is_closed  # the user's client stays open
    with pytest.raises(TypeError, match="unknown option 'baseUrl'"):
        tcdyn.Queue({"rootUrl": server.root_url, "baseUrl": "x"})
    with pytest.raises(TypeError, match="needs a rootUrl"):
        tcdyn.Queue()
    with pytest.raises(ValueError, match="rootUrl must be an http"):
        tcdyn.Queue(rootUrl="ftp://x")


def test_own_client_is_closed(server):
    q = tcdyn.Queue(rootUrl=server.root_url)
    q.task("x")
    inner = q._transport.client
    q.close()
    assert inner.is_closed


def test_from_env(server, monkeypatch):
    monkeypatch.setenv("TASKCLUSTER_ROOT_URL", server.root_url)
    monkeypatch.setenv("TASKCLUSTER_CLIENT_ID", "tester")
    monkeypatch.setenv("TASKCLUSTER_ACCESS_TOKEN", SECRET)
    monkeypatch.delenv("TASKCLUSTER_CERTIFICATE", raising=False)
    with tcdyn.Queue.from_env() as q:
        assert q.rootUrl == server.root_url
        assert q.task("x")["clientId"] == "tester"
        assert SECRET not in repr(q)


def test_repr_says_where_references_came_from(server, tc):
    q = tc.Queue(credentials=CREDS)
    text = repr(q)
    assert server.root_url in text
    assert "references fetched from" in text or "cached references of" in text
    assert "clientId='tester'" in text and SECRET not in text
    assert "no credentials" in repr(tcdyn.Queue(rootUrl=server.root_url))
    assert "bundled references" in repr(tcdyn.Queue(rootUrl=server.root_url))


# -- responses and errors ----------------------------------------------------------------

def test_204_is_none_and_303_body_is_returned_not_followed(server, flavour, tc):
    server.handle("queue", "ping", lambda r: Reply(None, 204))
    assert run(flavour, "Queue", tc, lambda q: q.ping(), **client_kwargs(server)) is None
    followed = []
    server.handle("queue", "task", lambda r: followed.append(r) or {"elsewhere": True})
    server.handle("queue", "getLatestArtifact", lambda r: Reply(
        {"storageType": "s3", "url": server.root_url + "/api/queue/v1/task/zzz"}, 303,
        {"Location": server.root_url + "/api/queue/v1/task/zzz"}))
    result = run(flavour, "Queue", tc, lambda q: q.getLatestArtifact("t", "public/x"),
                 **client_kwargs(server))
    assert result == {"storageType": "s3", "url": server.root_url + "/api/queue/v1/task/zzz"}
    assert followed == []


@pytest.mark.parametrize(("status", "code", "cls"), [
    (404, "ResourceNotFound", tcdyn.ResourceNotFound),
    (403, "InsufficientScopes", tcdyn.InsufficientScopes),
    (409, "RequestConflict", tcdyn.RequestConflict),
    (400, "InputValidationError", tcdyn.InputValidationError),
    (418, "SomethingNew", tcdyn.TaskclusterRestFailure),
])
def test_error_codes_map_to_classes_and_are_not_retried(server, flavour, tc, status, code,
                                                        cls):
    server.handle("queue", "task", lambda r: Reply(
        {"code": code, "message": f"long message\nline two {code}",
         "requestInfo": {"method": "task", "params": {"taskId": "t"}}}, status))
    with pytest.raises(cls) as info:
        run(flavour, "Queue", tc, lambda q: q.task("t"), **client_kwargs(server))
    err = info.value
    assert type(err) is cls and err.status_code == status
    assert err.message == f"long message\nline two {code}"
    assert err.request_info == {"method": "task", "params": {"taskId": "t"}}
    assert err.attempts == 1 and len(server.requests) == 1


def test_non_json_error_body_is_kept_raw(server, flavour, tc):
    server.handle("queue", "task", lambda r: Reply(raw=b"<html>bad request</html>",
                                                   status=400))
    with pytest.raises(tcdyn.TaskclusterRestFailure) as info:
        run(flavour, "Queue", tc, lambda q: q.task("t"), **client_kwargs(server))
    err = info.value
    assert err.body is None and err.raw_body == "<html>bad request</html>"
    assert err.message == "<html>bad request</html>" and err.code is None
    assert err.status_code == 400 and "<html>bad request</html>" in str(err)


def test_5xx_is_retried_then_succeeds(server, flavour, tc):
    answers = [error(500, "InternalServerError", "boom"), error(503, "X", "busy")]
    server.handle("queue", "task", lambda r: answers.pop(0) if answers else {"ok": True})
    result = run(flavour, "Queue", tc, lambda q: q.task("t"), **client_kwargs(server))
    assert result == {"ok": True} and len(server.requests) == 3
    headers = [r.headers["authorization"] for r in server.requests]
    assert len(set(headers)) == 3  # re-signed on every try (fresh nonce)


def test_5xx_exhausts_retries(server, flavour, tc):
    server.handle("queue", "task", lambda r: error(500, "InternalServerError", "always"))
    with pytest.raises(tcdyn.InternalServerError) as info:
        run(flavour, "Queue", tc, lambda q: q.task("t"),
            **client_kwargs(server, maxRetries=2))
    assert info.value.attempts == 3 and len(server.requests) == 3
    assert "after 3 attempts" in info.value.summary


def test_429_honours_retry_after(server, flavour, tc):
    answers = [error(429, "TooMany", "slow down", **{"Retry-After": "0.2"})]
    server.handle("queue", "task", lambda r: answers.pop(0) if answers else {"ok": 1})
    import time

    start = time.monotonic()
    assert run(flavour, "Queue", tc, lambda q: q.task("t"), **client_kwargs(server)) == {
        "ok": 1}
    assert time.monotonic() - start >= 0.2 and len(server.requests) == 2


def test_connection_errors_are_retried_then_raised(server, flavour, tc):
    drops = [1, 1]

    def flaky(r):
        if drops:
            drops.pop()
            raise DropConnection
        return {"ok": True}

    server.handle("queue", "task", flaky)
    assert run(flavour, "Queue", tc, lambda q: q.task("t"),
               **client_kwargs(server)) == {"ok": True}

    with pytest.raises(tcdyn.TaskclusterConnectionError) as info:
        run(flavour, "Queue", tc, lambda q: q.task("t"),
            **client_kwargs(server, rootUrl="http://127.0.0.1:9", maxRetries=2))
    assert info.value.attempts == 3 and SECRET not in str(info.value)


def test_timeout_defaults_to_30s_and_is_configurable(server, flavour, tc):
    import threading

    release = threading.Event()
    server.handle("queue", "task", lambda r: release.wait(5) and {"late": True})
    try:
        with pytest.raises(tcdyn.TaskclusterConnectionError, match="Timeout"):
            run(flavour, "Queue", tc, lambda q: q.task("t"),
                **client_kwargs(server, timeout=0.2, maxRetries=0))
    finally:
        release.set()
    assert tc.Queue(credentials=CREDS).timeout == 30.0
    assert tc.aio.Queue(credentials=CREDS).timeout == 30.0


def test_no_secret_in_logs(server, flavour, tc, caplog):
    caplog.set_level(logging.DEBUG)
    server.handle("queue", "task", lambda r: error(500, "InternalServerError", "x"))
    with pytest.raises(tcdyn.TaskclusterRestFailure):
        run(flavour, "Queue", tc, lambda q: q.task("t"), **client_kwargs(server,
                                                                          maxRetries=1))
    assert caplog.records and SECRET not in caplog.text


# -- bad arguments never reach the server -----------------------------------------------

@pytest.mark.parametrize(("call", "message"), [
    (lambda q: q.task(), "missing 1 required positional argument: 'taskId'"),
    (lambda q: q.task("a", "b"), "takes 1 positional argument but 2 were given"),
    (lambda q: q.task(taskid="a"), "unexpected keyword argument 'taskid'"),
    (lambda q: q.createTask("a"), "missing 1 required positional argument: 'payload'"),
    (lambda q: q.createTask("a", {}, taskId="b"), "got multiple values for argument 'taskId'"),
    (lambda q: q.listTaskGroup("g", query={"limt": 1}), "unknown query argument 'limt'"),
    (lambda q: q.task("t", query={"limit": 1}), "takes no query arguments"),
    (lambda q: q.task(""), "must not be empty"),
    (lambda q: q.task(None), "must be a str"),
    (lambda q: q.createTask("a", {"x": object()}), "cannot be sent as JSON"),
    (lambda q: q.ping(payload={}), "takes no payload"),
])
def test_bad_arguments_raise_before_sending(server, flavour, tc, call, message):
    with pytest.raises((TypeError, ValueError)) as info:
        run(flavour, "Queue", tc, call, **client_kwargs(server))
    assert message in str(info.value)
    assert server.requests == []


def test_argument_forms(server, tc):
    with tc.Queue(credentials=CREDS, validate=False) as q:
        forms = [
            q.createTask("t", {"p": 1}),
            q.createTask(taskId="t", payload={"p": 1}),
            q.createTask({"p": 1}, taskId="t"),
            q.createTask(payload={"p": 1}, params={"taskId": "t"}),
            tc.Queue.createTask(q, "t", {"p": 1}),
        ]
    for answer in forms:
        assert answer["params"] == {"taskId": "t"} and answer["payload"] == {"p": 1}


def test_path_arguments_cannot_change_the_route(server, flavour, tc):
    for task_id in ("../x", "..", ".", "a/b", "a?b=c", "a#b", "%2F", "é ü"):
        result = run(flavour, "Queue", tc, lambda q, t=task_id: q.task(t),
                     **client_kwargs(server))
        assert result["name"] == "task" and result["params"] == {"taskId": task_id}


# -- pagination --------------------------------------------------------------------------

def _pager(server):
    def list_group(r):
        start = int(r.query.get("continuationToken", "0"))
        limit = int(r.query.get("limit", "3"))
        tasks = [{"n": i} for i in range(start, min(start + limit, 7))]
        page = {"taskGroupId": r.params["taskGroupId"], "tasks": tasks}
        if start + limit < 7:
            page["continuationToken"] = str(start + limit)
        return page

    server.handle("queue", "listTaskGroup", list_group)


def test_pages_and_items(server, flavour, tc):
    _pager(server)
    pages = run(flavour, "Queue", tc, lambda q: collect(q.listTaskGroup.pages("g")),
                **client_kwargs(server))
    assert [len(p["tasks"]) for p in pages] == [3, 3, 1]
    items = run(flavour, "Queue", tc,
                lambda q: collect(q.listTaskGroup.items("g", query={"limit": 2})),
                **client_kwargs(server))
    assert [i["n"] for i in items] == list(range(7))
    server.requests.clear()
    limited = run(flavour, "Queue", tc,
                  lambda q: collect(q.listTaskGroup.items("g", max_items=3)),
                  **client_kwargs(server))
    assert [i["n"] for i in limited] == [0, 1, 2] and len(server.requests) == 1
    two = run(flavour, "Queue", tc, lambda q: collect(q.listTaskGroup.pages("g", max_pages=2)),
              **client_kwargs(server))
    assert len(two) == 2
    with pytest.raises(TypeError, match="not paginated"):
        run(flavour, "Queue", tc, lambda q: q.task.pages("t"), **client_kwargs(server))


# -- URLs ----------------------------------------------------------------------------------

def test_build_url_and_legacy_root_url(server):
    q = tcdyn.Queue(rootUrl="https://tc.example.com/")
    assert q.buildUrl("getLatestArtifact", "T", "public/logs/live.log") == (
        "https://tc.example.com/api/queue/v1/task/T/artifacts/public%2Flogs%2Flive.log")
    legacy = tcdyn.Queue(rootUrl="https://taskcluster.net")
    assert legacy.buildUrl("task", "T") == "https://queue.taskcluster.net/v1/task/T"
    assert tcdyn.PurgeCache(rootUrl="https://taskcluster.net").buildUrl("ping") == (
        "https://purge-cache.taskcluster.net/v1/ping")
    assert q.buildUrl("listTaskGroup", "G", query={"limit": 5}).endswith(
        "/task-group/G/list?limit=5")
    with pytest.raises(AttributeError, match="no method 'nope'"):
        q.buildUrl("nope")


def test_signature_never_sent_to_another_origin(server):
    from tcdyn.credentials import Credentials
    from tcdyn.transport.hawk import HawkAuth, origin_of

    auth = HawkAuth(lambda: Credentials(**CREDS), origin_of(server.root_url))
    with httpx.Client() as client:
        same = client.build_request("GET", server.root_url + "/api/queue/v1/ping")
        other = client.build_request("GET", "http://127.0.0.2:1/api/queue/v1/ping",
                                     headers={"Authorization": "leftover"})
        assert "authorization" in next(auth.auth_flow(same)).headers
        assert "authorization" not in next(auth.auth_flow(other)).headers


def test_datetime_payloads_are_encoded_as_the_official_client_encodes_them(server, tc):
    import datetime as dt

    when = dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    with tc.Queue(credentials=CREDS, validate=False) as q:
        answer = q.createTask("t", {"deadline": when})
    assert answer["payload"] == {"deadline": "2026-01-02T03:04:05.678000Z"}
    assert json.loads(server.requests[-1].body) == {"deadline": "2026-01-02T03:04:05.678000Z"}


def test_scope_enforcement_in_the_local_deployment(deployment_dir):
    task = {"provisionerId": "p", "workerType": "w", "schedulerId": "s", "projectId": "x",
            "priority": "high", "routes": ["index.a"], "scopes": ["secrets:get:a"]}
    needed = ["queue:create-task:project:x", "queue:scheduler-id:s", "queue:route:index.a",
              "secrets:get:a"]
    clients = {"ok": ClientRecord("t1", (*needed, "queue:create-task:very-high:p/w")),
               "low": ClientRecord("t2", (*needed, "queue:create-task:low:p/w"))}
    with LocalDeployment(deployment_dir, clients=clients, check_scopes=True) as dep:
        # A partial task on purpose (scopes are the point): schema validation is off.
        ok = tcdyn.Queue(rootUrl=dep.root_url, validate=False,
                         credentials={"clientId": "ok", "accessToken": "t1"})
        assert ok.createTask("t", task)["clientId"] == "ok"
        low = tcdyn.Queue(rootUrl=dep.root_url, validate=False,
                          credentials={"clientId": "low", "accessToken": "t2"})
        with pytest.raises(tcdyn.InsufficientScopes, match="does not have sufficient scopes"):
            low.createTask("t", task)
