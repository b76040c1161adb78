"""Following a task's log to its end, as a sans-IO flow (the drivers: ``follow.py``).

While a run is running, its ``public/logs/live.log`` is a ``reference`` artifact to the
worker's livelog (generic-worker and docker-worker): one HTTP GET streams the log from its
first byte for as long as the run writes it, with no Range support. When the run is
resolved, the worker has replaced it with a ``link`` to ``public/logs/live_backing.log``, the
whole log in object storage. The flow:

- waits (polling ``queue.status`` with a backoff) while the task is unscheduled or the run
  pending, and while the run has no live log yet;
- streams the live log; after a dropped connection, an error status or ``idle`` seconds
  without a byte it checks the run's state and connects again (with a backoff), skipping
  the bytes already shown: they are counted and checked (sha256) to be the same, so a
  reconnect shows no line twice and leaves none out;
- once the run is resolved, reads the rest from the backing log (else the live log) after
  the same bytes, so the switch adds nothing twice and loses nothing;
- follows a newer run (a retry or a rerun made meanwhile) into its log, and returns the
  task's ``Outcome``, whose ``exit_code`` is 0 (completed), ``FAILED``, ``EXCEPTION`` or
  ``DEADLINE_EXCEEDED``.

Every read is bounded: ``max_size`` bytes per run's log, ``LineSplitter`` lines
(``reading.py``: the bytes shown, counted and checked).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import (
    InvalidResponse,
    ResourceNotFound,
    ResponseTooLarge,
    TaskclusterArgumentError,
    TaskclusterArtifactError,
    TaskclusterConnectionError,
    TaskclusterRestFailure,
)
from .flow import Call, Flow, Sleep
from .reading import Backoff, LineSplitter, LogCursor, Note, StreamEnd

__all__ = ["BACKING_LOG", "DEADLINE_EXCEEDED", "EXCEPTION", "FAILED", "LIVE_LOG",
           "Download", "FollowOptions", "LineSplitter", "LogCursor", "LogData", "Note",
           "Outcome", "Stream", "StreamEnd", "follow_flow"]

LIVE_LOG = "public/logs/live.log"
BACKING_LOG = "public/logs/live_backing.log"
#: Exit statuses of ``tcdyn task log --follow`` (and ``Outcome.exit_code``) for a task
#: that did not complete; 1-6 and 130 are the command's other statuses.
FAILED, EXCEPTION, DEADLINE_EXCEEDED = 10, 11, 12
RESOLVED = ("completed", "failed", "exception")
#: A run's log is not read past this many bytes unless ``max_size`` says otherwise.
DEFAULT_MAX_SIZE = 16 * 1024 ** 3


@dataclass(frozen=True)
class FollowOptions:
    """How to follow: which log, which run, how often to look, how much to read."""

    #: The log to stream while the run is running.
    name: str = LIVE_LOG
    #: The whole log, read once the run is resolved (``name`` when the run has none).
    backing: str = BACKING_LOG
    #: Follow this run only (default: the latest, then any newer one).
    run_id: int | None = None
    #: The longest wait between two looks at the task (the backoff's ceiling), seconds.
    poll: float = 10.0
    #: The first wait of the backoff, seconds.
    first_wait: float = 0.5
    #: A live stream that sends nothing for this long is checked and connected again.
    idle: float = 120.0
    #: At most this many bytes of one run's log (None: no limit).
    max_size: int | None = DEFAULT_MAX_SIZE

    def __post_init__(self) -> None:
        for field_name in ("poll", "first_wait", "idle"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise TaskclusterArgumentError(f"follow: {field_name} must be a positive "
                                               f"number of seconds, not {value!r}")
        if self.run_id is not None and (isinstance(self.run_id, bool) or not isinstance(
                self.run_id, int) or self.run_id < 0):
            raise TaskclusterArgumentError(f"follow: runId must be a run number (0, 1, ...), "
                                           f"not {self.run_id!r}")
        if self.max_size is not None and (isinstance(self.max_size, bool) or not isinstance(
                self.max_size, int) or self.max_size < 0):
            raise TaskclusterArgumentError(f"follow: max_size must be a number of bytes or "
                                           f"None, not {self.max_size!r}")
        for field_name in ("name", "backing"):
            if not isinstance(getattr(self, field_name), str) or not getattr(self, field_name):
                raise TaskclusterArgumentError(f"follow: {field_name} must be an artifact "
                                               "name")


@dataclass(frozen=True)
class LogData:
    """Bytes of a run's log, in order, each shown once."""

    task_id: str
    run_id: int
    data: bytes


