"""Credentials, temporary credentials and bewits (client side)."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import logging
import pickle
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import mohawk
import pytest
import slugid
import taskcluster

from tcdyn.credentials import (
    Credentials,
    bewit,
    createTemporaryCredentials,
    signed_url,
)
from tcdyn.errors import CredentialsError

TOKEN = "permanentTokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
START = datetime(2026, 1, 1, tzinfo=UTC)
SEED = "A" * 22 + "B" * 22


def parse_date(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def vectors(vectors_dir):
    return json.loads((vectors_dir / "temporary-credentials.json").read_text())


@pytest.fixture
def perm() -> Credentials:
    return Credentials("project/me", TOKEN)


def decode_ext(ext: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(ext))


# -- the four vectors ----------------------------------------------------------------------

@pytest.mark.parametrize("index", range(4))
def test_create_temporary_credentials_matches_vector(vectors, index):
    case = vectors[index]
    perm, expected = case["permCreds"], case["expectedTempCreds"]
    got = createTemporaryCredentials(
        perm["clientId"], perm["accessToken"], parse_date(case["start"]),
        parse_date(case["expiry"]), case["tempCredsScopes"], case["tempCredsName"] or None,
        seed=case["seed"])
    assert got == {"clientId": expected["clientId"], "accessToken": expected["accessToken"],
                   "certificate": expected["certificate"]}


@pytest.mark.parametrize("index", range(4))
def test_credentials_create_temporary_matches_vector(vectors, index):
    case = vectors[index]
    perm, expected = case["permCreds"], case["expectedTempCreds"]
    issuer = Credentials(perm["clientId"], perm["accessToken"], perm["certificate"],
                         perm["authorizedScopes"])
    temp = issuer.create_temporary(case["tempCredsScopes"], parse_date(case["expiry"]),
                                   parse_date(case["start"]), case["tempCredsName"] or None,
                                   seed=case["seed"])
    assert temp.clientId == expected["clientId"]
    assert temp.accessToken == expected["accessToken"]
    assert temp.authorizedScopes == (None if expected["authorizedScopes"] is None
                                     else tuple(expected["authorizedScopes"]))
    ext = decode_ext(temp.hawk_ext())
    assert json.dumps(ext["certificate"], separators=(",", ":")) == expected["certificate"]
    assert ext.get("authorizedScopes") == expected["authorizedScopes"]
    assert temp.expires == parse_date(case["expiry"])
    assert temp.start == parse_date(case["start"])
    assert temp.is_temporary() and not issuer.is_temporary()
    assert temp.issuer == perm["clientId"]


def test_vector_certificate_strings_are_accepted_as_input(vectors):
    for case in vectors:
        expected = case["expectedTempCreds"]
        creds = Credentials(expected["clientId"], expected["accessToken"],
                            expected["certificate"])
        assert dict(creds.certificate) == {
            **json.loads(expected["certificate"]),
            "scopes": tuple(case["tempCredsScopes"])}


# -- issuing -------------------------------------------------------------------------------

def test_default_seed_is_two_fresh_slugids(perm):
    a = perm.create_temporary(["s"], timedelta(hours=1))
    b = perm.create_temporary(["s"], timedelta(hours=1))
    for creds in (a, b):
        seed = creds.certificate["seed"]
        assert len(seed) == 44
        for half in (seed[:22], seed[22:]):
            assert str(slugid.decode(half)).count("-") == 4
    assert a.certificate["seed"] != b.certificate["seed"]
    assert a.accessToken != b.accessToken


def test_default_start_is_now_and_timedelta_is_relative(perm):
    before = datetime.now(UTC)
    temp = perm.create_temporary(["s"], timedelta(hours=2))
    assert before - timedelta(seconds=1) <= temp.start <= datetime.now(UTC)
    assert temp.expires - temp.start == timedelta(hours=2)


def test_exactly_31_days_is_allowed(perm):
    temp = perm.create_temporary(["s"], timedelta(days=31), START)
    assert temp.expires - temp.start == timedelta(days=31)


def test_naive_datetimes_are_utc(perm):
    temp = perm.create_temporary(["s"], datetime(2026, 1, 2), datetime(2026, 1, 1))
    assert temp.certificate["start"] == int(START.timestamp() * 1000)


def test_named_credentials_carry_the_issuer(perm):
    temp = perm.create_temporary(["s"], timedelta(hours=1), START, name="project/me/worker")
    assert temp.clientId == "project/me/worker"
    assert list(temp.certificate) == ["version", "scopes", "start", "expiry", "seed",
                                      "signature", "issuer"]
    assert temp.certificate["issuer"] == "project/me"
    assert temp.issuer == "project/me"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"expiry": timedelta(days=31, seconds=1)}, "at most 31 days"),
    ({"expiry": START - timedelta(seconds=1)}, "must be after start"),
    ({"expiry": START}, "must be after start"),
    ({"expiry": "tomorrow"}, "expiry must be a datetime or a timedelta, got str"),
    ({"scopes": ["ok", 3]}, r"scopes\[1\] must be a string, got int"),
    ({"scopes": ["ok", "tab\there"]}, r"scopes\[1\] .* outside printable ASCII"),
    ({"scopes": ["caf\u00e9"]}, r"scopes\[0\] .* outside printable ASCII"),
    ({"scopes": "queue:*"}, "scopes must be a list of strings, got str"),
    ({"name": "project/me"}, "must differ from the issuer"),
    ({"name": "has space"}, "name 'has space' is not a valid clientId"),
    ({"seed": "short"}, "seed must be a string of 44 characters"),
    ({"start": "2026-01-01"}, "start must be a datetime, got str"),
])
def test_create_temporary_refuses(perm, kwargs, message):
    args = {"scopes": ["s"], "expiry": timedelta(hours=1), "start": START, **kwargs}
    with pytest.raises(CredentialsError, match=message) as info:
        perm.create_temporary(**args)
    assert TOKEN not in str(info.value)


def test_no_temporary_credentials_from_temporary_ones(perm):
    temp = perm.create_temporary(["s"], timedelta(hours=1))
    with pytest.raises(CredentialsError, match="from temporary credentials"):
        temp.create_temporary(["s"], timedelta(hours=1))


def test_official_function_refuses_like_the_method():
    with pytest.raises(CredentialsError, match="at most 31 days"):
        createTemporaryCredentials("me", TOKEN, START, START + timedelta(days=32), ["s"])
    with pytest.raises(CredentialsError, match="accessToken"):
        createTemporaryCredentials("me", "", START, START + timedelta(days=1), ["s"])


def test_official_client_temporary_credentials_are_accepted():
    official = taskcluster.createTemporaryCredentials(
        "project/me", TOKEN, START, START + timedelta(hours=1), ["a", "b*"], name="other")
    creds = Credentials.coerce(official)  # bytes accessToken, str certificate
    assert creds.clientId == "other"
    assert creds.scopes == ("a", "b*")
    assert creds.issuer == "project/me"


# -- the object ----------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    ((3, TOKEN), "clientId must be a string, got int"),
    (("bad id", TOKEN), "clientId 'bad id' is not a valid clientId"),
    (("", TOKEN), "clientId '' is not a valid clientId"),
    (("me", ""), "accessToken must be a non-empty"),
    (("me", TOKEN + " "), "accessToken must be a non-empty"),
    (("me", None), "accessToken must be a string, got NoneType"),
    (("me", TOKEN, "{not json"), r"certificate is not valid JSON \(line 1, column 2\)"),
    (("me", TOKEN, ["x"]), "certificate must be a JSON object"),
    (("me", TOKEN, None, "queue:*"), "authorizedScopes must be a list of strings, got str"),
    (("me", TOKEN, None, [None]), r"authorizedScopes\[0\] must be a string"),
])
def test_constructor_validates(args, message):
    with pytest.raises(CredentialsError, match=message) as info:
        Credentials(*args)
    assert TOKEN not in str(info.value)


def cert(**changes):
    base = {"version": 1, "scopes": ["s"], "start": 1, "expiry": 2, "seed": SEED,
            "signature": "SECRETSIGNATURE="}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(("certificate", "message"), [
    (cert(version=2), "certificate.version must be 1"),
    (cert(version=True), "certificate.version must be 1"),
    (cert(start="1"), "certificate.start must be a number"),
    (cert(expiry=None), "certificate.expiry must be a number"),
    (cert(seed="x"), "certificate.seed must be 44 characters"),
    (cert(signature=5), "certificate.signature must be a string"),
    (cert(scopes="s"), "certificate.scopes must be a list of strings"),
    (cert(issuer="me"), "certificate.issuer must differ from clientId 'me'"),
    (cert(issuer="bad issuer"), "certificate.issuer 'bad issuer' is not a valid clientId"),
])
def test_certificate_is_checked_without_showing_it(certificate, message):
    with pytest.raises(CredentialsError, match=message) as info:
        Credentials("me", TOKEN, certificate)
    assert "SECRETSIGNATURE" not in str(info.value)
    with pytest.raises(CredentialsError, match=message):
        Credentials("me", TOKEN, json.dumps(certificate))


def test_empty_certificate_means_permanent():
    assert Credentials("me", TOKEN, "").certificate is None
    assert Credentials(b"me", TOKEN.encode(), b"  ").certificate is None


def test_immutable(perm):
    temp = perm.create_temporary(["s"], timedelta(hours=1), START)
    with pytest.raises(AttributeError, match="immutable"):
        perm.accessToken = "x"
    with pytest.raises(AttributeError, match="immutable"):
        del perm.clientId
    with pytest.raises(TypeError):
        temp.certificate["scopes"] = ["*"]
    assert isinstance(temp.certificate["scopes"], tuple)


def test_equality_hash_pickle_copy(perm):
    same = Credentials("project/me", TOKEN)
    other = Credentials("project/me", TOKEN[:-1] + "B")
    assert perm == same and hash(perm) == hash(same)
    assert perm != other
    assert len({perm, same, other}) == 2
    temp = perm.create_temporary(["s"], timedelta(hours=1), START).with_authorized_scopes(["s"])
    for clone in (pickle.loads(pickle.dumps(temp)), copy.copy(temp), copy.deepcopy(temp)):
        assert clone == temp and clone.hawk_ext() == temp.hawk_ext()


def test_repr_shows_what_matters_and_no_secret(perm):
    temp = perm.create_temporary(["s"], timedelta(hours=1), START, name="project/me/x")
    limited = temp.with_authorized_scopes(["s"])
    assert repr(perm) == "Credentials(clientId='project/me')"
    assert repr(limited) == ("Credentials(clientId='project/me/x', temporary, "
                             "issuer='project/me', expires 2026-01-01T01:00:00Z, "
                             "authorizedScopes=['s'])")
    for creds in (perm, temp, limited):
        for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
            assert TOKEN not in text
            assert creds.accessToken not in text
            if creds.certificate:
                assert creds.certificate["signature"] not in text


# -- ext and Hawk --------------------------------------------------------------------------

def test_hawk_ext(perm):
    assert perm.hawk_ext() is None
    limited = perm.with_authorized_scopes(["a", "b"])
    assert decode_ext(limited.hawk_ext()) == {"authorizedScopes": ["a", "b"]}
    assert perm.with_authorized_scopes([]).hawk_ext() is not None  # [] restricts to nothing
    temp = perm.create_temporary(["s"], timedelta(hours=1), START).with_authorized_scopes(["s"])
    raw = base64.urlsafe_b64decode(temp.hawk_ext()).decode()
    assert raw.startswith('{"certificate":{"version":1,"scopes":["s"],')
    assert raw.endswith('},"authorizedScopes":["s"]}')
    assert " " not in raw
    assert temp.hawk_ext() is temp.hawk_ext()  # computed once
    assert temp.with_authorized_scopes(None).hawk_ext() != temp.hawk_ext()


def test_hawk_ext_equals_official_client(perm):
    temp = perm.create_temporary(["a", "b*"], timedelta(hours=1), START)
    for creds, options in (
        (temp, {}),
        (temp.with_authorized_scopes(["a"]), {"authorizedScopes": ["a"]}),
        (perm.with_authorized_scopes(["x", "y"]), {"authorizedScopes": ["x", "y"]}),
    ):
        cert_text = json.dumps(dict(creds.certificate), separators=(",", ":")) \
            if creds.certificate else None
        client = taskcluster.Queue({
            "rootUrl": "https://tc.example.com",
            "credentials": {"clientId": creds.clientId, "accessToken": creds.accessToken,
                            **({"certificate": cert_text} if cert_text else {})},
            **options})
        assert creds.hawk_ext() == client.makeHawkExt().decode()


def test_hawk_credentials_is_a_fresh_dict(perm):
    first = perm.hawk_credentials()
    assert first == {"id": "project/me", "key": TOKEN, "algorithm": "sha256"}
    first["id"] = "changed"
    assert perm.hawk_credentials()["id"] == "project/me"


def test_mohawk_debug_logs_carry_no_secret(perm, caplog):
    temp = perm.create_temporary(["s"], timedelta(hours=1))
    with caplog.at_level(logging.DEBUG):
        sender = mohawk.Sender(temp.hawk_credentials(), "https://tc.example.com/x", "POST",
                               content=b"{}", content_type="application/json",
                               ext=temp.hawk_ext())
        bewit(temp, "https://tc.example.com/x", 60)
    mac = re.search(r'mac="([^"]+)"', sender.request_header).group(1)
    for secret in (TOKEN, temp.accessToken, temp.certificate["signature"], mac,
                   temp.hawk_ext()):
        assert secret not in caplog.text


# -- expiry --------------------------------------------------------------------------------

def test_expiry(perm):
    temp = perm.create_temporary(["s"], timedelta(hours=1), START)
    assert perm.expires is None and not perm.is_expired()
    assert temp.expires == START + timedelta(hours=1)
    assert not temp.is_expired(START)
    assert temp.is_expired(START + timedelta(hours=1))
    assert temp.is_expired(START + timedelta(minutes=59), margin=timedelta(minutes=5))
    assert temp.is_expired(START.timestamp() + 3540, margin=120)
    assert not temp.is_expired(START.timestamp() + 3540)
    assert temp.is_expired() == (datetime.now(UTC) >= temp.expires)
    with pytest.raises(CredentialsError, match="margin"):
        temp.is_expired(START, margin="5m")


# -- environment and coercion --------------------------------------------------------------

def test_from_env():
    assert Credentials.from_env({}) is None
    assert Credentials.from_env({"TASKCLUSTER_CLIENT_ID": "", "TASKCLUSTER_ACCESS_TOKEN": ""}) \
        is None
    creds = Credentials.from_env({"TASKCLUSTER_CLIENT_ID": "me",
                                  "TASKCLUSTER_ACCESS_TOKEN": TOKEN})
    assert creds == Credentials("me", TOKEN)
    issued = createTemporaryCredentials("me", TOKEN, START, START + timedelta(hours=1), ["s"])
    temp = Credentials.from_env({"TASKCLUSTER_CLIENT_ID": issued["clientId"],
                                 "TASKCLUSTER_ACCESS_TOKEN": issued["accessToken"],
                                 "TASKCLUSTER_CERTIFICATE": issued["certificate"]})
    assert temp.is_temporary() and temp.scopes == ("s",)


def test_from_env_reads_os_environ(monkeypatch):
    monkeypatch.setenv("TASKCLUSTER_CLIENT_ID", "from/os")
    monkeypatch.setenv("TASKCLUSTER_ACCESS_TOKEN", TOKEN)
    monkeypatch.delenv("TASKCLUSTER_CERTIFICATE", raising=False)
    assert Credentials.from_env().clientId == "from/os"


@pytest.mark.parametrize(("env", "message"), [
    ({"TASKCLUSTER_CLIENT_ID": "me"}, "TASKCLUSTER_ACCESS_TOKEN is not set"),
    ({"TASKCLUSTER_ACCESS_TOKEN": TOKEN}, "TASKCLUSTER_CLIENT_ID is not set"),
    ({"TASKCLUSTER_CERTIFICATE": "{}"}, "TASKCLUSTER_CERTIFICATE is set but"),
    ({"TASKCLUSTER_CLIENT_ID": "me", "TASKCLUSTER_ACCESS_TOKEN": TOKEN,
      "TASKCLUSTER_CERTIFICATE": "{"}, "from the environment: certificate is not valid JSON"),
])
def test_from_env_refuses_half_set(env, message):
    with pytest.raises(CredentialsError, match=message) as info:
        Credentials.from_env(env)
    assert TOKEN not in str(info.value)


def test_coerce(perm):
    assert Credentials.coerce(None) is None
    assert Credentials.coerce(perm) is perm
    assert Credentials.coerce({"clientId": "project/me", "accessToken": TOKEN}) == perm
    assert Credentials.coerce({"clientId": b"project/me", "accessToken": TOKEN.encode()}) == perm
    assert Credentials.coerce({"clientId": None, "accessToken": None}) is None
    assert Credentials.coerce({}) is None
    limited = Credentials.coerce({"clientId": "project/me", "accessToken": TOKEN,
                                  "authorizedScopes": ["a"]})
    assert limited.authorizedScopes == ("a",)


@pytest.mark.parametrize(("value", "message"), [
    ({"clientId": "me"}, "credentials dict is missing accessToken"),
    ({"accessToken": TOKEN}, "credentials dict is missing clientId"),
    ({"clientID": "me", "accessToken": TOKEN}, r"unknown keys \['clientID'\]"),
    ({"certificate": "{}"}, "no clientId and accessToken"),
    (("me", TOKEN), "got tuple"),
    ("me:token", "got str"),
])
def test_coerce_refuses(value, message):
    with pytest.raises(CredentialsError, match=message) as info:
        Credentials.coerce(value)
    assert TOKEN not in str(info.value)


def test_a_provider_is_called_each_time(perm):
    from tcdyn.call.options import credentials_source

    tokens = iter([TOKEN, TOKEN[:-1] + "Z"])
    calls = []

    def provider():
        calls.append(1)
        return {"clientId": "rotating", "accessToken": next(tokens)}

    source = credentials_source(provider, None)
    first, second = source(), source()
    assert len(calls) == 2
    assert first.accessToken == TOKEN and second.accessToken == TOKEN[:-1] + "Z"
    assert credentials_source(perm, None)() is perm and credentials_source(None, None) is None
    assert credentials_source(lambda: None, None)() is None
    with pytest.raises(CredentialsError, match="got int"):
        credentials_source(lambda: 42, None)()


def test_async_provider(perm):
    import tcdyn
    from tcdyn.call.options import credentials_source

    async def provider():
        return perm

    with pytest.raises(CredentialsError, match="the credentials provider is async"):
        tcdyn.Queue(rootUrl="https://tc.example.com", credentials=provider).credentials  # noqa: B018

    async def awaited(value):
        return await credentials_source(value, None)()

    assert asyncio.run(awaited(provider)) is perm


# -- bewits --------------------------------------------------------------------------------

def decode_bewit(value: str) -> list[str]:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode().split("\\")


def test_bewit_shape(perm):
    temp = perm.create_temporary(["s"], timedelta(hours=1))
    value = bewit(temp, "https://tc.example.com/api/queue/v1/task/x", 900, now=1_000_000)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", value)
    client_id, exp, mac, ext = decode_bewit(value)
    assert (client_id, exp, ext) == (temp.clientId, "1000900", temp.hawk_ext())
    assert len(base64.b64decode(mac)) == 32
    plain = decode_bewit(bewit(perm, "https://tc.example.com/x", 10.7, now=5))
    assert plain[0] == "project/me" and plain[1] == "15" and plain[3] == ""


def test_bewit_equals_official_client(perm):
    temp = perm.create_temporary(["queue:get-artifact:*"], timedelta(hours=1))
    limited = temp.with_authorized_scopes(["queue:get-artifact:public/*"])
    for creds, options in ((temp, {}), (limited, {"authorizedScopes": list(
            limited.authorizedScopes or ())})):
        client = taskcluster.Queue({
            "rootUrl": "https://tc.example.com",
            "credentials": {"clientId": creds.clientId, "accessToken": creds.accessToken,
                            "certificate": json.dumps(dict(creds.certificate))},
            **options})
        for _ in range(5):  # both must be built within the same second
            second = int(time.time())
            official = client.buildSignedUrl("getLatestArtifact", "abc", "public/a.txt")
            ours = signed_url(creds, official.split("?bewit=")[0])
            if int(time.time()) == second:
                break
        assert ours == official


def test_signed_url_separator(perm):
    assert "/x?bewit=" in signed_url(perm, "https://tc.example.com/x")
    assert "/x?a=1&bewit=" in signed_url(perm, "https://tc.example.com/x?a=1", 60)


@pytest.mark.parametrize(("url", "expiration", "message"), [
    ("/relative/path", 60, "must be an absolute http"),
    ("ftp://tc.example.com/x", 60, "must be an absolute http"),
    ("https://tc.example.com/x#frag", 60, "must not have a fragment"),
    ("https://tc.example.com/x?bewit=abc", 60, "already carries a bewit"),
    (b"https://tc.example.com/x", 60, "url must be a string, got bytes"),
    ("https://tc.example.com/x", 0, "expiration must be a positive number"),
    ("https://tc.example.com/x", "900", "expiration must be a positive number"),
])
def test_bewit_refuses(perm, url, expiration, message):
    with pytest.raises(CredentialsError, match=message):
        bewit(perm, url, expiration)


def test_bewit_needs_credentials():
    with pytest.raises(CredentialsError, match="credentials must be a Credentials, got dict"):
        bewit({"clientId": "me", "accessToken": TOKEN}, "https://tc.example.com/x", 60)


def test_modules_import_nothing_heavy():
    code = ("import sys, tcdyn.credentials, tcdyn.scopes, tcdyn.utils, tcdyn.testing.auth; "
            "print(sorted(m for m in ('jsonschema', 'aio_pika', 'referencing') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
