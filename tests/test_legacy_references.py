"""2018-format references (npm ``taskcluster-client@11.0.4``, ``tests/data/legacy-11.0.4``):
every class builds, every entry is routed and Hawk-verified under the legacy rootUrl
``https://taskcluster.net`` (each service on its own ``*.taskcluster.net`` host, brought to
the local deployment by a transport standing in for TLS) and under a modern rootUrl, and the
old exchanges give the official client's bindings."""

from __future__ import annotations

import copy
import json
import logging
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import mohawk
import pytest
import taskcluster.client

import tcdyn
from tcdyn.client import api_base_url
from tcdyn.model import legacy
from tcdyn.model.reference import ServiceModel
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment

MIRROR = Path(__file__).resolve().parent / "data" / "legacy-11.0.4"
ROOT = Path(__file__).resolve().parents[1]
CLIENT_ID, TOKEN = "legacy-tester", "a-legacy-access-token"
CREDS = {"clientId": CLIENT_ID, "accessToken": TOKEN}
LEGACY_ROOT = "https://taskcluster.net"
NAMES = ["Auth", "AuthEvents", "AwsProvisioner", "AwsProvisionerEvents", "EC2Manager",
         "Github", "GithubEvents", "Hooks", "Index", "Login", "Notify", "Pulse", "PurgeCache",
         "PurgeCacheEvents", "Queue", "QueueEvents", "Secrets", "TreeherderEvents"]


def manifest() -> dict[str, str]:
    return json.loads((MIRROR / "references" / "manifest.json").read_text())


def raw_reference(name: str) -> dict:
    url = manifest()[name]
    return json.loads((MIRROR / url.replace(legacy.LEGACY_REFERENCES, "references/"))
                      .read_text())


@pytest.fixture(scope="module")
def tc():
    return tcdyn.load(MIRROR)


@pytest.fixture(scope="module")
def dep():
    with LocalDeployment(MIRROR, clients={CLIENT_ID: ClientRecord(TOKEN, ("*",))},
                         legacy_hosts=True) as deployment:
        yield deployment


class LegacyHosts(httpx.BaseTransport):
    """Sends ``https://<service>.taskcluster.net/...`` to the local deployment over loopback,
    keeping the ``Host`` header; records what was sent."""

    def __init__(self, dep: LocalDeployment) -> None:
        self.port = httpx.URL(dep.root_url).port
        self.inner = httpx.HTTPTransport()
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert request.url.scheme == "https" and request.url.host.endswith(".taskcluster.net")
        self.sent.append(request)
        local = httpx.Request(request.method,
                              request.url.copy_with(scheme="http", host="127.0.0.1",
                                                    port=self.port),
                              headers=request.headers, content=request.content)
        return self.inner.handle_request(local)

    def close(self) -> None:
        self.inner.close()


def api_names() -> list[str]:
    return [n for n in NAMES if not n.endswith("Events")]


def call_every_entry(tc, dep, name, root_url, http):
    """Call each entry with distinct argument values; return the service model."""
    cls = getattr(tc, name)
    model = cls._model
    client = cls(rootUrl=root_url, credentials=CREDS, client=http, maxRetries=0)
    for entry in model.entries.values():
        values = [f"{a}-value" for a in entry.args]
        args = [*values, {"legacy": True}] if entry.input else values
        before = len(dep.requests)
        getattr(client, entry.name)(*args)
        assert len(dep.requests) == before + 1, entry.name
        seen = dep.requests[-1]
        assert (seen.service, seen.name, seen.method) == (model.serviceName, entry.name,
                                                         entry.http_method)
        assert seen.params == dict(zip(entry.args, values, strict=True))
        assert seen.client_id == CLIENT_ID, f"{name}.{entry.name} was not signed"
        if entry.input:
            assert seen.payload == {"legacy": True}
    return model


# -- loading ------------------------------------------------------------------------------

def test_the_mirror_builds_all_18_classes_with_the_packages_names(tc):
    assert tc.references.names() == sorted(NAMES)
    entries = 0
    for name in NAMES:
        cls = getattr(tc, name)
        assert cls.__name__ == name
        entries += len(cls._model.entries)
    assert entries == 167
    assert tc.references.problems == {}
    assert tc.EC2Manager.serviceName == "ec2-manager"


