"""mypy --strict and pyright (basedpyright) over the tcdyn package and a user's script:
both must pass, and both must flag a misspelled method in a user's script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# The type checkers read the source, not the running interpreter: scripts/pythons.sh
# leaves these to the main venv's suite (-m "not typecheck").
pytestmark = pytest.mark.typecheck

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "typing" / "sample_user.py"
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[test]'"
    return found


def mypy(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("mypy"), "--no-incremental", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def pyright(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("basedpyright"), "--pythonpath", sys.executable, *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture
def misspelled(tmp_path: Path) -> Path:
    script = tmp_path / "user_script.py"
    script.write_text(
        "import tcdyn\n\n"
        "q = tcdyn.Queue(rootUrl='https://tc.example.com')\n"
        "q.creatTask('abc', {})\n"
        "q.task('abc', 'extra')\n"
        "q.task.pages('abc')\n"
        "tcdyn.Qeue\n")
    return script


def test_mypy_strict_clean() -> None:
    """The configured files ([tool.mypy] in pyproject.toml: the whole tcdyn package and the
    sample user script) pass mypy --strict."""
    result = mypy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_pyright_clean() -> None:
    result = pyright()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout


def test_mypy_flags_misspelled_method(misspelled: Path) -> None:
    out = mypy("--strict", str(misspelled)).stdout
    assert '"Queue" has no attribute "creatTask"; maybe "createTask"?' in out, out
    assert 'No overload variant of "__call__" of "_Queue_task"' in out, out
    assert '"_Queue_task" has no attribute "pages"' in out, out
    assert 'Module has no attribute "Qeue"' in out, out


def test_pyright_flags_misspelled_method(misspelled: Path) -> None:
    out = pyright(str(misspelled)).stdout
    assert 'Cannot access attribute "creatTask" for class "Queue"' in out, out
    assert 'No overloads for "__call__" match the provided arguments' in out, out
    assert 'Cannot access attribute "pages" for class "_Queue_task"' in out, out
    assert '"Qeue" is not a known attribute of module "tcdyn"' in out, out


def test_types_revealed(tmp_path: Path) -> None:
    """The types a user sees: a route method returns its response's TypedDict, pages and
    items are typed iterators, async methods are coroutines, error classes are classes."""
    script = tmp_path / "reveal.py"
    script.write_text(
        "import tcdyn\nimport tcdyn.aio\n"
        "q = tcdyn.Queue()\n"
        "reveal_type(q.task('x'))\n"
        "reveal_type(q.listTaskGroup.pages('x'))\n"
        "reveal_type(q.listTaskGroup.items('x'))\n"
        "reveal_type(tcdyn.aio.Queue().task('x'))\n"
        "reveal_type(tcdyn.ResourceNotFound('m'))\n"
        "reveal_type(tcdyn.Queue.from_env())\n")
    out = mypy("--strict", str(script)).stdout
    task = "TypedDict(tcdyn._services.types.QueueTask, {'created': str, 'deadline': str, "
    for expected in (f'"{task}', '"typing.Iterator[TypedDict(tcdyn._services.types.'
                     'QueueListTaskGroupResponse, {', '"typing.Iterator[TypedDict(tcdyn.'
                     '_services.types.QueueTaskDefinitionAndStatus, {',
                     f'"typing.Coroutine[Any, Any, {task}',
                     '"tcdyn.errors.ResourceNotFound"', '"tcdyn._services.Queue"'):
        assert f"Revealed type is {expected}" in out, out
