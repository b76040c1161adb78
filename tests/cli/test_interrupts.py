"""``tcdyn.cli.interrupts.ending`` and ``tcdyn.transfer.leftovers``: Ctrl-C and SIGTERM end a
command at once, wherever they land, with real signals sent to a child process (issue 18
item 5): temporary files removed, one line saying what is left, exit 130.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from tcdyn.transfer import leftovers

#: The child: with ending(), after SETUP, a signal sent to itself where BODY runs.
CHILD = """
import os, signal, sys, threading, time
from pathlib import Path
from tcdyn.cli.interrupts import ending
from tcdyn.transfer import leftovers
sig = signal.Signals[sys.argv[1]]
out = Path(sys.argv[2])
{setup}
with ending():
{body}
print("block ended", flush=True)
"""


def child(tmp_path: Path, sig: str, body: str, setup: str = ""
          ) -> subprocess.CompletedProcess[str]:
    code = CHILD.format(setup=setup, body=textwrap.indent(textwrap.dedent(body), "    "))
    return subprocess.run([sys.executable, "-c", code, sig, str(tmp_path)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_removes_the_temporary_files_says_so_and_exits_130(tmp_path, sig):
    done = child(tmp_path, sig, """
        part = out / ".f.part"
        leftovers.add_file(part)
        part.write_bytes(b"half")
        leftovers.add_file(out / ".never-made.part")  # named before it is created
        os.kill(os.getpid(), sig)
        time.sleep(30)
    """)
    assert done.returncode == 130, done.stderr
    assert done.stderr == "tcdyn: interrupted\n" and done.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_a_file_forgotten_is_kept(tmp_path):
    done = child(tmp_path, "SIGTERM", """
        kept = out / "kept"
        leftovers.add_file(kept)
        kept.write_bytes(b"done")
        leftovers.forget_file(kept)  # renamed into place: no longer temporary
        os.kill(os.getpid(), sig)
    """)
    assert done.returncode == 130
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]


def test_what_a_publish_leaves_is_said_on_one_line(tmp_path):
    done = child(tmp_path, "SIGINT", """
        with leftovers.noting(lambda: "artifact 'a' was created\\x1b]52;c;x\\x07"), \\
                leftovers.noting(lambda: None):
            os.kill(os.getpid(), sig)
    """)
    assert done.returncode == 130
    assert done.stderr.startswith("tcdyn: interrupted: artifact 'a' was created")
    assert "\x1b" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_the_end_comes_where_an_interrupt_would_be_lost_or_hang(tmp_path):
    """Where a KeyboardInterrupt leaves a lock taken (a lock's __exit__, the cleanup then
    waiting for it forever) or is swallowed (here, by a finaliser), the process still ends."""
    done = child(tmp_path, "SIGTERM", """
        class Lock:
            def __init__(self):
                self.lock = threading.Lock()
            def __enter__(self):
                self.lock.acquire()
            def __exit__(self, *exc):
                os.kill(os.getpid(), sig)  # as if it arrived here
                self.lock.release()
        lock = Lock()
        try:
            with lock:
                pass
        finally:
            with lock:  # a cleanup that takes the lock again
                pass
    """)
    assert (done.returncode, done.stderr) == (130, "tcdyn: interrupted\n")
    done = child(tmp_path, "SIGTERM", """
        class Finalised:
            def __del__(self):
                os.kill(os.getpid(), sig)  # a KeyboardInterrupt here would be dropped
        Finalised()
        time.sleep(30)
    """)
    assert (done.returncode, done.stderr) == (130, "tcdyn: interrupted\n")


def test_a_stalled_thread_is_not_waited_for(tmp_path):
    done = child(tmp_path, "SIGTERM", """
        threading.Thread(target=time.sleep, args=(60,)).start()  # not a daemon
        os.kill(os.getpid(), sig)
    """)
    assert (done.returncode, done.stderr) == (130, "tcdyn: interrupted\n")


def test_an_ignored_signal_stays_ignored_and_the_handlers_come_back(tmp_path):
    done = child(tmp_path, "SIGTERM", """
        os.kill(os.getpid(), sig)
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    """, setup="signal.signal(signal.SIGTERM, signal.SIG_IGN)")
    assert (done.returncode, done.stdout) == (0, "block ended\n"), done.stderr
    from tcdyn.cli.interrupts import ending

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with ending():
        assert signal.getsignal(signal.SIGTERM) is not before[signal.SIGTERM]
    assert {s: signal.getsignal(s) for s in before} == before


def test_outside_the_main_thread_signals_are_left_alone():
    from tcdyn.cli.interrupts import ending

    seen: list[object] = []

    def run() -> None:
        with ending():
            seen.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [signal.getsignal(signal.SIGTERM)]


def test_leftovers_end_removes_files_and_gives_the_notes(tmp_path):
    made = tmp_path / "made"
    made.write_bytes(b"x")
    leftovers.add_file(made)
    leftovers.add_file(tmp_path / "missing")
    with leftovers.noting(lambda: "left"), leftovers.noting(lambda: None):
        assert leftovers.end() == ["left"]
    assert not made.exists()
    assert leftovers.end() == []  # nothing registered any more
