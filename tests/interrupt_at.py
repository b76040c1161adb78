"""Run the ``tcdyn`` command with a signal arriving at a chosen moment (a test helper).

    python tests/interrupt_at.py SIGNAL MOMENT [tcdyn arguments...]

A moment is a Python function call of the main thread (``sys.setprofile`` ``call`` events,
also on resuming a generator), counted while the command handles ``SIGNAL`` with a handler
of its own (``tcdyn.cli.interrupts.stopping``), named ``"qualname file:line#n"`` (the n-th
call of that function). There the command's handler is called with that function's frame,
as Python calls it when the signal arrives just then (it runs a handler at the next function
entry or loop back-edge of the main thread), inside whatever is running: a callback from
compiled code, a finaliser, a generator being closed, a lock's ``__exit__``.

MOMENT ``-`` sends nothing and writes every moment, in order, one a line, to the file named
by ``$TCDYN_MOMENTS_FILE``. A moment never reached exits 99, saying so.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType
from typing import Any

NOT_REACHED = 99


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


if __name__ == "__main__":
    main()
