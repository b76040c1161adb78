"""What this process's transfers would leave if it ended now.

The ``tcdyn`` command ends at once on Ctrl-C or SIGTERM instead of unwinding
(``tcdyn.cli.interrupts``); it asks here what to remove and what to say. A download to a path
names its temporary file here before it creates it and forgets it once it is renamed or
removed (``targets.Target``); a publish names, while it runs, what it would leave
(``artifacts.PublishPlan.left``). ``end()`` removes the files and returns the notes.

Plain containers, read by a signal handler that runs in the main thread between two steps of
whatever is running there: adding and removing are single operations, nothing waits.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

#: Temporary files of downloads in progress.
_files: set[str] = set()
#: What each publish in progress would leave: a note, or None for nothing.
_notes: dict[int, Callable[[], str | None]] = {}


def add_file(path: str | os.PathLike[str]) -> None:
    """``path`` is about to be created and is temporary until ``forget_file``."""
    _files.add(os.fspath(path))


def forget_file(path: str | os.PathLike[str]) -> None:
    _files.discard(os.fspath(path))


@contextlib.contextmanager
def noting(left: Callable[[], str | None]) -> Iterator[None]:
    """Within the block, ``left()`` says what ending now would leave."""
    key = id(left)
    _notes[key] = left
    try:
        yield
    finally:
        _notes.pop(key, None)


def end() -> list[str]:
    """Remove the temporary files; return what is left that cannot be undone."""
    for path in list(_files):
        with contextlib.suppress(OSError):
            os.unlink(path)
    _files.clear()
    notes = [left() for left in list(_notes.values())]
    return [note for note in notes if note]
