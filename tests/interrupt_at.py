"""Run the ``tcdyn`` command with a signal arriving at a chosen moment (a test helper).

    python tests/interrupt_at.py SIGNAL MOMENT [tcdyn arguments...]

A moment is a Python function call of the main thread (``sys.setprofile`` ``call`` events,
also on resuming a generator), counted while the command handles ``SIGNAL`` with a handler
of its own (``tcdyn.cli.interrupts.ending``), named ``"qualname file:line#n"`` (the n-th
call of that function). There the command's handler is called with that function's frame,
as Python calls it when the signal arrives just then (it runs a handler at the next function
entry or loop back-edge of the main thread), inside whatever is running: a callback from
compiled code, a finaliser, a generator being closed, a lock's ``__exit__``.

MOMENT ``-`` sends nothing and writes every moment, in order, one a line, to the file named
by ``$TCDYN_MOMENTS_FILE``. A moment never reached exits 99, saying so.

The tests import it for ``moments`` (a run's, listed), ``pick`` (a moment spread over the
run, or a named one), ``run_at`` and ``signals_in_turn``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Any

NOT_REACHED = 99
HARNESS = Path(__file__).resolve()
TCDYN_SOURCE = str(HARNESS.parents[1] / "src" / "tcdyn")
#: Moments spread evenly over a command's run: ``("spread", k)``, k < SPREAD.
SPREAD = 12


def main() -> None:
    sig = signal.Signals[sys.argv[1]]
    moment, argv = sys.argv[2], sys.argv[3:]
    listing = moment == "-"
    label, _, nth = moment.rpartition("#")
    moments: list[str] = []
    seen: dict[str, int] = {}
    fired = False
    initial = signal.getsignal(sig)

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal fired
        if event != "call" or signal.getsignal(sig) is initial:
            return  # not the command's handler (yet, or any more)
        code = frame.f_code
        here = f"{code.co_qualname} {code.co_filename}:{code.co_firstlineno}"
        n = seen[here] = seen.get(here, 0) + 1
        if listing:
            moments.append(f"{here}#{n}")
        elif here == label and n == int(nth):
            sys.setprofile(None)
            fired = True
            signal.getsignal(sig)(sig, frame)  # as Python calls it, in that frame

    from tcdyn.cli import main as tcdyn_main

    sys.setprofile(profile)
    try:
        code = tcdyn_main(argv)
    finally:
        sys.setprofile(None)
    if listing:
        with open(os.environ["TCDYN_MOMENTS_FILE"], "w") as out:
            out.write("".join(f"{line}\n" for line in moments))
    elif not fired:
        print(f"interrupt_at: {moment} not reached", file=sys.stderr)
        code = NOT_REACHED
    raise SystemExit(code)


def moments(env: dict[str, str], listing: Path, reset: Any, *args: str) -> list[str]:
    """The moments of an uninterrupted run of ``tcdyn args`` (the second of two, the first
    having filled the references cache); ``reset()`` makes the state each run starts from.
    ``env`` should hold ``PYTHONHASHSEED``: the same moments in every run."""
    for _ in range(2):
        reset()
        done = subprocess.run([sys.executable, str(HARNESS), "SIGTERM", "-", *args],
                              env={**env, "TCDYN_MOMENTS_FILE": str(listing)},
                              capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr.decode()
    return listing.read_text().splitlines()


def _calls(found: list[str], which: str, start: int = 0) -> int:
    """The index of call ``function#n`` (``function``: its first) in ``found`` from
    ``start``."""
    function, _, nth = which.partition("#")
    for i in range(start, len(found)):
        name, _, count = found[i].partition(" ")
        if name == function and (not nth or count.endswith(f"#{nth}")):
            return i
    raise AssertionError(f"{which} is not a moment of the run: the test needs another")


def pick(found: list[str], choice: tuple[str, Any]) -> str:
    """The moment of ``choice``: for ``("spread", k)`` the first call of tcdyn's own code
    from k/SPREAD of the run on (their order is the same in every run, where a library's
    may not be); for ``("at", "function#n")`` that call, for ``("at", "a#n then b")`` the
    first call of b after it."""
    kind, which = choice
    if kind == "spread":
        start = which * len(found) // SPREAD
        later = [m for m in found[start:] if m.split(" ", 1)[1].startswith(TCDYN_SOURCE)]
        return (later or found[start:])[0]
    first, _, then = which.partition(" then ")
    at = _calls(found, first)
    return found[_calls(found, then, at) if then else at]


def run_at(env: dict[str, str], sig: str, moment: str, *args: str
           ) -> subprocess.CompletedProcess[bytes]:
    """``tcdyn args`` with ``sig`` at ``moment``."""
    return subprocess.run([sys.executable, str(HARNESS), sig, moment, *args], env=env,
                          capture_output=True, timeout=60, stdin=subprocess.DEVNULL)


def signals_in_turn(choices: list[tuple[str, Any]]) -> list[Any]:
    """Each choice of moment with SIGTERM and SIGINT in turn (``pytest.param`` s)."""
    import pytest

    return [pytest.param(choice, ("SIGTERM", "SIGINT")[i % 2],
                         id=f"{choice[0]}-{choice[1]}-{('SIGTERM', 'SIGINT')[i % 2]}")
            for i, choice in enumerate(choices)]


if __name__ == "__main__":
    main()
