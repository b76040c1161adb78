"""The generated pages of the documentation site, written by docs/conf.py when a build starts.

- ``reference/index.md`` and ``reference/<service>.md``: the API of every service of the bundled
  references (``references/``): each method with its signature as tcdyn exposes it, route,
  stability, query names, scopes and an outline of its input and output schemas linking to the
  bundled schema (which the site then carries); each exchange with its routing-key fields and
  message schema.
- ``library/*.md``: autodoc directives for tcdyn's own public API.

``python scripts/docs_api.py DIR`` writes them under DIR (docs/conf.py: under docs/).
"""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
REFERENCES = REPO / "references"

# -- Everything this script uses of tcdyn is in this block -------------------------------------
# Public entry points: tcdyn.load, a Deployment's ``references`` (model per class name) and
# ``schemas`` (schema paths), the built classes (``inspect.signature`` of a method, its
# ``input_schema``/``output_schema``), tcdyn.scopes.describe.
import tcdyn  # noqa: E402
import tcdyn.scopes  # noqa: E402

# The one internal import: tcdyn's outline of a schema (what help() on a method shows).
# Modules are moving into packages (issue 20): if this one moves, change this line only.
from tcdyn.classes.outline import outline  # noqa: E402


def bundled_deployment() -> Any:
    return tcdyn.load(REFERENCES)


def class_names(deployment: Any) -> list[str]:
    return list(deployment.references.names())


def reference_model(deployment: Any, name: str) -> Any:
    """The model of one class: serviceName, apiVersion, title, description, entries (an
    ``EntryModel`` per method, the raw dict per exchange), exchangePrefix for exchanges."""
    return deployment.references.model(name)


def schema_path(deployment: Any, service: str, name: str) -> str:
    """``("queue", "v1/task.json#")`` -> ``"schemas/queue/v1/task.json"``."""
    return str(deployment.schemas.schema_path(service, name)).lstrip("/")


def describe_scopes(expression: Any) -> str:
    return tcdyn.scopes.describe(expression)


#: The library's own API: (page, title, intro, [(heading, what to document)]). What to
#: document is a public dotted name, or a function giving the object (documented where it
#: is defined) for what has no public name of its own.
Documented = str | Callable[[], Any]