@pytest.mark.parametrize(("name", "service", "version"), [
    ("AwsProvisioner", "aws-provisioner", "v1"),        # `name`, baseUrl without a slash
    ("EC2Manager", "ec2-manager", "v1"),                # baseUrl alone
    ("AwsProvisionerEvents", "aws-provisioner", "v1"),  # exchangePrefix alone
    ("Login", "login", "v1"),
    ("TreeherderEvents", "treeherder", "v1"),
])
def test_service_name_and_version_are_derived_as_the_official_client_did(tc, name, service,
                                                                          version):
    raw = raw_reference(name)
    assert "apiVersion" not in raw
    cls = getattr(tc, name)
    assert (cls.serviceName, cls.apiVersion) == (service, version)


def test_derivation_reads_the_base_url_path_version_and_prefers_service_name():
    ref = {"$schema": "http://schemas.taskcluster.net/base/v1/api-reference.json#",
           "baseUrl": "https://fancy-thing.taskcluster.net/v3/", "entries": []}
    assert (legacy.service_name(ref), legacy.api_version(ref)) == ("fancy-thing", "v3")
    assert legacy.service_name({**ref, "name": "other"}) == "other"
    assert legacy.service_name({**ref, "serviceName": "svc", "name": "other"}) == "svc"
    assert legacy.api_version({"exchangePrefix": "exchange/taskcluster-x/v2/"}) == "v2"
    assert legacy.service_name({"exchangePrefix": "exchange/taskcluster-x/v2/"}) == "x"


def test_old_scope_sets_become_an_any_of_all_of_expression(tc):
    raw = next(e for e in raw_reference("EC2Manager")["entries"]
               if e["name"] == "terminateInstance")
    assert raw["scopes"] == [["ec2-manager:manage-instances:<region>:<instanceId>"],
                             ["ec2-manager:manage-resources:<workerType>"]]
    assert tc.EC2Manager.terminateInstance.scopes == {"AnyOf": [
        {"AllOf": ["ec2-manager:manage-instances:<region>:<instanceId>"]},
        {"AllOf": ["ec2-manager:manage-resources:<workerType>"]}]}


def test_a_bad_base_url_is_refused_naming_the_field(tmp_path):
    mirror = tmp_path / "m"
    shutil.copytree(MIRROR, mirror)
    path = mirror / "references" / "login" / "v1" / "api.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "baseUrl": "ftp://x/v1"}))
    deployment = tcdyn.load(mirror)
    with pytest.raises(tcdyn.ReferenceLoadError, match=r"baseUrl.*not an http\(s\) URL"):
        _ = deployment.Login
    assert deployment.Queue.serviceName == "queue"  # the others still load


# -- calls --------------------------------------------------------------------------------

def test_legacy_base_urls_come_from_the_reference(tc):
    assert api_base_url(LEGACY_ROOT, "aws-provisioner", "v1",
                        "https://aws-provisioner.taskcluster.net/v1") == \
        "https://aws-provisioner.taskcluster.net/v1"
    # a baseUrl naming another host is not followed: the service's own legacy host is used
    assert api_base_url(LEGACY_ROOT, "login", "v1", "https://evil.example.com/v1") == \
        "https://login.taskcluster.net/v1"
    assert api_base_url("https://tc.example.com", "ec2-manager", "v1",
                        "https://ec2-manager.taskcluster.net/v1") == \
        "https://tc.example.com/api/ec2-manager/v1"
    client = tc.EC2Manager(rootUrl=LEGACY_ROOT)
    assert client.buildUrl("regions") == "https://ec2-manager.taskcluster.net/v1/internal/regions"


@pytest.mark.parametrize("name", api_names())
def test_every_entry_under_the_legacy_root_url_is_signed_for_its_host(tc, dep, name):
    dep.reset()
    transport = LegacyHosts(dep)
    with httpx.Client(transport=transport) as http:
        model = call_every_entry(tc, dep, name, LEGACY_ROOT, http)
    host = legacy.legacy_host(model.baseUrl)
    assert host == f"https://{model.serviceName}.taskcluster.net"
    assert len(transport.sent) == len(model.entries)
    for request in transport.sent:
        assert f"https://{request.url.host}" == host
        assert request.url.path.startswith(f"/{model.apiVersion}/")
        # the MAC covers the legacy host and port 443, as the deployment verified
        mohawk.Receiver(lambda _id: {"id": CLIENT_ID, "key": TOKEN, "algorithm": "sha256"},
                        request.headers["Authorization"], str(request.url), request.method,
                        content=request.content or b"",
                        content_type=request.headers.get("Content-Type", ""),
                        accept_untrusted_content=True, seen_nonce=lambda *_: False)
    assert dep.rejections == []


