"""Following every task of a task group: ``afollow_group`` (async only: it follows many
logs at once, which asyncio does with one thread).

The group is listed (``queue.listTaskGroup``) every ``poll`` seconds, and at once when Pulse
says a task of the group started running or the group resolved (with ``pulse_url``: a
consumer bound to ``task-running`` and ``task-group-resolved`` for the group). Each task
seen running, or resolved after the first listing, gets a follower
(``AsyncFollower``; at most ``max_tasks`` at once, the others wait their turn and then show
their whole log); tasks already resolved at the first listing are not shown. Lines come
out as ``GroupLine`` s, each at most ``max_line`` bytes (a longer line is cut in pieces).
It ends when every task of the group is resolved and every follower is done;
``exit_code`` is then the group's: 0 when every task completed, else ``FAILED`` if one
failed, ``DEADLINE_EXCEEDED`` if one passed its deadline, ``EXCEPTION`` otherwise. Tasks
that wait on a dependency that failed stay unscheduled until their deadline, and so does
the follower.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from .follow import AsyncFollower
from .logs import (
    DEADLINE_EXCEEDED,
    EXCEPTION,
    FAILED,
    RESOLVED,
    FollowOptions,
    LineSplitter,
    Note,
    Outcome,
)

__all__ = ["GroupFollower", "GroupLine", "afollow_group"]

#: Tasks followed at once at most (each holds one connection to its worker).
FOLLOWED_AT_ONCE = 32


@dataclass(frozen=True)
class GroupLine:
    """One line of one task's log (its newline kept; a piece of a line too long)."""

    task_id: str
    run_id: int
    #: The task's ``metadata.name`` as the queue gave it (escape it to show it).
    name: str
    line: bytes


def afollow_group(queue: Any, taskGroupId: str, *, pulse_url: str | None = None,
                  events: Any = None, poll: float = 10.0, max_tasks: int = FOLLOWED_AT_ONCE,
                  max_line: int = 64 * 1024, note: Note | None = None,
                  **options: Any) -> GroupFollower:
    """Follow the logs of task group ``taskGroupId`` with an async ``queue``: ``async for``
    the result for ``GroupLine`` s; then ``exit_code`` and ``outcomes`` (per task followed)
    say how it ended. ``events``: the deployment's ``QueueEvents`` (default: the bundled
    one's exchanges). ``options``: those of ``FollowOptions`` for each task."""
    return GroupFollower(queue, taskGroupId, pulse_url=pulse_url, events=events, poll=poll,
                         max_tasks=max_tasks, max_line=max_line, note=note,
                         options=FollowOptions(**options))


