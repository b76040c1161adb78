"""The pytest plugin of the official tests' own process (``harness.run`` loads it with
``-p official_plugin``): it deselects ``harness.NOT_RUN`` (for tcdyn) and ``harness.REAL`` (but
for a real run: only those), collects the test cases the official ``test_utils.py`` nests
inside functions (``harness.NESTED``), gives ``test_success_put_file`` the file it uploads,
gives the ``mocker`` fixture the tests take from pytest-mock, and writes each test's outcome
for the harness. The official files are run as they are fetched: nothing here edits them.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import harness
import pytest

REPORT = os.environ[harness.REPORT_VARIABLE]
_outcomes: dict[str, dict[str, str]] = {}


def _test_id(nodeid: str) -> str:
    return nodeid.split("upstream/", 1)[-1]


# -- the cases nested inside functions ----------------------------------------------------

def _nested_cases(tree: ast.Module, module: str) -> list[ast.ClassDef]:
    """A class for each module-level function that holds ``def test_*`` (``harness.NESTED``
    names it), with those cases, decorators included; a function taking ``self`` is a helper
    the cases call (``self.assertScopeMatch``), so the class has it too, without the cases."""
    names = harness.NESTED.get(module, {})
    classes = []
    for outer in tree.body:
        if not isinstance(outer, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        cases = [n for n in outer.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                 and n.name.startswith("test")]
        if not cases:
            continue
        if outer.name not in names:
            raise LookupError(f"{module}: {outer.name}() holds test cases pytest does not see "
                              f"({', '.join(c.name for c in cases)}): name their class in "
                              "harness.NESTED")
        body: list[ast.stmt] = list(cases)
        if outer.args.args and outer.args.args[0].arg == "self":
            helper = ast.FunctionDef(**{f: getattr(outer, f) for f in outer._fields})
            helper.body = [n for n in outer.body if n not in cases]
            body.insert(0, ast.copy_location(helper, outer))
        cls = ast.ClassDef(name=names[outer.name], bases=[], keywords=[], body=body,
                           decorator_list=[])
        if "type_params" in ast.ClassDef._fields:
            cls.type_params = []  # type: ignore[attr-defined,unused-ignore]
        classes.append(ast.copy_location(cls, outer))
    missing = set(names) - {o.name for o in tree.body if isinstance(o, ast.FunctionDef)}
    if missing:
        raise LookupError(f"{module}: harness.NESTED names {sorted(missing)}, not found")
    return classes


class _Unnesting(pytest.Module):
    """A test module as imported, plus the classes of ``_nested_cases``, defined in its
    namespace from its own source (tracebacks show the official file's lines)."""

    def _getobj(self) -> Any:
        module = super()._getobj()
        source = self.path.read_text()
        rel = _test_id(self.nodeid)
        classes = _nested_cases(ast.parse(source, str(self.path)), rel)
        if classes:
            code = compile(ast.fix_missing_locations(ast.Module(body=classes, type_ignores=[])),
                           str(self.path), "exec")
            exec(code, module.__dict__)
        return module


def pytest_pycollect_makemodule(module_path: Path, parent: Any) -> pytest.Module:
    return _Unnesting.from_parent(parent, path=module_path)


# -- the file test_success_put_file uploads -----------------------------------------------

@pytest.fixture(autouse=True)
def _file_beside_the_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """``harness.FILES_BESIDE``: a test reading a file of the official client's source tree
    beside its ``test/`` folder (which alone is fetched) reads tcdyn's file of that name."""
    name = harness.FILES_BESIDE.get(_test_id(request.node.nodeid))
    if name is None:
        yield
        return
    path = request.node.path.parents[1] / name  # the run's own copy: see harness.run
    shutil.copyfile(harness.ROOT / name, path)
    try:
        yield
    finally:
        path.unlink()


# -- selection and outcomes -----------------------------------------------------------------

def _left_out(test: str) -> str | None:
    """Why ``test`` is not run in this process, or None."""
    real = bool(os.environ.get(harness.REAL_VARIABLE))
    if (test in harness.REAL) != real:
        return "runs against a real deployment" if not real else "not a real test"
    if os.environ.get(harness.TARGET_VARIABLE) == "tcdyn":
        return harness.NOT_RUN.get(test) or harness.NOT_RUN.get(test.split("[")[0])
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, dropped = [], []
    for item in items:
        (dropped if _left_out(_test_id(item.nodeid)) else kept).append(item)
    for item in dropped:
        _outcomes[_test_id(item.nodeid)] = {"outcome": "deselected", "text": ""}
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    test = _test_id(report.nodeid)
    seen = _outcomes.get(test)
    if report.failed:
        _outcomes[test] = {"outcome": "failed", "text": report.longreprtext[-6000:]}
    elif report.skipped and seen is None:
        _outcomes[test] = {"outcome": "skipped", "text": report.longreprtext[-2000:]}
    elif report.when == "call" and report.passed and seen is None:
        _outcomes[test] = {"outcome": "passed", "text": ""}


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _outcomes[_test_id(report.nodeid) or "<collection>"] = {
            "outcome": "failed", "text": report.longreprtext[-6000:]}


def pytest_sessionfinish(session: pytest.Session) -> None:
    with open(REPORT, "w") as out:
        json.dump(_outcomes, out)


class _Mocker:
    """pytest-mock's ``mocker``, as much as the official tests use (they only ask for it)."""

    def __init__(self) -> None:
        self._patches: list[Any] = []

    def patch(self, *args: Any, **kwargs: Any) -> Any:
        patcher = mock.patch(*args, **kwargs)
        self._patches.append(patcher)
        return patcher.start()

    def stopall(self) -> None:
        for patcher in reversed(self._patches):
            patcher.stop()


@pytest.fixture
def mocker() -> Iterator[_Mocker]:
    m = _Mocker()
    yield m
    m.stopall()
