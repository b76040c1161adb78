"""Asking before an action that ends or repeats work (``--yes``, ``--dry-run``).

On a terminal the command asks (``... [y/N]`` on stderr, the answer from stdin); ``--yes``
skips the question; without a terminal and without ``--yes`` it refuses (exit 2), so a
script never acts by accident; ``--dry-run`` says what would be done and does nothing.
A question not answered yes leaves everything as it was (exit 1).
"""

from __future__ import annotations

import argparse
import sys

from .output import CommandError, UsageError


def confirm(args: argparse.Namespace, action: str) -> bool:
    """Whether to go on with ``action`` (text in the command's words, server text already
    escaped); ``False`` for a dry run (said on stdout)."""
    if getattr(args, "dry_run", False):
        print(f"would {action}", flush=True)
        return False
    if getattr(args, "yes", False):
        return True
    if not sys.stdin.isatty():
        raise UsageError(f"not on a terminal, so not asked: would {action}; add --yes to do "
                         "it (--dry-run shows what would be done)")
    print(f"{action[:1].upper()}{action[1:]}? [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    if answer in ("y", "yes"):
        return True
    raise CommandError(f"not done: did not {action} (not confirmed)")
