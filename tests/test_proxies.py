"""Issue 18 item 10 / issue 20 item 3: one proxy rule (``tcdyn.proxies``) for every HTTP
client tcdyn creates, sync and async: API calls (httpcore, httpx and aiohttp transports),
uploads and downloads, reference fetching (``tcdyn.load``) and the command.

Proven with real recording forward proxies on loopback (``proxying.RecordingProxy``): every
path, for a table of environments (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, lower case,
CIDR and port forms), goes where the rule says; ``https://`` goes through CONNECT; Hawk
credentials go only with requests for the rootUrl; a proxy's own credentials reach the proxy
and never an error message or a log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import uuid

import httpx
import pytest

import tcdyn
from helpers import CREDS, SECRET
from proxying import RecordingProxy, TLSFront, make_certificate
from tcdyn.errors import ProxyConfigurationError
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.objects import InMemoryObjects, Storage
from tcdyn.testing.server import LocalDeployment
from tcdyn.transfer import hosts as tr
from tcdyn.transport import clients, tls
from tcdyn.transport.proxies import ProxyRule

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD")
#: The proxy's own password: it must reach the proxy and nothing else.
PROXY_PASSWORD = "pr0xy-pa55word-never-shown"
PROXY_CREDENTIALS = ("proxy-user", PROXY_PASSWORD + "@:/")  # needs percent-encoding
EXPIRES = "2100-01-01T00:00:00.000Z"


def _clean(monkeypatch, **env: str) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


# -- the rule itself ------------------------------------------------------------------------

P, Q = "http://p.example:3128", "http://q.example:3128"
RULES = [
    # (environment, URL, the proxy chosen or None)
    ({"HTTP_PROXY": P}, "http://tc.example.com", P),
    ({"HTTP_PROXY": P}, "https://tc.example.com", None),
    ({"HTTPS_PROXY": P}, "https://tc.example.com", P),
    ({"https_proxy": P, "HTTPS_PROXY": Q}, "https://tc.example.com", P),
    ({"http_proxy": "", "HTTP_PROXY": P}, "http://tc.example.com", None),
    ({"http_proxy": "", "HTTP_PROXY": P, "ALL_PROXY": Q}, "http://tc.example.com", Q),
    ({"ALL_PROXY": Q}, "https://tc.example.com", Q),
    ({"all_proxy": Q}, "http://tc.example.com", Q),
    ({"HTTPS_PROXY": P, "ALL_PROXY": Q}, "https://x", P),
    ({"HTTPS_PROXY": P, "ALL_PROXY": Q}, "http://x", Q),
    ({"HTTP_PROXY": "p.example:3128"}, "http://x", P),
    ({"HTTP_PROXY": "p.example"}, "http://x", "http://p.example:80"),
    ({"HTTPS_PROXY": "https://p.example"}, "https://x", "https://p.example:443"),
    ({"HTTP_PROXY": "HTTP://P.Example:3128/"}, "http://x", P),
    ({"HTTP_PROXY": P, "REQUEST_METHOD": "GET"}, "http://x", None),  # httpoxy
    ({"http_proxy": P, "REQUEST_METHOD": "GET"}, "http://x", P),
    ({"HTTP_PROXY": P, "NO_PROXY": "*"}, "http://x", None),
    ({"HTTP_PROXY": P, "NO_PROXY": "a, *"}, "http://x", None),
    ({"HTTP_PROXY": P, "NO_PROXY": "example.com"}, "http://example.com", None),
    ({"HTTP_PROXY": P, "NO_PROXY": "example.com"}, "http://a.b.example.com", None),
    ({"HTTP_PROXY": P, "NO_PROXY": "example.com"}, "http://notexample.com", P),
    ({"HTTP_PROXY": P, "NO_PROXY": ".example.com"}, "http://example.com", None),
    ({"HTTP_PROXY": P, "NO_PROXY": "*.example.com"}, "http://www.example.com", None),
    ({"HTTP_PROXY": P, "NO_PROXY": "EXAMPLE.com"}, "http://www.Example.COM.", None),
    ({"HTTP_PROXY": P, "no_proxy": "a.test b.test"}, "http://b.test", None),
    ({"HTTP_PROXY": P, "no_proxy": "", "NO_PROXY": "*"}, "http://x", P),
    ({"HTTP_PROXY": P, "NO_PROXY": "10.0.0.0/8"}, "http://10.20.30.40:8080", None),
    ({"HTTP_PROXY": P, "NO_PROXY": "10.0.0.0/8"}, "http://11.0.0.1", P),
    ({"HTTP_PROXY": P, "NO_PROXY": "10.0.0.0/8"}, "http://10.example", P),
    ({"HTTP_PROXY": P, "NO_PROXY": "192.168.1.7"}, "http://192.168.1.7", None),
    ({"HTTP_PROXY": P, "NO_PROXY": "0.1"}, "http://10.0.0.1", P),  # no suffix on addresses
    ({"HTTP_PROXY": P, "NO_PROXY": "fd00::/8"}, "http://[fd12::1]:80", None),
    ({"HTTP_PROXY": P, "NO_PROXY": "::1"}, "http://[::1]:5000", None),
    ({"HTTP_PROXY": P, "NO_PROXY": "[::1]:5000"}, "http://[::1]:5000", None),
    ({"HTTP_PROXY": P, "NO_PROXY": "[::1]:5000"}, "http://[::1]:5001", P),
    ({"HTTP_PROXY": P, "NO_PROXY": "example.com:8443"}, "http://example.com:8443", None),
    ({"HTTP_PROXY": P, "NO_PROXY": "example.com:8443"}, "http://example.com", P),
    ({"HTTP_PROXY": P, "NO_PROXY": "example.com:80"}, "http://example.com", None),
    ({"HTTPS_PROXY": P, "NO_PROXY": "example.com:443"}, "https://example.com", None),
    ({"HTTP_PROXY": P, "NO_PROXY": "10.0.0.0/8:81"}, "http://10.1.1.1:81", None),
    ({"HTTP_PROXY": P, "NO_PROXY": "10.0.0.0/8:81"}, "http://10.1.1.1", P),
]


@pytest.mark.parametrize(("env", "url", "expected"), RULES)
def test_the_rule(env, url, expected):
    proxy = ProxyRule(env).proxy_for_url(url)
    assert (proxy.url if proxy else None) == expected


def test_proxy_credentials_are_decoded_and_never_shown():
    rule = ProxyRule({"HTTPS_PROXY": f"http://u%C3%A9:{PROXY_PASSWORD}%40x@proxy.test:8"})
    proxy = rule.proxy_for_url("https://tc.example.com")
    assert proxy is not None and proxy.url == "http://proxy.test:8"
    assert proxy.auth == ("ué".encode(), f"{PROXY_PASSWORD}@x".encode())
    assert PROXY_PASSWORD not in repr(proxy) + repr(rule) + str(proxy)
    assert "with credentials" in repr(proxy)


@pytest.mark.parametrize("value", [
    f"socks5://u:{PROXY_PASSWORD}@proxy.test:1080", f"http://u:{PROXY_PASSWORD}@proxy.test:x",
    f"http://u:{PROXY_PASSWORD}@[bad", f"ftp://u:{PROXY_PASSWORD}@proxy.test",
    f"http://u%3Av:{PROXY_PASSWORD}@proxy.test"])
def test_an_unusable_proxy_is_a_typed_error_naming_the_variable(value):
    rule = ProxyRule({"ALL_PROXY": value, "NO_PROXY": "direct.test"})
    assert rule.proxy_for_url("https://direct.test") is None  # not needed: no error
    with pytest.raises(ProxyConfigurationError) as info:
        rule.proxy_for_url("https://tc.example.com")
    assert "ALL_PROXY" in str(info.value) and PROXY_PASSWORD not in str(info.value)
    assert isinstance(info.value, (tcdyn.TaskclusterFailure, ValueError))


# -- a world to reach through proxies -----------------------------------------------------------

@pytest.fixture(scope="module")
def world(deployment_dir):
    """A deployment (Hawk checked) with an object service over a loopback storage host, and
    two recording proxies: ``first`` requires the proxy credentials, ``second`` none."""
    clients = {"tester": ClientRecord(SECRET, ("*",))}
    with Storage() as storage, LocalDeployment(deployment_dir, clients=clients) as dep, \
            RecordingProxy(PROXY_CREDENTIALS) as first, RecordingProxy() as second:
        InMemoryObjects(storage).install(dep)
        yield dep, storage, first, second


@pytest.fixture
def proxies(world):
    dep, storage, first, second = world
    first.clear()
    second.clear()
    storage.seen.clear()
    dep.requests.clear()
    return first, second


def _route(mark: str, first: RecordingProxy, second: RecordingProxy) -> str:
    """Which proxy saw the request whose URL holds ``mark`` ("direct": neither)."""
    seen = [name for name, proxy in (("first", first), ("second", second))
            for passed in proxy.passed if mark in passed.target]
    assert len(seen) <= 1, seen
    return seen[0] if seen else "direct"


class _Unsigned(httpx.Auth):
    """A user's ``auth=``: clients then send with httpx (``HttpxTransport`` /
    ``AsyncHttpxTransport``) instead of httpcore's pool or aiohttp."""

    def auth_flow(self, request):
        yield request


