"""Issue 10, references in two: sources behind ``read(rel)``, one HTTP client for a remote
source's lazy fetches, ``ServiceNotFound`` until the attribute boundary, ``problems`` keyed
one way."""

from __future__ import annotations

import json
import shutil

import pytest

import tcdyn
from tcdyn.errors import ServiceNotFound
from tcdyn.references import ReferenceSet
from tcdyn.references import fetch as fetching
from tcdyn.references.sources import DirectorySource, RemoteSource
from tcdyn.testing.server import LocalDeployment

SCHEMAS = ("/schemas/queue/v1/task.json", "/schemas/queue/v1/create-task-request.json",
           "/schemas/queue/v1/task-status.json")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TCDYN_CACHE_DIR", str(tmp_path / "cache"))


def test_lazy_schema_fetches_share_one_http_client(deployment_dir, monkeypatch):
    made = []
    real = fetching.client

    def counting():
        made.append(real())
        return made[-1]

    with LocalDeployment(deployment_dir) as dep:
        refs = tcdyn.load(dep.root_url).references
        assert isinstance(refs.source, RemoteSource)
        for path in SCHEMAS:  # the mirror lacks them: each is fetched on first use
            (refs.schemas_dir / path.removeprefix("/schemas/")).unlink()
        monkeypatch.setattr(fetching, "client", counting)
        for path in SCHEMAS:
            assert refs.schema(path)["$id"].endswith(path + "#")
    assert len(made) == 1
    assert (refs.schemas_dir / "queue/v1/task.json").is_file()  # kept in the mirror
    refs.source.close()
    assert made[0].is_closed


def test_a_directory_source_reads_mirror_paths_and_says_none_when_absent(deployment_dir):
    source = DirectorySource(deployment_dir / "references", deployment_dir / "schemas")
    assert json.loads(source.read("references/manifest.json"))["references"]
    assert source.read("schemas/queue/v1/task.json").startswith(b"{")
    assert source.read("schemas/queue/v1/nope.json") is None
    assert DirectorySource(deployment_dir / "references").read("schemas/queue/v1/task.json") \
        is None


def test_a_missing_service_is_a_lookup_error_until_attribute_access():
    refs = ReferenceSet.bundled()
    with pytest.raises(ServiceNotFound) as info:
        refs.model("Nope")
    assert isinstance(info.value, LookupError) and not isinstance(info.value, AttributeError)
    assert "no service 'Nope'" in str(info.value) and "Queue" in info.value.names
    deployment = tcdyn.Deployment(refs)
    with pytest.raises(ServiceNotFound):
        deployment.build("Nope")
    with pytest.raises(AttributeError, match=r"has no attribute 'Nope'.*no service 'Nope'"):
        deployment.Nope  # noqa: B018
    with pytest.raises(AttributeError, match="module 'tcdyn' has no attribute 'Nope'"):
        tcdyn.Nope  # noqa: B018


def test_problems_are_keyed_by_class_or_manifest_path(deployment_dir, tmp_path):
    copy = tmp_path / "mirror"
    shutil.copytree(deployment_dir, copy)
    manifest = json.loads((copy / "references/manifest.json").read_text())
    manifest["references"].append("/references/odd.json")  # unconventional and absent
    (copy / "references/manifest.json").write_text(json.dumps(manifest))
    api = copy / "references/queue/v1/api.json"
    ref = json.loads(api.read_text())
    ref["entries"][0]["name"] = "_private"
    api.write_text(json.dumps(ref))
    (copy / "references/hooks/v1/api.json").write_text("{not json")
    tc = tcdyn.load(copy)
    tc.Queue  # noqa: B018
    with pytest.raises(tcdyn.ReferenceLoadError):
        tc.Hooks  # noqa: B018
    odd = len(manifest["references"]) - 1
    assert set(tc.references.problems) == {
        f"manifest.references[{odd}]", "Queue.entries[0].name", "Hooks"}
