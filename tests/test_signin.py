"""``tcdyn.auth.signin``: the CLI login of the web UI, its callback played exactly as the v106
UI redirects (``tests/ui_signin.py``) against a local deployment whose auth service creates
clients; every other request to the callback refused. ``tests/real/test_real_signin.py``
does the same with the real auth service."""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
from typing import Any

import pytest

import tcdyn
from tcdyn.auth import signin
from tcdyn.errors import SigninError, TaskclusterArgumentError
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment
from ui_signin import UI_ALLOWED, AuthClients, browser_url, follow, qs_parse, save_form

USER = tcdyn.Credentials("github/1234|alice", "alice-token-never-shown-in-output")
USER_SCOPES = ("auth:create-client:github/1234|alice/*", "auth:get-client:github/1234|alice/*",
               "auth:current-scopes", "queue:get-task:*", "secrets:get:project/*")


@pytest.fixture
def deployment():
    clients = {USER.clientId: ClientRecord(USER.accessToken, USER_SCOPES)}
    with LocalDeployment(clients=clients, check_scopes=True, imitate=True) as dep:
        dep.auth_clients = AuthClients(dep)
        yield dep


def _ui(deployment: LocalDeployment, seen: list[str] | None = None) -> Any:
    """An ``open_url`` that is the UI signed in as USER: save the form, follow the redirect."""
    def open_url(url: str) -> None:
        if seen is not None:
            seen.append(url)
        with tcdyn.Auth(rootUrl=deployment.root_url, credentials=USER) as auth:
            redirect, _ = save_form(url, auth, USER.clientId)
        status, _ = follow(browser_url(redirect))
        assert status == 200
    return open_url


def test_login_url_is_what_the_ui_reads(deployment):
    url = signin.login_url(deployment.root_url, "http://localhost:5000/n0nce",
                           name="laptop", scopes=["queue:get-task:*", "a b+c"],
                           expires="2 hours")
    assert url.startswith(f"{deployment.root_url}/auth/clients/create?")
    query = qs_parse(url.split("?", 1)[1])
    assert query == {"scope": ["queue:get-task:*", "a b+c"], "name": "laptop",
                     "expires": "2 hours", "callback_url": "http://localhost:5000/n0nce",
                     "description": signin.DESCRIPTION}
    one = qs_parse(signin.login_url("http://x", "http://localhost:1/n", scopes=["*"])
                   .split("?", 1)[1])
    assert one["scope"] == "*"  # one scope: a string, which the UI wraps in a list


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "has space"}, "name 'has space'"),
    ({"name": ""}, "name ''"),
    ({"scopes": []}, "at least one scope"),
    ({"scopes": "queue:*"}, "list of at least one scope"),
    ({"scopes": ["caf\u00e9"]}, "printable ASCII"),
    ({"expires": "soon"}, "expires 'soon'"),
    ({"expires": "-1 day"}, "expires '-1 day'"),
    ({"expires": "0 days"}, "expires '0 days'"),
    ({"expires": ""}, "expires ''"),
])
def test_bad_requests_are_refused_before_a_browser_opens(kwargs, message):
    opened: list[str] = []
    with pytest.raises(TaskclusterArgumentError, match=re.escape(message)):
        signin.signin("http://127.0.0.1:1", open_url=opened.append, timeout=1, **kwargs)
    assert opened == []


def test_signin_through_the_uis_redirect(deployment):
    seen: list[str] = []
    creds = signin.signin(deployment.root_url, name="laptop+work",
                          scopes=["auth:current-scopes", "auth:get-client:github/*",
                                  "queue:get-task:*", "secrets:get:project/x", "hooks:*"],
                          expires="3 hours", open_url=_ui(deployment, seen), timeout=30)
    query = qs_parse(seen[0].split("?", 1)[1])
    callback = query["callback_url"]
    assert UI_ALLOWED.match(callback)  # the v106 UI would redirect to it
    assert re.fullmatch(r"http://localhost:\d+/[A-Za-z0-9_-]{43}", callback)
    # the '+' and '|' the UI pastes in unencoded arrive as they are
    assert re.fullmatch(r"github/1234\|alice/laptop\+work-[0-9a-f]{6}", creds.clientId)
    record = deployment.auth_clients.records[creds.clientId]
    assert record["scopes"] == ["auth:current-scopes", "auth:get-client:github/1234|alice/*",
                                "queue:get-task:*", "secrets:get:project/x"]  # asked and held
    with tcdyn.Auth(rootUrl=deployment.root_url, credentials=creds) as auth:
        assert auth.currentScopes()["scopes"] == ["assume:anonymous", *record["scopes"]]
    result = signin.check(deployment.root_url, creds)
    assert result.ok and result.client_id == creds.clientId
    expires = dt.datetime.fromisoformat(record["expires"])
    assert result.expires == expires
    assert dt.timedelta(hours=2, minutes=59) < expires - dt.datetime.now(dt.UTC) \
        <= dt.timedelta(hours=3)


def test_check_of_credentials_the_deployment_refuses(deployment):
    gone = tcdyn.Credentials("github/1234|alice/old-abcdef", "x" * 43)
    result = signin.check(deployment.root_url, gone)
    assert not result.ok and "github/1234|alice/old-abcdef" in (result.reason or "")
    assert "x" * 43 not in repr(result)


