"""Fixtures shared by every test module."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """``../shared`` beside the checkout (or ``$TCDYN_SHARED``)."""
    return Path(os.environ.get("TCDYN_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def deployment_dir() -> Path:
    """The v106 deployment files, read in place; tests that need them skip without them."""
    path = shared_dir() / "taskcluster-deployment"
    if not (path / "references" / "manifest.json").is_file():
        pytest.skip(f"{path} is absent: the shared deployment files are needed")
    return path


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    path = shared_dir() / "vectors"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


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


@pytest.fixture(params=["sync", "async"])
def flavour(request):
    """Run a scenario through the sync and the async client: they must agree."""
    return request.param
