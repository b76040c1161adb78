"""The import rules of docs/ARCHITECTURE.md, checked on every module under src/tcdyn.

``RULES`` is the document's table "What each package may import", as data: for each unit (a
package such as ``transport``, or a top-level module such as ``errors``), the units its
modules may import at module level, and those they may import only inside a function
(lazily: heavy, optional or upward). ``MODULE_RULES`` refines it for the few modules the
document names. Imports under ``if TYPE_CHECKING:`` are not run and are not checked; imports
inside a unit are free (but see the circles). The test also fails when the document's tables
and these differ, on an import circle between modules at module level, on a private name
(``_x``) imported from another unit, and when a module is over ``MAX_LINES`` without a reason
in the document's "Long modules" table.
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
MAX_LINES = 500

#: Client-side code: it runs per call and must not reach the Deployment (which builds it).
CLIENT_SIDE = ("call", "transport", "classes", "client")

# unit -> (may import at module level, may import only inside functions).
# A unit is a package (and every module in it) or a top-level module; "*" is any unit.
RULES: dict[str, tuple[set[str], set[str]]] = {
    # the public surface: nothing at import time but errors, everything lazily
    "tcdyn": ({"errors"}, {"*"}),
    "__main__": ({"cli"}, set()),
    # foundations: the standard library (and their own third-party library) only
    "errors": (set(), set()),
    "redact": (set(), set()),
    "terminal": (set(), set()),
    "_types": (set(), set()),
    "checks": ({"errors"}, set()),
    "environment": ({"errors"}, set()),
    "dates": (set(), set()),
    "logger": (set(), set()),
    "tracing": ({"errors", "logger", "redact"}, {"tcdyn"}),
    "utils": ({"dates"}, {"auth", "checks", "environment"}),
    # who a request is from; what a reference says; where references come from
    "auth": ({"checks", "environment", "errors", "redact"}, {"default", "utils"}),
    "model": ({"checks", "errors"}, {"auth"}),
    "references": ({"checks", "environment", "errors", "logger", "model"},
                   {"call", "transport"}),
    "schemas": ({"errors", "logger", "model", "redact"}, set()),
    # an API call without I/O, then the HTTP edge
    "call": ({"auth", "checks", "errors", "logger", "model", "tracing"}, {"utils"}),
    "transport": ({"auth", "call", "errors", "redact", "tracing"}, set()),
    # built classes, their bases, the deployment that builds them
    "classes": ({"model"}, {"auth", "call", "errors", "terminal"}),
    "client": ({"auth", "call", "checks", "classes", "errors", "model"},
               {"environment", "transport"}),
    "deployment": ({"classes", "logger", "references", "schemas"},
                   {"call", "client", "errors"}),
    "default": ({"deployment", "environment", "references"}, set()),
    # features over built classes
    "transfer": ({"call", "checks", "errors", "logger", "redact", "tracing", "transport"},
                 {"default"}),
    "pulse": ({"checks", "client", "errors", "logger", "redact", "tracing"}, set()),
    # workflows over the API: a task group's timeline; logs followed, retriggers, views
    "views": (set(), set()),
    "workflow": ({"errors", "logger"}, {"aio", "download", "payloads", "pulse", "tcdyn",
                                        "transport", "utils"}),
    # the public paths: tcdyn.aio, the bundled stubs' runtime side, facades
    "aio": ({"transfer", "workflow"}, {"default", "views"}),
    "_services": (set(), {"default"}),
    "credentials": ({"auth"}, set()),
    "scopes": ({"auth"}, set()),
    "exchanges": ({"client"}, set()),
    "response": ({"call"}, set()),
    "upload": ({"transfer"}, set()),
    "download": ({"transfer"}, set()),
    "artifacts": ({"transfer"}, set()),
    "logs": ({"workflow"}, set()),
    "types": ({"_services"}, set()),
    "payloads": ({"_services", "call"}, {"default", "errors", "utils"}),
    "exceptions": ({"errors"}, set()),
    "helper": ({"errors", "logger"}, {"auth", "default", "environment", "model", "transfer",
                                      "transport", "utils"}),
    "repl": ({"cli"}, set()),
    "stubgen": ({"cli"}, set()),
    # tools: the local deployment, the command line
    "testing": ({"auth", "model", "references"},
                {"deployment", "environment", "errors", "schemas"}),
    "cli": (set(), {"*"}),
}

# module -> (module level, only inside functions): replaces its unit's rule. The command's
# tools that run only when their command does (``tcdyn --help`` never imports them).
MODULE_RULES: dict[str, tuple[set[str], set[str]]] = {
    "cli.demo": ({"tcdyn", "testing"}, set()),
    "cli.stubgen": ({"call", "errors", "model", "references"}, {"*"}),
    "cli.stubtypes": ({"model"}, set()),
}

# (importer, imported unit) -> why today's code does it. None are left; an entry that no
# longer occurs fails the test, so the list only shrinks.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    lazy: bool
    line: int
    #: The names ``from imported import ...`` takes (empty for a module import).
    names: tuple[str, ...] = ()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "tcdyn"


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def unit(module: str) -> str:
    """The unit of a module: its package's name, or its own for a top-level module."""
    return module.split(".")[0]


