"""The bundled reference set is Taskcluster v106 with its schemas: ``tcdyn.Queue`` & co.
validate by default, ``tcdyn.WebServer`` and the priority entries exist, and schemas are
read only when first needed."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

import tcdyn
from helpers import CREDS, SECRET, run
from tcdyn.default import default
from tcdyn.references import bundled_dir
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.payloads import create_task
from tcdyn.testing.server import LocalDeployment


@pytest.fixture(scope="module")
def server():
    """A local deployment of the bundled set (the default source)."""
    with LocalDeployment(clients={"tester": ClientRecord(SECRET, ("queue:*",))}) as dep:
        yield dep


@pytest.fixture(autouse=True)
def fresh(server):
    server.reset()


def test_default_classes_validate_with_no_notice(server, flavour, caplog):
    caplog.set_level(logging.DEBUG, logger="tcdyn")
    with pytest.raises(tcdyn.SchemaValidationError, match=r"\$\.provisionerId: 3 is not"):
        run(flavour, "Queue", tcdyn, lambda q: q.createTask("t", {**create_task(),
                                                                  "provisionerId": 3}),
            rootUrl=server.root_url, credentials=CREDS)
    assert server.requests == []  # refused before sending
    run(flavour, "Queue", tcdyn, lambda q: q.createTask("t", create_task()),
        rootUrl=server.root_url, credentials=CREDS)
    assert [r.name for r in server.requests] == ["createTask"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert tcdyn.Queue.createTask.input_schema["title"] == "Task Definition Request"


def test_default_message_validation_uses_the_exchange_schema():
    binding = tcdyn.QueueEvents().taskCompleted()
    with pytest.raises(tcdyn.SchemaValidationError, match="taskCompleted message"):
        default().validate_message(binding, {"status": "nope"})


def test_web_server_and_priority_entries(server, flavour):
    assert tcdyn.WebServer.serviceName == "web-server" and "WebServer" in dir(tcdyn)
    assert {"changeTaskPriority", "changeTaskGroupPriority"} <= set(tcdyn.Queue.methods)
    events = tcdyn.QueueEvents()
    assert events.taskPriorityChanged().exchange == \
        "exchange/taskcluster-queue/v1/task-priority-changed"
    assert events.taskGroupPriorityChanged().exchange == \
        "exchange/taskcluster-queue/v1/task-group-priority-changed"
    with pytest.raises(tcdyn.SchemaValidationError, match="newPriority"):
        run(flavour, "Queue", tcdyn, lambda q: q.changeTaskPriority("t", {"newPriority": "x"}),
            rootUrl=server.root_url, credentials=CREDS)
    run(flavour, "Queue", tcdyn, lambda q: q.changeTaskPriority("t", {"newPriority": "high"}),
        rootUrl=server.root_url, credentials=CREDS)
    (request,) = server.requests
    assert request.name == "changeTaskPriority" and request.params == {"taskId": "t"}


def test_bundled_set_is_complete_and_inside_its_folder():
    """Every manifest entry is present and every schema an entry names is bundled, so a
    default client never meets a missing schema; no file is a link or escapes the folder."""
    top = bundled_dir().resolve()
    files = sorted(p for p in top.rglob("*") if p.is_file() or p.is_symlink())
    assert all(not p.is_symlink() and p.resolve().is_relative_to(top) for p in files)
    manifest = json.loads((top / "references/manifest.json").read_text())
    listed = {r.lstrip("/") for r in manifest["references"]}
    on_disk = {p.relative_to(top).as_posix() for p in files
               if p.relative_to(top).parts[0] == "references"} - {"references/manifest.json"}
    assert listed == on_disk and len(listed) == 41  # and the manifest: 42
    missing = []
    for rel in listed:
        reference = json.loads((top / rel).read_text())
        for entry in reference.get("entries", []):
            for key in ("input", "output", "schema"):
                name = entry.get(key)
                if isinstance(name, str) and name.endswith(".json#"):
                    path = top / "schemas" / reference["serviceName"] / name.rstrip("#")
                    if not path.is_file():
                        missing.append(f"{rel}: {entry['name']}.{key}")
    assert missing == []


PROBE = """
import json, sys
import tcdyn
from tcdyn.references import ReferenceSet
read = []
original = ReferenceSet.schema
ReferenceSet.schema = lambda self, path: read.append(path) or original(self, path)
queue = tcdyn.Queue(rootUrl="https://tc.example.com")
before = {"schemas": list(read), "jsonschema": "jsonschema" in sys.modules}
queue.task.validate  # attribute access only
from tcdyn.testing.payloads import create_task
queue.createTask.validate(create_task())
print(json.dumps({"before": before, "after": len(read)}))
"""


def test_schemas_are_read_only_when_first_needed():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True).stdout
    seen = json.loads(out)
    assert seen["before"] == {"schemas": [], "jsonschema": False}
    assert seen["after"] > 0
