"""``tcdyn explore``: an interactive shell with a client per service already made.

IPython when it is installed, else Python's own REPL with tab completion of names, methods
and a method's keywords (``queue.createTask(ta<TAB>`` -> ``taskId=``), and responses
pretty-printed. ``queue``, ``auth``, ``purgeCache``, ``queueEvents``, ... are clients of the
deployment at ``--root-url`` (or ``$TASKCLUSTER_ROOT_URL``) with credentials from the
``TASKCLUSTER_*`` variables; ``help(queue.createTask)`` shows the signature, the reference's
text and the payload's fields.

Python's names (``help``, ``print``, ...) and tcdyn's (``tcdyn``, ``deployment``) come first:
a service of such a name is made as ``help_`` (the banner says so). A tcdyn error shows the
user's own frames and the message, not tcdyn's frames, with the server's text escaped
(``tcdyn.terminal``).
"""

from __future__ import annotations

import argparse
import builtins
import code
import inspect
import keyword
import os
import pprint
import re
import sys
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

#: ``obj.attr(`` left open before the cursor: the call whose keywords are completed.
_OPEN_CALL = re.compile(r"([A-Za-z_][\w.]*)\(([^()]*)$")
#: ``credentials`` not given: the clients read the ``TASKCLUSTER_*`` variables.
_FROM_ENV: Any = object()


def client_name(class_name: str) -> str:
    """``Queue`` -> ``queue``, ``PurgeCache`` -> ``purgeCache``, ``QueueEvents`` ->
    ``queueEvents``."""
    return class_name[:1].lower() + class_name[1:]


def namespace(root_url: str | None, references: str | None, *, deployment: Any = None,
              credentials: Any = _FROM_ENV) -> tuple[dict[str, Any], str]:
    """The shell's names and a banner saying what they are.

    ``references`` is a rootUrl or a directory whose references build the classes (default:
    ``tcdyn.Queue``'s own, bundled or ``$TASKCLUSTER_REFERENCES``), or ``deployment`` one
    already loaded; ``root_url`` the deployment to talk to (default
    ``$TASKCLUSTER_ROOT_URL``); ``credentials`` those of the clients (default: from the
    ``TASKCLUSTER_*`` variables)."""
    import tcdyn
    from tcdyn import deployment as dep
    from tcdyn import environment
    from tcdyn.client.clients import Client
    from tcdyn.default import default
    from tcdyn.terminal import escape

    if deployment is None:
        deployment = dep.load(references) if references else default()
    root = root_url or environment.value(environment.ROOT_URL) or deployment.root_url
    names: dict[str, Any] = {"tcdyn": tcdyn, "deployment": deployment}
    made: list[str] = []
    renamed: list[str] = []
    first: Any = None

    def free(name: str) -> str:
        """``name``, or ``name_`` (``name__``, ...) when Python or tcdyn has it."""
        given = name
        while name in names or name in _TAKEN:
            name += "_"
        if name != given:
            renamed.append(f"{given} -> {name}")
        return name

    for name in deployment.references.names():
        cls: Any = deployment.build(name)
        names[free(name)] = cls
        client: Any
        if issubclass(cls, Client):
            if not root:
                continue
            client = (cls.from_env(rootUrl=root) if credentials is _FROM_ENV
                      else cls(rootUrl=root, credentials=credentials))
            first = first or client
        else:
            client = cls()
        made.append(free(client_name(name)))
        names[made[-1]] = client
    lines = [f"tcdyn {tcdyn.__version__} explore: {deployment.references.describe()}"]
    if root:
        creds = first.credentials if first is not None else None
        who = f"clientId {creds.clientId}" if creds else "no credentials"
        lines.append(f"rootUrl {root}, {who}")
    else:
        lines.append("no rootUrl (--root-url or TASKCLUSTER_ROOT_URL): only the classes and "
                     "the events objects are made")
    lines.append("clients: " + ", ".join(made))
    if renamed:
        lines.append("renamed (Python's and tcdyn's names come first): " + ", ".join(renamed))
    lines.append("try: help(queue.createTask), queue.ping(), dir(queue), Tab to complete")
    return names, escape("\n".join(lines))


#: Names a service's class or client must not shadow in the shell.
_TAKEN = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | {"tcdyn", "deployment"}


def format_error(exc: BaseException, tb: TracebackType | None) -> str:
    """How the shell shows an exception. A tcdyn error: the user's frames only (a line says
    how many of tcdyn's were left out) and its message, without the chain of the transport
    errors under it; any other exception as Python shows it. Escaped either way: messages
    quote servers."""
    from tcdyn.errors import TaskclusterFailure
    from tcdyn.terminal import escape

    if not isinstance(exc, TaskclusterFailure):
        return escape("".join(traceback.format_exception(type(exc), exc, tb)))
    ours = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # tcdyn/
    frames = traceback.extract_tb(tb)
    shown = [f for f in frames if not os.path.abspath(f.filename).startswith(ours)]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(shown)]
    if len(shown) < len(frames):
        lines.append(f"  ({len(frames) - len(shown)} frames inside tcdyn not shown)\n")
    lines += traceback.format_exception_only(type(exc), exc)
    return escape("".join(lines))


