"""Run the tcdyn command on a real pseudo-terminal (stdin, stdout and stderr all a tty), as a
person would, and get back every byte it wrote there."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Bytes that must never reach a terminal from text tcdyn did not write: ESC, BEL, CSI
#: and OSC as C1 controls (UTF-8), RLO (U+202E) and the other bidi overrides.
DANGEROUS = (b"\x1b", b"\x07", b"\xc2\x9b", b"\xc2\x9d", b"\xe2\x80\xae", b"\xe2\x80\xad",
             b"\xe2\x81\xa6", b"\x00")


@dataclass
class Result:
    returncode: int
    output: bytes  # stdout and stderr as the terminal received them (\n written as \r\n)

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace").replace("\r\n", "\n")


def run_on_pty(*args: str, env: dict[str, str], timeout: float = 60,
               when: tuple[bytes, Callable[[], None]] | None = None,
               reply: tuple[bytes, bytes] | None = None) -> Result:
    """``python -m tcdyn ARGS`` with a pseudo-terminal as stdin, stdout and stderr; ``when``
    = (bytes, action) runs the action once those bytes have been written; ``reply`` =
    (bytes, answer) types the answer once those bytes have been written."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "tcdyn", *args], env=env,
                            stdin=follower, stdout=follower, stderr=follower,
                            close_fds=True)
    os.close(follower)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: every holder of the follower side closed it
                    break
                if not chunk:
                    break
                out += chunk
                if when is not None and when[0] in out:
                    action, when = when[1], None
                    action()
                if reply is not None and reply[0] in out:
                    os.write(leader, reply[1])
                    reply = None
            elif proc.poll() is not None:
                continue  # drain what is left, until EIO
        else:
            raise TimeoutError(f"tcdyn {' '.join(args)} still running after {timeout}s: "
                               f"{bytes(out)!r}")
        code = proc.wait(timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    return Result(code, bytes(out))


def dangerous_in(data: bytes) -> list[bytes]:
    return [d for d in DANGEROUS if d in data]
