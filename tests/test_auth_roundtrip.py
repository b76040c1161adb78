"""Credentials end to end: temporary credentials, authorizedScopes, signed URLs, preflight
scope checks, whoami and the taskcluster-proxy, against the local deployment."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

import tcdyn
from helpers import SECRET, run
from tcdyn.credentials import Credentials
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment

OWNER_SCOPES = ("queue:*", "auth:create-client:owner/*", "secrets:get:project/*")


@pytest.fixture(scope="module")
def server(deployment_dir):
    with LocalDeployment(deployment_dir, clients={"owner": ClientRecord(SECRET, OWNER_SCOPES)},
                         anonymous_scopes=("queue:get-task:*",)) as dep:
        yield dep


@pytest.fixture(autouse=True)
def fresh(server):
    server.reset()


OWNER = Credentials("owner", SECRET)


def test_temporary_credentials_are_accepted_and_limited(server, flavour):
    temp = OWNER.create_temporary(scopes=["queue:get-task:*"], expiry=dt.timedelta(hours=1))
    result = run(flavour, "Queue", tcdyn, lambda q: q.task("t"), rootUrl=server.root_url,
                 credentials=temp)
    assert result["clientId"] == "owner" and result["scopes"] == ["queue:get-task:*"]
    named = OWNER.create_temporary(scopes=["queue:get-task:*"], expiry=dt.timedelta(hours=1),
                                   name="owner/helper")
    result = run(flavour, "Queue", tcdyn, lambda q: q.task("t"), rootUrl=server.root_url,
                 credentials=named)
    assert result["clientId"] == "owner/helper"
    assert server.rejections == []


def test_expired_or_tampered_temporary_credentials_are_rejected(server, flavour):
    now = dt.datetime.now(dt.UTC)
    old = OWNER.create_temporary(scopes=["queue:*"], start=now - dt.timedelta(hours=3),
                                 expiry=now - dt.timedelta(hours=1))
    assert old.is_expired()
    with pytest.raises(tcdyn.TaskclusterAuthFailure, match="expiry"):
        run(flavour, "Queue", tcdyn, lambda q: q.task("t"), rootUrl=server.root_url,
            credentials=old, maxRetries=0)
    temp = OWNER.create_temporary(scopes=["queue:get-task:*"], expiry=dt.timedelta(hours=1))
    forged = dict(temp.certificate)
    forged["scopes"] = ["queue:*"]  # widen the scopes without re-signing
    tampered = Credentials(temp.clientId, temp.accessToken, forged)
    with pytest.raises(tcdyn.TaskclusterAuthFailure) as info:
        run(flavour, "Queue", tcdyn, lambda q: q.task("t"), rootUrl=server.root_url,
            credentials=tampered)
    assert temp.accessToken not in str(info.value)


def test_authorized_scopes_narrow_what_a_request_may_do(server, flavour):
    result = run(flavour, "Queue", tcdyn, lambda q: q.task("t"), rootUrl=server.root_url,
                 credentials=OWNER, authorizedScopes=["queue:get-task:t"])
    assert result["scopes"] == ["queue:get-task:t"]
    narrowed = OWNER.with_authorized_scopes(["queue:get-task:x"])
    result = run(flavour, "Queue", tcdyn, lambda q: q.task("t"), rootUrl=server.root_url,
                 credentials=narrowed)
    assert result["scopes"] == ["queue:get-task:x"]
    with pytest.raises(tcdyn.TaskclusterAuthFailure, match="authorizedScopes"):
        run(flavour, "Queue", tcdyn, lambda q: q.task("t"), rootUrl=server.root_url,
            credentials=OWNER.with_authorized_scopes(["hooks:*"]))


def test_signed_urls_work_without_credentials_and_expire(server):
    queue = tcdyn.Queue(rootUrl=server.root_url, credentials=OWNER)
    url = queue.buildSignedUrl("getLatestArtifact", "T", "private/build/x.zip", expiration=600)
    assert "bewit=" in url and SECRET not in url
    answer = httpx.get(url).json()
    assert answer["clientId"] == "owner" and answer["params"] == {
        "taskId": "T", "name": "private/build/x.zip"}
    paged = queue.buildSignedUrl("listTaskGroup", "G", query={"limit": 3})
    assert httpx.get(paged).json()["query"] == {"limit": "3"}
    import time

    from tcdyn.credentials import bewit

    plain = queue.buildUrl("task", "T")
    stale = bewit(OWNER, plain, 60, now=time.time() - 3600)  # expired an hour ago
    assert httpx.get(f"{plain}?bewit={stale}").status_code == 401
    assert httpx.get(f"{plain}?bewit={bewit(OWNER, plain, 60)}").status_code == 200
    tampered = url.replace("/T/", "/U/")
    assert httpx.get(tampered).status_code == 401
    temp = OWNER.create_temporary(scopes=["queue:*"], expiry=dt.timedelta(hours=1))
    signed = tcdyn.Queue(rootUrl=server.root_url, credentials=temp.with_authorized_scopes(
        ["queue:get-task:T"])).buildSignedUrl("task", "T")
    assert httpx.get(signed).json()["scopes"] == ["queue:get-task:T"]
    with pytest.raises(tcdyn.CredentialsError, match="expiration"):
        queue.buildSignedUrl("task", "T", expiration=-1)
    with pytest.raises(TypeError, match="only GET entries"):
        queue.buildSignedUrl("createTask", "T", {})
    with pytest.raises(TypeError, match="no credentials"):
        tcdyn.Queue(rootUrl=server.root_url).buildSignedUrl("task", "T")


def test_preflight_says_what_is_missing_and_when_it_cannot_tell(server, flavour):
    # Partial payloads on purpose: this is about scopes, so schema validation is off.
    task = {"provisionerId": "p", "workerType": "w", "schedulerId": "s", "projectId": "x",
            "priority": "low", "routes": [], "scopes": ["secrets:get:project/a"]}
    ok = run(flavour, "Queue", tcdyn, lambda q: q.createTask.preflight("t", task),
             rootUrl=server.root_url, credentials=OWNER, validate=False)
    assert ok.ok is True
    missing = run(flavour, "Queue", tcdyn,
                  lambda q: q.createTask.preflight("t", {**task, "scopes": ["hooks:x"]}),
                  rootUrl=server.root_url, credentials=OWNER, validate=False)
    assert missing.ok is False and "hooks:x" in str(missing.missing)
    assert [r.name for r in server.requests] == ["currentScopes", "currentScopes"]
    unknown = run(flavour, "Secrets", tcdyn, lambda s: s.get.preflight("other/a"),
                  rootUrl=server.root_url, credentials=OWNER)
    assert unknown.ok is False
    anon = run(flavour, "Queue", tcdyn, lambda q: q.task.preflight("t"),
               rootUrl=server.root_url)
    assert anon.ok is True
    # The task's own `scopes` are not given: the queue's schema default ([]) applies, as
    # on the server (tests/test_hardening_api.py has the cases preflight cannot tell).
    partial = {k: v for k, v in task.items() if k != "scopes"}
    defaulted = run(flavour, "Queue", tcdyn, lambda q: q.createTask.preflight("t", partial),
                    rootUrl=server.root_url, credentials=OWNER, validate=False)
    assert defaulted.ok is True and defaulted.unknown == ()
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        run(flavour, "Queue", tcdyn, lambda q: q.task.preflight(), rootUrl=server.root_url)


def test_whoami(server, flavour):
    temp = OWNER.create_temporary(scopes=["queue:get-task:*"], expiry=dt.timedelta(hours=1))
    me = run(flavour, "Queue", tcdyn, lambda q: q.whoami(), rootUrl=server.root_url,
             credentials=temp)
    assert me["clientId"] == "owner" and me["temporary"] is True
    assert me["scopes"] == ["queue:get-task:*"] and me["expires"] == temp.expires
    assert SECRET not in repr(me) and temp.accessToken not in repr(me)


def test_taskcluster_proxy_from_env(server, monkeypatch):
    for var in ("TASKCLUSTER_CLIENT_ID", "TASKCLUSTER_ACCESS_TOKEN", "TASKCLUSTER_CERTIFICATE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TASKCLUSTER_ROOT_URL", "https://tc.example.com")
    monkeypatch.setenv("TASKCLUSTER_PROXY_URL", server.root_url)
    with tcdyn.Queue.from_env() as q:
        assert "via taskcluster-proxy (unsigned)" in repr(q)
        assert q.task("t")["name"] == "task"
        assert "authorization" not in server.requests[-1].headers
    with pytest.raises(TypeError, match="proxyUrl or credentials"):
        tcdyn.Queue(proxyUrl=server.root_url, credentials=OWNER)


def test_every_get_entry_of_every_service_can_be_signed_into_a_url(server, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("TCDYN_CACHE_DIR", str(tmp_path))
    tc = tcdyn.load(server.root_url)
    server.handle("auth", "currentScopes", server.echo)
    signed = 0
    # no credentials at all: the bewit is the proof (checked in process, as by the socket)
    with httpx.Client(transport=server.transport()) as plain:
        for name in tc.references.names():
            if name.endswith("Events"):
                continue
            client = getattr(tc, name)(credentials=OWNER)
            for entry in client._model.entries.values():
                if entry.http_method != "GET" or entry.input:
                    continue
                args = [f"{a}-x" for a in entry.args]
                url = client.buildSignedUrl(entry.name, *args)
                answer = plain.get(url).json()
                assert (answer["name"], answer["clientId"]) == (entry.name, "owner"), url
                signed += 1
    assert signed > 80 and server.rejections == []
