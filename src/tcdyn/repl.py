"""``python -m tcdyn.repl``: ``tcdyn explore``, the interactive shell (code:
``tcdyn.cli.repl``)."""

from __future__ import annotations

import sys

from .cli.repl import Completer as Completer
from .cli.repl import client_name as client_name
from .cli.repl import main as main
from .cli.repl import namespace as namespace

__all__ = ["Completer", "client_name", "main", "namespace"]

if __name__ == "__main__":
    from .cli.repl import run

    sys.exit(run())
