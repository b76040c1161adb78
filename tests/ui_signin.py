"""The v106 web UI's CLI login, played by a test as a browser would.

What ``ui/src/views/Clients/ViewClient/index.jsx`` (Taskcluster v106.0.0) does when
``/auth/clients/create`` is opened with a ``callback_url`` and the signed-in user saves the
form, step by step:

- ``parse(location.search.slice(1))`` (``qs``): a repeated ``scope`` is a list, one
  ``scope`` a string (``typeof query.scope === 'string' ? [query.scope] : query.scope``);
- ``isAllowedCallback``: ``/^https?:\\/\\/localhost(:[0-9]+)?(\\/|$)/``, else "Callback URL
  ... is not allowed." and no client;
- the client: ``clientId`` ``${user.credentials.clientId}/${query.name}``, ``scopes``
  ``scopeIntersection(query scopes, currentScopes)``, ``expires`` ``fromNow(query.expires)``,
  ``description`` ``query.description``, ``deleteOnExpiration: true``;
- ``createClient``, then ``window.location.replace(`${callbackUrl}?clientId=${clientId}&
  accessToken=${result.accessToken}`)``: the values pasted in, not encoded; the browser then
  percent-encodes only what the URL standard's query percent-encode set holds.

Run as a script (``python ui_signin.py URL``), it is the ``$BROWSER`` of a ``tcdyn signin``
subprocess, signed in as ``$SIGNIN_UI_CLIENT_ID`` / ``$SIGNIN_UI_ACCESS_TOKEN``.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import tcdyn
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment, Reply, error

# Copied from the v106 UI, not from tcdyn (a test of tcdyn's constant would prove nothing).
UI_ALLOWED = re.compile(r"^https?://localhost(:[0-9]+)?(/|$)")
# The WHATWG URL standard's special-query percent-encode set (C0, space, " # < > ').
_QUERY_ENCODE = set(range(0x21)) | {0x22, 0x23, 0x3C, 0x3E, 0x27, 0x7F}


def qs_parse(query: str) -> dict[str, Any]:
    """``qs.parse`` for flat keys: repeated keys collect into a list; ``+`` is a space."""
    out: dict[str, Any] = {}
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        key, value = (unquote(x.replace("+", " ")) for x in (key, value))
        if key in out:
            out[key] = [*(out[key] if isinstance(out[key], list) else [out[key]]), value]
        else:
            out[key] = value
    return out


def scope_intersection(a: list[str], b: list[str]) -> list[str]:
    """taskcluster-lib-scopes ``scopeIntersection``: the scopes both sets satisfy."""
    def satisfied(held: list[str], scope: str) -> bool:
        return any(h == scope or (h.endswith("*") and scope.startswith(h[:-1])) for h in held)

    both = {s for s in a if satisfied(b, s)} | {s for s in b if satisfied(a, s)}
    return sorted(s for s in both if not any(
        o != s and o.endswith("*") and s.startswith(o[:-1]) for o in both))


def browser_url(url: str) -> str:
    """The URL as a browser sends it: the query's bytes in the percent-encode set encoded,
    everything else (``+``, ``|``, ``/``, ``@``, ``:``) as written."""
    head, sep, query = url.partition("?")
    encoded = "".join(f"%{b:02X}" if b in _QUERY_ENCODE or b > 0x7E else chr(b)
                      for b in query.encode("utf-8"))
    return head + sep + encoded


def follow(url: str, *, method: str = "GET", host: str | None = None) -> tuple[int, str]:
    """Request ``url`` (a ``localhost`` URL, reached on 127.0.0.1) as a browser would,
    the request target sent exactly as given."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=30)
    try:
        target = url.split(parts.netloc, 1)[1] or "/"
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host or parts.netloc)
        conn.putheader("User-Agent", "Mozilla/5.0 (tcdyn test UI)")
        conn.endheaders()
        answer = conn.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")
    finally:
        conn.close()


def save_form(login_url: str, auth: Any, user_client_id: str) -> tuple[str, str]:
    """What saving the form does on the deployment: the client it creates, as
    ``(callback redirect URL, clientId)``. ``auth`` is an Auth client signed in as the
    user."""
    from tcdyn.utils import fromNow

    parts = urlsplit(login_url)
    assert parts.path == "/auth/clients/create", parts.path
    query = qs_parse(parts.query)
    callback = query.get("callback_url")
    assert callback, "not a CLI login: no callback_url"
    if not UI_ALLOWED.match(callback):
        raise AssertionError(f"Callback URL {callback} is not allowed.")
    requested = [query["scope"]] if isinstance(query["scope"], str) else query["scope"]
    current = auth.currentScopes()["scopes"]
    client_id = f"{user_client_id}/{query['name']}"
    expires = fromNow(query["expires"], datetime.now(UTC))
    result = auth.createClient(client_id, {
        "description": query["description"], "expires": expires.isoformat(),
        "deleteOnExpiration": True, "scopes": scope_intersection(requested, current)})
    return f"{callback}?clientId={client_id}&accessToken={result['accessToken']}", client_id


class AuthClients:
    """``auth.createClient`` / ``client`` / ``deleteClient`` on a local deployment: clients
    it creates can sign requests there at once, as on the real service."""

    def __init__(self, dep: LocalDeployment) -> None:
        self.dep = dep
        self.records: dict[str, dict[str, Any]] = {}
        dep.handle("auth", "createClient", self.create)
        dep.handle("auth", "client", self.get)
        dep.handle("auth", "deleteClient", self.delete)

    def create(self, request: Any) -> Any:
        client_id = request.params["clientId"]
        if client_id in self.records:
            return error(409, "RequestConflict", f"client {client_id} already exists")
        token = secrets.token_urlsafe(33)
        now = tcdyn.fromNowJSON("0 seconds")
        body = request.payload
        record = {"clientId": client_id, "expires": body["expires"],
                  "description": body["description"], "created": now, "lastModified": now,
                  "lastDateUsed": now, "lastRotated": now, "scopes": body.get("scopes", []),
                  "expandedScopes": body.get("scopes", []), "disabled": False,
                  "deleteOnExpiration": body.get("deleteOnExpiration", False)}
        self.records[client_id] = record
        self.dep.clients[client_id] = ClientRecord(token, tuple(record["scopes"]))
        return Reply({**record, "accessToken": token})

    def get(self, request: Any) -> Any:
        record = self.records.get(request.params["clientId"])
        return record or error(404, "ResourceNotFound", "no such client")

    def delete(self, request: Any) -> Any:
        self.records.pop(request.params["clientId"], None)
        self.dep.clients.pop(request.params["clientId"], None)
        return Reply(status=204, raw=b"")



def main(url: str) -> int:
    root = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
    user = tcdyn.Credentials(os.environ["SIGNIN_UI_CLIENT_ID"],
                             os.environ["SIGNIN_UI_ACCESS_TOKEN"])
    with tcdyn.Auth(rootUrl=root, credentials=user) as auth:
        redirect, _ = save_form(url, auth, user.clientId)
    status, _ = follow(browser_url(redirect))
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
