"""The import rules of docs/ARCHITECTURE.md, checked on every module under src/tcdyn.

``RULES`` is the table "What each module may import" of the document, as data: for each
module (or ``package.*``), the tcdyn modules it may import at module level, and those it may
import only inside a function (lazily: heavy, optional or upward). Imports under
``if TYPE_CHECKING:`` are not run and are not checked. The test also fails when the
document's table and ``RULES`` differ, and when a module is over ``MAX_LINES`` without a
reason in the document's "Long modules" table.

``KNOWN_EXCEPTIONS`` lists what today's code does against the target shape of issue 10, each
with its reason: the integrator deletes an entry once the branch that fixes it is merged (the
test then fails if the exception comes back). An entry that no longer occurs fails the test
too, so the list only shrinks.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "tcdyn"
DOC = ROOT / "docs" / "ARCHITECTURE.md"
MAX_LINES = 400

#: Client-side code: it runs per call and must not reach the Deployment (which builds it).
CLIENT_SIDE = ("client.base", "client.clients", "classes.context", "call.options", "classes.meta",
               "call.bind", "call.retry", "call.paging", "call.response",
               "transport.httpx_transport", "transport.aiohttp_transport",
               "transport.httpcore_transport", "transport.drive", "transport.hawk",
               "client.events")

# module -> (may import at module level, may import only inside functions).
# "x.*" is package x and everything in it; "*" is any tcdyn module.
RULES: dict[str, tuple[set[str], set[str]]] = {
    "__main__": ({"cli"}, set()),
    "_services": (set(), {"default"}),
    "_services.aio": (set(), {"default"}),
    "_types": (set(), set()),
    "aio": (set(), {"default"}),
    "aio.artifacts": ({"transfer.aio_artifacts"}, set()),
    "aio.download": ({"transfer.aio_download"}, set()),
    "aio.upload": ({"transfer.aio_upload"}, set()),
    "artifacts": ({"transfer.artifacts"}, set()),
    "auth": (set(), set()),
    "auth.credentials": ({"auth.scopes", "checks", "errors", "redact"}, {"environment", "utils"}),
    "auth.provider": ({"auth.credentials", "errors"}, set()),
    "auth.scopes": ({"errors"}, {"auth.service_scopes"}),
    "auth.service_scopes": (set(), set()),
    "call": (set(), set()),
    "call.bind": ({"errors", "model.reference"}, {"utils"}),
    "call.options": ({"auth.provider", "checks", "errors"}, set()),
    "call.paging": ({"call.bind", "errors", "model.reference"}, set()),
    "call.response": ({"call.options", "errors"}, set()),
    "call.retry": ({"call.bind", "call.options", "call.response", "errors"}, set()),
    "checks": ({"errors"}, set()),
    "classes": (set(), set()),
    "classes.context": (set(), set()),
    "classes.meta": ({"model.reference"}, {"auth.scopes", "call.bind", "classes.outline", "errors",
                     "terminal"}),
    "classes.outline": (set(), set()),
    "cli": ({"cli.output"}, {"cli.*", "tcdyn", "terminal"}),
    "cli.__main__": ({"cli"}, set()),
    "cli.demo": ({"tcdyn", "testing.auth", "testing.objects", "testing.queue", "testing.server"},
                 set()),
    "cli.repl": (set(), {"client.clients", "default", "deployment", "environment", "errors",
                 "tcdyn", "terminal"}),
    "cli.stubgen": ({"errors", "model.reference", "references.index"}, {"client.clients",
                    "client.events", "default", "deployment", "references.tree", "terminal"}),
    "client": (set(), {"client.clients"}),
    "client.base": ({"auth.credentials", "auth.provider", "call.bind", "call.options",
                    "call.paging", "checks", "classes.meta", "errors", "model.legacy"},
                    {"auth.scopes", "environment", "transport.hawk"}),
    "client.clients": ({"auth.provider", "call.bind", "call.paging", "client.base", "errors",
                       "model.legacy"}, {"transport.aiohttp_transport",
                       "transport.httpcore_transport"}),
    "client.events": ({"classes.meta", "errors"}, {"call.options", "model.schema_names"}),
    "credentials": ({"auth.credentials"}, set()),
    "default": ({"deployment", "environment", "references.index"}, set()),
    "deployment": ({"classes.context", "references.fetch", "references.index", "validation"},
                   {"call.bind", "classes.meta", "client.base", "client.clients", "client.events",
                   "errors"}),
    "download": ({"transfer.download"}, set()),
    "environment": ({"errors"}, set()),
    "errors": (set(), set()),
    "exchanges": ({"client.events"}, set()),
    "model": (set(), set()),
    "model.legacy": ({"checks"}, set()),
    "model.reference": ({"errors", "model.legacy"}, {"auth.scopes"}),
    "model.schema_names": ({"model.legacy"}, set()),
    "patterns": (set(), set()),
    "redact": (set(), set()),
    "references": (set(), set()),
    "references.cache": ({"references.tree"}, set()),
    "references.fetch": ({"checks", "environment", "errors"}, {"call.response", "transport.clients",
                         "transport.deadline"}),
    "references.index": ({"checks", "errors", "model.legacy", "model.reference", "references.fetch",
                         "references.names", "references.sources", "references.tree"},
                         {"environment", "references.cache", "references.remote"}),
    "references.names": ({"errors", "model.legacy", "references.tree"}, set()),
    "references.pull": ({"checks", "errors", "references.fetch", "references.remote",
                        "references.tree"}, set()),
    "references.remote": ({"checks", "errors", "model.legacy", "references.fetch",
                          "references.names", "references.tree"}, set()),
    "references.sources": ({"references.fetch", "references.tree"}, set()),
    "references.tree": ({"errors", "references.fetch"}, set()),
    "repl": ({"cli.repl"}, set()),
    "response": ({"call.response"}, set()),
    "rust_check": ({"patterns"}, set()),
    "schemas": ({"errors", "model.legacy", "model.schema_names", "patterns", "redact"},
                {"rust_check"}),
    "scopes": ({"auth.scopes"}, set()),
    "stubgen": ({"cli.stubgen"}, set()),
    "tcdyn": ({"errors"}, {"*"}),
    "terminal": (set(), set()),
    "transfer": (set(), set()),
    "transfer.aio_artifacts": ({"transfer.artifacts", "transfer.common"}, {"transfer.aio_upload"}),
    "transfer.aio_download": ({"transfer.aio_storage", "transfer.common", "transfer.download",
                              "transport.drive"}, set()),
    "transfer.aio_storage": ({"transfer.common", "transport.bulk", "transport.clients",
                             "transport.errors", "transport.proxies", "transport.tls"}, set()),
    "transfer.aio_upload": ({"transfer.common", "transfer.upload", "transport.bulk",
                            "transport.clients", "transport.drive"}, {"errors"}),
    "transfer.artifacts": ({"errors", "transfer.common"}, {"transfer.upload"}),
    "transfer.common": ({"call.options", "call.response", "errors"}, {"default"}),
    "transfer.download": ({"transfer.common", "transport.bulk", "transport.clients",
                          "transport.deadline"}, set()),
    "transfer.upload": ({"errors", "transfer.common", "transport.bulk", "transport.clients",
                        "transport.deadline"}, set()),
    "transport": (set(), set()),
    "transport.aiohttp_transport": ({"call.bind", "call.options", "call.response", "call.retry",
                                    "transport.base", "transport.drive", "transport.errors",
                                    "transport.hawk", "transport.httpx_transport",
                                    "transport.proxies", "transport.tls"}, set()),
    "transport.base": ({"errors"}, set()),
    "transport.bulk": ({"transport.clients"}, set()),
    "transport.clients": ({"transport.deadline", "transport.proxies", "transport.tls"}, set()),
    "transport.deadline": ({"transport.tls"}, set()),
    "transport.drive": ({"call.retry"}, set()),
    "transport.errors": ({"redact"}, set()),
    "transport.hawk": ({"auth.credentials", "auth.provider"}, set()),
    "transport.httpcore_transport": ({"call.bind", "call.options", "call.response", "call.retry",
                                     "transport.base", "transport.deadline", "transport.drive",
                                     "transport.errors", "transport.hawk",
                                     "transport.httpx_transport", "transport.proxies",
                                     "transport.tls"}, set()),
    "transport.httpx_transport": ({"call.bind", "call.options", "call.response", "call.retry",
                                  "transport.base", "transport.clients", "transport.deadline",
                                  "transport.drive", "transport.errors", "transport.proxies"},
                                  set()),
    "transport.proxies": ({"errors"}, set()),
    "transport.tls": (set(), set()),
    "upload": ({"transfer.upload"}, set()),
    "utils": (set(), {"auth.scopes", "checks", "environment"}),
    "validation": (set(), {"errors", "schemas"}),
    "pulse.*": ({"checks", "client.events", "errors", "pulse.*", "redact"}, set()),
    "testing.*": ({"auth.credentials", "auth.scopes", "model.legacy", "model.reference",
                  "references.index", "testing.*"}, {"auth.scopes", "errors", "schemas"}),
    "cli.*": ({"cli.output"}, {"*"}),
}

# (importer, imported) -> why today's code does it; the integrator deletes entries as the
# issue-10 branches land. ("attr:_deployment" marks client-side code using the stamped
# Deployment at run time rather than importing it.)
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {
}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    lazy: bool
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "tcdyn"


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _resolve(node: ast.ImportFrom | ast.Import, module: str, is_package: bool) -> list[str]:
    """The tcdyn modules an import statement loads (relative to the package root)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = "tcdyn" if module == "tcdyn" else f"tcdyn.{module}"
        package = base if is_package else base.rpartition(".")[0]
        if node.level:
            parts = package.split(".")
            package = ".".join(parts[:len(parts) - node.level + 1])
            base = f"{package}.{node.module}" if node.module else package
        else:
            base = node.module or ""
        # ``from . import scopes`` loads a module; ``from .x import name`` loads x
        names = [f"{base}.{a.name}" if f"{base}.{a.name}".removeprefix("tcdyn.") in MODULES
                 else base for a in node.names]
    found = []
    for name in names:
        if name == "tcdyn" or name.startswith("tcdyn."):
            found.append(name.removeprefix("tcdyn.") if name != "tcdyn" else "tcdyn")
    return found


