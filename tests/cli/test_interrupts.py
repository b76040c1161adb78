"""``tcdyn.cli.interrupts.stopping``: Ctrl-C and SIGTERM stop a command wherever they land,
with real signals sent to this process (issue 18 item 5).

A ``KeyboardInterrupt`` raised by a signal handler can be lost (a finaliser, a callback from
compiled code, a ``__set_name__``) or leave a lock taken (raised in a ``__exit__``): the stop
is delivered again until it ends the block, but not while it is on its way out.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from typing import Any

import pytest

from tcdyn.cli.interrupts import AGAIN, stopping

#: Far longer than a stop may take to come back.
LONG = 10.0


def send(sig: int = signal.SIGTERM) -> None:
    os.kill(os.getpid(), sig)  # Python runs the handler before os.kill returns


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_block_and_the_handlers_come_back(sig):
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    ran: list[str] = []
    with pytest.raises(KeyboardInterrupt), stopping():
        try:
            send(sig)
            ran.append("after the signal")
        finally:
            ran.append("cleanup")
    assert ran == ["cleanup"]
    assert {s: signal.getsignal(s) for s in before} == before
    assert [t.name for t in threading.enumerate() if t.name == "tcdyn-stop"] == []


def _lost_then_waiting(lose: Any) -> float:
    """Seconds from a lost stop to the KeyboardInterrupt that ends the block."""
    with pytest.raises(KeyboardInterrupt), stopping():
        lose()
        start = time.monotonic()
        time.sleep(LONG)  # interrupted by the delivery again
    return time.monotonic() - start


def test_a_stop_swallowed_is_delivered_again_at_once():
    def swallowed() -> None:  # as jsonschema-rs made it into its own error
        with contextlib.suppress(KeyboardInterrupt):
            send()

    assert _lost_then_waiting(swallowed) < LONG / 4


def test_a_stop_lost_in_a_finaliser_is_not_printed_and_is_delivered_again(capfd):
    class Finalised:
        def __del__(self) -> None:
            send()  # raised here, Python would print "Exception ignored" and go on

    assert _lost_then_waiting(lambda: Finalised()) < LONG / 4
    assert capfd.readouterr().err == ""


def test_a_block_that_ends_after_a_lost_stop_raises_it_at_its_end():
    ended: list[bool] = []
    with pytest.raises(KeyboardInterrupt), stopping():
        with contextlib.suppress(KeyboardInterrupt):
            send()
        ended.append(True)
    assert ended == [True]


def test_check_raises_a_stop_asked_for():
    with pytest.raises(KeyboardInterrupt), stopping() as stop:
        stop.check()
        with contextlib.suppress(KeyboardInterrupt):
            send()
        stop.check()
        pytest.fail("check() let a stop pass")


def test_a_stop_on_its_way_out_is_not_raised_again_during_cleanup():
    cleaned: list[bool] = []
    with pytest.raises(KeyboardInterrupt) as info, stopping():
        try:
            send()
        finally:
            time.sleep(10 * AGAIN)  # deliveries come, and see it on its way
            try:
                raise OSError("cleanup failed")  # an error it led to: still on its way
            except OSError:
                time.sleep(4 * AGAIN)
            cleaned.append(True)
    assert cleaned == [True]
    assert info.value.__context__ is None  # the first one, not another


def test_an_error_a_stop_was_made_into_ends_the_block_as_the_stop():
    with pytest.raises(KeyboardInterrupt), stopping():
        try:
            send()
        except KeyboardInterrupt as exc:
            raise RuntimeError("Error calling __set_name__") from exc


class Resource:
    """A ``with`` statement's resource whose ``__exit__`` a signal reaches."""

    def __init__(self, signals: int) -> None:
        self.signals, self.given_back = signals, False

    def __enter__(self) -> Resource:
        return self

    def __exit__(self, *exc: object) -> None:
        for _ in range(self.signals):
            send()
        self.given_back = True


def test_a_stop_reaching_an_exit_comes_once_it_is_done():
    resource = Resource(signals=1)
    with pytest.raises(KeyboardInterrupt), stopping():
        with resource:
            pass
        assert resource.given_back
        time.sleep(LONG)


def test_a_second_signal_raises_at_once_wherever_it_lands():
    resource = Resource(signals=2)
    with pytest.raises(KeyboardInterrupt), stopping(), resource:
        pass
    assert not resource.given_back


def test_an_ignored_signal_stays_ignored():
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with stopping():
            send()
            time.sleep(4 * AGAIN)
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_outside_the_main_thread_signals_are_left_alone():
    seen: list[Any] = []

    def run() -> None:
        with stopping():
            seen.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [signal.getsignal(signal.SIGTERM)]