def _api(kind: str, root: str, mark: str) -> None:
    """One API call with each transport tcdyn makes for a client."""
    options = {"rootUrl": root, "maxRetries": 0, "validate": False}
    if kind.endswith("-httpx"):
        options.update(credentials=None, auth=_Unsigned())
    else:
        options["credentials"] = CREDS
    if kind.startswith("sync"):
        with tcdyn.Queue(**options) as queue:
            assert type(queue._transport).__name__ == (
                "HttpxTransport" if kind.endswith("-httpx") else "PoolTransport")
            assert queue.task(mark)["params"] == {"taskId": mark}
        return

    async def call() -> None:
        async with tcdyn.aio.Queue(**options) as queue:
            assert type(queue._transport).__name__ == (
                "AsyncHttpxTransport" if kind.endswith("-httpx") else "AiohttpTransport")
            assert (await queue.task(mark))["params"] == {"taskId": mark}

    asyncio.run(call())


def _storage_get(kind: str, root: str, mark: str) -> None:
    """A GET with each storage client the transfers make (sync: ``sync_storage.SYNC``;
    async PUT: ``clients.async_client``; async GET: ``aio_storage.AsyncStorage``)."""
    url = f"{root}/api/queue/v1/task/{mark}"
    if kind == "storage-sync":
        from tcdyn.transfer.flavours import run
        from tcdyn.transfer.sync_storage import SYNC

        async def sync_get() -> None:  # its awaits never wait: run without a loop
            async with SYNC.storage(10) as storage, storage.get(
                    url, SYNC.limit(None, "GET")) as answer:
                assert answer.status == 200
                body = b"".join([chunk async for chunk in answer.raw])
                assert json.loads(body)["params"] == {"taskId": mark}

        run(sync_get())
        return
    from tcdyn.transfer import aio_storage

    async def get() -> None:
        if kind == "storage-async-put":
            async with clients.async_client(**tr.client_kwargs(10)) as client:
                answer = (await client.get(url)).raise_for_status()
                assert answer.json()["params"] == {"taskId": mark}
            return
        async with aio_storage.AsyncStorage(10) as getter, getter.get(url, None) as answer:
            assert answer.status == 200
            body = b"".join([chunk async for chunk in answer.raw])
            assert json.loads(body)["params"] == {"taskId": mark}

    asyncio.run(get())


