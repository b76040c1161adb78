"""Shell completion with argcomplete (the ``cli`` extra: ``pip install 'tcdyn[cli]'``).

``tcdyn completion bash|zsh|fish`` prints the script to source; at each TAB the shell runs
``tcdyn`` with ``_ARGCOMPLETE`` set, and ``autocomplete()`` answers from the full parser:
commands, the services and methods of the references in use (bundled, or
``$TASKCLUSTER_REFERENCES``), and each method's options.
"""

from __future__ import annotations

import argparse
from typing import Any

from .output import CommandError

SHELLS = ("bash", "zsh", "fish")


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("completion", help="print the shell completion script",
                       description="eval \"$(tcdyn completion bash)\" in ~/.bashrc; zsh and "
                       "fish likewise. Needs argcomplete: pip install 'tcdyn[cli]'.")
    p.add_argument("shell", choices=SHELLS)
    p.set_defaults(run=_completion)


def _argcomplete() -> Any:
    try:
        import argcomplete
    except ModuleNotFoundError:
        raise CommandError("shell completion needs argcomplete: pip install 'tcdyn[cli]' "
                           "(or pip install argcomplete)") from None
    return argcomplete


def _completion(args: argparse.Namespace) -> int:
    print(_argcomplete().shellcode(["tcdyn"], shell=args.shell), end="")
    return 0


def autocomplete() -> None:
    """Answer the shell's completion request and exit (argcomplete's protocol)."""
    try:
        import argcomplete
    except ModuleNotFoundError:
        raise SystemExit(1) from None
    from . import build_parser

    argcomplete.autocomplete(build_parser(full_api=True))
    raise SystemExit(0)  # not reached: argcomplete exits
