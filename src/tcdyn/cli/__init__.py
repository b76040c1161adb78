"""The ``tcdyn`` command (also ``python -m tcdyn``).

One module per command group; each registers its sub-commands with ``add_commands(sub,
common)`` and imports what it needs only when it runs. The command starts quickly:
``quick`` answers ``--version``, ``slugid`` and ``from-now`` in their plain forms before
``argparse`` or ``logging`` is imported; any other command builds the parser of its own group
only (``COMMANDS``), the whole parser being built for ``tcdyn --help``, a missing or unknown
command and the shell's completion of a command name. ``tcdyn api`` builds its arguments from
the references (``api.py``), so it is dispatched before the rest is parsed. Exit codes and
output conventions: ``output.py``.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see tcdyn/__init__)
if TYPE_CHECKING:
    import argparse
    import logging
    from collections.abc import Sequence

__all__ = ["main"]

#: Command modules, in the order ``tcdyn --help`` lists them.
_GROUPS = ("api", "task", "group", "queues", "artifact", "auth", "signin", "listen", "serve",
           "refs", "extras", "completion")

#: Each command and the module that registers it (``tests/cli/test_quick.py`` checks it
#: against what the modules register): a command's parser is built from its module alone.
COMMANDS = {
    "api": "api", "task": "task", "group": "group", "queues": "queues", "pools": "queues",
    "artifact": "artifact", "signed-url": "auth", "temp-creds": "auth",
    "expand-scopes": "auth", "whoami": "auth", "slugid": "auth", "from-now": "auth",
    "signin": "signin", "listen": "listen", "serve": "serve", "demo": "refs",
    "references": "refs", "explore": "extras", "stubs": "extras", "completion": "completion",
}


def common_parser() -> argparse.ArgumentParser:
    """``--root-url`` and ``--references``, shared by every command that calls a deployment."""
    import argparse

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root-url", metavar="URL",
                        help="the deployment (default: $TASKCLUSTER_ROOT_URL, then the config "
                             "file)")
    common.add_argument("--references", metavar="DIR|URL",
                        help="build the API from these references (a mirror directory, a "
                             "rootUrl, or 'bundled'); default: the rootUrl's own")
    return common


def build_parser(*, full_api: bool = False, only: str | None = None,
                 api_words: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The whole parser, or with ``only`` (a module of ``_GROUPS``) the top level and that
    module's commands. ``full_api`` (shell completion) adds the services under ``api``, the
    methods of the one ``api_words`` names and the arguments of its method they name
    (``api.add_commands``); otherwise ``api`` is parsed by ``api.run``."""
    import argparse
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
    for name in _GROUPS if only is None else (only,):
        module = importlib.import_module(f".{name}", __name__)
        if name == "api":
            module.add_commands(sub, common, full=full_api, words=api_words)
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
        from .quick import answer

        quick = answer(argv)
        return quick if quick is not None else _run(argv)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except KeyboardInterrupt:
        from .output import INTERRUPTED

        print("tcdyn: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # `tcdyn ... | head`: stop quietly
        from .output import OK

        _quiet_stdout()
        return OK
    except Exception as exc:
        from .output import auth_hint, report

        return report(exc, auth_hint(exc))


def _run(argv: list[str]) -> int:
    """A command through its parser (``--root-url``/``--references`` before the command
    name moved after it), logging set up first."""
    i = _command_index(argv)
    verbose = any(a in ("-v", "--verbose") for a in argv[: i if i is not None else 0])
    _logging(verbose)
    argv = _common_after_command(argv, i)
    i = _command_index(argv)
    top_help = any(a in ("-h", "--help") for a in argv[: i if i is not None else len(argv)])
    if i is not None and argv[i] == "api" and not any(
            a in ("-h", "--help", "--version") for a in argv[:i]):
        from .api import run

        return run(argv[i + 1:])
    # `tcdyn --help`, no command or an unknown one: every command, to list or to name them
    only = None if i is None or top_help else COMMANDS.get(argv[i])
    parser = build_parser(only=only)
    args, extras = parser.parse_known_args(argv)
    if extras and not getattr(args, "extra_words", False):
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    args.extras = extras
    return int(args.run(args) or 0)


def _logging(verbose: bool) -> None:
    """Warnings only; with ``-v`` tcdyn's own news too, retries included (logged at DEBUG
    on the loggers ``tcdyn.request`` and ``tcdyn.transfer``). Other libraries stay at WARNING: httpx
    logs every request's URL at INFO, a presigned storage URL's signature with it."""
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(_escaping())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    if verbose:
        logging.getLogger("tcdyn").setLevel(logging.INFO)
        for retries in ("tcdyn.request", "tcdyn.transfer"):
            logging.getLogger(retries).setLevel(logging.DEBUG)


def _escaping() -> logging.Formatter:
    """Log lines quote servers and references: shown by the one rule (tcdyn.terminal)."""
    import logging

    from ..terminal import escape

    class Escaping(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return escape(super().format(record))

    return Escaping("%(levelname)s %(name)s: %(message)s")


def _quiet_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