@dataclass(frozen=True)
class Outcome:
    """How a task ended: the state and reason of the run followed last."""

    task_id: str
    run_id: int
    state: str
    reason: str | None

    @property
    def exit_code(self) -> int:
        """0 completed, ``FAILED`` (10), ``EXCEPTION`` (11), ``DEADLINE_EXCEEDED`` (12)."""
        if self.state == "completed":
            return 0
        if self.state == "failed":
            return FAILED
        return DEADLINE_EXCEEDED if self.reason == "deadline-exceeded" else EXCEPTION

    def describe(self) -> str:
        reason = f" ({self.reason})" if self.reason and self.reason != self.state else ""
        return f"task {self.task_id} run {self.run_id}: {self.state}{reason}"


# -- steps the drivers perform (beyond flow.Call and flow.Sleep) ---------------------------

@dataclass(frozen=True)
class Stream:
    """GET ``url`` (no credentials: a livelog's own URL) into ``cursor``; answer: a
    ``StreamEnd``, never an exception for what the connection did."""

    task_id: str
    run_id: int
    url: str
    cursor: LogCursor
    idle: float


@dataclass(frozen=True)
class Download:
    """The library's ``downloadArtifact`` of ``name`` of the run into ``cursor`` (storage
    types, hashes and retries as there); answer: a ``StreamEnd``, or its error."""

    task_id: str
    run_id: int
    name: str
    cursor: LogCursor
    max_size: int | None


# -- the flow -------------------------------------------------------------------------------

def _status(task_id: str) -> Flow[dict[str, Any]]:
    answer = yield Call("status", (task_id,))
    status = answer.get("status") if isinstance(answer, dict) else None
    runs = status.get("runs") if isinstance(status, dict) else None
    if not isinstance(runs, list) or not all(
            isinstance(r, dict) and isinstance(r.get("state"), str) for r in runs):
        raise InvalidResponse(f"queue.status of task {task_id}: an answer without its runs "
                              "and their states", status_code=200)
    assert isinstance(status, dict)
    return status


def _says(text: Any) -> str:
    """A server's short word (a state, a reason) for a note, at most 64 characters."""
    return str(text)[:64]


def follow_flow(task_id: str, opts: FollowOptions, note: Note) -> Flow[Outcome]:
    """Follow task ``task_id``'s log: yields ``Call``, ``Sleep``, ``Stream`` and
    ``Download`` steps; returns the task's ``Outcome``."""
    wait = Backoff(opts.first_wait, opts.poll)
    status = yield from _status(task_id)
    said = False
    while not status["runs"]:  # unscheduled: waiting on dependencies, or not scheduled yet
        if opts.run_id is not None:
            raise TaskclusterArgumentError(f"task {task_id} has no run {opts.run_id} "
                                           "(it has not run yet)")
        if not said:
            note(f"task {task_id} is {_says(status.get('state'))}: waiting for it to be "
                 "scheduled")
            said = True
        yield Sleep(wait.next())
        status = yield from _status(task_id)
    runs = status["runs"]
    if opts.run_id is not None and opts.run_id >= len(runs):
        raise TaskclusterArgumentError(f"task {task_id} has no run {opts.run_id} (its runs: "
                                       f"0 to {len(runs) - 1})")
    run_id = len(runs) - 1 if opts.run_id is None else opts.run_id
    while True:
        status = yield from _follow_run(task_id, run_id, opts, note)
        runs = status["runs"]
        run = runs[run_id]
        if opts.run_id is None and len(runs) > run_id + 1:
            newer = runs[run_id + 1]
            note(f"run {run_id} resolved {_says(run['state'])} "
                 f"({_says(run.get('reasonResolved'))}); following run {run_id + 1} "
                 f"({_says(newer.get('reasonCreated'))})")
            run_id += 1
            continue
        reason = run.get("reasonResolved")
        return Outcome(task_id, run_id, run["state"],
                       _says(reason) if isinstance(reason, str) else None)