def _resolve(node: ast.ImportFrom | ast.Import, module: str, is_package: bool
             ) -> list[tuple[str, tuple[str, ...]]]:
    """The tcdyn modules an import statement loads (relative to the package root), each
    with the names it takes from that module."""
    if isinstance(node, ast.Import):
        pairs: list[tuple[str, tuple[str, ...]]] = [(a.name, ()) for a in node.names]
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
        pairs = [(f"{base}.{a.name}", ()) if f"{base}.{a.name}".removeprefix("tcdyn.") in MODULES
                 else (base, (a.name,)) for a in node.names]
    found = []
    for name, names in pairs:
        if name == "tcdyn" or name.startswith("tcdyn."):
            found.append((name.removeprefix("tcdyn.") if name != "tcdyn" else "tcdyn", names))
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
            found.extend(Import(module, name, lazy, node.lineno, names)
                         for name, names in _resolve(node, module, path.name == "__init__.py")
                         if name != module)
        visit(node, lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                               ast.Lambda)))

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            handle(child, lazy)

    visit(tree, False)
    return found


def _rule(module: str) -> tuple[set[str], set[str]]:
    return MODULE_RULES.get(module) or RULES[unit(module)]


def _allowed(name: str, patterns: set[str]) -> bool:
    return "*" in patterns or unit(name) in patterns


@functools.cache
def _violations() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for module in MODULES:
        top, lazy = _rule(module)
        for imp in _imports(module):
            if unit(imp.imported) == unit(module):  # inside a unit: free (circles apart)
                continue
            if _allowed(imp.imported, top) or (imp.lazy and _allowed(imp.imported, lazy)):
                continue
            how = "inside a function" if imp.lazy else "at module level"
            found.setdefault((module, unit(imp.imported)),
                             f"{MODULES[module].relative_to(ROOT)}:{imp.line}: "
                             f"{module} imports {imp.imported} {how}")
    for module in MODULES:
        if unit(module) not in CLIENT_SIDE:
            continue
        tree = ast.parse(MODULES[module].read_text())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr == "_deployment") or \
                    (isinstance(node, ast.keyword) and node.arg == "_deployment"):
                found.setdefault((module, "attr:_deployment"),
                                 f"{MODULES[module].relative_to(ROOT)}:{node.lineno}: "
                                 f"{module} uses the Deployment at run time (_deployment)")
    return found


def test_every_module_has_a_rule():
    missing = sorted({unit(m) for m in MODULES} - set(RULES))
    assert missing == [], f"add these units to RULES and to docs/ARCHITECTURE.md: {missing}"
    stale = sorted(set(RULES) - {unit(m) for m in MODULES})
    assert stale == [], f"no such units: delete from RULES and the document: {stale}"


def test_imports_follow_the_layers():
    violations = dict(_violations())
    new = [text for key, text in sorted(violations.items()) if key not in KNOWN_EXCEPTIONS]
    assert new == [], "imports against docs/ARCHITECTURE.md:\n" + "\n".join(new)


def test_known_exceptions_still_occur():
    gone = sorted(set(KNOWN_EXCEPTIONS) - set(_violations()))
    assert gone == [], f"fixed: delete these from KNOWN_EXCEPTIONS (and the doc): {gone}"


@pytest.mark.parametrize("module", [m for m in MODULES if unit(m) in CLIENT_SIDE])
def test_no_run_time_import_of_the_deployment_from_client_code(module):
    """The Client <-> Deployment loop: client-side modules never import deployment at run
    time (module level or in a function); type-only imports are fine."""
    assert not {"deployment", "default"} & {unit(imp.imported) for imp in _imports(module)}
    assert not {"deployment", "default"} & set().union(*_rule(module))


def _module_level_graph() -> dict[str, set[str]]:
    """module -> the modules importing it runs at once: each module-level import, and the
    ``__init__`` of every package on the way (``import a.b`` runs ``a`` first)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for imp in _imports(module):
            if imp.lazy:
                continue
            parts = imp.imported.split(".")
            targets = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
            ancestors = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
            graph[module] |= {t for t in targets if t in MODULES and t != module
                              and t not in ancestors}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_between_modules():
    assert _circles(_module_level_graph()) == []


def test_the_circle_check_sees_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]


def test_no_private_name_is_imported_from_another_unit():
    found = [f"{MODULES[imp.importer].relative_to(ROOT)}:{imp.line}: {imp.importer} imports "
             f"{name} from {imp.imported}"
             for module in MODULES for imp in _imports(module)
             if unit(imp.imported) != unit(module)
             for name in imp.names if name.startswith("_") and not name.startswith("__")]
    assert found == []


def test_the_checker_sees_lazy_imports_and_skips_type_checking_ones():
    deployment = {(i.imported, i.lazy) for i in _imports("deployment")}
    assert ("client.clients", True) in deployment and ("references.index", False) in deployment
    assert "deployment" not in {i.imported for i in _imports("client.clients")}  # TYPE_CHECKING
    assert _allowed("testing.auth", {"testing"}) and not _allowed("testingx", {"testing"})
    assert ("utils", ("dumpJson",)) in {(i.imported, i.names) for i in _imports("call.bind")}


def _doc_table(heading: str) -> list[list[str]]:
    text = DOC.read_text()
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def _names(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


def test_the_document_lists_the_same_rules():
    table = {}
    for row in _doc_table("What each package may import"):
        for name in _names(row[0]):
            table[name] = (_names(row[1]), _names(row[2]))
    assert table == {**RULES, **MODULE_RULES}


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
