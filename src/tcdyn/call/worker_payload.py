"""A task's worker payload, checked before the task is sent.

The queue's ``createTask`` schema takes any object as ``payload``: only the worker that
claims the task reads it, minutes later. Every deployment also serves its workers' payload
schemas; naming the worker (``queue.createTask(taskId, task,
workerImplementation="generic-worker/multiuser_posix")``, or ``tcdyn.payloads.check``)
checks ``payload`` against that worker's schema before anything is sent, with the
deployment's validator: the same semantics and error report as every other schema check.
``workerImplementation`` is tcdyn's own keyword: it is never sent to the service.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import SchemaNotAvailable
from ..errors import TaskclusterArgumentError as ArgumentError

if TYPE_CHECKING:
    from ..classes.context import Validator
    from ..model.reference import EntryModel
    from .bind import Call

#: The keyword of ``createTask`` that names the worker implementation.
KEYWORD = "workerImplementation"

#: Worker implementation -> its payload schema (abstract path), as Taskcluster v106 serves
#: them. ``generic-worker/multiuser_posix`` also accepts a docker-worker payload (generic
#: worker runs those through its docker-worker compatibility layer).
KINDS: dict[str, str] = {
    "generic-worker/multiuser_posix": "/schemas/generic-worker/multiuser_posix.json",
    "generic-worker/multiuser_windows": "/schemas/generic-worker/multiuser_windows.json",
    "generic-worker/insecure_posix": "/schemas/generic-worker/insecure_posix.json",
    "docker-worker": "/schemas/docker-worker/v1/payload.json",
}


def takes_worker(entry: EntryModel) -> bool:
    """Whether ``entry`` accepts ``workerImplementation=`` (a task definition's payload)."""
    return entry.name == "createTask" and entry.input is not None


def schema_of(kind: object) -> str:
    """The payload schema of a worker implementation; ``TaskclusterArgumentError`` naming
    the known ones for anything else."""
    if isinstance(kind, str) and kind in KINDS:
        return KINDS[kind]
    shown = repr(kind) if len(repr(kind)) <= 80 else repr(kind)[:77] + "..."
    raise ArgumentError(f"{KEYWORD} must be one of {', '.join(KINDS)}; got {shown}")


def check(validator: Validator, kind: object, payload: Any, *, what: str) -> None:
    """Check ``payload`` (decoded JSON) against the payload schema of worker ``kind``;
    ``SchemaValidationError`` listing every problem, ``SchemaNotAvailable`` when the
    deployment does not serve that schema (the caller asked for the check: it is not
    skipped)."""
    path = schema_of(kind)
    service = path.split("/")[2]
    if validator.validating() and validator.check(service, path, payload, what):
        return
    registry = validator.schemas
    url = registry.url(path) if registry is not None else path
    raise SchemaNotAvailable(path, url)


def check_call(validator: Validator, entry: EntryModel, call: Call, kind: object) -> None:
    """Check the ``payload`` of the task a ``createTask`` call sends (the JSON form sent:
    datetimes as strings) against worker ``kind``'s schema."""
    schema_of(kind)  # an unknown kind is refused before the body is read
    task = json.loads(call.body) if call.body is not None else None
    payload = task.get("payload") if isinstance(task, dict) else None
    check(validator, kind, payload, what=f"{entry.name} task payload ({kind})")