class GroupFollower:
    def __init__(self, queue: Any, task_group_id: str, *, pulse_url: str | None,
                 events: Any, poll: float, max_tasks: int, max_line: int,
                 note: Note | None, options: FollowOptions) -> None:
        from ..errors import TaskclusterArgumentError
        from .follow import _default_note

        if not isinstance(task_group_id, str) or not task_group_id:
            raise TaskclusterArgumentError(f"follow_group: taskGroupId must be a task "
                                           f"group's id, not {task_group_id!r}")
        for name, value in (("poll", poll), ("max_tasks", max_tasks), ("max_line", max_line)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise TaskclusterArgumentError(f"follow_group: {name} must be positive, "
                                               f"not {value!r}")
        if options.run_id is not None:
            raise TaskclusterArgumentError("follow_group: runId is per task; follow the "
                                           "group's latest runs")
        self.queue = queue
        self.task_group_id = task_group_id
        self.pulse_url = pulse_url
        self.events = events
        self.poll = poll
        self.max_tasks = int(max_tasks)
        self.max_line = int(max_line)
        self.note: Note = note or _default_note
        self.options = options
        #: How each task followed ended.
        self.outcomes: dict[str, Outcome] = {}
        #: Each task's final state and reason, from the last listing.
        self.states: dict[str, tuple[str, str | None]] = {}

    @property
    def exit_code(self) -> int:
        states = list(self.states.values())
        if all(state == "completed" for state, _ in states):
            return 0
        if any(state == "failed" for state, _ in states):
            return FAILED
        if any(reason == "deadline-exceeded" for _, reason in states):
            return DEADLINE_EXCEEDED
        return EXCEPTION

    def __aiter__(self) -> AsyncIterator[GroupLine]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[GroupLine]:
        import asyncio

        lines: asyncio.Queue[GroupLine | None] = asyncio.Queue(256)
        wake = asyncio.Event()
        slots = asyncio.Semaphore(self.max_tasks)
        running: dict[str, asyncio.Task[None]] = {}
        helpers: list[asyncio.Task[Any]] = []
        if self.pulse_url:
            helpers.append(asyncio.create_task(self._listen(wake)))
        discover = asyncio.create_task(self._discover(lines, wake, slots, running))
        helpers.append(discover)
        try:
            while True:
                line = await lines.get()
                if line is None:
                    break
                yield line
            await discover  # its error, if it ended with one
        finally:
            for task in [*helpers, *running.values()]:
                task.cancel()
            for task in [*helpers, *running.values()]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _discover(self, lines: Any, wake: Any, slots: Any,
                        running: dict[str, Any]) -> None:
        import asyncio

        first = True
        try:
            while True:
                wake.clear()
                items = [item async for item in self.queue.listTaskGroup.items(
                    self.task_group_id)]
                skipped = 0
                for item in items:
                    status = item.get("status") if isinstance(item, dict) else None
                    if not isinstance(status, dict) or not isinstance(status.get("taskId"),
                                                                      str):
                        continue
                    task_id, state = status["taskId"], status.get("state")
                    runs = status.get("runs") or [{}]
                    last = runs[-1] if isinstance(runs[-1], dict) else {}
                    self.states[task_id] = (str(state), last.get("reasonResolved"))
                    if task_id in running or task_id in self.outcomes:
                        continue
                    if state in RESOLVED and first:
                        self.outcomes[task_id] = Outcome(task_id, len(runs) - 1, str(state),
                                                         last.get("reasonResolved"))
                        skipped += 1
                        continue
                    if state in ("unscheduled", "pending"):  # started when seen running
                        continue
                    metadata = (item.get("task") or {}).get("metadata") or {}
                    name = metadata.get("name") if isinstance(metadata, dict) else None
                    running[task_id] = asyncio.create_task(self._follow(
                        task_id, name if isinstance(name, str) else task_id, lines, slots))
                if first and skipped:
                    self.note(f"{skipped} task{'s' if skipped != 1 else ''} of group "
                              f"{self.task_group_id} had already resolved: not shown")
                first = False
                active = [t for t in running.values() if not t.done()]
                for done in [t for t in running.values() if t.done()]:
                    failure = done.exception()
                    if failure is not None:
                        raise failure
                if not active and all(s in RESOLVED for s, _ in self.states.values()):
                    return
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(wake.wait(), self.poll)
        finally:
            await lines.put(None)

    async def _follow(self, task_id: str, name: str, lines: Any, slots: Any) -> None:
        async with slots:
            label = name[:40]
            follower = AsyncFollower(self.queue, task_id, self.options,
                                     lambda text: self.note(f"{label}: {text}"))
            splitter = LineSplitter(self.max_line)
            run_id = -1
            async for piece in follower:
                if piece.run_id != run_id:
                    rest = splitter.flush()
                    if rest:
                        await lines.put(GroupLine(task_id, run_id, name, rest))
                    run_id = piece.run_id
                for line in splitter.feed(piece.data):
                    await lines.put(GroupLine(task_id, run_id, name, line))
            rest = splitter.flush()
            if rest:
                await lines.put(GroupLine(task_id, run_id, name, rest))
            if follower.outcome is not None:
                self.outcomes[task_id] = follower.outcome
                self.states[task_id] = (follower.outcome.state, follower.outcome.reason)

    async def _listen(self, wake: Any) -> None:
        """Pulse: list the group again at once when a task of it starts or it resolves."""
        from ..pulse import Consumer

        events = self.events
        if events is None:
            from .. import QueueEvents

            events = QueueEvents()
        bindings = [events.taskRunning(taskGroupId=self.task_group_id),
                    events.taskGroupResolved(taskGroupId=self.task_group_id)]
        try:
            async with Consumer(self.pulse_url or "", None, bindings) as consumer:
                async for _message in consumer:
                    wake.set()
        except Exception as exc:  # polling goes on without it
            self.note(f"Pulse: {exc}; listing the group every {self.poll:g} s instead")
