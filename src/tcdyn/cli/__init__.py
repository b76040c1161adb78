"""The ``tcdyn`` command (also ``python -m tcdyn``).

One module per command group; each registers its sub-commands with ``add_commands(sub,
common)`` and imports what it needs only when it runs, so the command starts quickly.
``tcdyn api`` builds its arguments from the references (``api.py``), so it is dispatched
before the rest is parsed. Exit codes and output conventions: ``output.py``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from . import output

__all__ = ["main"]

#: Command modules, in the order ``tcdyn --help`` lists them.
_GROUPS = ("api", "task", "group", "queues", "artifact", "auth", "signin", "listen", "serve",
           "refs", "extras", "completion")


def common_parser() -> argparse.ArgumentParser:
    """``--root-url`` and ``--references``, shared by every command that calls a deployment."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root-url", metavar="URL",
                        help="the deployment (default: $TASKCLUSTER_ROOT_URL, then the config "
                             "file)")
    common.add_argument("--references", metavar="DIR|URL",
                        help="build the API from these references (a mirror directory, a "
                             "rootUrl, or 'bundled'); default: the rootUrl's own")
    return common


def build_parser(*, full_api: bool = False) -> argparse.ArgumentParser:
    """The whole parser. ``full_api`` adds every service and method under ``api`` (for shell
    completion); otherwise ``api`` is parsed by ``api.run``."""
    import importlib

    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="tcdyn", description="Taskcluster from the command line, built at run time from "
        "a deployment's references. Exit codes: 0 ok, 1 failure, 2 usage/configuration, "
        "3 HTTP 4xx, 4 HTTP 5xx or connection, 5 payload validation, 6 authentication; "
        "task/group log --follow: 10 failed, 11 exception, 12 deadline exceeded.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    parser.add_argument("--version", action="version", version=f"tcdyn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_parser()
    for name in _GROUPS:
        module = importlib.import_module(f".{name}", __name__)
        if name == "api":
            module.add_commands(sub, common, full=full_api)
        else:
            module.add_commands(sub, common)
    return parser


#: Options of every command that calls a deployment, also taken before the command name.
_COMMON = ("--root-url", "--references")


def _command_index(argv: Sequence[str]) -> int | None:
    """Where the command name is in ``argv`` (after global flags), or None."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in _COMMON:
            i += 2
            continue
        if not arg.startswith("-"):
            return i
        i += 1
    return None


def _common_after_command(argv: list[str], i: int | None) -> list[str]:
    """``--root-url URL`` / ``--references X`` given before the command name, moved after
    it (before any ``--``), where the command's own parser takes them."""
    if i is None:
        return argv
    moved: list[str] = []
    head: list[str] = []
    j = 0
    while j < i:
        arg = argv[j]
        if arg in _COMMON:
            moved += argv[j:j + 2]
            j += 2
            continue
        if arg.startswith(tuple(f"{name}=" for name in _COMMON)):
            moved.append(arg)
        else:
            head.append(arg)
        j += 1
    if not moved:
        return argv
    rest = argv[i:]
    end = rest.index("--") if "--" in rest else len(rest)
    return [*head, *rest[:end], *moved, *rest[end:]]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "_ARGCOMPLETE" in os.environ:
        from .completion import autocomplete

        autocomplete()
    try:
        i = _command_index(argv)
        verbose = any(a in ("-v", "--verbose") for a in argv[: i if i is not None else 0])
        _logging(verbose)
        argv = _common_after_command(argv, i)
        i = _command_index(argv)
        if i is not None and argv[i] == "api" and not any(
                a in ("-h", "--help", "--version") for a in argv[:i]):
            from .api import run

            return run(argv[i + 1:])
        parser = build_parser()
        args, extras = parser.parse_known_args(argv)
        if extras and not getattr(args, "extra_words", False):
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        args.extras = extras
        return int(args.run(args) or 0)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except KeyboardInterrupt:
        print("tcdyn: interrupted", file=sys.stderr)
        return output.INTERRUPTED
    except BrokenPipeError:  # `tcdyn ... | head`: stop quietly
        _quiet_stdout()
        return output.OK
    except Exception as exc:
        return output.report(exc, output.auth_hint(exc))


def _logging(verbose: bool) -> None:
    """Warnings only; with ``-v`` tcdyn's own news too, retries included (logged at DEBUG
    on the loggers ``tcdyn.request`` and ``tcdyn.transfer``). Other libraries stay at WARNING: httpx
    logs every request's URL at INFO, a presigned storage URL's signature with it."""
    handler = logging.StreamHandler()
    handler.setFormatter(_Escaping("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    if verbose:
        logging.getLogger("tcdyn").setLevel(logging.INFO)
        for retries in ("tcdyn.request", "tcdyn.transfer"):
            logging.getLogger(retries).setLevel(logging.DEBUG)


class _Escaping(logging.Formatter):
    """Log lines quote servers and references: shown by the one rule (tcdyn.terminal)."""

    def format(self, record: logging.LogRecord) -> str:
        from ..terminal import escape

        return escape(super().format(record))


def _quiet_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