def _load(kind: str, root: str, mark: str) -> None:
    """``tcdyn.load`` fetching a deployment's references (marked by a query in the rootUrl
    path: the deployment serves ``/references/...`` under any rootUrl it is given)."""
    deployment = tcdyn.load(root, refresh=True)
    assert deployment.Queue.serviceName == "queue"


PROBES = {kind: _api for kind in ("sync", "sync-httpx", "async", "async-httpx")}
PROBES.update({kind: _storage_get for kind in
               ("storage-sync", "storage-async-put", "storage-async-get")})


def _environments(first: RecordingProxy, second: RecordingProxy, port: int):
    """(environment, route to 127.0.0.1, route to localhost) for the same server."""
    a, b = first.url, second.url
    return [
        ({"HTTP_PROXY": a}, "first", "first"),
        ({"http_proxy": a, "HTTP_PROXY": b}, "first", "first"),
        ({"http_proxy": "", "HTTP_PROXY": a}, "direct", "direct"),
        ({"ALL_PROXY": b}, "second", "second"),
        ({"all_proxy": b, "ALL_PROXY": a}, "second", "second"),
        ({"HTTP_PROXY": a, "ALL_PROXY": b}, "first", "first"),
        ({"HTTPS_PROXY": a}, "direct", "direct"),
        ({"https_proxy": a, "all_proxy": b}, "second", "second"),
        ({"HTTP_PROXY": b.removeprefix("http://")}, "second", "second"),
        ({"HTTP_PROXY": a, "NO_PROXY": "localhost"}, "first", "direct"),
        ({"HTTP_PROXY": a, "no_proxy": ".localhost"}, "first", "direct"),
        ({"HTTP_PROXY": a, "NO_PROXY": "*.localhost"}, "first", "direct"),
        ({"HTTP_PROXY": a, "NO_PROXY": "calhost"}, "first", "first"),
        ({"HTTP_PROXY": a, "NO_PROXY": "10.0.0.0/8, 127.0.0.0/8"}, "direct", "first"),
        ({"HTTP_PROXY": a, "NO_PROXY": "127.0.0.1"}, "direct", "first"),
        ({"HTTP_PROXY": a, "NO_PROXY": f"127.0.0.1:{port}"}, "direct", "first"),
        ({"HTTP_PROXY": a, "NO_PROXY": f"127.0.0.1:1,LOCALHOST:{port}"}, "first", "direct"),
        ({"HTTP_PROXY": a, "NO_PROXY": "*"}, "direct", "direct"),
        ({"HTTP_PROXY": a, "no_proxy": "", "NO_PROXY": "*"}, "first", "first"),
        ({"HTTP_PROXY": a, "REQUEST_METHOD": "GET"}, "direct", "direct"),
        ({"http_proxy": b, "REQUEST_METHOD": "GET"}, "second", "second"),
    ]


