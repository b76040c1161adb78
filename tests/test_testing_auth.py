"""Server-side authentication: Hawk headers, bewits, certificates, authorizedScopes."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import mohawk
import pytest
import taskcluster

from tcdyn.credentials import (
    Credentials,
    bewit,
    certificate_signature,
    createTemporaryCredentials,
    signed_url,
    temporary_access_token,
)
from tcdyn.testing.auth import (
    Authenticated,
    AuthRejected,
    ClientRecord,
    authenticate,
)

TOKEN = "issuerTokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
OTHER = "limitedTokenBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
CLIENTS = {
    "project/ci": ClientRecord(TOKEN, ("queue:*", "auth:create-client:project/ci/*",
                                       "secrets:get:project/ci/*")),
    "project/limited": ClientRecord(OTHER, ("queue:get-task:*",)),
}
URL = "http://127.0.0.1:8080/api/queue/v1/task/abc/status?continuationToken=x%20y"
NOW = time.time()


def ci() -> Credentials:
    return Credentials("project/ci", TOKEN)


def header(creds: Credentials | tuple[str, str], url: str = URL, method: str = "GET",
           body: bytes | None = None, content_type: str = "application/json",
           ext: str | None = None, ts: int | None = None) -> dict[str, str]:
    """Headers of a request signed with mohawk (hash included only when a body is given)."""
    if isinstance(creds, Credentials):
        credentials, ext = creds.hawk_credentials(), ext or creds.hawk_ext()
    else:
        credentials = {"id": creds[0], "key": creds[1], "algorithm": "sha256"}
    kwargs = {"content": body, "content_type": content_type} if body is not None else {
        "always_hash_content": False}
    sender = mohawk.Sender(credentials, url, method, ext=ext, _timestamp=ts, **kwargs)
    return {"Authorization": sender.request_header, "Content-Type": content_type}


def ext_of(obj) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


def reject(message: str, method: str = "GET", url: str = URL, headers=None,
           body: bytes = b"", now: float | None = None, clients=CLIENTS) -> AuthRejected:
    with pytest.raises(AuthRejected, match=message) as info:
        authenticate(method, url, headers or {}, body, clients, now=now)
    text = str(info.value)
    for secret in (TOKEN, OTHER):
        assert secret not in text
    auth = (headers or {}).get("Authorization", "")
    mac = re.search(r'mac="([^"]+)"', auth)
    if mac:
        assert mac.group(1) not in text
    return info.value


def make_cert(issuer_token: str = TOKEN, name: str | None = None, issuer: str | None = None,
              **fields) -> dict:
    cert = {"version": 1, "scopes": ["queue:get-task:*"], "start": int(NOW * 1000) - 1000,
            "expiry": int(NOW * 1000) + 3_600_000, "seed": "S" * 44}
    cert.update(fields)
    cert["signature"] = certificate_signature(issuer_token, cert, name=name, issuer=issuer)
    if issuer:
        cert["issuer"] = issuer
    return cert


def temp_header(cert: dict, client_id: str = "project/ci", key: str | None = None,
                **ext) -> dict[str, str]:
    key = key or temporary_access_token(TOKEN, str(cert["seed"]))
    return header((client_id, key), ext=ext_of({"certificate": cert, **ext}))


# -- no credentials, permanent credentials -------------------------------------------------

def test_no_credentials():
    assert authenticate("GET", URL, {}, b"", CLIENTS) is None


def test_permanent_get_and_post():
    assert authenticate("GET", URL, header(ci()), b"", CLIENTS) == Authenticated(
        "project/ci", CLIENTS["project/ci"].scopes, "hawk", None)
    body = b'{"a":1}'
    lower = {k.lower(): v for k, v in header(ci(), method="POST", body=body).items()}
    assert authenticate("POST", URL, lower, body, CLIENTS).clientId == "project/ci"
    # no payload hash in the header: the body is not checked, as the auth service does
    unhashed = header(ci(), method="POST")
    assert authenticate("POST", URL, unhashed, b"anything", CLIENTS).clientId == "project/ci"


def test_timestamp_skew():
    signed = header(ci(), ts=int(NOW))
    assert authenticate("GET", URL, signed, b"", CLIENTS, now=NOW + 14 * 60)
    reject("Unauthorized: Stale timestamp", headers=signed, now=NOW + 16 * 60)
    reject("Unauthorized: Stale timestamp", headers=signed, now=NOW - 16 * 60)


def test_hawk_rejections():
    reject("Client with clientId 'nobody' not found", headers=header(("nobody", TOKEN)))
    reject("Unauthorized: Bad mac", headers=header(("project/ci", OTHER)))
    reject("Unauthorized: Bad mac", headers=header(ci(), url=URL.replace("abc", "abd")))
    reject("Unauthorized: Bad mac", url=URL.replace("8080", "8081"), headers=header(ci()))
    reject("Unauthorized: Bad mac", method="DELETE", headers=header(ci()))
    reject("Unauthorized: Bad payload hash", method="POST", body=b'{"a":2}',
           headers=header(ci(), method="POST", body=b'{"a":1}'))
    reject("Unauthorized: the Authorization scheme must be Hawk",
           headers={"Authorization": "Bearer abc"})
    reject("Bad Request: Invalid header syntax",
           headers={"Authorization": 'Hawk id="a", bogus="b"'})
    reject("Bad Request: Missing attributes",
           headers={"Authorization": 'Hawk id="project/ci", ts="1", mac="x"'})


def test_a_tampered_ext_breaks_the_mac():
    limited = ci().with_authorized_scopes(["queue:get-task:abc"])
    signed = header(limited)["Authorization"]
    wider = ci().with_authorized_scopes(["queue:*"]).hawk_ext()
    forged = signed.replace(limited.hawk_ext(), wider)
    assert forged != signed
    reject("Unauthorized: Bad mac", headers={"Authorization": forged})


# -- temporary credentials -----------------------------------------------------------------

def test_temporary_unnamed_and_named():
    temp = ci().create_temporary(["queue:get-task:*"], timedelta(hours=1))
    got = authenticate("GET", URL, header(temp), b"", CLIENTS)
    assert got == Authenticated("project/ci", ("queue:get-task:*",), "hawk", temp.expires)
    named = ci().create_temporary(["queue:get-task:*", "secrets:get:project/ci/x"],
                                  timedelta(hours=1), name="project/ci/worker-1")
    got = authenticate("GET", URL, header(named), b"", CLIENTS)
    assert got.clientId == "project/ci/worker-1"
    assert got.scopes == ("queue:get-task:*", "secrets:get:project/ci/x")


def test_official_client_temporary_credentials():
    start = datetime.now(UTC)
    issued = taskcluster.createTemporaryCredentials(
        "project/ci", TOKEN, start, start + timedelta(hours=1), ["queue:a"], name="project/ci/b")
    creds = Credentials.coerce(issued)
    assert authenticate("GET", URL, header(creds), b"", CLIENTS).scopes == ("queue:a",)


def test_temporary_token_is_the_key_not_the_issuers():
    temp = ci().create_temporary(["queue:get-task:*"], timedelta(hours=1))
    wrong = header(("project/ci", TOKEN), ext=temp.hawk_ext())
    reject("Unauthorized: Bad mac", headers=wrong)


def test_certificate_times():
    ms = int(NOW * 1000)
    minute = 60_000
    assert authenticate("GET", URL, temp_header(make_cert(start=ms + 4 * minute)), b"",
                        CLIENTS, now=NOW)
    reject(r"ext.certificate.start > now", now=NOW,
           headers=temp_header(make_cert(start=ms + 6 * minute)))
    assert authenticate("GET", URL, temp_header(make_cert(
        start=ms - 60 * minute, expiry=ms - 4 * minute)), b"", CLIENTS, now=NOW)
    reject(r"ext.certificate.expiry < now", now=NOW, headers=temp_header(make_cert(
        start=ms - 60 * minute, expiry=ms - 6 * minute)))
    reject("ext.certificate cannot last longer than 31 days!", now=NOW,
           headers=temp_header(make_cert(expiry=ms + 32 * 24 * 60 * minute)))


def test_expired_temporary_credentials_made_by_the_client():
    start = datetime.now(UTC) - timedelta(days=2)
    temp = ci().create_temporary(["queue:get-task:*"], timedelta(days=1), start)
    assert temp.is_expired()
    reject(r"ext.certificate.expiry < now", headers=header(temp))


@pytest.mark.parametrize(("fields", "message"), [
    ({"version": 2}, "ext.certificate.version must be 1"),
    ({"seed": 5}, "ext.certificate.seed must be a string"),
    ({"seed": "short"}, "ext.certificate.seed must be 44 characters"),
    ({"start": "0"}, "ext.certificate.start must be a number"),
    ({"expiry": None}, "ext.certificate.expiry must be a number"),
    ({"scopes": "queue:*"}, "ext.certificate.scopes must be an array"),
    ({"scopes": ["tab\there"]}, "ext.certificate.scopes must be an array of valid scopes"),
    ({"scopes": ["index:*"]}, "issuer `project/ci` doesn't satisfy all certificate scopes "
                              "index:\\*"),
    ({"clientId": "project/ci"}, "ext.certificate.clientId must only be used with "
                                 "ext.certificate.issuer"),
])
def test_certificate_rejections(fields, message):
    reject(message, headers=temp_header(make_cert(**fields)))


def test_certificate_must_be_an_object():
    reject("ext.certificate must be a JSON object",
           headers=header(("project/ci", TOKEN), ext=ext_of({"certificate": "text"})))


def test_tampered_certificates():
    cert = make_cert()
    cert["scopes"] = ["queue:*"]  # widened after signing
    reject(r"^ext.certificate.signature is not valid$", headers=temp_header(cert))
    forged = make_cert(issuer_token=OTHER)  # signed with another key
    reject(r"^ext.certificate.signature is not valid$", headers=temp_header(forged))
    named = make_cert(name="project/ci/a", issuer="project/ci")
    reject("signature is not valid, or wrong clientId provided",
           headers=temp_header(named, client_id="project/ci/b"))
    assert authenticate("GET", URL, temp_header(named, client_id="project/ci/a"), b"", CLIENTS)
    unsigned = make_cert()
    del unsigned["signature"]
    reject(r"^ext.certificate.signature is not valid$", headers=temp_header(unsigned))


def test_named_certificate_rules():
    cert = make_cert(name="elsewhere/x", issuer="project/ci")
    reject("issuer `project/ci` doesn't have `auth:create-client:elsewhere/x` for supplied "
           "clientId", headers=temp_header(cert, client_id="elsewhere/x"))
    same = make_cert(name="project/ci", issuer="project/ci")
    reject("ext.certificate.issuer must differ from the supplied clientId",
           headers=temp_header(same, client_id="project/ci"))
    odd = make_cert()
    odd["issuer"] = 7
    reject("ext.certificate.issuer must be a string", headers=temp_header(odd, "project/ci/x"))
    ghost = make_cert(name="ghost/x", issuer="ghost")
    reject("Client with clientId 'ghost' not found", headers=temp_header(ghost, "ghost/x"))


def test_unparseable_ext():
    reject("Failed to parse ext", headers=header(("project/ci", TOKEN), ext="bm90IGpzb24="))
    reject("Failed to parse ext", headers=header(("project/ci", TOKEN), ext=ext_of([1])))


# -- authorizedScopes ----------------------------------------------------------------------

def test_authorized_scopes():
    limited = ci().with_authorized_scopes(["queue:get-task:abc"])
    assert authenticate("GET", URL, header(limited), b"", CLIENTS).scopes == (
        "queue:get-task:abc",)
    nothing = ci().with_authorized_scopes([])
    assert authenticate("GET", URL, header(nothing), b"", CLIENTS).scopes == ()
    temp = ci().create_temporary(["queue:get-task:*"], timedelta(hours=1))
    both = temp.with_authorized_scopes(["queue:get-task:x"])
    assert authenticate("GET", URL, header(both), b"", CLIENTS).scopes == ("queue:get-task:x",)


def test_authorized_scopes_rejections():
    wider = ci().with_authorized_scopes(["index:*"])
    error = reject("Supplied credentials do not satisfy authorizedScopes", headers=header(wider))
    assert "index:*" in str(error) and "queue:*" in str(error)
    temp = ci().create_temporary(["queue:get-task:*"], timedelta(hours=1))
    reject("do not satisfy authorizedScopes",  # beyond the certificate, within the issuer
           headers=header(temp.with_authorized_scopes(["queue:create-task:*"])))
    reject("ext.authorizedScopes must be an array",
           headers=header(("project/ci", TOKEN), ext=ext_of({"authorizedScopes": "queue:*"})))
    reject("ext.authorizedScopes must be an array of valid scopes",
           headers=header(("project/ci", TOKEN), ext=ext_of({"authorizedScopes": [3]})))


# -- bewits --------------------------------------------------------------------------------

def test_bewits_are_accepted():
    for creds in (ci(), ci().create_temporary(["queue:get-task:*"], timedelta(hours=1)),
                  ci().create_temporary(["queue:a"], timedelta(hours=1), name="project/ci/n"),
                  ci().with_authorized_scopes(["queue:b"])):
        for url in (URL, URL.split("?")[0]):
            got = authenticate("GET", signed_url(creds, url), {}, b"", CLIENTS)
            assert got.scheme == "bewit" and got.clientId == creds.clientId
            expected = creds.authorizedScopes or creds.scopes or CLIENTS["project/ci"].scopes
            assert got.scopes == tuple(expected)
    assert authenticate("HEAD", signed_url(ci(), URL), {}, b"", CLIENTS).scheme == "bewit"


def test_bewit_before_other_query_parameters():
    value = bewit(ci(), URL, 60)
    path, query = URL.split("?")
    assert authenticate("GET", f"{path}?bewit={value}&{query}", {}, b"", CLIENTS)


def test_official_client_bewit():
    client = taskcluster.Queue({"rootUrl": "http://127.0.0.1:8080", "credentials": {
        "clientId": "project/ci", "accessToken": TOKEN}})
    url = client.buildSignedUrl("status", "abc")
    assert authenticate("GET", url, {}, b"", CLIENTS).clientId == "project/ci"


def test_bewit_rejections():
    good = signed_url(ci(), URL, 60)
    reject("Bad Request: Multiple authentications", url=good, headers=header(ci(), url=good))
    reject("Unauthorized: Invalid method", method="POST", url=good)
    expiring = signed_url(ci(), URL, 30)
    reject("Unauthorized: Access expired", url=expiring, now=time.time() + 31)
    reject("Unauthorized: Bad mac", url=good.replace("/abc/", "/abd/"))
    reject("Unauthorized: Bad mac", url=good.replace("x%20y", "x%20z"))
    reject("Unauthorized: Empty bewit", url=URL + "&bewit=")
    reject("Bad Request: Invalid bewit encoding", url=URL + "&bewit=abc!def")
    two = base64.urlsafe_b64encode(b"a\\b").decode().rstrip("=")
    reject("Bad Request: Invalid bewit structure", url=f"{URL}&bewit={two}")
    missing = base64.urlsafe_b64encode(b"\\123\\mac\\").decode().rstrip("=")
    reject("Bad Request: Missing bewit attributes", url=f"{URL}&bewit={missing}")
    stranger = signed_url(Credentials("nobody", TOKEN), URL, 60)
    reject("Client with clientId 'nobody' not found", url=stranger)
    wrong_key = signed_url(Credentials("project/ci", OTHER), URL, 60)
    reject("Unauthorized: Bad mac", url=wrong_key)
    old = ci().create_temporary(["queue:a"], timedelta(hours=1),
                                datetime.now(UTC) - timedelta(hours=2))
    reject(r"ext.certificate.expiry < now", url=signed_url(old, URL, 60))


def test_bewit_mac_is_not_leaked():
    url = signed_url(Credentials("project/ci", OTHER), URL, 60)
    value = url.rsplit("bewit=", 1)[1]
    mac = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode().split("\\")[2]
    error = reject("Bad mac", url=url)
    assert mac not in str(error)


def test_client_record_repr_hides_token():
    assert TOKEN not in repr(CLIENTS["project/ci"])


# -- over real loopback HTTP, with the official client and httpx ---------------------------

class _Handler(BaseHTTPRequestHandler):
    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = f"http://127.0.0.1:{self.server.server_port}{self.path}"
        try:
            who = authenticate(self.command, url, dict(self.headers), body, CLIENTS)
            status, reply = 200, {"clientId": who and who.clientId,
                                  "scopes": list(who.scopes) if who else [],
                                  "scheme": who and who.scheme}
        except AuthRejected as exc:
            status, reply = 401, {"code": "AuthenticationFailed", "message": str(exc),
                                  "requestInfo": {}}
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _serve

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def root_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def queue(root_url: str, creds: Credentials, **options) -> taskcluster.Queue:
    credentials = {"clientId": creds.clientId, "accessToken": creds.accessToken}
    if creds.certificate:
        credentials["certificate"] = json.dumps(dict(creds.certificate))
    return taskcluster.Queue({"rootUrl": root_url, "credentials": credentials,
                              "maxRetries": 0, **options})


def test_official_client_over_http(root_url):
    assert queue(root_url, ci()).task("abc")["clientId"] == "project/ci"
    created = queue(root_url, ci()).createTask("abc", {"payload": {"x": 1}})
    assert created["clientId"] == "project/ci"
    temp = ci().create_temporary(["queue:get-task:*"], timedelta(hours=1), name="project/ci/t")
    reply = queue(root_url, temp, authorizedScopes=["queue:get-task:abc"]).task("abc")
    assert reply == {"clientId": "project/ci/t", "scopes": ["queue:get-task:abc"],
                     "scheme": "hawk"}
    with pytest.raises(taskcluster.exceptions.TaskclusterAuthFailure, match="Bad mac"):
        queue(root_url, Credentials("project/ci", OTHER)).task("abc")


def test_signed_url_over_http(root_url):
    temp = ci().create_temporary(["queue:get-artifact:*"], timedelta(hours=1))
    url = signed_url(temp, f"{root_url}/api/queue/v1/task/abc/artifacts/public%2Fa.txt?x=1")
    with httpx.Client() as client:
        reply = client.get(url)
        assert reply.status_code == 200
        assert reply.json() == {"clientId": "project/ci", "scopes": ["queue:get-artifact:*"],
                                "scheme": "bewit"}
        assert client.post(url).json()["message"] == "Unauthorized: Invalid method"


def test_temporary_credentials_dict_over_http(root_url):
    start = datetime.now(UTC)
    issued = createTemporaryCredentials("project/ci", TOKEN, start, start + timedelta(hours=1),
                                        ["queue:x"])
    client = taskcluster.Queue({"rootUrl": root_url, "credentials": issued, "maxRetries": 0})
    assert client.task("abc")["scopes"] == ["queue:x"]
