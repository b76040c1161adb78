"""``tcdyn explore`` (the REPL) and ``tcdyn stubs`` (typing stubs): thin wrappers of
``tcdyn.repl.main`` and ``tcdyn.stubgen.main``, imported only when the command runs."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from .output import CommandError


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("explore", parents=[common],
                       help="a REPL with clients made (IPython when installed)")
    p.set_defaults(run=_explore)
    p = sub.add_parser("stubs", help="write typing stubs (.pyi) for a deployment's API")
    p.add_argument("source", nargs="?", metavar="DIR",
                   help="a mirror directory (default: the bundled references)")
    p.add_argument("--root-url", metavar="URL", help="a deployment's own references")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output directory")
    p.set_defaults(run=_stubs)


def _module(name: str, command: str) -> Any:
    try:
        return importlib.import_module(f"tcdyn.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"tcdyn.{name}":
            raise
        raise CommandError(f"tcdyn {command} needs tcdyn.{name}, which this tcdyn does "
                           "not have") from None


def _explore(args: argparse.Namespace) -> int:
    """The REPL on what every other command uses: the references, rootUrl and credentials
    of the command line, the environment and the config file (by default the rootUrl's own
    references, so a custom deployment's API)."""
    from .config import settings

    repl = _module("repl", "explore")
    resolved = settings(args.root_url, args.references)
    return int(repl.main(resolved.root_url, None, deployment=resolved.deployment(),
                         credentials=resolved.credentials()) or 0)


def _stubs(args: argparse.Namespace) -> int:
    from .output import UsageError

    if args.source and args.root_url:
        raise UsageError("stubs: give --root-url URL or DIR, not both")
    return int(_module("stubgen", "stubs").main(args.root_url or args.source,
                                               args.output) or 0)
