"""``tcdyn api SERVICE METHOD args... [--payload JSON|@FILE|-] [--query K=V] [--all]``.

Any method of any service of the references in use, with ``--help`` per service and per
method generated from them (title, route, arguments, query, scopes, payload outline).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .output import HELP_WIDTH, UsageError, emit, emit_lines, fit, show

if TYPE_CHECKING:
    from ..deployment import Deployment
    from ..model.reference import EntryModel, ExchangesModel, ServiceModel
    from .api_index import Service


class MethodShape(Protocol):
    """What a method's parser is made of: an ``EntryModel`` or the completion's
    ``api_index.Method``."""

    @property
    def args(self) -> tuple[str, ...]: ...
    @property
    def query(self) -> tuple[str, ...]: ...
    @property
    def input(self) -> object: ...
    @property
    def paginated(self) -> bool: ...

#: Options of ``tcdyn api`` that take a value (the rest are flags or positionals).
_VALUED = {"--root-url", "--references", "--payload", "--query"}
_HELP = ("-h", "--help")


def add_commands(sub: Any, common: argparse.ArgumentParser, *, full: bool = False,
                 words: Sequence[str] = ()) -> None:
    """Register ``api``; with ``full`` (shell completion), a sub-parser per service of the
    cached index (``api_index``), per method of the service named in ``words`` (the words
    after ``api``) and the arguments of the method they name."""
    api = sub.add_parser("api", help="call any method of any service", add_help=not full,
                         parents=[common] if full else [],
                         description="tcdyn api SERVICE METHOD args... [--payload JSON|@FILE|-]"
                         " [--query K=V] [--all]; tcdyn api SERVICE METHOD --help for one "
                         "method")
    if full:
        from .api_index import services

        add_completion(api, common, services(), words)


def add_completion(api: argparse.ArgumentParser, common: argparse.ArgumentParser,
                   index: list[Service], words: Sequence[str]) -> None:
    """The parsers argcomplete walks for ``tcdyn api SERVICE METHOD ...``: every service's
    name (a sub-parser each), the methods of the one ``words`` name (the choices of a
    positional: a parser per method would cost more than the rest of the answer), the
    arguments of the method they name (its own sub-parser)."""
    from ..terminal import escape

    _, positions, _ = _scan(words)
    named = [words[i] for i in positions[:2]]
    services = api.add_subparsers(dest="service", metavar="SERVICE")
    for service in index:
        # a parser's own -h costs a help formatter: only the service typed offers it
        chosen_service = named[:1] == [service.name]
        sp = services.add_parser(service.name, help=escape(service.title),
                                 add_help=chosen_service)
        if not chosen_service:
            continue
        method = next((m for m in service.methods if named[1:2] == [m.name]), None)
        if method is not None:
            methods = sp.add_subparsers(dest="method", metavar="METHOD")
            method_arguments(methods.add_parser(method.name, help=escape(method.title),
                                                add_help=False, parents=[common]), method)
            continue
        titles = {m.name: escape(m.title) for m in service.methods}
        choice = sp.add_argument("method", metavar="METHOD", choices=list(titles))
        choice.completer = _Described(titles)  # type: ignore[attr-defined]


class _Described:
    """An argcomplete completer: the names matching the prefix, each with its description
    (argcomplete shows a mapping's values beside its keys)."""

    def __init__(self, described: dict[str, str]) -> None:
        self.described = described

    def __call__(self, prefix: str, **_: object) -> dict[str, str]:
        return {k: v for k, v in self.described.items() if k.startswith(prefix)}


def api_services(deployment: Deployment) -> list[str]:
    """Class names of the API (not exchanges) references."""
    return [n for n in deployment.references.names() if not n.endswith("Events")]


def find_service(deployment: Deployment, name: str) -> ServiceModel:
    """The model of service ``name`` (``queue``, ``purge-cache``, or a class name)."""
    return deployment.references.api_model(_class_of_service(deployment, name, False))


def find_events(deployment: Deployment, name: str) -> ExchangesModel:
    """The model of the exchanges of ``name`` (``queue``, ``QueueEvents``)."""
    return deployment.references.exchanges_model(_class_of_service(deployment, name, True))


def _class_of_service(deployment: Deployment, name: str, events: bool) -> str:
    from ..model.reference import class_name

    kind = "exchanges" if events else "api"
    names = deployment.references.names()
    wanted = name if name in names else class_name(name.removesuffix("Events") if events
                                                   else name, kind)
    if wanted not in names:
        import difflib

        known = sorted(_service_name(n, events) for n in names
                       if n.endswith("Events") == events)
        hint = difflib.get_close_matches(name, known, 1)
        raise UsageError(f"unknown service {name!r}"
                         + (f" (did you mean {hint[0]!r}?)" if hint else "")
                         + f"; {deployment.references.describe()} have: {', '.join(known)}")
    return wanted


def _service_name(class_name: str, events: bool) -> str:
    import re

    base = class_name.removesuffix("Events") if events else class_name
    return re.sub(r"(?<!^)(?=[A-Z])", "-", base).lower()


def find_entry(model: Any, name: str) -> Any:
    entry = model.entries.get(name)
    if entry is None or name.startswith("_"):
        import difflib

        hint = difflib.get_close_matches(name, list(model.entries), 1)
        raise UsageError(f"{model.serviceName} has no method {name!r}"
                         + (f" (did you mean {hint[0]!r}?)" if hint else "")
                         + f"; tcdyn api {model.serviceName} --help lists them")
    return entry


# -- help text ------------------------------------------------------------------------

def services_help(deployment: Deployment) -> str:
    lines = ["usage: tcdyn api [--root-url URL] [--references DIR|URL] SERVICE METHOD args...",
             "                 [--payload JSON|@FILE|-] [--query K=V] [--all]", "",
             f"Services of {deployment.references.describe()}:"]
    for name in api_services(deployment):
        try:
            model = deployment.references.model(name)
        except Exception as exc:
            lines.append(f"  {_service_name(name, False):<24} (cannot be used: {exc})")
            continue
        lines.append(f"  {model.serviceName:<24} {model.title}")
    lines += ["", "tcdyn api SERVICE --help lists a service's methods."]
    return fit("\n".join(lines), hang=27)


def service_help(model: ServiceModel) -> str:
    lines = [f"usage: tcdyn api {model.serviceName} METHOD args... [--payload ...]",
             "           [--query K=V] [--all]", "",
             f"{model.title} ({model.serviceName}/{model.apiVersion})", "", "Methods:"]
    for entry in model.entries.values():
        if entry.name.startswith("_"):
            continue
        signature = " ".join([entry.name, *(f"<{a}>" for a in entry.args),
                              *(["payload"] if entry.input else [])])
        line = f"  {signature:<42} {entry.title}".rstrip()
        if len(line) <= HELP_WIDTH:
            lines.append(line)
        else:  # a long signature: wrapped, the title below it
            lines += [fit(f"  {signature}", hang=4), *([f"      {entry.title}"]
                                                       if entry.title else [])]
    lines += ["", f"tcdyn api {model.serviceName} METHOD --help describes one method."]
    return fit("\n".join(lines), hang=6)


def method_description(model: ServiceModel, entry: EntryModel,
                       deployment: Deployment | None = None) -> str:
    """Title, route, description, query, scopes and payload outline of one entry, for
    ``HELP_WIDTH`` columns."""
    import textwrap

    from ..classes.meta import scope_lines

    route = f"{entry.http_method} {entry.route}"
    where = f"[{entry.stability}]  ({model.serviceName}/{model.apiVersion})"
    lines = [f"{entry.title or entry.name}", ""]
    lines += ([f"{route}  {where}"] if len(route) + len(where) + 2 <= HELP_WIDTH
              else [route, f"  {where}"])  # a route is one word: never cut
    if entry.description:
        paragraph = textwrap.dedent(entry.description).strip().split("\n\n")[0]
        lines += ["", textwrap.fill(" ".join(paragraph.split()), HELP_WIDTH,
                                    break_long_words=False, break_on_hyphens=False)]
    if entry.query:
        lines += ["", fit(f"Query (--query K=V): {', '.join(entry.query)}")]
    if entry.paginated:
        lines.append("Paginated: --all prints every item of every page, one JSON line each")
    if entry.scopes is not None:
        lines += ["", "Scopes:", *(fit(line) for line in scope_lines(entry.scopes))]
    if entry.input:
        lines += ["", fit(f"Payload ({entry.input}), from --payload JSON|@FILE|- or stdin:")]
        lines += [fit("  " + line, hang=6) for line in _outline_of(model, entry, deployment)]
    if entry.output:
        lines += ["", f"Returns: {entry.output}"]
    return "\n".join(lines)


def _outline_of(model: ServiceModel, entry: EntryModel,
                deployment: Deployment | None) -> list[str]:
    if deployment is None:
        return ["(schema outline not available)"]
    try:
        schema = getattr(deployment.build(_class_of(model)), entry.name).input_schema
    except Exception as exc:
        return [f"(schema not available: {exc})"]
    if schema is None:
        return ["(these references have no schemas)"]
    from ..classes.outline import outline, type_name

    return outline(schema, indent="") or [type_name(schema)]


def _class_of(model: ServiceModel) -> str:
    from ..model.reference import class_name

    return class_name(model.serviceName, "api")


# -- one method's parser ----------------------------------------------------------------

def method_parser(model: ServiceModel, entry: EntryModel,
                  parser: argparse.ArgumentParser | None = None,
                  deployment: Deployment | None = None) -> argparse.ArgumentParser:
    """The arguments of one entry (also used, pre-filled, for completion)."""
    from . import common_parser

    if parser is None:
        from ..terminal import escape

        parser = argparse.ArgumentParser(
            prog=f"tcdyn api {model.serviceName} {entry.name}", add_help=False,
            parents=[common_parser()], formatter_class=argparse.RawDescriptionHelpFormatter,
            description=escape(method_description(model, entry, deployment)))
    return method_arguments(parser, entry)


def method_arguments(parser: argparse.ArgumentParser, entry: MethodShape
                     ) -> argparse.ArgumentParser:
    """``-h``, the route arguments, ``--payload``, ``--query``, ``--all``: as ``entry``
    takes them."""
    parser.add_argument("-h", "--help", action="help", help="show this help and exit")
    for name in entry.args:
        parser.add_argument(name, help="route argument")
    if entry.input:
        parser.add_argument("--payload", metavar="JSON|@FILE|-",
                            help="the payload: JSON text, @FILE, or - for stdin "
                                 "(default: stdin when it is not a terminal)")
    if entry.query:
        parser.add_argument("--query", action="append", default=[], metavar="K=V",
                            help=f"query arguments: {', '.join(entry.query)}")
    if entry.paginated:
        parser.add_argument("--all", action="store_true",
                            help="follow continuationTokens; print each item as a JSON line")
    return parser


def _scan(argv: Sequence[str]) -> tuple[dict[str, str], list[int], bool]:
    """Find ``--root-url``/``--references`` values, the positions of positionals, and
    whether help is asked for, without knowing the method yet."""
    found: dict[str, str] = {}
    positions: list[int] = []
    wants_help = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            positions += range(i + 1, len(argv))
            break
        name, eq, value = arg.partition("=")
        if arg in _HELP:
            wants_help = True
        elif name in _VALUED:
            if not eq:
                i += 1
                value = argv[i] if i < len(argv) else ""
            found[name] = value
        elif not arg.startswith("-") or arg == "-":
            positions.append(i)
        i += 1
    return found, positions, wants_help


def run(argv: Sequence[str]) -> int:
    """``tcdyn api ...`` (argv after ``api``)."""
    from .config import settings

    argv = list(argv)
    found, positions, wants_help = _scan(argv)
    conf = settings(found.get("--root-url"), found.get("--references"))
    deployment = conf.deployment()
    if not positions:
        if wants_help:
            show(services_help(deployment))
            return 0
        raise UsageError("tcdyn api: which service? (tcdyn api --help lists them)")
    model = find_service(deployment, argv[positions[0]])
    if len(positions) < 2:
        if wants_help:
            show(service_help(model))
            return 0
        raise UsageError(f"tcdyn api {model.serviceName}: which method? "
                         f"(tcdyn api {model.serviceName} --help lists them)")
    entry = find_entry(model, argv[positions[1]])
    rest = [a for i, a in enumerate(argv) if i not in positions[:2]]
    args = method_parser(model, entry, deployment=deployment).parse_args(rest)
    client = conf.client(_class_of(model))
    call_args: list[Any] = [getattr(args, name) for name in entry.args]
    kwargs: dict[str, Any] = {}
    if entry.query:
        kwargs["query"] = parse_query(entry, args.query)
    if entry.input:
        call_args.append(read_payload(args.payload, entry.name))
    method = getattr(client, entry.name)
    with client:
        if getattr(args, "all", False):
            emit_lines(method.items(*call_args, **kwargs))
        else:
            emit(method(*call_args, **kwargs))
    return 0


def parse_query(entry: EntryModel, pairs: Sequence[str]) -> dict[str, str]:
    query: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise UsageError(f"--query {pair!r}: expected K=V")
        if key not in entry.query:
            raise UsageError(f"--query {key!r}: {entry.name} takes "
                             f"{', '.join(entry.query) or 'no query arguments'}")
        query[key] = value
    return query


def read_payload(spec: str | None, method: str) -> Any:
    """The payload from ``--payload`` (JSON, ``@FILE``, ``-``) or a piped stdin."""
    if spec is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError(f"{method} needs a payload: --payload JSON, --payload @FILE, "
                             "or pipe it to stdin")
        spec = "-"
    if spec == "-":
        where = "stdin"
        text = _text(sys.stdin.buffer.read(), where)
    elif spec.startswith("@"):
        where = spec[1:]
        try:
            with open(where, "rb") as f:
                text = _text(f.read(), where)
        except OSError as exc:
            raise UsageError(f"--payload {spec}: {exc.strerror or exc}") from None
    else:
        text, where = spec, "--payload"
    if not text.strip():
        raise UsageError(f"{method} needs a payload: {where} is empty")
    import json

    try:
        return json.loads(text)
    except ValueError as exc:
        hint = ""
        if where == "--payload" and not text.lstrip().startswith(("{", "[", '"')) and (
                text.endswith(".json") or os.path.isfile(text)):
            hint = f" (did you mean @{text}? a file is given as --payload @FILE)"
        raise UsageError(f"payload from {where} is not JSON: {exc}{hint}") from None


def _text(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"payload from {where} is not UTF-8 text (byte {exc.start}: "
                         f"{data[exc.start:exc.start + 1]!r}); JSON is UTF-8") from None
