"""Requests and responses checked against the deployment's own schemas, and mirrors of a
deployment used offline."""

from __future__ import annotations

import copy
import logging
import re
import subprocess
import sys

import pytest

import tcdyn
from helpers import CREDS, SECRET, run
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.payloads import create_hook, create_task, create_worker_pool, set_secret
from tcdyn.testing.server import LocalDeployment, Reply

TASK = create_task()


@pytest.fixture(scope="module")
def server(deployment_dir):
    with LocalDeployment(deployment_dir, clients={"tester": ClientRecord(SECRET,
                                                                         ("queue:*",))}) as d:
        yield d


@pytest.fixture(scope="module")
def tc(server):
    return tcdyn.load(server.root_url)


@pytest.fixture(autouse=True)
def fresh(server):
    server.reset()


def test_invalid_payload_is_refused_before_sending(server, tc, flavour):
    bad = {**TASK, "provisionerId": 3}
    del bad["metadata"]
    with pytest.raises(tcdyn.SchemaValidationError) as info:
        run(flavour, "Queue", tc, lambda q: q.createTask("t", bad), credentials=CREDS)
    text = str(info.value)
    assert text.startswith("createTask payload: 2 errors")
    assert "$.provisionerId: 3 is not of type 'string' [type]" in text
    assert "'metadata' is a required property [required]" in text
    assert f"{server.root_url}/schemas/queue/v1/create-task-request.json" in text
    assert {e.path for e in info.value.errors} == {"$.provisionerId", "$"}
    assert server.requests == []


def test_valid_payload_is_sent_and_datetimes_are_checked_as_json(server, tc, flavour):
    import datetime as dt

    task = {**TASK, "deadline": dt.datetime(2026, 11, 29, tzinfo=dt.UTC)}
    result = run(flavour, "Queue", tc, lambda q: q.createTask("t", task), credentials=CREDS)
    assert result["payload"]["deadline"] == "2026-11-29T00:00:00Z"  # as the official writes
    assert len(server.requests) == 1


def test_validate_false_sends_anything(server, tc):
    with tc.Queue(credentials=CREDS, validate=False) as q:
        assert q.createTask("t", {"nonsense": True})["payload"] == {"nonsense": True}


def test_validate_without_sending_and_resolved_schemas(tc):
    q = tc.Queue(credentials=CREDS)
    assert q.createTask.validate(TASK) is None
    with pytest.raises(tcdyn.SchemaValidationError, match=r"\$\.priority"):
        q.createTask.validate({**TASK, "priority": "urgent"})
    schema = tc.Queue.createTask.input_schema
    assert schema["properties"]["provisionerId"]["type"] == "string"
    assert "$ref" not in repr(schema)
    assert tc.Queue.task.output_schema["type"] == "object"
    with pytest.raises(TypeError, match="takes no payload"):
        q.task.validate({})


def test_responses_are_validated_on_request(server, tc, flavour):
    server.handle("queue", "status", lambda r: {"status": {"taskId": 7}})
    with pytest.raises(tcdyn.SchemaValidationError, match="status response"):
        run(flavour, "Queue", tc, lambda q: q.status("t"), credentials=CREDS,
            validate_responses=True)
    assert run(flavour, "Queue", tc, lambda q: q.status("t"), credentials=CREDS) == {
        "status": {"taskId": 7}}


def _schemaless(deployment_dir, tmp_path):
    """A bare references folder (manifest and the queue's reference, no schemas)."""
    refs = tmp_path / "schemaless"
    (refs / "queue/v1").mkdir(parents=True)
    src = deployment_dir / "references"
    (refs / "queue/v1/api.json").write_bytes((src / "queue/v1/api.json").read_bytes())
    (refs / "manifest.json").write_text('{"references": ["/references/queue/v1/api.json"]}')
    return refs


def test_references_without_schemas_degrade_to_not_validated_once(server, deployment_dir,
                                                                     tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="tcdyn")
    bare = tcdyn.load(_schemaless(deployment_dir, tmp_path))
    assert not bare.references.has_schemas
    with bare.Queue(rootUrl=server.root_url, credentials=CREDS) as q:
        q.createTask("t", {"not": "a task"})
        q.createTask("u", {"not": "a task"})
    notices = [r for r in caplog.records if "not validated" in r.getMessage()]
    assert len(notices) == 1 and len(server.requests) == 2
    with pytest.raises(tcdyn.SchemaNotAvailable):
        bare.Queue(rootUrl=server.root_url).createTask.validate(TASK)
    assert bare.Queue.createTask.input_schema is None


@pytest.mark.parametrize(("service", "method", "args", "payload"), [
    ("Hooks", "createHook", ("project-x", "nightly"), create_hook()),
    ("WorkerManager", "createWorkerPool", ("proj/linux",), create_worker_pool()),
    ("Secrets", "set", ("project/x/token",), set_secret()),
])
def test_other_services_payloads(server, tc, service, method, args, payload):
    client = getattr(tc, service)(credentials=CREDS)
    getattr(client, method).validate(payload)
    broken = copy.deepcopy(payload)
    broken["unexpectedField"] = 1
    with pytest.raises(tcdyn.SchemaValidationError, match="additionalProperties"):
        getattr(client, method)(*args, broken)
    assert server.requests == []


def test_mirror_then_offline_gives_the_same_classes_and_validators(deployment_dir, tmp_path):
    mirror = tmp_path / "mirror"
    with LocalDeployment(deployment_dir, serve_bundle=False) as dep:
        out = subprocess.run([sys.executable, "-m", "tcdyn.cli", "references", "pull",
                              dep.root_url, str(mirror)], capture_output=True, text=True,
                             check=True).stdout
        assert "17 services" in out and "added:" in out
        again = subprocess.run([sys.executable, "-m", "tcdyn.cli", "references", "pull",
                                dep.root_url, str(mirror)], capture_output=True, text=True,
                               check=True).stdout
        assert "nothing changed" in again
        online = tcdyn.load(dep.root_url, refresh=True)
        online_names = online.references.names()
        online_entries = {n: list(online.references.model(n).entries) for n in online_names}
    offline = tcdyn.load(mirror)  # the deployment is gone: nothing may be fetched
    assert offline.references.names() == online_names
    assert {n: list(offline.references.model(n).entries) for n in online_names} == \
        online_entries
    q = offline.Queue(credentials=CREDS)
    q.createTask.validate(TASK)
    with pytest.raises(tcdyn.SchemaValidationError, match=r"\$\.provisionerId"):
        q.createTask.validate({**TASK, "provisionerId": 3})
    assert offline.Queue.createTask.input_schema == online.Queue.createTask.input_schema
    listing = subprocess.run([sys.executable, "-m", "tcdyn.cli", "references", "list",
                              str(mirror)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Queue\s+queue/v1\s+\d+ methods", listing)


def test_response_validation_error_hides_secret_values(server, tc):
    server.handle("secrets", "get", lambda r: Reply({"secret": 5, "expires": "never",
                                                     "password": SECRET}))
    with tc.Secrets(credentials=CREDS, validate_responses=True) as s, \
            pytest.raises(tcdyn.SchemaValidationError) as info:
        s.get("x")
    assert SECRET not in str(info.value)
