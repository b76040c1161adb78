"""Commands that end at once on Ctrl-C or SIGTERM: ``ending()``.

Inside ``with ending():`` SIGINT and SIGTERM do not raise ``KeyboardInterrupt``: the handler
removes the temporary files of downloads in progress, writes one line to stderr
(``tcdyn: interrupted``, and what an interrupted publish leaves: ``transfer.leftovers``) and
ends the process with status 130 (``os._exit``: nothing else runs and nothing is waited for).
A signal the command was started with ignored stays ignored.

Why not unwind: Python runs a handler wherever the main thread happens to be, and a
``KeyboardInterrupt`` raised there is not always seen. Raised in a lock's ``__enter__`` or
``__exit__`` (httpcore's connection pool), it leaves the lock taken and the cleanup waits for
it forever; compiled code that called Python (jsonschema-rs) may make it an error of its own,
a finaliser drops it, ``__set_name__`` wraps it. Ending the process needs none of that code to
go on. stdout is not flushed (a reader that stopped reading would hold the end up): what
``task log`` shows is flushed as it goes, ``artifact get`` may leave its last buffer unwritten.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

#: The signals that end a command.
STOPS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def ending() -> Iterator[None]:
    """SIGINT and SIGTERM end the process inside the block (see the module documentation);
    outside the main thread, signals are left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # everything the handler uses is imported now: it may run inside an import
    from ..terminal import escape
    from ..transfer import leftovers
    from .output import INTERRUPTED

    def end(signum: int, frame: FrameType | None) -> None:
        notes = leftovers.end()
        line = escape("tcdyn: interrupted" + "".join(f": {note}" for note in notes))
        with contextlib.suppress(OSError):
            os.write(2, f"{line}\n".encode("utf-8", "backslashreplace"))
        os._exit(INTERRUPTED)

    handlers: dict[signal.Signals, Any] = {}
    try:
        for signum in STOPS:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                handlers[signum] = signal.signal(signum, end)
        yield
    finally:
        for restored, handler in handlers.items():
            signal.signal(restored, handler)