def test_check_without_get_client_scope_says_why_the_expiry_is_unknown(deployment):
    deployment.clients["plain"] = ClientRecord("plain-token-never-shown-0123", ("queue:*",))
    result = signin.check(deployment.root_url,
                          tcdyn.Credentials("plain", "plain-token-never-shown-0123"))
    assert result.ok and result.expires is None
    assert result.expires_unknown == "reading it needs auth:get-client:plain"
    temp = USER.create_temporary(["queue:get-task:*"], expiry=dt.timedelta(hours=1))
    result = signin.check(deployment.root_url, temp)
    assert result.ok and result.temporary and result.expires == temp.expires


# -- refused callbacks --------------------------------------------------------------------

TOKEN = "A" * 44


@pytest.fixture
def server():
    with signin.CallbackServer() as srv:
        yield srv


def _base(server: signin.CallbackServer) -> str:
    return f"http://localhost:{server.port}"


@pytest.mark.parametrize(("how", "status", "why"), [
    ("wrong nonce", 404, "a path other than the callback's"),
    ("no nonce", 404, "a path other than the callback's"),
    ("nonce prefix", 404, "a path other than the callback's"),
    ("longer path", 404, "a path other than the callback's"),
    ("POST", 405, "method POST (only GET)"),
    ("PUT", 405, "method PUT (only GET)"),
    ("oversized query", 414, "a query of 5000 bytes (at most 4096)"),
    ("huge request line", 414, "a request http.server could not read"),
    ("other host", 400, "a Host other than localhost or 127.0.0.1 on this port"),
    ("extra parameter", 400, "a query with something other than clientId and accessToken"),
    ("clientId twice", 400, "a query with clientId twice"),
    ("no token", 400, "a query without clientId and accessToken"),
    ("bad token", 400, "an accessToken the auth service would not give"),
    ("bad clientId", 400, "a clientId the auth service would not give"),
])
def test_refused_callbacks(server, how, status, why):
    good = f"/{server.nonce}"
    target, method, host = {
        "wrong nonce": (f"/{'x' * 43}?clientId=me&accessToken={TOKEN}", "GET", None),
        "no nonce": (f"/?clientId=me&accessToken={TOKEN}", "GET", None),
        "nonce prefix": (f"{good[:-1]}?clientId=me&accessToken={TOKEN}", "GET", None),
        "longer path": (f"{good}/x?clientId=me&accessToken={TOKEN}", "GET", None),
        "POST": (f"{good}?clientId=me&accessToken={TOKEN}", "POST", None),
        "PUT": (f"{good}?clientId=me&accessToken={TOKEN}", "PUT", None),
        "oversized query": (f"{good}?clientId={'m' * 4934}&accessToken={TOKEN}", "GET",
                            None),
        "huge request line": (f"{good}?clientId={'m' * 70000}&accessToken={TOKEN}", "GET",
                              None),
        "other host": (f"{good}?clientId=me&accessToken={TOKEN}", "GET",
                       f"evil.example:{server.port}"),
        "extra parameter": (f"{good}?clientId=me&accessToken={TOKEN}&x=1", "GET", None),
        "clientId twice": (f"{good}?clientId=me&clientId=you&accessToken={TOKEN}", "GET",
                           None),
        "no token": (f"{good}?clientId=me", "GET", None),
        "bad token": (f"{good}?clientId=me&accessToken=short", "GET", None),
        "bad clientId": (f"{good}?clientId=me%20too&accessToken={TOKEN}", "GET", None),
    }[how]
    got, body = follow(_base(server) + target, method=method, host=host)
    assert got == status
    assert server.refused == [f"{status}: {why}"]
    assert TOKEN not in body and "m" * 100 not in body  # nothing echoed
    # still waiting for the real redirect, which is then taken
    status_ok, page = follow(f"{_base(server)}{good}?clientId=me/x&accessToken={TOKEN}")
    assert status_ok == 200 and "signed in" in page
    creds = server.wait(1)
    assert (creds.clientId, creds.accessToken) == ("me/x", TOKEN)


def test_the_first_callback_wins(server):
    good = f"{_base(server)}/{server.nonce}"
    assert follow(f"{good}?clientId=first&accessToken={TOKEN}")[0] == 200
    assert follow(f"{good}?clientId=second&accessToken={TOKEN}")[0] == 409
    assert server.wait(1).clientId == "first"
    assert server.refused == ["409: a second callback (the first was taken)"]


def test_a_127_0_0_1_host_is_the_same_callback(server):
    url = f"http://127.0.0.1:{server.port}/{server.nonce}?clientId=me&accessToken={TOKEN}"
    assert follow(url)[0] == 200


def test_the_callback_listens_on_loopback_only(server):
    assert server._server.server_address[0] == "127.0.0.1"
    addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None,
                                                           socket.AF_INET)}
    for address in addresses - {"127.0.0.1", "127.0.1.1"}:
        with pytest.raises(OSError):
            socket.create_connection((address, server.port), timeout=2).close()


def test_no_callback_in_time_is_a_signin_error(server):
    follow(f"{_base(server)}/wrong")
    with pytest.raises(SigninError, match=r"no sign-in came back within 0\.2 seconds; "
                                          r"refused 1 other request"):
        server.wait(0.2)


def test_refusals_are_told_as_they_happen(deployment):
    told: list[str] = []

    def hostile_then_ui(url: str) -> None:
        callback = qs_parse(url.split("?", 1)[1])["callback_url"]
        follow(callback.rsplit("/", 1)[0] + "/guess?clientId=me&accessToken=" + TOKEN)
        threading.Thread(target=_ui(deployment), args=(url,)).start()

    creds = signin.signin(deployment.root_url, open_url=hostile_then_ui, timeout=30,
                          on_refused=told.append)
    assert told == ["a path other than the callback's"]
    assert creds.clientId.startswith("github/1234|alice/tcdyn-")
