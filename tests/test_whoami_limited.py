"""``whoami`` of credentials that may not read their own scopes (temporary or task
credentials without ``auth:current-scopes``): what is known locally, and what the deployment
would not tell, instead of a 403 (issue 18 item 23). Sync and async alike."""

from __future__ import annotations

import datetime as dt

import pytest

import tcdyn
from helpers import run
from tcdyn.credentials import Credentials
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment

ISSUER = Credentials("issuer", "issuer-token-never-shown")


@pytest.fixture(scope="module")
def server(deployment_dir):
    clients = {"issuer": ClientRecord(ISSUER.accessToken, ("queue:*", "auth:current-scopes"))}
    with LocalDeployment(deployment_dir, clients=clients, check_scopes=True,
                         imitate=True) as dep:
        yield dep


def test_whoami_of_credentials_without_auth_current_scopes(server, flavour):
    temp = ISSUER.create_temporary(["queue:get-task:*"], expiry=dt.timedelta(hours=1))
    narrowed = temp.with_authorized_scopes(["queue:get-task:abc*"])
    me = run(flavour, "Queue", tcdyn, lambda q: q.whoami(), rootUrl=server.root_url,
             credentials=narrowed)
    assert me["clientId"] == "issuer" and me["temporary"] is True
    assert me["expires"] == temp.expires
    assert me["certificateScopes"] == ["queue:get-task:*"]
    assert me["authorizedScopes"] == ["queue:get-task:abc*"]
    assert me["scopes"] is None
    assert "auth:current-scopes" in me["scopesUnavailable"], me
    assert temp.accessToken not in repr(me) and ISSUER.accessToken not in repr(me)


def test_whoami_with_the_scope_still_asks_the_deployment(server, flavour):
    me = run(flavour, "Queue", tcdyn, lambda q: q.whoami(), rootUrl=server.root_url,
             credentials=ISSUER)
    assert set(me["scopes"]) >= {"queue:*", "auth:current-scopes"}
    assert me["scopesUnavailable"] is None and me["certificateScopes"] is None
