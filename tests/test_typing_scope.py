"""What the type checkers of tests/test_typing.py cover: the whole package, the same modules
left pending for both, none of them stale; and the typed model accessors the checkers rely on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tcdyn.errors import ReferenceLoadError
from tcdyn.model import ExchangesModel, ServiceModel
from tcdyn.references import ReferenceSet

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())
PENDING = "# pending: typed after the parallel branches merge"


def _pending_mypy() -> set[str]:
    """Modules whose errors mypy does not report yet (the pending override)."""
    found: set[str] = set()
    for override in CONFIG["tool"]["mypy"].get("overrides", []):
        if override.get("ignore_errors"):
            found.update(override["module"])
    return found


def _module_path(module: str) -> Path:
    return ROOT / "src" / Path(*module.removesuffix(".*").split("."))


def test_the_whole_package_is_checked_by_both():
    mypy, pyright = CONFIG["tool"]["mypy"], CONFIG["tool"]["pyright"]
    assert "src/tcdyn" in mypy["files"] and "src/tcdyn" in pyright["include"]
    assert "tests/typing/sample_user.py" in mypy["files"]
    assert "tests/typing/sample_user.py" in pyright["include"]
    assert mypy["strict"] is True and "follow_imports" not in mypy
    assert pyright["typeCheckingMode"] in ("standard", "strict")


def test_pending_modules_are_the_same_for_both_and_still_exist():
    mypy = _pending_mypy()
    pyright = set(CONFIG["tool"]["pyright"].get("ignore", []))
    as_paths = set()
    for module in mypy:
        path = _module_path(module)
        if module.endswith(".*"):
            assert path.is_dir(), f"pending package {module} is gone: drop it"
            as_paths.add(str(path.relative_to(ROOT)))
        elif path.is_dir():
            as_paths.add(str(path.relative_to(ROOT)))
        else:
            assert path.with_suffix(".py").is_file(), f"pending {module} is gone: drop it"
            as_paths.add(str(path.with_suffix(".py").relative_to(ROOT)))
    assert as_paths == pyright, "mypy's pending modules and pyright's ignore list differ"
    if mypy:
        assert PENDING in (ROOT / "pyproject.toml").read_text()


def test_model_accessors_give_the_kind_asked_for():
    refs = ReferenceSet.bundled()
    assert isinstance(refs.api_model("Queue"), ServiceModel)
    assert isinstance(refs.exchanges_model("QueueEvents"), ExchangesModel)
    with pytest.raises(ReferenceLoadError, match="an exchanges reference, where an api"):
        refs.api_model("QueueEvents")
    with pytest.raises(ReferenceLoadError, match="an api reference, where an exchanges"):
        refs.exchanges_model("Queue")
