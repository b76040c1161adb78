"""``whoami`` of credentials that may not read their own scopes (temporary or task
credentials without ``auth:current-scopes``): what is known locally, and what the deployment
would not tell, instead of a 403 (issue 18 item 23). Sync and async alike, on the pytest
plugin's local deployment (scopes checked, as the services do)."""

from __future__ import annotations

import datetime as dt

import pytest

import tcdyn
from helpers import run


@pytest.fixture
def issuer(tcdyn_credentials):
    return tcdyn_credentials("queue:*", "auth:current-scopes", client_id="issuer")


@pytest.fixture
def server(tcdyn_deployment):
    return tcdyn_deployment


def test_whoami_of_credentials_without_auth_current_scopes(server, issuer, flavour):
    temp = issuer.create_temporary(["queue:get-task:*"], expiry=dt.timedelta(hours=1))
    narrowed = temp.with_authorized_scopes(["queue:get-task:abc*"])
    me = run(flavour, "Queue", tcdyn, lambda q: q.whoami(), rootUrl=server.root_url,
             credentials=narrowed)
    assert me["clientId"] == "issuer" and me["temporary"] is True
    assert me["expires"] == temp.expires
    assert me["certificateScopes"] == ["queue:get-task:*"]
    assert me["authorizedScopes"] == ["queue:get-task:abc*"]
    assert me["scopes"] is None
    assert "auth:current-scopes" in me["scopesUnavailable"], me
    assert temp.accessToken not in repr(me) and issuer.accessToken not in repr(me)


def test_whoami_with_the_scope_still_asks_the_deployment(server, issuer, flavour):
    me = run(flavour, "Queue", tcdyn, lambda q: q.whoami(), rootUrl=server.root_url,
             credentials=issuer)
    assert set(me["scopes"]) >= {"queue:*", "auth:current-scopes"}
    assert me["scopesUnavailable"] is None and me["certificateScopes"] is None
