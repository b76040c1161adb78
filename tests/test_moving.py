"""Differences from the official client that tcdyn removed (docs/guides/moving.md), each shown
with tcdyn's own clients against a local deployment; the official tests that show them run in
tests/official."""

from __future__ import annotations

import asyncio
import pickle
import subprocess
import sys
import traceback
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
import taskcluster.utils as official_utils
from hypothesis import given
from hypothesis import strategies as st

import tcdyn
from helpers import CREDS, SECRET, run
from tcdyn.call.options import RetryPolicy
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment, error

FAST = RetryPolicy(delay_factor=0.001, max_delay=0.01)
OTHER = {"clientId": "other", "accessToken": "other-secret-token"}


@pytest.fixture(scope="module")
def server(deployment_dir):
    clients = {"tester": ClientRecord(SECRET, ("*",)),
               "other": ClientRecord(OTHER["accessToken"], ("*",))}
    with LocalDeployment(deployment_dir, clients=clients) as dep:
        yield dep


@pytest.fixture(autouse=True)
def fresh(request):
    if "server" in request.fixturenames:
        request.getfixturevalue("server").reset()


def failing(server):
    server.handle("queue", "task", lambda req: error(500, "InternalServerError", "boom"))


# -- .options: a live mapping ------------------------------------------------------------

def test_setting_max_retries_in_options_changes_the_retries(server, flavour):
    failing(server)

    def call(q):
        q.options["maxRetries"] = 1
        return q.task("T")

    with pytest.raises(tcdyn.InternalServerError):
        run(flavour, "Queue", tcdyn, call, rootUrl=server.root_url, credentials=CREDS,
            retry=FAST)
    assert len(server.requests) == 2  # one try and the one retry now asked for


def test_setting_credentials_in_options_signs_the_next_call_with_them(server, flavour):
    server.handle("queue", "task", lambda req: {"clientId": req.client_id})

    async def both(q):
        first = q.task("T")
        first = await first if asyncio.iscoroutine(first) else first
        q.options["credentials"] = OTHER
        second = q.task("T")
        return first, await second if asyncio.iscoroutine(second) else second

    def call(q):
        if flavour == "sync":
            return asyncio.run(both(q))
        return both(q)

    first, second = run(flavour, "Queue", tcdyn, call, rootUrl=server.root_url,
                        credentials=CREDS)
    assert first == {"clientId": "tester"} and second == {"clientId": "other"}


def test_setting_the_root_url_in_options_sends_the_next_call_there(server, deployment_dir):
    server.handle("queue", "task", lambda req: {"from": "first"})
    with LocalDeployment(deployment_dir, clients={"tester": ClientRecord(SECRET, ("*",))}) as two:
        two.handle("queue", "task", lambda req: {"from": "second"})
        with tcdyn.Queue(rootUrl=server.root_url, credentials=CREDS) as q:
            assert q.task("T") == {"from": "first"}
            q.options["rootUrl"] = two.root_url + "/"
            assert q.options["rootUrl"] == two.root_url and q.rootUrl == two.root_url
            assert q.task("T") == {"from": "second"}  # signed for the new rootUrl
            assert q.buildUrl("task", "T").startswith(two.root_url + "/api/queue/v1/")


def test_a_change_to_options_is_checked_and_a_refused_one_changes_nothing():
    q = tcdyn.Queue(rootUrl="https://tc.example.com", maxRetries=3)
    before = dict(q.options)
    for key, value, message in [("maxRetries", -1, "maxRetries"),
                                ("timeout", 0, "timeout"),
                                ("rootUrl", "not a url", "rootUrl"),
                                ("credentials", {"clientId": "me"}, "accessToken"),
                                ("maxRetrys", 1, "did you mean 'maxRetries'")]:
        with pytest.raises(tcdyn.TaskclusterFailure, match=message):
            q.options[key] = value
    assert dict(q.options) == before and q.retry.max_retries == 3
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="unknown option"):
        del q.options["nope"]