_TYPE_CHECKING = ("TYPE_CHECKING", "typing.TYPE_CHECKING")


@functools.cache
def _imports(module: str) -> list[Import]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    found: list[Import] = []

    def handle(node: ast.AST, lazy: bool) -> None:
        if isinstance(node, ast.If) and ast.unparse(node.test) in _TYPE_CHECKING:
            for other in node.orelse:  # only the else branch runs
                handle(other, lazy)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.extend(Import(module, name, lazy, node.lineno)
                         for name in _resolve(node, module, path.name == "__init__.py")
                         if name != module)
        visit(node, lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                               ast.Lambda)))

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            handle(child, lazy)

    visit(tree, False)
    return found


def _rule(module: str) -> tuple[set[str], set[str]]:
    if module in RULES:
        return RULES[module]
    package = module
    while package:
        if f"{package}.*" in RULES:
            return RULES[f"{package}.*"]
        package = package.rpartition(".")[0]
    raise KeyError(module)


def _allowed(name: str, patterns: set[str]) -> bool:
    return any(p == "*" or p == name or (p.endswith(".*") and (
        name == p[:-2] or name.startswith(p[:-1]))) for p in patterns)


@functools.cache
def _violations() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for module in MODULES:
        top, lazy = _rule(module)
        for imp in _imports(module):
            if _allowed(imp.imported, top) or (imp.lazy and _allowed(imp.imported, lazy)):
                continue
            how = "inside a function" if imp.lazy else "at module level"
            found.setdefault((module, imp.imported),
                             f"{MODULES[module].relative_to(ROOT)}:{imp.line}: "
                             f"{module} imports {imp.imported} {how}")
    for module in CLIENT_SIDE:
        tree = ast.parse(MODULES[module].read_text())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr == "_deployment") or \
                    (isinstance(node, ast.keyword) and node.arg == "_deployment"):
                found.setdefault((module, "attr:_deployment"),
                                 f"{MODULES[module].relative_to(ROOT)}:{node.lineno}: "
                                 f"{module} uses the Deployment at run time (_deployment)")
    return found


