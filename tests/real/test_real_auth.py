"""Auth against the real service: clients, roles, scopes, temporary credentials, preflight."""

from __future__ import annotations

from datetime import timedelta

import pytest
from real_helpers import aw, name

import tcdyn
from tcdyn import utils

ANON = "assume:anonymous"  # the auth service adds it to every credential's scopes


async def new_client(auth, client_id: str, scopes: list[str]) -> tcdyn.Credentials:
    created = await aw(auth.createClient(client_id, {
        "description": "tcdyn conformance", "expires": utils.fromNow("1 hour"),
        "scopes": scopes}))
    assert created["clientId"] == client_id
    return tcdyn.Credentials(clientId=client_id, accessToken=created["accessToken"])


async def scopes_of(make, credentials, **kwargs) -> list[str]:
    return sorted((await aw(make("Auth", credentials=credentials, **kwargs).currentScopes()))
                  ["scopes"])


async def test_client_role_expand_and_reset(make, root):
    auth = make("Auth", credentials=root)
    prefix = f"tcdyn-real/{name()}"
    role_id = f"project:{prefix}"
    role = await aw(auth.createRole(role_id, {"description": "tcdyn conformance",
                                              "scopes": [f"secrets:get:{prefix}/*"]}))
    assert role["roleId"] == role_id
    assert role["expandedScopes"] == [f"assume:{role_id}", f"secrets:get:{prefix}/*"]
    expanded = await aw(auth.expandScopes({"scopes": [f"assume:{role_id}"]}))
    assert expanded["scopes"] == [f"assume:{role_id}", f"secrets:get:{prefix}/*"]

    client_id = f"{prefix}/client"
    creds = await new_client(auth, client_id, [f"assume:{role_id}", "auth:current-scopes"])
    expected = sorted([f"assume:{role_id}", "auth:current-scopes", f"secrets:get:{prefix}/*",
                       ANON])
    assert await scopes_of(make, creds) == expected  # used at once

    reset = await aw(auth.resetAccessToken(client_id))
    assert reset["clientId"] == client_id and reset["accessToken"] != creds.accessToken
    with pytest.raises(tcdyn.TaskclusterAuthFailure) as info:
        await scopes_of(make, creds)
    assert info.value.status_code == 401
    fresh = tcdyn.Credentials(clientId=client_id, accessToken=reset["accessToken"])
    assert await scopes_of(make, fresh) == expected
    await aw(auth.deleteClient(client_id))
    await aw(auth.deleteRole(role_id))


async def test_temporary_credentials_and_authorized_scopes(make, root):
    auth = make("Auth", credentials=root)
    prefix = f"tcdyn-real/{name()}"
    issuer = await new_client(auth, f"{prefix}/issuer", [
        "auth:current-scopes", f"secrets:get:{prefix}/*", f"auth:create-client:{prefix}/*"])
    wanted = ["auth:current-scopes", f"secrets:get:{prefix}/a/*"]

    unnamed = issuer.create_temporary(scopes=wanted, expiry=timedelta(minutes=30))
    assert await scopes_of(make, unnamed) == sorted([*wanted, ANON])

    named = issuer.create_temporary(scopes=wanted, expiry=timedelta(minutes=30),
                                    name=f"{prefix}/helper")
    assert await scopes_of(make, named) == sorted([*wanted, ANON])
    who = await aw(make("Secrets", credentials=named).whoami())
    assert who["clientId"] == f"{prefix}/helper" and who["temporary"] is True
    assert sorted(who["scopes"]) == sorted([*wanted, ANON])

    narrow = ["auth:current-scopes", f"secrets:get:{prefix}/a/b"]
    assert await scopes_of(make, unnamed.with_authorized_scopes(narrow)) == sorted([*narrow, ANON])
    assert await scopes_of(make, named.with_authorized_scopes(narrow)) == sorted([*narrow, ANON])
    assert await scopes_of(make, issuer, authorizedScopes=narrow) == sorted([*narrow, ANON])

    # The official form of the same thing.
    official = tcdyn.createTemporaryCredentials(
        issuer.clientId, issuer.accessToken, utils.fromNow("-1 minute"),
        utils.fromNow("10 minutes"), wanted)
    assert await scopes_of(make, official) == sorted([*wanted, ANON])


async def test_whoami(make, root):
    who = await aw(make("Queue", credentials=root).whoami())
    assert who["clientId"] == root.clientId and who["temporary"] is False
    assert "*" in who["scopes"]


async def test_preflight_answers_like_the_service(make, root):
    secrets = make("Secrets", credentials=root)
    prefix = f"tcdyn-real/{name()}"
    await aw(secrets.set(f"{prefix}/open", {"secret": {"v": 1},
                                             "expires": utils.fromNow("1 hour")}))
    await aw(secrets.set(f"{prefix}/closed", {"secret": {"v": 2},
                                               "expires": utils.fromNow("1 hour")}))
    limited = root.with_authorized_scopes(["auth:current-scopes", f"secrets:get:{prefix}/open"])
    mine = make("Secrets", credentials=limited)

    allowed = await aw(mine.get.preflight(f"{prefix}/open"))
    assert allowed.ok is True
    assert (await aw(mine.get(f"{prefix}/open")))["secret"] == {"v": 1}

    denied = await aw(mine.get.preflight(f"{prefix}/closed"))
    assert denied.ok is False and f"secrets:get:{prefix}/closed" in str(denied.missing)
    with pytest.raises(tcdyn.InsufficientScopes):
        await aw(mine.get(f"{prefix}/closed"))