def test_options_reads_like_the_official_dict_and_hides_the_secret():
    q = tcdyn.Queue({"rootUrl": "https://tc.example.com", "credentials": CREDS,
                     "maxRetries": 2})
    opts = q.options
    assert opts == {"rootUrl": "https://tc.example.com", "credentials": opts["credentials"],
                    "authorizedScopes": None, "maxRetries": 2, "signedUrlExpiration": 900,
                    "timeout": 30.0, "proxyUrl": None}
    assert opts["credentials"].clientId == "tester"
    assert SECRET not in repr(opts) and SECRET not in str(dict(opts))
    opts.update({"maxRetries": 4, "signedUrlExpiration": 60})
    assert q.retry.max_retries == 4 and q.signedUrlExpiration == 60
    del opts["maxRetries"]  # back to the default
    assert q.options["maxRetries"] == 5 and q.retry.max_retries == 5
    opts["authorizedScopes"] = ["queue:get-artifact:*"]
    assert q.credentials is not None and q.credentials.authorizedScopes == (
        "queue:get-artifact:*",)


def test_options_keeps_keyword_only_settings_across_a_change():
    policy = RetryPolicy(delay_factor=0.5)
    q = tcdyn.Queue(rootUrl="https://tc.example.com", retry=policy, validate=False)
    q.options["maxRetries"] = 1
    assert q.retry == RetryPolicy(max_retries=1, delay_factor=0.5) and q.validate is False


def test_setting_the_exchange_prefix_changes_the_next_bindings():
    events = tcdyn.QueueEvents(rootUrl="https://tc.example.com")
    events.options["exchangePrefix"] = "exchange/taskcluster-queue2/v1/"
    assert events.taskDefined()["exchange"] == "exchange/taskcluster-queue2/v1/task-defined"
    assert events.exchange_name("taskDefined") == "exchange/taskcluster-queue2/v1/task-defined"
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="exchangePrefix must be a str"):
        events.options["exchangePrefix"] = 3
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="did you mean 'exchangePrefix'"):
        events.options["exchangePrefx"] = "x"
    del events.options["exchangePrefix"]
    assert events.taskDefined()["exchange"] == "exchange/taskcluster-queue/v1/task-defined"
    events.options["credentials"] = CREDS  # accepted, as by the constructor, and not kept
    assert "credentials" not in events.options


# -- str() of an error: the server's message ----------------------------------------------

def test_a_rest_error_reads_as_the_servers_message_and_shows_where_it_came_from(server):
    server.handle("queue", "task",
                  lambda req: error(404, "ResourceNotFound", "no task T\n---\n* method: task"))
    with tcdyn.Queue(rootUrl=server.root_url, credentials=CREDS) as q, \
            pytest.raises(tcdyn.ResourceNotFound) as caught:
        q.task("T")
    err = caught.value
    assert str(err) == "no task T\n---\n* method: task" == err.message
    assert err.args == (str(err),)
    assert err.summary == (f"queue.task: HTTP 404 ResourceNotFound (GET {server.root_url}"
                           "/api/queue/v1/task/T)")
    shown = "".join(traceback.format_exception(err))
    assert err.summary in shown and "no task T" in shown
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.summary == err.summary
    assert "".join(traceback.format_exception(again)).count(err.summary) == 1


def test_the_official_constructor_gives_the_official_str():
    err = tcdyn.TaskclusterRestFailure("msg", None, 500, {"message": "msg"})
    assert str(err) == "msg" and err.status_code == 500 and err.summary == "HTTP 500"
    assert str(tcdyn.TaskclusterRestFailure(msg="Test", superExc=None)) == "Test"


# -- optionsFromEnvironment merges what is set ---------------------------------------------

ENV = ("TASKCLUSTER_ROOT_URL", "TASKCLUSTER_CLIENT_ID", "TASKCLUSTER_ACCESS_TOKEN",
       "TASKCLUSTER_CERTIFICATE", "TASKCLUSTER_PROXY_URL")