@pytest.mark.parametrize("name", api_names())
def test_every_entry_under_a_modern_root_url(tc, dep, name):
    dep.reset()
    with httpx.Client() as http:
        model = call_every_entry(tc, dep, name, dep.root_url, http)
    assert all(r.path.startswith(f"/api/{model.serviceName}/v1/") for r in dep.requests)
    assert len(dep.requests) == len(model.entries)
    assert dep.rejections == []


def test_a_wrong_key_is_rejected_by_the_legacy_host(tc, dep):
    dep.reset()
    with httpx.Client(transport=LegacyHosts(dep)) as http:
        client = tc.AwsProvisioner(rootUrl=LEGACY_ROOT, client=http, maxRetries=0,
                                   credentials={"clientId": CLIENT_ID, "accessToken": "wrong"})
        with pytest.raises(tcdyn.TaskclusterAuthFailure):
            client.listWorkerTypes()
    assert dep.rejections and "Bad mac" in dep.rejections[-1]


def test_a_legacy_client_signs_only_for_its_own_host(tc):
    auth = tc.Queue(rootUrl=LEGACY_ROOT, credentials=CREDS)._auth()
    for url, signed in [("https://queue.taskcluster.net/v1/task/abc", True),
                        ("https://login.taskcluster.net/v1/ping", False),
                        ("https://taskcluster.net/api/queue/v1/task/abc", False),
                        ("http://queue.taskcluster.net/v1/task/abc", False)]:
        request = next(auth.auth_flow(httpx.Request("GET", url)))
        assert ("Authorization" in request.headers) is signed, url


