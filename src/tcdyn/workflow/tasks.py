"""A task in one line: ``new_task`` makes a new taskId and a whole definition from the
few things that differ between tasks, checked against the deployment's schema::

    task_id, task = tcdyn.new_task(queue, "proj-ci/linux", tcdyn.workflow.tasks.
                                   docker_worker_payload("alpine", ["echo", "hi"]))
    queue.createTask(task_id, task)

Named ``new_task`` because it returns what ``createTask`` takes, a new task's id and
definition, and sends nothing (a ``create_task`` would suggest it did; a
``task_definition`` would leave out the id the group defaults to).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from ..errors import TaskclusterArgumentError, TaskclusterFailure

__all__ = ["DEFAULT_DEADLINE", "DEFAULT_MAX_RUN_TIME", "NewTask",
           "check_payload", "docker_worker_payload", "generic_worker_payload", "new_task"]

DEFAULT_DEADLINE = dt.timedelta(days=1)
#: The latest deadline the queue accepts, after ``created``.
MAX_DEADLINE = dt.timedelta(days=5)
#: The queue's own default for ``expires``: a year after the deadline.
DEFAULT_EXPIRES_AFTER_DEADLINE = 365
DEFAULT_MAX_RUN_TIME = 3600
#: The generic-worker form ``generic_worker_payload`` writes (Linux and macOS).
GENERIC_WORKER = "generic-worker/multiuser_posix"


class NewTask(NamedTuple):
    """What ``queue.createTask`` takes: ``task_id, task = new_task(...)``."""

    taskId: str
    task: dict[str, Any]


def _when(value: Any, start: dt.datetime, what: str) -> dt.datetime:
    """A ``datetime``, a ``timedelta`` after ``start``, or an offset such as '2 hours'."""
    from ..utils import fromNow

    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.timedelta):
        return start + value
    if isinstance(value, str):
        try:
            return fromNow(value, start.replace(tzinfo=None)).replace(tzinfo=dt.UTC)
        except ValueError as exc:
            raise TaskclusterArgumentError(f"new_task: {what} {value!r}: {exc}") from None
    raise TaskclusterArgumentError(f"new_task: {what} must be a datetime, a timedelta or an "
                                   f"offset such as '2 hours', not {type(value).__name__}")


def _js(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _strings(values: Iterable[Any], what: str) -> list[str]:
    if isinstance(values, (str, bytes)):
        raise TaskclusterArgumentError(f"new_task: {what} must be a list of strings, not one "
                                       "string")
    out = list(values)
    if not all(isinstance(v, str) for v in out):
        raise TaskclusterArgumentError(f"new_task: {what} must hold strings only")
    return out


def new_task(queue: Any, taskQueueId: str, payload: Mapping[str, Any], *,
             name: str | None = None, description: str | None = None,
             owner: str | None = None, source: str | None = None,
             deadline: Any = DEFAULT_DEADLINE, expires: Any = None,
             taskGroupId: str | None = None, schedulerId: str = "-",
             projectId: str | None = None, dependencies: Iterable[str] = (),
             requires: str | None = None, routes: Iterable[str] = (),
             scopes: Iterable[str] = (), priority: str | None = None,
             retries: int | None = None, tags: Mapping[str, str] | None = None,
             extra: Mapping[str, Any] | None = None, taskId: str | None = None,
             now: dt.datetime | None = None) -> NewTask:
    """A new task for ``taskQueueId`` (``provisionerId/workerType``) running ``payload``,
    checked against ``queue``'s ``createTask`` schema (the deployment's; a class or a
    client, sync or async: nothing is sent).

    Filled in: ``taskId`` (a new slugid), ``created`` (now), ``deadline`` (a day later;
    a datetime, a timedelta or '2 hours'), ``expires`` (a year after the deadline, as the
    queue would), ``taskGroupId`` (the task's own id: a group of its own, as the queue
    would), ``schedulerId`` ('-'), and ``metadata``: ``name`` (the task queue's id),
    ``description``, ``owner`` (the client's clientId), ``source`` (the deployment's
    ``<rootUrl>/tasks/create``, as the Taskcluster UI's task creator says). The rest is
    left to the queue's defaults unless given."""
    from ..utils import slugId

    if not isinstance(taskQueueId, str) or "/" not in taskQueueId:
        raise TaskclusterArgumentError(f"new_task: taskQueueId must be "
                                       f"'provisionerId/workerType', not {taskQueueId!r}")
    if not isinstance(payload, Mapping):
        raise TaskclusterArgumentError(f"new_task: payload must be a mapping (the worker's "
                                       f"payload), not {type(payload).__name__}")
    moment = now or dt.datetime.now(dt.UTC)
    created = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    when = _when(deadline, created, "deadline")
    if not created < when <= created + MAX_DEADLINE:
        raise TaskclusterArgumentError(f"new_task: deadline {_js(when)} must be after created "
                                       f"({_js(created)}) and at most {MAX_DEADLINE.days} days "
                                       "later (the queue refuses a later one)")
    ends = (_when(expires, created, "expires") if expires is not None
            else when.replace(year=when.year + 1) if not (when.month == 2 and when.day == 29)
            else when + dt.timedelta(days=DEFAULT_EXPIRES_AFTER_DEADLINE))
    task_id = taskId or slugId()
    root_url = getattr(queue, "rootUrl", None)
    if not isinstance(root_url, str):
        context = getattr(queue, "_context", None)
        root_url = getattr(context, "root_url", None)
    if source is None:
        if not isinstance(root_url, str):
            raise TaskclusterArgumentError("new_task: give source= (where the task comes from, "
                                           "an https:// URL): no rootUrl to make one from")
        source = f"{root_url.rstrip('/')}/tasks/create"
    if owner is None:
        try:
            creds = getattr(queue, "credentials", None)
        except TaskclusterFailure:  # an async credentials provider: not known yet
            creds = None
        owner = getattr(creds, "clientId", None) or "tcdyn"
    task: dict[str, Any] = {
        "taskQueueId": taskQueueId, "schedulerId": schedulerId,
        "taskGroupId": taskGroupId or task_id,
        "created": _js(created), "deadline": _js(when), "expires": _js(ends),
        "payload": dict(payload),
        "metadata": {"name": name if name is not None else taskQueueId,
                     "description": description if description is not None
                     else "A task made with tcdyn.new_task",
                     "owner": owner, "source": source}}
    for key, value in (("projectId", projectId), ("requires", requires),
                       ("priority", priority), ("retries", retries)):
        if value is not None:
            task[key] = value
    for key, values in (("dependencies", dependencies), ("routes", routes),
                        ("scopes", scopes)):
        listed = _strings(values, key)
        if listed:
            task[key] = listed
    if tags:
        task["tags"] = dict(tags)
    if extra:
        task["extra"] = dict(extra)
    queue.createTask.validate(task)
    return NewTask(task_id, task)


# -- worker payloads ----------------------------------------------------------------------

def docker_worker_payload(image: str, command: Sequence[str], *,
                          maxRunTime: int = DEFAULT_MAX_RUN_TIME,
                          env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A docker-worker payload (also run by generic-worker's docker translation, d2g):
    ``command`` in ``image``, at most ``maxRunTime`` seconds."""
    if not isinstance(image, str) or not image:
        raise TaskclusterArgumentError("docker_worker_payload: image must be an image name")
    payload: dict[str, Any] = {"image": image, "command": _command(command),
                               "maxRunTime": _seconds(maxRunTime)}
    if env:
        payload["env"] = dict(env)
    check_payload("docker-worker", payload)
    return payload


def generic_worker_payload(command: Sequence[str], *, maxRunTime: int = DEFAULT_MAX_RUN_TIME,
                           env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A generic-worker payload (Linux and macOS form: one command, its arguments)."""
    payload: dict[str, Any] = {"command": [_command(command)],
                               "maxRunTime": _seconds(maxRunTime)}
    if env:
        payload["env"] = dict(env)
    check_payload(GENERIC_WORKER, payload)
    return payload


def _command(command: Sequence[str]) -> list[str]:
    words = _strings(command, "command")
    if not words:
        raise TaskclusterArgumentError("a task's command must have at least the program")
    return words


def _seconds(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TaskclusterArgumentError(f"maxRunTime must be a number of seconds (at least 1), "
                                       f"not {value!r}")
    return value


def check_payload(kind: str, payload: Mapping[str, Any]) -> None:
    """``payload`` against the payload schema of worker implementation ``kind`` (one of
    ``tcdyn.payloads.KINDS``), as every other schema check: ``SchemaValidationError``."""
    from .. import payloads

    payloads.check(kind, payload)