def _library() -> list[tuple[str, str, str, list[tuple[str, Documented]]]]:
    import tcdyn.aio
    import tcdyn.pulse

    def named(*names: str) -> list[tuple[str, Documented]]:
        return [(name, name) for name in names]

    return [
        ("clients", "Clients and deployments",
         "`tcdyn.Queue`, `tcdyn.aio.Queue`, `tcdyn.QueueEvents` and every other service class "
         "are built at run time from the references; what each adds is in the "
         "[API reference](../reference/index.md). What they share comes from the base "
         "classes below.",
         [("Base class of tcdyn.Queue and every synchronous service class",
           lambda: tcdyn.Queue.__mro__[1]),
          ("Base class of tcdyn.aio.Queue and every asynchronous service class",
           lambda: tcdyn.aio.Queue.__mro__[1]),
          ("Base class of tcdyn.QueueEvents and every events class",
           lambda: tcdyn.QueueEvents.__mro__[1]),
          *named("tcdyn.load", "tcdyn.Deployment", "tcdyn.Credentials",
                 "tcdyn.createTemporaryCredentials", "tcdyn.RetryPolicy", "tcdyn.Binding",
                 "tcdyn.trace_id")]),
        ("credentials", "Credentials and scopes",
         "Scope expressions as the services evaluate them, and signing in through a "
         "deployment's web UI ([credentials](../guides/credentials.md)).",
         named("tcdyn.scopes", "tcdyn.auth.signin.signin", "tcdyn.auth.signin.check")),
        ("references", "References",
         "Reference sets, mirrors and the differences between two deployments' APIs "
         "([any deployment's API](../guides/deployments.md)).",
         named("tcdyn.references.ReferenceSet", "tcdyn.references.diff",
               "tcdyn.references.pull")),
        ("responses", "Responses",
         "What a call returns when the answer is not JSON "
         "([what a call returns](../guides/clients.md#what-a-call-returns)).",
         named("tcdyn.response")),
        ("payloads", "Worker payloads",
         "Checking a task's payload against its worker's schema "
         "([worker payloads](../guides/validation.md#worker-payloads)); the payload types "
         "are in the stubs ([typing](../guides/typing.md)).",
         named("tcdyn.payloads.check")),
        ("workflows", "Workflows",
         "A task in one line, following logs, retrigger, rerun and cancel, the views and a "
         "task group's timeline ([workflows](../guides/workflows.md)). `tcdyn.aio.logs` and "
         "`tcdyn.aio.timeline` are the asynchronous forms.",
         named("tcdyn.new_task", "tcdyn.logs", "tcdyn.workflow.retrigger",
               "tcdyn.workflow.actions", "tcdyn.workflow.views", "tcdyn.timeline")),
        ("helper", "The official helper",
         "The official client's `taskcluster.helper` ([the official helper]"
         "(../guides/helper.md)).",
         named("tcdyn.helper")),
        ("errors", "Errors",
         "Every error tcdyn raises derives from `tcdyn.TaskclusterFailure`; all are importable "
         "from `tcdyn` and `tcdyn.errors`.",
         named("tcdyn.errors")),
        ("pulse", "Pulse",
         "Consuming Taskcluster's Pulse messages; `import tcdyn.pulse` imports aio-pika.",
         named(*(f"tcdyn.pulse.{name}" for name in tcdyn.pulse.__all__))),
        ("transfers", "Uploads, downloads and artifacts",
         "The object service's uploads and downloads and the queue's artifacts. "
         "`tcdyn.aio.upload`, `tcdyn.aio.download` and `tcdyn.aio.artifacts` are their "
         "asynchronous forms, with the same functions.",
         named("tcdyn.upload", "tcdyn.download", "tcdyn.artifacts")),
        ("testing", "Testing with the local deployment",
         "A local Taskcluster deployment on loopback for your tests, with an imitation of "
         "the queue and of storage.",
         named("tcdyn.testing.server.LocalDeployment", "tcdyn.testing.auth.ClientRecord",
               "tcdyn.testing.queue.InMemoryQueue", "tcdyn.testing.objects.Storage",
               "tcdyn.testing.server.Reply", "tcdyn.testing.server.DropConnection",
               "tcdyn.testing.livelog.LiveLog",
               "tcdyn.testing.worker_manager.InMemoryWorkerManager")),
        ("utils", "Utilities",
         "The official client's helpers, with its names.",
         named("tcdyn.utils")),
    ]


# -- end of what this script uses of tcdyn -----------------------------------------------------


def _directive(what: Documented) -> str:
    """The autodoc directive for a public name, or for an object where it is defined."""
    import importlib

    if isinstance(what, str):
        module, _, name = what.rpartition(".")
        try:
            obj = getattr(importlib.import_module(module), name)
        except AttributeError:  # a submodule its package does not import
            obj = importlib.import_module(what)
        path = what
    else:
        obj = what()
        path = f"{obj.__module__}.{obj.__qualname__}"
    # autodoc writes reStructuredText: it must run inside eval-rst on a Markdown page
    if inspect.ismodule(obj):
        return f"```{{eval-rst}}\n.. automodule:: {obj.__name__}\n   :members:\n```"
    if inspect.isclass(obj):  # with what its tcdyn bases give it (not Python's own)
        base = "BaseException" if issubclass(obj, BaseException) else "object"
        return (f"```{{eval-rst}}\n.. autoclass:: {path}\n   :members:\n"
                f"   :inherited-members: {base}\n```")
    return f"```{{eval-rst}}\n.. autofunction:: {path}\n```"