@pytest.mark.parametrize("probe", [*PROBES, "load"])
def test_every_client_goes_where_the_one_rule_says(world, proxies, monkeypatch, probe):
    """Sync and async, API calls, storage clients and the reference fetcher choose the same
    proxy (or none) for the same environment, as ``ProxyRule`` decides."""
    dep, _, first, second = world
    port = int(dep.root_url.rsplit(":", 1)[1])
    hosts = {"127.0.0.1": f"http://127.0.0.1:{port}", "localhost": f"http://localhost:{port}"}
    problems = []
    for n, (env, *routes) in enumerate(_environments(first, second, port)):
        _clean(monkeypatch, **env)
        for (host, root), expected in zip(hosts.items(), routes, strict=True):
            mark = f"{probe}-{n}-{host}-{uuid.uuid4().hex[:8]}"
            rule = ProxyRule().proxy_for_url(root)
            by_rule = "direct" if rule is None else {first.port: "first",
                                                     second.port: "second"}[rule.port]
            if probe == "load":
                before = (len(first.passed), len(second.passed))
                _load(probe, root, mark)
                went = [name for name, proxy, count in (("first", first, before[0]),
                                                        ("second", second, before[1]))
                        if len(proxy.passed) > count]
                route = went[0] if len(went) == 1 else "direct" if not went else str(went)
            else:
                PROBES[probe](probe, root, mark)
                route = _route(mark, first, second)
            if not route == expected == by_rule:
                problems.append((env, host, f"went {route}", f"expected {expected}",
                                 f"rule {by_rule}"))
    assert problems == []


# -- every public path through a proxy, credentials where they belong ---------------------------

