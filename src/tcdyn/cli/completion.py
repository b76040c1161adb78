"""Shell completion with argcomplete (the ``cli`` extra: ``pip install 'tcdyn[cli]'``).

``tcdyn completion bash|zsh|fish`` prints the script to source; at each TAB the shell runs
``tcdyn`` with ``_ARGCOMPLETE`` set, and ``autocomplete()`` answers from the parser of the
words typed so far: every command while the command is typed, then that command's module
(``COMMANDS``); under ``tcdyn api``, the services and methods of the references in use
(bundled, or ``$TASKCLUSTER_REFERENCES``) from their cached index (``api_index``: no class
is built) and the options of the method typed.
"""

from __future__ import annotations

import argparse
from typing import Any

SHELLS = ("bash", "zsh", "fish")


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("completion", help="print the shell completion script",
                       description="eval \"$(tcdyn completion bash)\" in ~/.bashrc; zsh and "
                       "fish likewise. Needs argcomplete: pip install 'tcdyn[cli]'.")
    p.add_argument("shell", choices=SHELLS)
    p.set_defaults(run=_completion)


def _argcomplete() -> Any:
    from .output import CommandError

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
    argcomplete.autocomplete(completion_parser(_typed()))
    raise SystemExit(0)  # not reached: argcomplete exits


def completion_parser(words: list[str]) -> argparse.ArgumentParser:
    """The parser argcomplete needs for ``words`` (typed after ``tcdyn``, before the word
    being completed): the command's own, else the whole one."""
    from . import COMMANDS, _command_index, build_parser

    i = _command_index(words)
    group = None if i is None else COMMANDS.get(words[i])
    if group is None or i is None:
        return build_parser()
    if group == "api":
        return build_parser(only="api", full_api=True, api_words=words[i + 1:])
    return build_parser(only=group)


def _typed() -> list[str]:
    """The words before the one being completed, as argcomplete splits them; [] when the
    request cannot be read (the whole parser then answers)."""
    import os

    from argcomplete.lexers import split_line

    try:
        point = int(os.environ.get("COMP_POINT", ""))
        start = int(os.environ["_ARGCOMPLETE"]) - 1
        words = split_line(os.environ["COMP_LINE"], point)[3]
    except (KeyError, ValueError):
        return []
    return list(words[start + 1:])
