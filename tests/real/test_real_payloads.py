"""Worker payloads checked before a task exists, against the real v106 stack (issue 25):
``createTask(..., workerImplementation=...)`` refuses a payload generic-worker would refuse,
and the queue never hears of the task; the stack serves the worker payload schemas that
``tcdyn.load(rootUrl)`` checks with, and ``tcdyn stubs --root-url`` types them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from real_helpers import task_def, task_queue

import tcdyn
from tcdyn import payloads, stubgen

POSIX = "generic-worker/multiuser_posix"


@pytest.mark.parametrize("flavour", ["bundled", "loaded"])
def test_a_bad_payload_never_reaches_the_queue(stack, root, tc, flavour) -> None:
    classes: Any = tcdyn if flavour == "bundled" else tc
    with classes.Queue(rootUrl=stack["TASKCLUSTER_ROOT_URL"], credentials=root) as queue:
        task_id = tcdyn.slugId()
        bad = task_def(task_queue(), payload={"command": "echo hi", "maxRunTme": 60})
        with pytest.raises(tcdyn.SchemaValidationError, match="maxRunTme"):
            queue.createTask(task_id, bad, workerImplementation=POSIX)
        with pytest.raises(tcdyn.ResourceNotFound):
            queue.task(task_id)
        good = task_def(task_queue(), payload={"command": [["true"]], "maxRunTime": 60})
        status = queue.createTask(task_id, good, workerImplementation=POSIX)
        assert status["status"]["state"] == "pending"
        assert queue.task(task_id)["payload"] == {"command": [["true"]], "maxRunTime": 60}


def test_the_stack_serves_the_payload_schemas(tc) -> None:
    for kind in payloads.KINDS:
        assert tc.references.schema(payloads.schema_path(kind)) is not None, kind
    payloads.check(POSIX, {"command": [["true"]], "maxRunTime": 60}, deployment=tc)
    with pytest.raises(tcdyn.SchemaValidationError, match="'image' is a required property"):
        payloads.check("docker-worker", {"command": ["true"], "maxRunTime": 60},
                       deployment=tc)


def test_stubs_of_the_real_stack(stack, tmp_path: Path) -> None:
    out = tmp_path / "mytc"
    assert stubgen.main(stack["TASKCLUSTER_ROOT_URL"], str(out)) == 0
    types = (out / "types.pyi").read_text()
    assert "class QueueCreateTaskRequest(_typing.TypedDict):" in types
    assert "GenericWorkerPayload: _typing.TypeAlias" in (out / "payloads.pyi").read_text()
