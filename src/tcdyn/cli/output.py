"""What the command prints: JSON on stdout, one-line errors on stderr, exit codes.

JSON is indented when stdout is a terminal and one compact line (one per item for lists and
``--all``) when it is piped. Exit codes:

====  =========================================================================
0     success
1     any other failure (references that cannot be used, a disk error, ...)
2     usage or configuration: bad arguments, unknown service/method, no rootUrl
3     HTTP 4xx from the deployment (other than 401/403)
4     HTTP 5xx, or no answer (connection refused, timeouts, after the retries)
5     a payload that fails the method's input schema (nothing was sent)
6     authentication: HTTP 401/403, missing or invalid credentials
130   interrupted (Ctrl-C)
====  =========================================================================
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

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
    """``value`` as JSON: indented on a terminal, else one line."""
    if indent is None:
        indent = pretty()
    if indent:
        return json.dumps(value, indent=2, default=_default, ensure_ascii=False)
    return json.dumps(value, separators=(",", ":"), default=_default, ensure_ascii=False)


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


def one_line(text: str) -> str:
    """A message on one line (its own lines joined with ``; ``)."""
    out = ""
    for line in (x.strip() for x in str(text).splitlines()):
        if line:
            out += (" " if not out or out.endswith(":") else "; ") + line
    return out.strip()


def report(exc: BaseException) -> int:
    """Print ``exc`` on stderr in one line; return its exit status."""
    code, label = classify(exc)
    text = os_error_text(exc) if type(exc).__module__ == "builtins" and isinstance(
        exc, OSError) else str(exc)
    text = one_line(text) or type(exc).__name__
    print(f"tcdyn: {label}{text}", file=sys.stderr, flush=True)
    return code


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
