"""Worker payloads, typed and checked: the task ``payload`` a worker implementation reads.

``GenericWorkerPayload`` (generic-worker's own payload, multiuser posix, the name the Go
client gave it), ``GenericWorkerMultiuserPosixPayload``, ``GenericWorkerMultiuserWindowsPayload``,
``GenericWorkerInsecurePosixPayload`` and ``DockerWorkerPayload`` are ``TypedDict`` s made
from the bundled payload schemas, with their nested types (artifacts, mounts, features,
...), so that a type checker flags a misspelled key or a wrong type; ``tcdyn stubs
--root-url URL`` writes a deployment's own as ``payloads.pyi``.

``check(kind, payload)`` checks a payload against the worker's schema before a task is made
anywhere (``queue.createTask(taskId, task, workerImplementation=kind)`` does it for a
task's payload); ``KINDS`` names the worker implementations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._services.payloads import *  # noqa: F403
from .call.worker_payload import KINDS as _KINDS

if TYPE_CHECKING:
    from .deployment import Deployment

#: The worker implementations whose payload ``check`` and ``workerImplementation=`` know.
KINDS: tuple[str, ...] = tuple(_KINDS)

if not TYPE_CHECKING:  # type checkers take the star import's names as this module's
    from ._services import payloads as _generated

    __all__ = ["KINDS", "check", "schema_path", *_generated.__all__]


def schema_path(kind: str) -> str:
    """The payload schema of worker ``kind`` (``/schemas/docker-worker/v1/payload.json``);
    ``TaskclusterArgumentError`` naming the known kinds for anything else."""
    from .call.worker_payload import schema_of

    return schema_of(kind)


def check(kind: str, payload: Any, *, deployment: Deployment | None = None) -> None:
    """Check ``payload`` against the payload schema of worker ``kind`` (one of ``KINDS``)
    as ``deployment`` (default: the one behind ``tcdyn.Queue``) serves it, in the JSON form
    a task carries it (``datetime`` s as date-time strings). Raises
    ``SchemaValidationError`` listing every problem, ``SchemaNotAvailable`` when the
    deployment does not serve the schema, ``TaskclusterArgumentError`` for an unknown kind
    or a payload that is not JSON."""
    import json

    from .call.worker_payload import check as check_payload
    from .call.worker_payload import schema_of
    from .errors import TaskclusterArgumentError
    from .utils import dumpJson

    schema_of(kind)
    try:
        decoded = json.loads(dumpJson(payload, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TaskclusterArgumentError(f"{kind} payload cannot be sent as JSON: {exc}"
                                       ) from None
    except RecursionError:  # a cycle is a ValueError: this is depth alone
        raise TaskclusterArgumentError(f"{kind} payload cannot be sent as JSON: it is "
                                       "nested too deeply") from None
    if deployment is None:
        from .default import default

        deployment = default()
    check_payload(deployment.validator, kind, decoded, what=f"{kind} payload")