class _Console(code.InteractiveConsole):
    """Python's console, showing errors with :func:`format_error`."""

    def showtraceback(self) -> None:
        kind, exc, tb = sys.exc_info()
        if exc is None or tb is None:
            return
        sys.last_type, sys.last_value, sys.last_traceback = kind, exc, tb  # for pdb.pm()
        self.write(format_error(exc, tb.tb_next))  # without the console's own frame


def _ipython_errors(shell: Any) -> None:
    """Have IPython show tcdyn's errors with :func:`format_error`."""
    from tcdyn.errors import TaskclusterFailure

    def show(shell: Any, kind: type[BaseException], exc: BaseException,
             tb: TracebackType | None, tb_offset: int | None = None) -> None:
        print(format_error(exc, tb.tb_next if tb is not None else None), file=sys.stderr,
              end="")

    shell.set_custom_exc((TaskclusterFailure,), show)


class Completer:
    """Python's ``rlcompleter`` plus the keywords of the call being typed."""

    def __init__(self, names: dict[str, Any],
                 line_buffer: Callable[[], str] | None = None) -> None:
        import rlcompleter

        self._names = names
        self._base = rlcompleter.Completer(names)
        self._line = line_buffer or (lambda: "")
        self._matches: list[str] = []

    def complete(self, text: str, state: int) -> str | None:
        if state == 0:
            self._matches = self.keywords(self._line(), text)
            if not self._matches or text:
                self._matches += [m for m in self._all_base(text) if m not in self._matches]
        return self._matches[state] if state < len(self._matches) else None

    def _all_base(self, text: str) -> list[str]:
        found: list[str] = []
        while (match := self._base.complete(text, len(found))) is not None:
            found.append(match)
        return found

    def keywords(self, line: str, text: str) -> list[str]:
        """``name=`` for each keyword of the innermost open call that starts with ``text``
        (the callee is a dotted name looked up, never called)."""
        call = _OPEN_CALL.search(line)
        if call is None:
            return []
        target = self._lookup(call.group(1))
        if target is None:
            return []
        try:
            signature = inspect.signature(target)
        except (TypeError, ValueError):
            return []
        return [f"{p.name}=" for p in signature.parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                and p.name.startswith(text)]

    def _lookup(self, dotted: str) -> Any:
        """The object a dotted name denotes, without running properties or calls."""
        head, *rest = dotted.split(".")
        if head not in self._names:
            return None
        obj = self._names[head]
        for part in rest:
            if part.startswith("_"):
                return None
            try:
                if isinstance(inspect.getattr_static(obj, part), property):
                    return None
                obj = getattr(obj, part)
            except AttributeError:
                return None
        return obj


def displayhook(value: Any) -> None:
    """Pretty-print results (responses are dicts of lists of dicts), kept in ``_``."""
    if value is None:
        return
    builtins._ = None  # type: ignore[attr-defined]
    if isinstance(value, (dict, list)):
        pprint.pprint(value, sort_dicts=False, width=100)
    else:
        print(repr(value))
    builtins._ = value  # type: ignore[attr-defined]


def _ipython() -> Any:
    from tcdyn import environment

    if (environment.value(environment.SHELL) or "").lower() == "python":
        return None
    try:
        import IPython  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return IPython


def run(argv: list[str] | None = None) -> int:
    """``python -m tcdyn.repl [--root-url URL] [--references URL|DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m tcdyn.repl", description=__doc__)
    parser.add_argument("--root-url", help="the deployment to talk to")
    parser.add_argument("--references", help="a rootUrl or directory of references")
    options = parser.parse_args(argv)
    return main(options.root_url, options.references)


def main(root_url: str | None, references: str | None, *, deployment: Any = None,
         credentials: Any = _FROM_ENV) -> int:
    """Run the shell (the arguments as :func:`namespace` takes them); returns the exit
    status (1, with one line on stderr, when the references cannot be loaded).
    ``TCDYN_SHELL=python`` picks Python's REPL over IPython."""
    from ..errors import TaskclusterFailure

    try:
        names, banner = namespace(root_url, references, deployment=deployment,
                                  credentials=credentials)
    except TaskclusterFailure as exc:
        from ..terminal import escape

        print(escape(f"tcdyn explore: {exc}"), file=sys.stderr)
        return 1
    ipython = _ipython()
    if ipython is not None:
        from traitlets.config import Config  # type: ignore[import-not-found,unused-ignore]

        config: Any = Config()
        config.TerminalInteractiveShell.banner1 = banner + "\n"
        names["_tcdyn_setup"] = _ipython_errors
        config.InteractiveShellApp.exec_lines = [
            "_tcdyn_setup(get_ipython()); del _tcdyn_setup"]
        ipython.start_ipython(argv=[], user_ns=names, config=config)
        return 0
    try:
        import readline
    except ImportError:  # no completion without readline (Windows without pyreadline)
        pass
    else:
        readline.set_completer(Completer(names, readline.get_line_buffer).complete)
        readline.set_completer_delims(" \t\n`~!@#$%^&*()-=+[{]}\\|;:'\",<>/?")
        readline.parse_and_bind("tab: complete")
    previous = sys.displayhook
    sys.displayhook = displayhook
    try:
        _Console(names).interact(banner=banner, exitmsg="")
    finally:
        sys.displayhook = previous
    return 0

