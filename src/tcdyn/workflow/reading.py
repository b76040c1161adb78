"""The bytes of a log shown so far: counted, checked and bounded (``logs.follow_flow``).

Livelog serves a log from its first byte on every connection (no Range support), so each
read of a run's log is an ``Attempt`` of its ``LogCursor``: it skips as many bytes as were
shown, checking with their sha256 that they are the same, and shows the rest, refusing to
go past ``max_size``. ``LineSplitter`` cuts bytes into lines no longer than ``max_line``;
``Backoff`` spaces the looks at a task.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..errors import ResponseTooLarge

__all__ = ["Backoff", "LineSplitter", "LogCursor", "Note", "StreamEnd"]

#: Said to the user (``follow(..., note=)``): what the follower is doing, one line each.
Note = Callable[[str], None]


@dataclass(frozen=True)
class StreamEnd:
    """How one read of a log ended: ``ended`` (the whole body), ``dropped`` (the
    connection broke), ``stalled`` (``idle`` seconds without a byte), ``refused`` (an error
    status); ``new`` bytes were shown."""

    kind: str
    detail: str = ""
    new: int = 0


class LogCursor:
    """The bytes of one run's log shown so far: their count and digest. Every read of the
    log starts an ``attempt`` that skips that many bytes (checking they are the same) and
    shows the rest."""

    def __init__(self, task_id: str, run_id: int, max_size: int | None, note: Note) -> None:
        self.task_id, self.run_id = task_id, run_id
        self.max_size = max_size
        self.note = note
        self.shown = 0
        self._digest = hashlib.sha256()

    def attempt(self, what: str) -> Attempt:
        return Attempt(self, what)


class Attempt:
    """One read of a log from its first byte (``what`` names it in notes)."""

    def __init__(self, cursor: LogCursor, what: str) -> None:
        self.cursor, self.what = cursor, what
        self.skip = cursor.shown
        self.new = 0
        self._check = hashlib.sha256()

    def feed(self, data: bytes) -> bytes:
        """The part of ``data`` not shown before (raises ``ResponseTooLarge`` past the
        cursor's ``max_size``)."""
        cursor = self.cursor
        if self.skip:
            head, data = data[:self.skip], data[self.skip:]
            self._check.update(head)
            self.skip -= len(head)
            if not self.skip and self._check.digest() != cursor._digest.digest():
                cursor.note(f"{self.what} differs from the {cursor.shown} bytes of run "
                            f"{cursor.run_id}'s log already shown; showing it from byte "
                            f"{cursor.shown} on")
        if not data:
            return b""
        if cursor.max_size is not None and cursor.shown + len(data) > cursor.max_size:
            raise ResponseTooLarge(f"the log of task {cursor.task_id} run {cursor.run_id} is "
                                   f"larger than {cursor.max_size} bytes (max_size)")
        cursor._digest.update(data)
        cursor.shown += len(data)
        self.new += len(data)
        return data

    def end(self, kind: str, detail: str = "") -> StreamEnd:
        if kind == "ended" and self.skip:
            self.cursor.note(f"{self.what} ended {self.skip} bytes before the "
                             f"{self.cursor.shown} bytes already shown")
        return StreamEnd(kind, detail, self.new)


class LineSplitter:
    """Bytes into lines (``b"\\n"`` kept), a line longer than ``max_line`` bytes cut into
    pieces of that size: a log that never sends a newline cannot fill the memory."""

    def __init__(self, max_line: int = 64 * 1024) -> None:
        self.max_line = max_line
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\n", 0, self.max_line)
            if end >= 0:
                line = bytes(self._buffer[:end + 1])
            elif len(self._buffer) >= self.max_line:
                line = bytes(self._buffer[:self.max_line])
            else:
                return
            del self._buffer[:len(line)]
            yield line

    def flush(self) -> bytes:
        """What is left (a last line without a newline)."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest


class Backoff:
    """Waits that double from ``first`` to ``ceiling``; ``reset`` after progress."""

    def __init__(self, first: float, ceiling: float) -> None:
        self.first, self.ceiling = first, max(first, ceiling)
        self._next = first

    def next(self) -> float:
        wait = self._next
        self._next = min(self.ceiling, self._next * 2)
        return wait

    def reset(self) -> None:
        self._next = self.first


