"""Shell completion with argcomplete (the ``cli`` extra: ``pip install 'tcdyn[cli]'``).

``tcdyn completion bash|zsh|fish`` prints the script to source; at each TAB the shell runs
``tcdyn`` with ``_ARGCOMPLETE`` set, and ``autocomplete()`` answers from the parser of the
words typed so far: every command while the command is typed, then that command's module
(``COMMANDS``); under ``tcdyn api``, the services and methods of the references in use
(bundled, or ``$TASKCLUSTER_REFERENCES``) from their cached index (``api_index``: no class
is built) and the options of the method typed.

The commonest request, a service or method name being typed (``tcdyn api qu<TAB>``,
``tcdyn api queue cre<TAB>``), is answered from the index alone (``_from_index``), without
argparse or argcomplete, in argcomplete's protocol; any other request, or anything unusual
in this one (quotes, other options, an empty word, an unknown service), goes to
argcomplete. ``tests/cli/test_completion.py`` checks that both give the same answers.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see tcdyn/__init__)
if TYPE_CHECKING:
    import argparse
    from typing import Any

SHELLS = ("bash", "zsh", "fish")
#: The characters a word answered from the index may hold (the rest go to argcomplete).
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


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
    answer = _from_index()
    if answer is not None:
        _reply(answer)
        os._exit(0)  # as argcomplete leaves: nothing else runs
    try:
        import argcomplete
    except ModuleNotFoundError:
        raise SystemExit(1) from None
    argcomplete.autocomplete(completion_parser(_typed()))
    raise SystemExit(0)  # not reached: argcomplete exits


def _from_index() -> list[str] | None:
    """The answer to ``tcdyn api PREFIX<TAB>`` or ``tcdyn api SERVICE PREFIX<TAB>`` from the
    index, formatted as argcomplete formats it (see ``finders.CompletionFinder``: names
    matching the prefix in the parser's order, a space after a lone answer unless
    ``_ARGCOMPLETE_SUPPRESS_SPACE``, ``name:description`` for zsh, ``name<DFS>description``
    with a ``_ARGCOMPLETE_DFS``); None when the request is any other."""
    env = os.environ
    ifs, dfs = env.get("_ARGCOMPLETE_IFS", "\013"), env.get("_ARGCOMPLETE_DFS", "")
    shell = env.get("_ARGCOMPLETE_SHELL")
    if env.get("_ARGCOMPLETE") != "1" or shell not in SHELLS or len(ifs) != 1 \
            or len(dfs) > 1 or "_ARGCOMPLETE_DEBUG" in env:
        return None
    try:
        typed = env["COMP_LINE"][:int(env["COMP_POINT"])]
    except (KeyError, ValueError):
        return None
    words = typed.split(" ")
    prefix, between = words[-1], words[1:-1]
    if not prefix or prefix[0] == "-" or not set(prefix) <= _PLAIN or len(words) > 4 \
            or between[:1] != ["api"] or not all(w and set(w) <= _PLAIN for w in between) \
            or set(prefix) & set(env.get("_ARGCOMPLETE_COMP_WORDBREAKS", "")):
        return None
    from .api_index import services

    try:
        index = services()
    except Exception:
        return None  # argcomplete's path meets it as every command does
    if len(between) == 1:
        choices = [(s.name, s.title) for s in index]
    else:
        service = next((s for s in index if s.name == between[1]), None)
        if service is None:
            return None
        choices = [(m.name, m.title) for m in service.methods]
    found = [(name, title) for name, title in choices if name.startswith(prefix)]
    if any("%" in title for _, title in found):
        return None  # argparse would expand it as a format
    names = [name for name, _ in found]
    if len(names) == 1 and env.get("_ARGCOMPLETE_SUPPRESS_SPACE") != "1":
        names[0] += " "
    if not dfs and shell != "zsh":
        return names
    from ..terminal import escape

    shown = {name: escape(title) for name, title in found}
    if dfs:
        return [f"{name}{dfs}{shown.get(name, '').replace(ifs, ' ')}" for name in names]
    return [f"{name}:{shown.get(name)}" for name in names]


def _reply(answer: list[str]) -> None:
    """Write ``answer`` where argcomplete would: the file the shell named, else fd 8."""
    data = os.environ.get("_ARGCOMPLETE_IFS", "\013").join(answer)
    filename = os.environ.get("_ARGCOMPLETE_STDOUT_FILENAME")
    try:
        with open(filename, "w") if filename is not None else os.fdopen(8, "w") as out:
            out.write(data)
    except OSError:
        os._exit(1)


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