def _follow_run(task_id: str, run_id: int, opts: FollowOptions, note: Note
                ) -> Flow[dict[str, Any]]:
    """Show run ``run_id``'s log while it runs, then the rest once it is resolved;
    returns the task's status after that."""
    cursor = LogCursor(task_id, run_id, opts.max_size, note)
    wait = Backoff(opts.first_wait, opts.poll)
    said: set[str] = set()

    def once(key: str, text: str) -> None:
        if key not in said:
            said.add(key)
            note(text)

    while True:
        status = yield from _status(task_id)
        state = status["runs"][run_id]["state"]
        if state in RESOLVED:
            break
        if state != "running":
            once(state, f"run {run_id} of task {task_id} is {_says(state)}: waiting for a "
                        "worker")
            yield Sleep(wait.next())
            continue
        try:
            content = yield Call("artifact", (task_id, run_id, opts.name))
        except ResourceNotFound:
            once("no-log", f"run {run_id} is running; waiting for its {opts.name}")
            yield Sleep(wait.next())
            continue
        end = yield from _read_live(task_id, run_id, opts, cursor, content, once)
        if end is None:
            yield Sleep(wait.next())
            continue
        if end.new:
            wait.reset()
        if end.kind == "stalled":
            continue  # the state is checked at once, then the log read again
        if end.kind != "ended":
            pause = wait.next()
            note(f"the live log of run {run_id}: {end.detail}; connecting again in "
                 f"{pause:g} s")
            yield Sleep(pause)
        else:
            yield Sleep(wait.next())
    status = yield from _rest(task_id, run_id, opts, cursor, note)
    return status


def _read_live(task_id: str, run_id: int, opts: FollowOptions, cursor: LogCursor,
               content: Any, once: Callable[[str, str], None]) -> Flow[StreamEnd | None]:
    """One read of the live log by its storage type (``None``: nothing to read yet)."""
    kind = content.get("storageType") if isinstance(content, dict) else None
    url = content.get("url") if isinstance(content, dict) else None
    if kind in ("reference", "s3") and isinstance(url, str) and url.startswith(
            ("http://", "https://")):
        end: StreamEnd = yield Stream(task_id, run_id, url, cursor, opts.idle)
        return end
    if kind in ("object", "link"):
        end = yield Download(task_id, run_id, opts.name, cursor, opts.max_size)
        return end
    if kind == "error":
        once("error", f"{opts.name} of run {run_id} is an error artifact "
                      f"({_says(content.get('reason'))}); waiting for the run to end")
        return None
    raise InvalidResponse(f"queue.artifact of {opts.name} (task {task_id} run {run_id}): "
                          f"storage type {_says(kind)!r} without a usable URL",
                          status_code=200)


def _rest(task_id: str, run_id: int, opts: FollowOptions, cursor: LogCursor, note: Note
          ) -> Flow[dict[str, Any]]:
    """The resolved run's whole log after the bytes shown: its backing log, else the log
    followed; returns the task's status then (a rerun may have begun meanwhile)."""
    names = [opts.backing] if opts.backing == opts.name else [opts.backing, opts.name]
    for name in names:
        try:
            yield Download(task_id, run_id, name, cursor, opts.max_size)
        except ResourceNotFound:
            continue
        except ResponseTooLarge:
            raise
        except TaskclusterArtifactError as exc:
            note(f"{name} of run {run_id} is an error artifact: {exc.reason}: {exc}")
        except (TaskclusterConnectionError, TaskclusterRestFailure) as exc:
            note(f"the log of run {run_id} cannot be read now that it is resolved: {exc}")
        break
    else:
        if cursor.shown == 0:
            note(f"run {run_id} of task {task_id} has no log ({' or '.join(names)})")
    status = yield from _status(task_id)
    return status
