"""Loading references: bundled, from a directory, fetched (one request or file by file),
cached on disk, checked, and malformed ones reported without breaking the others."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tcdyn
from tcdyn.errors import ReferenceLoadError
from tcdyn.references import ReferenceSet, bundled_dir, cache_path, pull
from tcdyn.testing.server import LocalDeployment

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TCDYN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_bundled_references_are_taskcluster_v106_with_schemas():
    refs = ReferenceSet.bundled()
    names = set(refs.names())
    assert {"Auth", "AuthEvents", "Github", "GithubEvents", "Hooks", "HooksEvents", "Index",
            "Notify", "NotifyEvents", "Object", "PurgeCache", "Queue", "QueueEvents",
            "Secrets", "WebServer", "WorkerManager", "WorkerManagerEvents"} <= names
    source = json.loads((bundled_dir() / "SOURCE.json").read_text())
    assert source["source"] == "bundle" and source["license"] == "MPL-2.0"
    assert source["version"] == "v106.0.0" and len(source["sha256"]) == 64
    assert "Licence: MPL-2.0" in (bundled_dir() / "README.md").read_text()
    assert refs.has_schemas and refs.origin == "bundled" and refs.root_url is None
    assert refs.schema("/schemas/queue/v1/task.json#")["$id"] == "/schemas/queue/v1/task.json#"


def test_index_is_lazy_and_models_are_kept():
    refs = ReferenceSet.bundled()
    assert refs._models == {}
    queue = refs.model("Queue")
    assert list(refs._models) == ["Queue"] and refs.model("Queue") is queue
    assert queue.serviceName == "queue" and "createTask" in queue.entries


@pytest.mark.parametrize("serve_bundle", [True, False], ids=["references.json", "manifest"])
@pytest.mark.parametrize("absolute", [True, False], ids=["served", "abstract"])
def test_fetch_from_a_deployment(deployment_dir, serve_bundle, absolute):
    with LocalDeployment(deployment_dir, serve_bundle=serve_bundle, absolute=absolute) as dep:
        tc = tcdyn.load(dep.root_url)
        assert tc.references.origin == "fetched" and tc.root_url == dep.root_url
        assert "WebServer" in tc.references.names() and "QueueEvents" in dir(tc)
        assert tc.WebServer.serviceName == "web-server"
        assert tc.QueueEvents.exchangePrefix == "exchange/taskcluster-queue/v1/"
        # every schema an entry names came along (or is fetched on first use)
        assert tc.references.schema("/schemas/queue/v1/create-task-request.json")["type"] \
            == "object"
        again = tcdyn.load(dep.root_url)
        assert again.references.origin == "cache"
        refreshed = tcdyn.load(dep.root_url, refresh=True)
        assert refreshed.references.origin == "fetched"
    # with the deployment gone the cache still serves
    assert tcdyn.load(dep.root_url).references.origin == "cache"


def test_stale_cache_is_used_when_the_deployment_is_unreachable(deployment_dir, caplog):
    with LocalDeployment(deployment_dir) as dep:
        tcdyn.load(dep.root_url)
    tc = tcdyn.load(dep.root_url, refresh=True)
    assert tc.references.origin == "cache" and "using cached references" in caplog.text
    with pytest.raises(ReferenceLoadError, match="could not be fetched"):
        tcdyn.load("http://127.0.0.1:9")


def test_pull_is_atomic_and_reports_changes(deployment_dir, tmp_path):
    target = tmp_path / "mirror"
    with LocalDeployment(deployment_dir, serve_bundle=False) as dep:
        changes = pull(dep.root_url, target)
        assert "references/queue/v1/api.json" in changes["added"]
        assert any(p.startswith("schemas/queue/") for p in changes["added"])
        assert pull(dep.root_url, target) == {"added": [], "removed": [], "changed": []}
        (target / "references/queue/v1/api.json").write_text("{}")
        assert pull(dep.root_url, target)["changed"] == ["references/queue/v1/api.json"]
        good = (target / "references/queue/v1/api.json").read_bytes()
    # a failing pull (the deployment is gone) leaves the good mirror in place
    with pytest.raises(ReferenceLoadError):
        pull(dep.root_url, target)
    assert (target / "references/queue/v1/api.json").read_bytes() == good
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    offline = tcdyn.load(target)
    assert offline.references.origin == "directory" and offline.root_url == dep.root_url
    assert offline.Queue.serviceName == "queue"


def _deployment_copy(deployment_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "dep"
    shutil.copytree(deployment_dir, copy, ignore=shutil.ignore_patterns("references.json"))
    return copy


def test_malformed_reference_names_file_and_field_and_others_still_load(deployment_dir,
                                                                        tmp_path):
    copy = _deployment_copy(deployment_dir, tmp_path)
    api = copy / "references/queue/v1/api.json"
    ref = json.loads(api.read_text())
    ref["entries"][3]["method"] = "fetch"
    api.write_text(json.dumps(ref))
    (copy / "references/hooks/v1/api.json").write_text("{not json")
    tc = tcdyn.load(copy)
    with pytest.raises(ReferenceLoadError) as info:
        tc.Queue  # noqa: B018
    assert "queue/v1/api.json" in str(info.value) and "entries[3].method" in str(info.value)
    assert "'fetch'" in str(info.value)
    with pytest.raises(ReferenceLoadError, match=r"hooks/v1/api.json: not valid JSON"):
        tc.Hooks  # noqa: B018
    assert tc.Auth.serviceName == "auth" and tc.QueueEvents.serviceName == "queue"
    assert set(tc.references.problems) == {"Queue", "Hooks"}


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda r: r.pop("serviceName"), "serviceName: required field is missing"),
    (lambda r: r.update(apiVersion="1"), "apiVersion: invalid apiVersion"),
    (lambda r: r["entries"][0].update(route="task"), "entries[0].route"),
    (lambda r: r["entries"][1].update(args=["x"]), "entries[1].args"),
    (lambda r: r["entries"][2].update(query="limit"), "entries[2].query: expected list"),
    (lambda r: r["entries"][2].update(name="bad-name"), "entries[2].name"),
    (lambda r: r["entries"][4].update(scopes={"Nope": []}), "entries[4].scopes"),
    (lambda r: r.update({"$schema": "/schemas/common/logs-reference-v0.json#"}), "$schema"),
])
def test_reference_shape_checks(mutate, field):
    from tcdyn.model.reference import build_model

    ref = json.loads((ReferenceSet.bundled().references_dir / "queue/v1/api.json").read_text())
    mutate(ref)
    with pytest.raises(ReferenceLoadError) as info:
        build_model(ref, "queue/v1/api.json")
    assert f"queue/v1/api.json: {field}" in str(info.value)


def test_manifest_problems_are_refused(tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    (refs / "manifest.json").write_text(json.dumps({"references": ["/references/../../x.json"]}))
    with pytest.raises(ReferenceLoadError, match="unsafe or unexpected file name"):
        ReferenceSet.from_directory(refs)
    (refs / "manifest.json").write_text(json.dumps({"references": "nope"}))
    with pytest.raises(ReferenceLoadError, match=r"manifest\.json: references: expected a list"):
        ReferenceSet.from_directory(refs)
    with pytest.raises(ReferenceLoadError, match=r"no references/manifest\.json"):
        ReferenceSet.from_directory(tmp_path / "nothing")


def test_reference_from_another_host_is_refused(deployment_dir, tmp_path):
    from tcdyn.references.index import _manifest_rel

    with pytest.raises(ReferenceLoadError, match="is not under"):
        _manifest_rel("https://evil.example/references/queue/v1/api.json",
                      "https://tc.example.com", "manifest.json", 0)
    assert _manifest_rel("https://tc.example.com/references/queue/v1/api.json",
                         "https://tc.example.com", "m", 0) == "references/queue/v1/api.json"


def test_cache_is_per_root_url(cache):
    a, b = cache_path("https://a.example.com"), cache_path("https://b.example.com")
    assert a != b and a.parent == b.parent == cache


def test_taskcluster_references_env_replaces_the_bundle(deployment_dir):
    code = ("import tcdyn, tcdyn.default; print(tcdyn.WebServer.serviceName, "
            "tcdyn.default.default().references.origin)")
    env = {"TASKCLUSTER_REFERENCES": str(deployment_dir), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    assert out.split() == ["web-server", "directory"]


def test_update_script_regenerates_the_bundle_from_a_root_url(deployment_dir, tmp_path):
    with LocalDeployment(deployment_dir) as dep:
        subprocess.run([sys.executable, str(ROOT / "scripts/update_references.py"),
                        "--root-url", dep.root_url, "--out", str(tmp_path / "refs")],
                       check=True, capture_output=True)
    refs = ReferenceSet.from_directory(tmp_path / "refs")
    assert "WebServer" in refs.names() and "QueueEvents" in refs.names()
    assert refs.model("Queue").raw["$schema"] == "/schemas/common/api-reference-v0.json#"
    assert json.loads((tmp_path / "refs/SOURCE.json").read_text())["rootUrl"] == dep.root_url
