"""What the command prints: JSON on stdout, errors on stderr, exit codes.

JSON is indented when stdout is a terminal and one compact line (one per item for lists and
``--all``) when it is piped. Text that tcdyn did not write (a server's messages, a
deployment's titles, a log, a broker's message) goes through ``tcdyn.terminal``'s one rule:
escaped in errors and help (``show``), as JSON escapes in JSON (lossless, so piped JSON stays
faithful), and in a raw stream only when it goes to a terminal (``terminal_sink``). Exit
codes:

====  =========================================================================
0     success
1     any other failure (references that cannot be used, a disk error, ...)
2     usage or configuration: bad arguments, unknown service/method, no rootUrl
3     HTTP 4xx from the deployment (other than 401/403)
4     HTTP 5xx, or no answer (connection refused, timeouts, after the retries)
5     a payload that fails the method's input schema (nothing was sent)
6     authentication: HTTP 401/403, missing or invalid credentials
10    task/group log --follow: the task (a task of the group) failed
11    ... hit an exception
12    ... passed its deadline (tcdyn.workflow.logs: FAILED, EXCEPTION, DEADLINE_EXCEEDED)
130   interrupted (Ctrl-C)
====  =========================================================================
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import date, datetime
from typing import IO, Any, TextIO

OK, FAILURE, USAGE, HTTP_4XX, HTTP_5XX, VALIDATION, AUTH, INTERRUPTED = 0, 1, 2, 3, 4, 5, 6, 130


class UsageError(Exception):
    """A command used wrongly or configured wrongly (exit status 2)."""

    exit_code = USAGE


class CommandError(Exception):
    """A failure a command reports in its own words, with its exit status."""

    def __init__(self, message: str, exit_code: int = FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        from ..utils import stringDate

        return stringDate(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if hasattr(value, "keys"):
        return dict(value)
    raise TypeError(f"cannot show a {type(value).__name__} as JSON")


def pretty() -> bool:
    return sys.stdout.isatty()


def dumps(value: Any, *, indent: bool | None = None) -> str:
    """``value`` as JSON: indented on a terminal, else one line; control characters in
    strings as JSON escapes (the same value, nothing for a terminal to act on)."""
    from ..terminal import json_text

    if indent is None:
        indent = pretty()
    if indent:
        text = json.dumps(value, indent=2, default=_default, ensure_ascii=False)
    else:
        text = json.dumps(value, separators=(",", ":"), default=_default, ensure_ascii=False)
    return json_text(text)


#: Help text is written for this many columns.
HELP_WIDTH = 80


def fit(text: str, width: int = HELP_WIDTH, hang: int = 4) -> str:
    """``text`` with each line longer than ``width`` wrapped at spaces, the continuation
    lines indented ``hang`` more than the line; a word longer than a line (a route, a URL)
    is never cut."""
    import textwrap

    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        indent = " " * (len(line) - len(line.lstrip(" ")))
        out += textwrap.wrap(line.strip(), width, initial_indent=indent,
                             subsequent_indent=indent + " " * hang, break_long_words=False,
                             break_on_hyphens=False) or [line]
    return "\n".join(out)


def prose(doc: str | None) -> str | None:
    """A module docstring's body as help text: its first paragraph (the command line) left
    out and ``literals`` shown plainly, for argparse to wrap."""
    if not doc:
        return None
    return doc.split("\n\n", 1)[-1].replace("``", "")


def show(text: str, file: TextIO | None = None) -> None:
    """Print text that holds what a deployment or server supplied, escaped."""
    from ..terminal import escape

    print(escape(text), file=sys.stdout if file is None else file, flush=True)


class _EscapingSink:
    """A binary stream written to a terminal: UTF-8 decoded as it comes (undecodable bytes
    as ``\\xff``), escaped by the one rule, written back as UTF-8."""

    def __init__(self, raw: IO[bytes]) -> None:
        import codecs

        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-8")("backslashreplace")

    def write(self, data: bytes) -> int:
        from ..terminal import escape

        self._raw.write(escape(self._decoder.decode(bytes(data))).encode("utf-8"))
        return len(data)

    def flush(self) -> None:
        from ..terminal import escape

        rest = self._decoder.decode(b"", final=True)
        if rest:
            self._raw.write(escape(rest).encode("utf-8"))
        self._raw.flush()


def terminal_sink(raw: IO[bytes], tty: bool) -> Any:
    """``raw`` itself when piped (every byte as sent); on a terminal, a sink escaping what
    a terminal would act on."""
    return _EscapingSink(raw) if tty else raw


def emit(value: Any) -> None:
    """Print one JSON value (nothing for ``None``, e.g. a 204)."""
    if value is not None:
        print(dumps(value), flush=True)


def emit_items(items: Iterable[Any]) -> None:
    """Print items: one JSON line each when piped; a JSON list on a terminal."""
    if pretty():
        print(dumps(list(items)), flush=True)
        return
    for item in items:
        print(dumps(item, indent=False), flush=True)


def emit_lines(items: Iterable[Any]) -> None:
    """Print each item as a JSON line as it comes (``--all``, ``listen``)."""
    for item in items:
        print(dumps(item, indent=False), flush=True)


def message_lines(exc: BaseException) -> list[str]:
    """``exc`` as lines: what failed first; a server's message below it as the server
    wrote it, indented; other texts' own further lines indented."""
    from ..errors import TaskclusterRestFailure

    if type(exc).__module__ == "builtins" and isinstance(exc, OSError):
        text = os_error_text(exc)
    elif isinstance(exc, TaskclusterRestFailure):
        text = exc.describe()
    else:
        text = str(exc)
    if isinstance(exc, TaskclusterRestFailure) and "\n" in (exc.message or "") \
            and text.endswith(exc.message):
        head = text[:len(text) - len(exc.message)].rstrip()
        body = exc.message.strip("\n").splitlines()
        return [head, *(f"  {line}" if line.strip() else "" for line in body)]
    lines = text.strip("\n").splitlines() or [type(exc).__name__]
    return [lines[0], *(line if line[:1].isspace() or not line else f"  {line}"
                        for line in lines[1:])]


