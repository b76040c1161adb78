"""In CI (``CI=true``) a skipped test fails the run unless pyproject.toml lists its reason
under ``[tool.tcdyn.allowed-skips]``; elsewhere a skip stays a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parent / "conftest.py"

PYPROJECT = """\
[tool.pytest.ini_options]
addopts = "-p no:cacheprovider --continue-on-collection-errors"
asyncio_default_fixture_loop_scope = "function"

[tool.tcdyn.allowed-skips]
"the vendor tool is Windows-only" = "this project is tested on Linux only"
"""

TESTS = """\
import pytest

def test_passes():
    pass

def test_skips():
    pytest.skip("a file is missing")

@pytest.mark.skip(reason="not written yet")
def test_marked():
    pass

def test_allowed():
    pytest.skip("the vendor tool is Windows-only here")

@pytest.mark.xfail(reason="known bug", strict=True)
def test_xfails():
    assert False
"""

MODULE_SKIP = """\
import pytest

pytest.skip("whole module unavailable", allow_module_level=True)

def test_never_runs():
    pass
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text())
    (tmp_path / "test_some.py").write_text(TESTS)
    (tmp_path / "test_module.py").write_text(MODULE_SKIP)
    return tmp_path


def pytest_in(project: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-rA", str(project)], cwd=project,
                          env=env, capture_output=True, text=True, timeout=120)


def test_in_ci_a_skip_fails_the_run_unless_its_reason_is_allowed(project):
    result = pytest_in(project, "true")
    out = result.stdout
    assert result.returncode == 1, out
    # a skip in the test body fails it; a skip mark or a module-level skip is an error
    assert "1 failed, 1 passed, 1 skipped, 1 xfailed, 2 errors" in out
    assert "FAILED test_some.py::test_skips" in out and "ERROR test_some.py::test_marked" in out
    assert "SKIPPED [1] test_some.py" in out and "Windows-only" in out  # the allowed one
    assert "ERROR test_module.py" in out
    assert "skipped in CI (CI=true): a file is missing" in out
    assert "[tool.tcdyn.allowed-skips]" in out


def test_outside_ci_a_skip_is_a_skip(project):
    for ci in (None, "false"):
        result = pytest_in(project, ci)
        assert result.returncode == 0, result.stdout
        assert "1 passed, 4 skipped, 1 xfailed" in result.stdout
