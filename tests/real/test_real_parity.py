"""The parity scenarios (tests/parity/scenarios.py) against the real Taskcluster stack: the
same list ``tests/test_parity_local.py`` runs against the local deployment."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the parity package

from parity import scenarios


@pytest.fixture(scope="module")
def session(root_url, root):
    s = scenarios.Session(root_url, root)
    yield s
    s.close()


@pytest.mark.parametrize("name", list(scenarios.SCENARIOS))
def test_real_parity(session, name):
    scenarios.run(name, session)
