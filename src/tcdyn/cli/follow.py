"""``tcdyn task log TASKID --follow`` and ``tcdyn group log TASKGROUPID --follow``: thin
layers over ``tcdyn.logs.follow`` and ``tcdyn.aio.logs.follow_group``.

The log goes to stdout as it is written (escaped on a terminal, every byte as sent when
piped), what the follower does (waiting, reconnecting, a new run) to stderr, and the exit
status is the task's (the group's) outcome: 0 completed, 10 failed, 11 exception, 12
deadline exceeded.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .output import show

#: Colours of the task names of ``group log`` on a terminal (ANSI SGR codes).
_COLOURS = ("36", "33", "35", "32", "34", "31")
#: Characters of a task's name shown before each of its lines.
LABEL_WIDTH = 24


class _Notes:
    """What the follower does, on stderr; on a terminal shared with the log, a note that
    comes in the middle of a log line starts on a line of its own."""

    def __init__(self) -> None:
        self.shared = sys.stdout.isatty() and sys.stderr.isatty()
        self.mid_line = False

    def saw(self, data: bytes) -> None:
        if data:
            self.mid_line = not data.endswith(b"\n")

    def __call__(self, text: str) -> None:
        lead = "\n" if self.shared and self.mid_line else ""
        self.mid_line = False
        show(f"{lead}tcdyn: {text}", sys.stderr)


def _say(text: str) -> None:
    show(f"tcdyn: {text}", sys.stderr)


def follow_task(args: argparse.Namespace, queue: Any) -> int:
    """Stream the task's log to its end; the exit status says how the task ended."""
    from ..workflow.follow import follow
    from .output import terminal_sink

    out = sys.stdout.buffer
    sink = terminal_sink(out, sys.stdout.isatty())
    note = _Notes()
    follower = follow(queue, args.task_id, runId=args.run_id, name=args.name, note=note,
                      poll=args.poll)
    for piece in follower:
        sink.write(piece.data)
        out.flush()
        note.saw(piece.data)
    sink.flush()
    outcome = follower.outcome
    assert outcome is not None
    note(outcome.describe())
    return outcome.exit_code


def follow_group(args: argparse.Namespace) -> int:
    """Every task of the group, each line after its task's name, until the group is
    resolved; the exit status says how the group ended."""
    import asyncio

    return asyncio.run(_follow_group(args))


def _pulse_url(args: argparse.Namespace) -> str | None:
    """The Pulse URL when one is configured (then Pulse wakes the follower), else None."""
    from .config import pulse_url
    from .output import UsageError

    if args.no_pulse:
        return None
    try:
        return pulse_url(None)
    except UsageError:
        return None


async def _follow_group(args: argparse.Namespace) -> int:
    from ..workflow.group_logs import afollow_group
    from .config import settings

    conf = settings(args.root_url, args.references)
    deployment = conf.deployment()
    queue = deployment.build("Queue", asynchronous=True)(
        rootUrl=conf.require_root_url(), credentials=conf.credentials())
    url = _pulse_url(args)
    events = deployment.build("QueueEvents")() if url else None
    tty = sys.stdout.isatty()
    out = sys.stdout.buffer
    colours: dict[str, str] = {}
    async with queue:
        follower = afollow_group(queue, args.task_group_id, pulse_url=url, events=events,
                                 poll=args.poll, note=_say)
        _say(f"following task group {args.task_group_id} "
              f"({'Pulse, and ' if url else ''}listing it every {args.poll:g} s)")
        async for line in follower:
            out.write(_prefix(line.name, line.task_id, tty, colours) + _body(line.line, tty))
            out.flush()
    code = follower.exit_code
    counts: dict[str, int] = {}
    for state, _ in follower.states.values():
        counts[state] = counts.get(state, 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    _say(f"task group {args.task_group_id} resolved: {summary or 'no tasks'}")
    return code


def _prefix(name: str, task_id: str, tty: bool, colours: dict[str, str]) -> bytes:
    from ..terminal import escape

    label = escape(name)
    label = label if len(label) <= LABEL_WIDTH else label[:LABEL_WIDTH - 1] + "…"
    text = f"{label:<{LABEL_WIDTH}} | "
    if tty:
        colour = colours.setdefault(task_id, _COLOURS[len(colours) % len(_COLOURS)])
        text = f"\x1b[{colour}m{label:<{LABEL_WIDTH}}\x1b[0m | "
    return text.encode("utf-8")


def _body(line: bytes, tty: bool) -> bytes:
    """A line as sent when piped; on a terminal escaped by the one rule; a line cut for
    its length gets a newline."""
    if tty:
        from ..terminal import escape

        text = escape(line.decode("utf-8", "backslashreplace"))
        line = text.encode("utf-8")
    return line if line.endswith(b"\n") else line + b"\n"