def library_pages() -> Iterator[tuple[str, str]]:
    pages = _library()
    index = ["# The library", "",
             "tcdyn's own API, from its docstrings. The methods of the service classes "
             "themselves are in the [API reference](../reference/index.md).", "",
             "```{toctree}", ":maxdepth: 1", "", *(page for page, *_ in pages), "```", ""]
    for page, title, intro, objects in pages:
        lines = [f"# {title}", "", intro, ""]
        for heading, what in objects:
            lines += [f"## {heading}" if not isinstance(what, str) else f"## `{heading}`", "",
                      _directive(what), ""]
        yield f"library/{page}.md", "\n".join(lines)
    yield "library/index.md", "\n".join(index)


# -- reference pages ----------------------------------------------------------------------------

_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)


def markdown(text: str) -> str:
    """A reference's description as Markdown on a page: dedented, HTML-like text such as
    ``<taskId>`` escaped (outside code), its headings made bold lines (the page's own
    headings stay the only ones)."""
    text = textwrap.dedent(text or "").strip()
    parts = _CODE.split(text)
    for i in range(0, len(parts), 2):  # even parts are outside code
        part = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        parts[i] = re.sub(r"(?m)^#{1,6}\s+(.*?)\s*#*$", r"**\1**", part)
    return "".join(parts)


def _code(lines: list[str] | str) -> list[str]:
    body = lines if isinstance(lines, str) else "\n".join(lines)
    return ["```text", body, "```", ""]


def _signature(cls: type, name: str) -> str:
    sig = inspect.signature(getattr(cls, name))
    params = list(sig.parameters.values())[1:]  # without self
    return f"{cls.__name__}.{name}{sig.replace(parameters=params, return_annotation=sig.empty)}"


class _Schemas:
    """Links from a page under docs/reference/ to the bundled schema files (the site carries
    each file it links to)."""

    def __init__(self, deployment: Any) -> None:
        self.deployment = deployment

    def link(self, service: str, name: str) -> str:
        path = schema_path(self.deployment, service, name)
        if not (REFERENCES / path).is_file():
            raise SystemExit(f"docs_api: {service} names schema {name!r}, not in {REFERENCES}")
        return f"[`{name.rstrip('#')}`](../../references/{path})"


def _method(cls: type, entry: Any, service: str, schemas: _Schemas) -> list[str]:
    method = getattr(cls, entry.name)
    lines = [f"### {entry.name}", "", f"`{_signature(cls, entry.name)}`", ""]
    if entry.title:
        lines += [f"**{markdown(entry.title)}**", ""]
    lines += [f"`{entry.http_method} {entry.route}` · stability: **{entry.stability}**", ""]
    if entry.description:
        lines += [markdown(entry.description), ""]
    if entry.query:
        names = ", ".join(f"`{q}`" for q in entry.query)
        lines += [f"Query (`query={{...}}`): {names}", ""]
    if entry.paginated:
        lines += [f"Paginated: `{entry.name}.pages(...)` and `{entry.name}.items(...)` "
                  "walk every page.", ""]
    if entry.scopes is None:
        lines += ["Scopes: none required.", ""]
    else:
        lines += ["Scopes:", "", *_code(describe_scopes(entry.scopes))]
    for label, name, schema in (("Input", entry.input, lambda: method.input_schema),
                                ("Output", entry.output, lambda: method.output_schema)):
        if name is None:
            continue
        lines += [f"{label}: {schemas.link(service, name)}", ""]
        fields = outline(schema())
        if fields:
            lines += _code(fields)
    return lines


def _flags(key: dict[str, Any]) -> str:
    flags = []
    if "constant" in key:
        flags.append(f"constant `{key['constant']}`")
    if key.get("required"):
        flags.append("required")
    if key.get("multipleWords"):
        flags.append("multiple words")
    return ", ".join(flags)