def test_options_from_environment_merges_part_of_a_credential_set(monkeypatch):
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TASKCLUSTER_ACCESS_TOKEN", "token")
    assert tcdyn.optionsFromEnvironment() == {"credentials": {"accessToken": "token"}}
    merged = tcdyn.optionsFromEnvironment({"rootUrl": "https://tc.example.com",
                                           "credentials": {"clientId": "me"}})
    assert merged == {"rootUrl": "https://tc.example.com",
                      "credentials": {"clientId": "me", "accessToken": "token"}}
    assert tcdyn.Queue(merged).credentials.clientId == "me"
    # half a set is refused where it is used, naming what is missing
    with pytest.raises(tcdyn.CredentialsError, match="missing clientId"):
        tcdyn.Queue(tcdyn.optionsFromEnvironment({"rootUrl": "https://tc.example.com"}))


# -- stringDate: the official format --------------------------------------------------------

offsets = st.one_of(st.none(), st.integers(-14 * 60, 14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))), st.just(UTC))


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)), offsets)
def test_string_date_writes_what_the_official_client_writes(moment, tz):
    moment = moment.replace(tzinfo=tz)
    assert tcdyn.stringDate(moment) == official_utils.stringDate(moment)
    assert tcdyn.dumpJson({"d": moment}) == official_utils.dumpJson({"d": moment})


def test_string_date_examples():
    assert tcdyn.stringDate(datetime(2000, 1, 1, 1, 1, 1)) == "2000-01-01T01:01:01Z"
    assert tcdyn.stringDate(datetime(2017, 1, 21, 17, 9, 23, 240178)) == \
        "2017-01-21T17:09:23.240178Z"
    plus_two = timezone(timedelta(hours=2))
    assert tcdyn.stringDate(datetime(2026, 1, 1, 2, 0, tzinfo=plus_two)) == \
        "2026-01-01T02:00:00+02:00"


# -- the official module paths ------------------------------------------------------------

def test_import_tcdyn_gives_its_exceptions_module_as_import_taskcluster_does():
    code = ("import sys, tcdyn; e = tcdyn.exceptions.TaskclusterRestFailure; "
            "assert e is tcdyn.TaskclusterRestFailure; assert 'httpx' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_aio_create_session_is_shared_by_async_clients(server):
    server.handle("queue", "task", lambda req: {"taskId": req.params["taskId"]})

    async def main():
        async with tcdyn.aio.createSession() as session:
            assert isinstance(session, httpx.AsyncClient)
            queue = tcdyn.aio.Queue(rootUrl=server.root_url, credentials=CREDS,
                                    session=session)
            index = tcdyn.aio.Queue(rootUrl=server.root_url, session=session)
            assert await queue.task("A") == {"taskId": "A"}
            assert await index.task("B") == {"taskId": "B"}
            await queue.aclose()
            assert not session.is_closed  # the caller's session stays open

    asyncio.run(main())


def test_a_session_of_requests_or_aiohttp_is_refused_with_what_to_use_instead():
    import aiohttp
    import requests

    with pytest.raises(tcdyn.TaskclusterArgumentError, match=r"tcdyn\.createSession\(\)"):
        tcdyn.Queue(rootUrl="https://tc.example.com", session=requests.Session())

    async def main():
        async with aiohttp.ClientSession() as session:
            with pytest.raises(tcdyn.TaskclusterArgumentError,
                               match=r"tcdyn\.aio\.createSession\(\)"):
                tcdyn.aio.Queue(rootUrl="https://tc.example.com", session=session)

    asyncio.run(main())


# -- credentials that cannot sign: TaskclusterAuthFailure, as with the official client ----

def test_invalid_credentials_are_an_auth_failure_found_before_sending(server):
    for creds in ({"clientId": "\U0001f4a9", "accessToken": "\U0001f4a9"},
                  {"clientId": "me", "accessToken": "t\u00e9"}, {"clientId": "me"}):
        with pytest.raises(tcdyn.TaskclusterAuthFailure) as caught:
            tcdyn.Auth({"rootUrl": server.root_url, "credentials": creds})
        err = caught.value
        assert isinstance(err, tcdyn.CredentialsError) and err.status_code is None
        assert "t\u00e9" not in str(err)  # a secret is never shown
    assert server.requests == []


def test_tcdyn_slugid_is_the_slugid_module_as_taskcluster_slugid_is():
    import slugid
    import taskcluster

    assert tcdyn.slugid is slugid is taskcluster.slugid
    assert len(tcdyn.slugid.v4()) == 22 and not tcdyn.slugid.nice().startswith("-")