async def _async_calls(tc, dep) -> None:
    port = httpx.URL(dep.root_url).port

    class Async(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            local = httpx.Request(request.method, request.url.copy_with(
                scheme="http", host="127.0.0.1", port=port), headers=request.headers,
                content=request.content)
            return await self.inner.handle_async_request(local)

    async with httpx.AsyncClient(transport=Async()) as http, \
            tc.aio.Login(rootUrl=LEGACY_ROOT, credentials=CREDS, client=http) as login:
        await login.oidcCredentials("github")


def test_async_legacy_calls_are_signed_too(tc, dep):
    import asyncio

    dep.reset()
    asyncio.run(_async_calls(tc, dep))
    assert [(r.name, r.client_id) for r in dep.requests] == [("oidcCredentials", CLIENT_ID)]


# -- schemas ------------------------------------------------------------------------------

def test_absent_schemas_are_said_once_and_calls_go_out(tc, dep, caplog):
    dep.reset()
    deployment = tcdyn.load(MIRROR)  # a fresh one: its notices are its own
    with caplog.at_level(logging.WARNING, logger="tcdyn"), httpx.Client() as http:
        client = deployment.AwsProvisioner(rootUrl=dep.root_url, credentials=CREDS,
                                           client=http)
        client.createSecret("token", {"workerType": 3})
        client.createSecret("token", {"workerType": 3})
    notices = [r for r in caplog.records if "no schemas" in r.getMessage()]
    assert len(notices) == 1
    assert len(dep.requests) == 2


def old_schema_mirror(tmp_path: Path) -> Path:
    """The 11.0.4 mirror plus one schema in the 2018 form (draft-04 ``$schema``, ``id``
    under http://schemas.taskcluster.net, an absolute ``$ref``)."""
    mirror = tmp_path / "with-schema"
    shutil.copytree(MIRROR, mirror)
    folder = mirror / "schemas" / "aws-provisioner" / "v1"
    folder.mkdir(parents=True)
    (folder / "create-secret-request.json").write_text(json.dumps({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "id": "http://schemas.taskcluster.net/aws-provisioner/v1/create-secret-request.json#",
        "type": "object",
        "properties": {"workerType": {
            "$ref": "http://schemas.taskcluster.net/aws-provisioner/v1/worker-type.json#"}},
        "required": ["workerType"]}))
    (folder / "worker-type.json").write_text(json.dumps({
        "id": "http://schemas.taskcluster.net/aws-provisioner/v1/worker-type.json#",
        "type": "string"}))
    return mirror


def test_old_schema_urls_resolve_when_the_mirror_has_them(tmp_path, dep, caplog):
    deployment = tcdyn.load(old_schema_mirror(tmp_path))
    entry = raw_reference("AwsProvisioner")["entries"]
    assert any(e.get("input") == "http://schemas.taskcluster.net/aws-provisioner/v1/"
               "create-secret-request.json#" for e in entry)
    dep.reset()
    with caplog.at_level(logging.WARNING, logger="tcdyn"), httpx.Client() as http:
        client = deployment.AwsProvisioner(rootUrl=dep.root_url, credentials=CREDS,
                                           client=http)
        with pytest.raises(tcdyn.SchemaValidationError, match="workerType"):
            client.createSecret("token", {"workerType": 3})
        client.createSecret("token", {"workerType": "wt"})
        # another entry whose schema the mirror lacks: said once, sent unvalidated
        client.createWorkerType("wt", {"anything": 1})
        client.createWorkerType("wt", {"anything": 1})
    assert [r.name for r in dep.requests] == ["createSecret", "createWorkerType",
                                              "createWorkerType"]
    absent = [r for r in caplog.records if "create-worker-type-request" in r.getMessage()]
    assert len(absent) == 1


def test_pull_of_a_deployment_serving_old_references_mirrors_their_schemas(tmp_path):
    source = old_schema_mirror(tmp_path)
    with LocalDeployment(source, serve_bundle=False) as served:
        target = tmp_path / "pulled"
        tcdyn.references.pull(served.root_url, target)
    assert (target / "schemas/aws-provisioner/v1/create-secret-request.json").is_file()
    assert (target / "schemas/aws-provisioner/v1/worker-type.json").is_file()
    assert tcdyn.load(target).references.names() == sorted(NAMES)


# -- exchanges ----------------------------------------------------------------------------

def patterns(entry: dict) -> list:
    free = [k for k in entry["routingKey"] if "constant" not in k]
    singles = {k["name"]: f"{k['name']}-x" for k in free if not k.get("multipleWords")}
    multi = {k["name"]: "a.b.c" for k in free if k.get("multipleWords")}
    first = {free[0]["name"]: "only"} if free else {}
    return [{}, singles, {**singles, **multi}, first, "route.some.thing.#"]


@pytest.mark.parametrize("name", [n for n in NAMES if n.endswith("Events")])
def test_routing_key_patterns_equal_the_official_clients(tc, name):
    reference = raw_reference(name)
    official_cls = taskcluster.client.createApiClient(name,
                                                      {"reference": copy.deepcopy(reference)})
    official = official_cls({"rootUrl": LEGACY_ROOT})
    ours = getattr(tc, name)()
    checked = 0
    for entry in reference["entries"]:
        for pattern in patterns(entry):
            want = getattr(official, entry["name"])(copy.deepcopy(pattern))
            got = getattr(ours, entry["name"])(copy.deepcopy(pattern))
            assert dict(got) == want, (entry["name"], pattern)
            assert got.exchange == reference["exchangePrefix"] + entry["exchange"]
            checked += 1
    assert checked == 5 * len(reference["entries"])


# -- the script ---------------------------------------------------------------------------

def test_the_script_writes_this_mirror_from_the_2018_package(tmp_path):
    """An npm tarball rebuilt from the mirror (as 11.0.4 lays it out) gives the same files."""
    apis = {name: {"reference": raw_reference(name), "referenceUrl": url}
            for name, url in manifest().items()}
    package = tmp_path / "package"
    (package / "src").mkdir(parents=True)
    (package / "src" / "apis.js").write_text(
        "/* eslint-disable */\nmodule.exports = " + json.dumps(apis, indent=2) + ";")
    (package / "package.json").write_text(json.dumps({"name": "taskcluster-client",
                                                      "version": "11.0.4"}))
    tgz = tmp_path / "taskcluster-client-11.0.4.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(package, arcname="package")
    out = tmp_path / "out"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "update_references.py"),
                    "--npm", str(tgz), "--out", str(out)], check=True, capture_output=True)
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(MIRROR).as_posix()
                             for p in MIRROR.rglob("*") if p.is_file())
    for rel in written:
        if rel.startswith("references/") or rel == "README.md":
            assert (out / rel).read_text() == (MIRROR / rel).read_text(), rel
    source = json.loads((MIRROR / "SOURCE.json").read_text())
    assert (source["source"], source["version"], source["license"]) == ("npm", "11.0.4",
                                                                       "MPL-2.0")


def test_models_keep_the_base_url(tc):
    model = tc.references.model("AwsProvisioner")
    assert isinstance(model, ServiceModel)
    assert model.baseUrl == "https://aws-provisioner.taskcluster.net/v1"
    assert tc.references.model("Queue").raw["baseUrl"] == "https://queue.taskcluster.net/v1/"