def report(exc: BaseException, hint: str | None = None) -> int:
    """Print ``exc`` on stderr (``tcdyn: ...``, escaped), then ``hint`` if any; return its
    exit status."""
    code, label = classify(exc)
    lines = message_lines(exc)
    if hint:
        lines.append(f"  hint: {hint}")
    show("\n".join([f"tcdyn: {label}{lines[0]}", *lines[1:]]).rstrip(), sys.stderr)
    return code


def auth_hint(exc: BaseException) -> str | None:
    """What the credentials in use tell about an authentication failure: an expired
    certificate (temporary credentials), said before the server's words are read."""
    if classify(exc)[0] != AUTH:
        return None
    try:
        from ..utils import stringDate
        from .config import settings

        creds = settings().credentials()
    except Exception:  # no usable credentials: the error itself says so
        return None
    if creds is None or not creds.is_expired() or creds.expires is None:
        return None
    return (f"your certificate expired at {stringDate(creds.expires)}: these temporary "
            "credentials no longer work; make new ones (tcdyn temp-creds, or from whoever "
            "issued them)")


def classify(exc: BaseException) -> tuple[int, str]:
    """The exit status of an exception and a prefix naming its kind."""
    from ..errors import (
        CredentialsError,
        ProxyConfigurationError,
        SchemaValidationError,
        TaskclusterArgumentError,
        TaskclusterAuthFailure,
        TaskclusterConnectionError,
        TaskclusterFailure,
        TaskclusterRestFailure,
    )

    if isinstance(exc, (UsageError, TaskclusterArgumentError, ProxyConfigurationError)):
        return USAGE, ""
    if isinstance(exc, CommandError):
        return exc.exit_code, ""
    if isinstance(exc, SchemaValidationError):
        return VALIDATION, ""
    if isinstance(exc, CredentialsError):
        return AUTH, "credentials: "
    if isinstance(exc, TaskclusterRestFailure):
        status = exc.status_code or 0
        if isinstance(exc, TaskclusterAuthFailure) or status in (401, 403):
            return AUTH, ""
        return (HTTP_4XX if 400 <= status < 500 else HTTP_5XX), ""
    if isinstance(exc, TaskclusterConnectionError):
        return HTTP_5XX, ""
    if isinstance(exc, TaskclusterFailure):
        return FAILURE, ""
    if "httpx" in sys.modules:  # an httpx error is only possible once httpx is loaded
        from httpx import HTTPError, HTTPStatusError

        if isinstance(exc, HTTPStatusError):
            status = exc.response.status_code
            code = AUTH if status in (401, 403) else HTTP_4XX if status < 500 else HTTP_5XX
            return code, ""
        if isinstance(exc, HTTPError):
            return HTTP_5XX, f"{type(exc).__name__}: "
    if isinstance(exc, OSError):
        return FAILURE, ""
    return FAILURE, f"{type(exc).__name__}: "


def os_error_text(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"