def test_every_module_has_a_rule():
    missing = [m for m in MODULES if not _has_rule(m)]
    assert missing == [], f"add these modules to RULES and to docs/ARCHITECTURE.md: {missing}"


def _has_rule(module: str) -> bool:
    try:
        _rule(module)
    except KeyError:
        return False
    return True


def test_imports_follow_the_layers():
    violations = dict(_violations())
    new = [text for key, text in sorted(violations.items()) if key not in KNOWN_EXCEPTIONS]
    assert new == [], "imports against docs/ARCHITECTURE.md:\n" + "\n".join(new)


def test_known_exceptions_still_occur():
    gone = sorted(set(KNOWN_EXCEPTIONS) - set(_violations()))
    assert gone == [], f"fixed: delete these from KNOWN_EXCEPTIONS (and the doc): {gone}"


@pytest.mark.parametrize("module", CLIENT_SIDE)
def test_no_run_time_import_of_the_deployment_from_client_code(module):
    """The Client <-> Deployment loop: client-side modules never import deployment at run
    time (module level or in a function); type-only imports are fine."""
    assert "deployment" not in {imp.imported for imp in _imports(module)}
    assert not _allowed("deployment", set().union(*_rule(module)))


def test_the_checker_sees_lazy_imports_and_skips_type_checking_ones():
    deployment = {(i.imported, i.lazy) for i in _imports("deployment")}
    assert ("client.clients", True) in deployment and ("references.index", False) in deployment
    assert "deployment" not in {i.imported for i in _imports("client.clients")}  # TYPE_CHECKING
    assert _allowed("testing.auth", {"testing.*"}) and not _allowed("testingx", {"testing.*"})


def _doc_table(heading: str) -> list[list[str]]:
    text = DOC.read_text()
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def _names(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


def test_the_document_lists_the_same_rules():
    table = {_names(row[0]).pop(): (_names(row[1]), _names(row[2]))
             for row in _doc_table("What each module may import")}
    assert table == RULES


def test_the_document_lists_the_same_known_exceptions():
    rows = {tuple(sorted(_names(row[0]))) for row in _doc_table("Known exceptions")}
    assert rows == {tuple(sorted(key)) for key in KNOWN_EXCEPTIONS}


def test_no_module_is_long_without_a_reason():
    reasons = {_names(row[0]).pop(): row[1] for row in _doc_table("Long modules")}
    long = {m: len(p.read_text().splitlines()) for m, p in MODULES.items()
            if len(p.read_text().splitlines()) > MAX_LINES}
    unexplained = sorted(set(long) - set(reasons))
    assert unexplained == [], (f"over {MAX_LINES} lines without a reason in "
                               f"docs/ARCHITECTURE.md: {[(m, long[m]) for m in unexplained]}")
    stale = sorted(set(reasons) - set(long))
    assert stale == [], f"no longer long: delete from docs/ARCHITECTURE.md: {stale}"