def _upload(flavour: str, root: str, name: str, data: bytes) -> None:
    if flavour == "sync":
        with tcdyn.Object(rootUrl=root, credentials=CREDS, maxRetries=0) as obj:
            tcdyn.upload.uploadFromBuf(projectId="p", name=name, contentType="a/b",
                                       contentLength=len(data), expires=EXPIRES,
                                       objectService=obj, data=data)
        return

    async def main() -> None:
        async with tcdyn.aio.Object(rootUrl=root, credentials=CREDS, maxRetries=0) as obj:
            await tcdyn.aio.upload.uploadFromBuf(projectId="p", name=name, contentType="a/b",
                                                 contentLength=len(data), expires=EXPIRES,
                                                 objectService=obj, data=data)

    asyncio.run(main())


def _download(flavour: str, root: str, name: str) -> bytes:
    if flavour == "sync":
        with tcdyn.Object(rootUrl=root, credentials=CREDS, maxRetries=0) as obj:
            return bytes(tcdyn.download.downloadToBuf(name=name, objectService=obj)[0])

    async def main() -> bytes:
        async with tcdyn.aio.Object(rootUrl=root, credentials=CREDS, maxRetries=0) as obj:
            got, _ = await tcdyn.aio.download.downloadToBuf(name=name, objectService=obj)
            return bytes(got)

    return asyncio.run(main())


def _put_and_get(flavour: str, root: str, name: str, data: bytes) -> bytes:
    _upload(flavour, root, name, data)
    return _download(flavour, root, name)


def _check_credentials(passed, root_host: str) -> None:
    """Hawk only on requests for the rootUrl's host; the proxy's credentials on all."""
    assert passed
    for request in passed:
        assert request.headers.get("proxy-authorization", "").startswith("Basic "), request
        if request.host != root_host:
            assert "authorization" not in request.headers, request
            assert SECRET not in json.dumps(request.headers)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_api_upload_and_download_go_through_the_proxy(world, proxies, monkeypatch, caplog,
                                                       flavour):
    dep, storage, first, _ = world
    _clean(monkeypatch, HTTP_PROXY=first.url)
    caplog.set_level(logging.DEBUG)
    data = os.urandom(100_000)  # above the inline limit: a PUT and a GET on storage
    name = f"proxied/{flavour}"
    assert _put_and_get(flavour, dep.root_url, name, data) == data
    _api(flavour, dep.root_url, f"api-{flavour}")
    root_host = dep.root_url.removeprefix("http://")
    storage_host = storage.base_url.removeprefix("http://")
    methods = sorted({(p.method, p.host == storage_host) for p in first.passed})
    assert methods == [("GET", False), ("GET", True), ("POST", False), ("PUT", False),
                       ("PUT", True)]  # API: PUT createUpload... storage: PUT, GET
    assert {p.host for p in first.passed} == {root_host, storage_host}
    assert all(p.target.startswith("http://") for p in first.passed)  # absolute form
    assert all(r.client_id == "tester" for r in dep.requests)  # Hawk still checks out
    _check_credentials(first.passed, root_host)
    assert not [s for s in storage.seen if "proxy-authorization" in
                {k.lower() for k in s.headers}]  # the proxy keeps its credentials
    assert PROXY_PASSWORD not in caplog.text


def test_load_goes_through_the_proxy(world, proxies, monkeypatch, caplog):
    dep, _, first, _ = world
    _clean(monkeypatch, HTTP_PROXY=first.url)
    caplog.set_level(logging.DEBUG)
    assert tcdyn.load(dep.root_url, refresh=True).Queue.serviceName == "queue"
    assert {p.target.split("/references/")[0] for p in first.passed} == {dep.root_url}
    _check_credentials(first.passed, "-")  # no credentials sent for references at all
    assert PROXY_PASSWORD not in caplog.text


