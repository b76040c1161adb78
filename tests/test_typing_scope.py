"""What the type checkers of tests/test_typing.py cover: the whole package, no module left
out; and the typed model accessors the checkers rely on."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tcdyn.errors import ReferenceLoadError
from tcdyn.model.reference import ExchangesModel, ServiceModel
from tcdyn.references import ReferenceSet

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())
def test_the_whole_package_is_checked_by_both():
    mypy, pyright = CONFIG["tool"]["mypy"], CONFIG["tool"]["pyright"]
    assert "src/tcdyn" in mypy["files"] and "src/tcdyn" in pyright["include"]
    assert "tests/typing/sample_user.py" in mypy["files"]
    assert "tests/typing/sample_user.py" in pyright["include"]
    assert mypy["strict"] is True and "follow_imports" not in mypy
    assert pyright["typeCheckingMode"] in ("standard", "strict")


def test_no_module_of_tcdyn_is_left_out():
    """No override silences a tcdyn module's errors, and pyright ignores no file."""
    for override in CONFIG["tool"]["mypy"].get("overrides", []):
        modules = override["module"]
        modules = [modules] if isinstance(modules, str) else modules
        assert not any(m == "tcdyn" or m.startswith("tcdyn.") for m in modules), override
        assert not override.get("ignore_errors"), override
    assert not CONFIG["tool"]["pyright"].get("ignore"), "pyright ignores files of tcdyn"
    assert (ROOT / "src" / "tcdyn" / "py.typed").is_file()  # editors read the inline types


def test_model_accessors_give_the_kind_asked_for():
    refs = ReferenceSet.bundled()
    assert isinstance(refs.api_model("Queue"), ServiceModel)
    assert isinstance(refs.exchanges_model("QueueEvents"), ExchangesModel)
    with pytest.raises(ReferenceLoadError, match="an exchanges reference, where an api"):
        refs.api_model("QueueEvents")
    with pytest.raises(ReferenceLoadError, match="an api reference, where an exchanges"):
        refs.exchanges_model("Queue")
