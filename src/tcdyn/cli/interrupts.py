"""Commands that stop on Ctrl-C or SIGTERM wherever they are: ``stopping()``.

Inside ``with stopping():`` SIGINT and SIGTERM raise ``KeyboardInterrupt`` in the main thread,
as Ctrl-C does, so ``finally`` blocks remove temporary files and the command exits 130 (a
signal the command was started with ignored stays ignored).

Python runs a signal handler wherever the main thread happens to be, and a
``KeyboardInterrupt`` raised there can be lost: in a finaliser or a weakref callback (an
import's lock, say) Python prints "Exception ignored" and goes on; a callback from compiled
code may turn it into an error of its own; Python wraps one raised in a ``__set_name__`` in
``RuntimeError``. So, once a stop is asked for, a thread delivers it again to the main thread
every ``AGAIN`` seconds until the block ends, and it is raised again unless the last one is
on its way out (an ``except``, ``finally`` or ``__exit__`` up the stack is handling it, or an
error it led to: ``sys.exc_info()``). A block that ends as if nothing happened raises it at
its end (``check()`` raises it before a result is shown), one that ends with an error a
``KeyboardInterrupt`` led to raises that ``KeyboardInterrupt``, and a ``KeyboardInterrupt``
Python reports as unraisable is not printed.

Nor is a stop raised in a ``with`` statement's ``__enter__`` or ``__exit__``: what they take
or give back (a lock) would stay taken, so it comes with the next delivery. A second signal
raises at once, wherever it lands (Ctrl-C twice).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

#: Seconds between two deliveries of a stop that has not ended the block yet.
AGAIN = 0.05
#: The signals that stop a command.
STOPS = (signal.SIGINT, signal.SIGTERM)
_WITH_METHODS = frozenset(("__enter__", "__exit__", "__aenter__", "__aexit__"))


class Stop:
    """One ``stopping()`` block: whether a stop was asked for, and its handlers."""

    def __init__(self, unraisable: Any) -> None:
        self.asked = False
        self.done = False  # the block has ended: its handlers are being put back
        self._again = False  # the signal being handled is a delivery again
        self._signum: int = signal.SIGINT
        self._unraisable = unraisable
        self._first = threading.Event()
        self._ended = threading.Event()
        self._main = threading.get_ident()
        self._thread = threading.Thread(target=self._deliver_again, daemon=True,
                                        name="tcdyn-stop")

    def check(self) -> None:
        """Raise the stop if one was asked for (before the command's result is shown)."""
        if self.asked:
            raise KeyboardInterrupt

    def signalled(self, signum: int, frame: FrameType | None) -> None:
        again, self._again = self._again, False
        if self.done:  # raised once the handlers are back, by stopping()
            self.asked = self.asked or not again
            return
        if again:
            if _on_its_way() or _entering_or_leaving(frame):
                return
        elif not self.asked:
            self.asked, self._signum = True, signum
            self._first.set()
            if _entering_or_leaving(frame):
                return  # the next delivery raises it
        raise KeyboardInterrupt

    def unraisable(self, report: Any) -> None:
        if self.asked and isinstance(report.exc_value, KeyboardInterrupt):
            return  # lost in a finaliser: delivered again in a moment
        self._unraisable(report)

    def _deliver_again(self) -> None:
        self._first.wait()
        while not self._ended.wait(AGAIN):
            self._again = True
            signal.pthread_kill(self._main, self._signum)

    def start(self) -> None:
        self._thread.start()

    def end(self) -> None:
        """Stop the deliveries; once this returns, none is on its way (the thread sent
        its last before it ended, and a signal reaches the main thread as it wakes)."""
        self.done = True
        self._ended.set()
        self._first.set()
        if self._thread.ident is not None:
            self._thread.join()


def _entering_or_leaving(frame: FrameType | None) -> bool:
    """Whether ``frame`` (or the one that called it: a ``contextmanager``'s generator) is a
    ``with`` statement's ``__enter__`` or ``__exit__``: raised there, a ``KeyboardInterrupt``
    would leave what it takes or gives back taken (httpcore's pool lock, and the cleanup
    waits for it forever)."""
    for each in (frame, frame.f_back if frame is not None else None):
        if each is not None and each.f_code.co_name in _WITH_METHODS:
            return True
    return False


def _on_its_way() -> bool:
    """Whether a ``KeyboardInterrupt`` is being handled up the stack."""
    return _interrupt_in(sys.exc_info()[1]) is not None


def _interrupt_in(error: BaseException | None) -> KeyboardInterrupt | None:
    """The ``KeyboardInterrupt`` that is ``error`` or that led to it, if any."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


@contextlib.contextmanager
def stopping() -> Iterator[Stop]:
    """SIGINT and SIGTERM stop the block as ``KeyboardInterrupt`` (see the module
    documentation); outside the main thread, signals are left alone. Gives the block's
    ``Stop``: ``check()`` it before showing a result."""
    hook = sys.unraisablehook
    stop = Stop(hook)
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    handlers: dict[int, Any] = {}
    try:
        stop.start()
        for signum in STOPS:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                handlers[signum] = signal.signal(signum, stop.signalled)
        sys.unraisablehook = stop.unraisable
        try:
            yield stop
        except Exception as exc:
            interrupt = _interrupt_in(exc) if stop.asked else None
            if interrupt is None:
                raise
            raise interrupt from None  # made into an error on its way
    finally:
        stop.end()
        for restored, handler in handlers.items():
            signal.signal(restored, handler)
        sys.unraisablehook = hook
    stop.check()  # lost where nothing noticed and the block ended first, or came just now