def _command(*args: str, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TASKCLUSTER_")
            and k.upper() not in PROXY_VARIABLES}
    base.update(TCDYN_CONFIG=str(tmp_path / "none.toml"), TCDYN_CACHE_DIR=str(tmp_path),
                **env)
    return subprocess.run([sys.executable, "-m", "tcdyn", *args], env=base,
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_the_command_goes_through_the_proxy(world, proxies, tmp_path):
    dep, storage, first, _ = world
    data = b"artifact bytes through the proxy"
    storage.objects["cmd/object"] = (data, "text/plain")
    dep.handle("queue", "latestArtifact", lambda req: {"storageType": "s3",
                                                       "url": storage.url("cmd/object")})
    env = {"TASKCLUSTER_ROOT_URL": dep.root_url, "TASKCLUSTER_CLIENT_ID": "tester",
           "TASKCLUSTER_ACCESS_TOKEN": SECRET, "HTTP_PROXY": first.url,
           "NO_PROXY": "10.0.0.0/8"}  # a CIDR form, which httpx's own rule does not read
    try:
        api = _command("api", "queue", "task", "via-proxy", env=env, tmp_path=tmp_path)
        assert api.returncode == 0, api.stderr
        assert json.loads(api.stdout)["clientId"] == "tester"
        got = _command("artifact", "get", "t", "public/x", env=env, tmp_path=tmp_path)
        assert got.returncode == 0, got.stderr
        assert got.stdout == data.decode()
    finally:
        dep.reset()
        InMemoryObjects(storage).install(dep)
    targets = [p.target for p in first.passed]
    assert any("/api/queue/v1/task/via-proxy" in t for t in targets)
    assert any("/bucket/cmd%2Fobject" in t for t in targets)
    _check_credentials(first.passed, dep.root_url.removeprefix("http://"))
    refused = _command("api", "queue", "task", "x", tmp_path=tmp_path, env={
        **env, "HTTP_PROXY": f"socks5://u:{PROXY_PASSWORD}@127.0.0.1:1"})
    assert refused.returncode == 2 and "HTTP_PROXY" in refused.stderr
    assert PROXY_PASSWORD not in refused.stderr + refused.stdout


# -- https through CONNECT ---------------------------------------------------------------------

class _FrontedDeployment(LocalDeployment):
    front: TLSFront | None = None

    @property
    def root_url(self) -> str:
        if self.front is None:
            return super().root_url
        return f"https://127.0.0.1:{self.front.port}"


class _FrontedStorage(Storage):
    front: TLSFront | None = None

    @property
    def base_url(self) -> str:
        if self.front is None:
            return super().base_url
        return f"https://127.0.0.1:{self.front.port}"

    @property
    def plain_port(self) -> int:
        return int(super().base_url.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def tls_world(deployment_dir, tmp_path_factory):
    cert, key = make_certificate(tmp_path_factory.mktemp("tls"))
    clients = {"tester": ClientRecord(SECRET, ("*",))}
    with _FrontedStorage() as storage, \
            _FrontedDeployment(deployment_dir, clients=clients) as dep, \
            TLSFront(int(dep.root_url.rsplit(":", 1)[1]), cert, key) as dep_front, \
            TLSFront(storage.plain_port, cert, key) as storage_front, \
            RecordingProxy(PROXY_CREDENTIALS) as proxy:
        dep.front, storage.front = dep_front, storage_front
        InMemoryObjects(storage).install(dep)
        yield dep, storage, proxy, cert


@pytest.fixture
def trusted(tls_world, monkeypatch):
    """The shared SSL context, made anew, trusting the test certificate."""
    monkeypatch.setattr(tls, "_ssl", None)
    tls.shared_ssl_context().load_verify_locations(tls_world[3])


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_https_goes_through_connect(tls_world, trusted, monkeypatch, caplog, flavour):
    dep, storage, proxy, _ = tls_world
    proxy.clear()
    _clean(monkeypatch, HTTPS_PROXY=proxy.url, HTTP_PROXY="http://127.0.0.1:9")
    caplog.set_level(logging.DEBUG)
    data = os.urandom(50_000)
    assert _put_and_get(flavour, dep.root_url, f"tls/{flavour}", data) == data
    _api(flavour, dep.root_url, f"tls-{flavour}")
    _api(f"{flavour}-httpx", dep.root_url, f"tls-{flavour}-httpx")
    if flavour == "sync":
        assert tcdyn.load(dep.root_url, refresh=True).Queue.serviceName == "queue"
    hosts = {dep.root_url.removeprefix("https://"), storage.base_url.removeprefix("https://")}
    assert {p.method for p in proxy.passed} == {"CONNECT"}
    assert {p.target for p in proxy.passed} == hosts
    assert all(p.headers["proxy-authorization"].startswith("Basic ") for p in proxy.passed)
    assert PROXY_PASSWORD not in caplog.text


# -- failures name the proxy, never its credentials --------------------------------------------

def _failures(dep, monkeypatch, tmp_path, proxy_url: str) -> list[BaseException]:
    """The error of each public path (API calls with each transport, upload, download,
    load) when ``proxy_url`` is the one proxy; uploads and downloads with only the storage
    host behind it (the API calls before them reach the deployment directly)."""
    errors: list[BaseException] = []

    def catch(fn) -> None:
        try:
            fn()
        except Exception as exc:
            errors.append(exc)
        else:
            errors.append(AssertionError(f"{fn} did not fail"))

    root = dep.root_url
    kept = f"kept/{uuid.uuid4().hex}"
    _clean(monkeypatch)
    for flavour in ("sync", "async"):
        _upload(flavour, root, f"{kept}/{flavour}", b"k" * 10000)
    monkeypatch.setenv("TCDYN_CACHE_DIR", str(tmp_path / uuid.uuid4().hex))  # nothing cached
    _clean(monkeypatch, HTTP_PROXY=proxy_url)
    for kind in ("sync", "async", "sync-httpx", "async-httpx"):
        catch(lambda kind=kind: _api(kind, root, "x"))
    catch(lambda: tcdyn.load(root, refresh=True))
    _clean(monkeypatch, HTTP_PROXY=proxy_url, NO_PROXY=root.removeprefix("http://"))
    for flavour in ("sync", "async"):
        catch(lambda flavour=flavour: _upload(flavour, root, f"{kept}/x/{flavour}",
                                              b"y" * 10000))
        catch(lambda flavour=flavour: _download(flavour, root, f"{kept}/{flavour}"))
    return errors


def _texts(errors: list[BaseException]) -> str:
    """Everything an error shows: messages, reprs, causes, and the requests httpx
    exceptions carry."""
    out, seen = [], set()
    todo = list(errors)
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        out.append(f"{type(exc).__name__}: {exc!s} {exc!r}")
        request = getattr(exc, "_request", None)
        if request is not None:
            out.append(f"{request.url} {dict(request.headers)}")
        todo += [exc.__cause__, exc.__context__, getattr(exc, "superExc", None)]
    return "\n".join(out)


@pytest.mark.parametrize("proxy", ["wrong credentials", "unreachable"])
def test_proxy_failures_are_typed_and_never_show_its_credentials(world, proxies, monkeypatch,
                                                                 caplog, tmp_path, proxy):
    dep, storage, first, _ = world
    caplog.set_level(logging.DEBUG)
    url = (first.url.replace("proxy-user", "someone-else") if proxy == "wrong credentials"
           else f"http://someone-else:{PROXY_PASSWORD}@127.0.0.1:9")
    errors = _failures(dep, monkeypatch, tmp_path, url)
    text = _texts(errors)
    assert [e for e in errors if not isinstance(e, tcdyn.TaskclusterFailure)] == [], text
    assert len(errors) == 9
    if proxy == "wrong credentials":  # every path reached the proxy, which said 407
        assert {p.host for p in first.passed} == {dep.root_url.removeprefix("http://"),
                                                  storage.base_url.removeprefix("http://")}
        assert all("407" in str(e) for e in errors), text
    assert PROXY_PASSWORD not in text and PROXY_PASSWORD not in caplog.text
    assert "someone-else" not in text and "someone-else" not in caplog.text


def test_an_unusable_proxy_stops_every_path_before_sending(world, proxies, monkeypatch,
                                                           tmp_path):
    dep, storage, first, _ = world
    errors = _failures(dep, monkeypatch, tmp_path,
                       f"socks5://u:{PROXY_PASSWORD}@127.0.0.1:{first.port}")
    text = _texts(errors)
    assert [e for e in errors if not isinstance(e, ProxyConfigurationError)] == [], text
    assert all("HTTP_PROXY" in str(e) and "socks5" in str(e) for e in errors)
    assert PROXY_PASSWORD not in text
    assert first.passed == []
    assert [s.method for s in storage.seen] == ["PUT", "PUT"]  # only the two kept objects
