"""Fixtures shared by every test module, and the CI rule that a skipped test fails the run.

The suite reads only the repository: the bundled Taskcluster v106 set (``references/``) is
the test deployment and ``tests/data/`` holds the test vectors.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# A suite started in the background by a non-interactive shell (scripts/test.sh runs the other
# Pythons' suites so) inherits SIGINT ignored, and so would every command it starts: tcdyn
# keeps a signal it was started with ignored, so the tests of what Ctrl-C does would see it
# do nothing. They need SIGINT as a terminal gives it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Property tests check what holds, not how fast: a per-example deadline only measures how busy
# the machine is (CI runs the suites of three Pythons beside the Taskcluster stack).
settings.register_profile("tcdyn", deadline=None)
settings.load_profile("tcdyn")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
ALLOWED_SKIPS_KEY = "[tool.tcdyn.allowed-skips]"


@pytest.fixture(scope="session")
def deployment_dir() -> Path:
    """The test deployment: the bundled v106 references and schemas (a mirror directory)."""
    return ROOT / "references"


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """Test vectors (``tests/data/README.md`` says where they come from)."""
    return DATA


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Every test session caches fetched references in a directory of its own."""
    previous = os.environ.get("TCDYN_CACHE_DIR")
    os.environ["TCDYN_CACHE_DIR"] = str(tmp_path_factory.mktemp("tcdyn-cache"))
    yield
    if previous is None:
        os.environ.pop("TCDYN_CACHE_DIR", None)
    else:
        os.environ["TCDYN_CACHE_DIR"] = previous


@pytest.fixture(scope="session", autouse=True)
def isolated_config(tmp_path_factory):
    """No test reads the config file of whoever runs the suite (``from_env()`` and the
    command fall back to it): ``$TCDYN_CONFIG`` names a file that does not exist."""
    previous = os.environ.get("TCDYN_CONFIG")
    os.environ["TCDYN_CONFIG"] = str(tmp_path_factory.mktemp("tcdyn-config") / "none.toml")
    yield
    if previous is None:
        os.environ.pop("TCDYN_CONFIG", None)
    else:
        os.environ["TCDYN_CONFIG"] = previous


@pytest.fixture(params=["sync", "async"])
def flavour(request):
    """Run a scenario through the sync and the async client: they must agree."""
    return request.param


# -- in CI, a skip is a failure ---------------------------------------------------------

def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def allowed_skips(rootpath: Path) -> dict[str, str]:
    """``[tool.tcdyn.allowed-skips]`` of pyproject.toml: skip reason (or a part of it) ->
    why that skip is acceptable in CI."""
    import tomllib

    file = rootpath / "pyproject.toml"
    if not file.is_file():
        return {}
    table = tomllib.loads(file.read_text()).get("tool", {}).get("tcdyn", {})
    return dict(table.get("allowed-skips", {}))


def _skip_reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _fail_unallowed_skip(config: pytest.Config, report: Any) -> None:
    if not (_in_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if any(allowed in reason for allowed in allowed_skips(config.rootpath)):
        return
    report.outcome = "failed"
    report.longrepr = (f"skipped in CI (CI={os.environ.get('CI')}): {reason}\n"
                       f"A skipped test fails the run in CI; fix the cause, or list the reason "
                       f"under {ALLOWED_SKIPS_KEY} in pyproject.toml with why it is acceptable.")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    outcome = yield
    _fail_unallowed_skip(item.config, outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    outcome = yield
    _fail_unallowed_skip(collector.config, outcome.get_result())
