"""tests/official: the official client's tests run against tcdyn (README.md here).

In the unit suite only ``test_official.py`` is collected: it runs the copies in
``upstream/`` in a pytest process of their own (``harness.run``), where this file also
deselects ``harness.NOT_RUN`` (for tcdyn) and ``harness.REAL`` (but for a real run: only
those), gives the fixture the copies take from pytest-mock, and writes each test's outcome
for the harness.
"""

from __future__ import annotations

import json
import os
from typing import Any
from unittest import mock

import pytest

REPORT = os.environ.get("TCDYN_OFFICIAL_REPORT")

if not REPORT:
    collect_ignore = ["upstream", "shim", "support"]
else:
    import harness

    _outcomes: dict[str, dict[str, str]] = {}

    def _test_id(nodeid: str) -> str:
        return nodeid.split("upstream/", 1)[-1]

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
        """pytest-mock's ``mocker``, as much as the copies use (they only ask for it)."""

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
    def mocker() -> Any:
        m = _Mocker()
        yield m
        m.stopall()