def _exchange(cls: type, raw: dict[str, Any], prefix: str, service: str,
              schemas: _Schemas) -> list[str]:
    lines = [f"### {raw['name']}", "", f"`{_signature(cls, raw['name'])}`", ""]
    if raw.get("title"):
        lines += [f"**{markdown(raw['title'])}**", ""]
    lines += [f"Exchange `{prefix}{raw['exchange']}` · message: "
              f"{schemas.link(service, raw['schema'])}", ""]
    if raw.get("description"):
        lines += [markdown(raw["description"]), ""]
    lines += ["| Routing-key field | | Summary |", "| --- | --- | --- |"]
    for key in raw.get("routingKey", []):
        summary = " ".join(markdown(str(key.get("summary", ""))).split()).replace("|", "\\|")
        lines.append(f"| `{key['name']}` | {_flags(key)} | {summary} |")
    return [*lines, ""]


def _page_name(service: str) -> str:
    """The page of a service: its name, but the index service's (``index.md`` is the overview)."""
    return "index-service" if service == "index" else service


def reference_pages(deployment: Any) -> Iterator[tuple[str, str]]:
    by_service: dict[str, list[tuple[str, Any]]] = {}
    for name in class_names(deployment):
        model = reference_model(deployment, name)
        by_service.setdefault(model.serviceName, []).append((name, model))
    schemas = _Schemas(deployment)
    rows, pages = [], []
    for service in sorted(by_service):
        classes = sorted(by_service[service], key=lambda c: c[1].kind)  # api first
        head = classes[0][1]
        lines = [f"# {service}", ""]
        if head.title:
            lines += [f"**{markdown(head.title)}** ({service}/{head.apiVersion})", ""]
        names = ", ".join(f"`tcdyn.{n}`" + (f", `tcdyn.aio.{n}`" if m.kind == "api" else "")
                          for n, m in classes)
        lines += [f"Classes: {names}.", ""]
        if head.description:
            lines += [markdown(head.description), ""]
        counts = []
        for name, model in classes:
            cls = getattr(deployment, name)
            if model.kind == "api":
                lines += [f"## Methods of `tcdyn.{name}`", "",
                          f"`tcdyn.aio.{name}` has the same methods, awaitable.", ""]
                for entry in model.entries.values():
                    lines += _method(cls, entry, service, schemas)
                counts.append(f"{len(model.entries)} method"
                              + ("s" if len(model.entries) != 1 else ""))
            else:
                lines += [f"## Exchanges of `tcdyn.{name}`", "",
                          f"Calling one gives a `tcdyn.Binding` (exchange and routing-key "
                          f"pattern) for a Pulse consumer; prefix `{model.exchangePrefix}`.", ""]
                for raw in model.entries.values():
                    lines += _exchange(cls, dict(raw), model.exchangePrefix, service, schemas)
                counts.append(f"{len(model.entries)} exchange"
                              + ("s" if len(model.entries) != 1 else ""))
        page = _page_name(service)
        pages.append(page)
        rows.append(f"| [{service}]({page}.md) | {names} | {', '.join(counts)} |")
        yield f"reference/{page}.md", "\n".join(lines)
    index = ["# API reference", "",
             "Every service of the references bundled with tcdyn (Taskcluster v106.0.0), "
             "generated from them when the site is built: each method as tcdyn exposes it "
             "(signature, route, stability, scopes, an outline of its input and output with a "
             "link to the schema) and each exchange with its routing key. A deployment's own "
             "references may differ: `tcdyn.load(rootUrl)` builds its classes, and `help()` "
             "on a method shows the same information for them.", "",
             "| Service | Classes | Entries |", "| --- | --- | --- |", *rows, "",
             "```{toctree}", ":hidden:", "", *pages, "```", ""]
    yield "reference/index.md", "\n".join(index)


def pages() -> Iterator[tuple[str, str]]:
    yield from reference_pages(bundled_deployment())
    yield from library_pages()


#: The folders under docs/ that hold only generated pages (replaced whole on every build).
GENERATED = ("reference", "library")


def write(out: Path) -> None:
    """Write the pages under ``out``, replacing the generated folders whole (a service gone
    from the references leaves no page behind)."""
    import shutil

    for folder in GENERATED:
        shutil.rmtree(out / folder, ignore_errors=True)
    for path, text in pages():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1]))
