"""``python -m tcdyn.stubgen [SOURCE] OUT``: typing stubs of a deployment's classes, as
``tcdyn stubs`` writes them (code: ``tcdyn.cli.stubgen``)."""

from __future__ import annotations

import sys

from .cli.stubgen import StubError as StubError
from .cli.stubgen import bundled_stubs as bundled_stubs
from .cli.stubgen import main as main
from .cli.stubgen import stub_files as stub_files
from .cli.stubgen import write as write

__all__ = ["StubError", "bundled_stubs", "main", "stub_files", "write"]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 2 else None, sys.argv[-1]))
