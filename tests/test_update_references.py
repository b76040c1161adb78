"""scripts/update_references.py: a deployment's ``references.json`` (a file or a rootUrl)
becomes the mirror tcdyn reads, with its source recorded and every path kept inside."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
import re
from pathlib import Path

import httpx
import pytest

import tcdyn
from tcdyn.references import ReferenceSet, bundled_dir
from tcdyn.testing.payloads import create_task
from tcdyn.testing.server import LocalDeployment

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "update_references.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("update_references", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bundle_of(top: Path) -> list[dict]:
    """A ``references.json`` made of a mirror's files, as a deployment serves it."""
    return [{"filename": p.relative_to(top).as_posix(), "content": json.loads(p.read_bytes())}
            for sub in ("references", "schemas") for p in sorted((top / sub).rglob("*.json"))]


def tiny_bundle() -> list[dict]:
    return [{"filename": "references/manifest.json",
             "content": {"references": ["/references/secrets/v1/api.json"]}},
            {"filename": "references/secrets/v1/api.json",
             "content": json.loads((bundled_dir() / "references/secrets/v1/api.json")
                                   .read_bytes())}]


def test_bundle_file_regenerates_the_bundled_set_byte_for_byte(script, tmp_path, capsys):
    source = tmp_path / "references.json"
    source.write_text(json.dumps(bundle_of(bundled_dir()), indent=2))
    out = tmp_path / "out"
    assert script.main(["--bundle", str(source), "--version", "v106.0.0",
                        "--out", str(out)]) == 0
    assert "wrote 42 references and 201 schemas" in capsys.readouterr().out
    recorded = json.loads((out / "SOURCE.json").read_text())
    assert recorded == {"source": "bundle", "bundle": str(source), "version": "v106.0.0",
                        "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
                        "license": "MPL-2.0", "generated": dt.date.today().isoformat(),
                        "files": {"references": 42, "schemas": 201}}
    assert "Licence: MPL-2.0" in (out / "README.md").read_text()
    for sub in ("references", "schemas"):
        for path in (bundled_dir() / sub).rglob("*.json"):
            assert (out / path.relative_to(bundled_dir())).read_bytes() == path.read_bytes()
    tc = tcdyn.load(out)
    assert tc.references.has_schemas and "WebServer" in tc.references.names()
    tc.Queue(rootUrl="https://tc.example.com").createTask.validate(create_task())


def test_bundle_from_a_root_url_asks_its_version(script, deployment_dir, tmp_path):
    out = tmp_path / "out"
    with LocalDeployment(deployment_dir) as dep:
        dep.handle("auth", "version", lambda r: {"source": "https://github.com/taskcluster/"
                                                           "taskcluster", "version": "106.0.0"})
        assert script.main(["--bundle", dep.root_url, "--out", str(out)]) == 0
        body = httpx.get(f"{dep.root_url}/references/references.json").content
    recorded = json.loads((out / "SOURCE.json").read_text())
    assert recorded["bundle"] == dep.root_url and recorded["version"] == "v106.0.0"
    assert recorded["sha256"] == hashlib.sha256(body).hexdigest()
    refs = ReferenceSet.from_directory(out)
    assert refs.names() == dep.references.names() and refs.has_schemas


def test_version_is_required_when_it_cannot_be_told(script, tmp_path, capsys):
    source = tmp_path / "references.json"
    source.write_text(json.dumps(tiny_bundle()))
    assert script.main(["--bundle", str(source), "--out", str(tmp_path / "out")]) == 2
    assert "pass --version" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_served_form_is_stored_abstract(script, tmp_path):
    bundle = tiny_bundle()
    bundle[0]["content"]["references"] = ["https://tc.example.com/references/secrets/v1/api.json"]
    bundle[1]["content"]["$schema"] = "https://tc.example.com/schemas/common/api-reference-v0.json#"
    bundle.append({"filename": "schemas/secrets/v1/x.json",
                   "content": {"$id": "https://tc.example.com/schemas/secrets/v1/x.json#",
                               "$ref": "y.json#"}})
    source = tmp_path / "references.json"
    source.write_text(json.dumps(bundle))
    out = tmp_path / "out"
    assert script.main(["--bundle", str(source), "--version", "v1.0.0", "--out", str(out)]) == 0
    refs = ReferenceSet.from_directory(out)
    assert refs.model("Secrets").raw["$schema"] == "/schemas/common/api-reference-v0.json#"
    assert refs.schema("/schemas/secrets/v1/x.json") == {"$id": "/schemas/secrets/v1/x.json#",
                                                         "$ref": "y.json#"}


@pytest.mark.parametrize("name", [
    "../x.json", "references/../../x.json", "/etc/x.json", "schemas/./x.json", "schemas//x.json",
    "other/x.json", "schemas\\..\\x.json", "schemas/x.txt", "C:/schemas/x.json", 7,
])
def test_unsafe_file_names_are_refused_and_nothing_is_written(script, tmp_path, capsys, name):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("the previous set")
    source = tmp_path / "references.json"
    source.write_text(json.dumps([*tiny_bundle(), {"filename": name, "content": {}}]))
    assert script.main(["--bundle", str(source), "--version", "v1", "--out", str(out)]) == 2
    assert "file name" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "references.json"]


@pytest.mark.parametrize(("bundle", "message"), [
    ({"filename": "x"}, "expected a list"),
    ([{"filename": "references/manifest.json"}], r"\[0\]: expected \{filename, content\}"),
    ([*tiny_bundle(), tiny_bundle()[1]], "appears twice"),
    (tiny_bundle()[1:], "no references/manifest.json"),
    (tiny_bundle()[:1], "lists /references/secrets/v1/api.json but the source has no such"),
])
def test_malformed_bundles_are_refused(script, tmp_path, capsys, bundle, message):
    source = tmp_path / "references.json"
    source.write_text(json.dumps(bundle))
    assert script.main(["--bundle", str(source), "--version", "v1",
                        "--out", str(tmp_path / "out")]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def test_a_missing_source_is_named(script, tmp_path, capsys):
    missing = tmp_path / "nope.json"
    assert script.main(["--bundle", str(missing), "--version", "v1",
                        "--out", str(tmp_path / "out")]) == 2
    assert f"{missing}: no such file" in capsys.readouterr().err
