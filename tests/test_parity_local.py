"""The parity scenarios (tests/parity/scenarios.py) against the local deployment and its
imitation services: the list tests/real/test_real_parity.py runs against real Taskcluster."""

from __future__ import annotations

import pytest

import tcdyn
from parity import scenarios
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.queue import InMemoryQueue
from tcdyn.testing.server import LocalDeployment

ROOT = tcdyn.Credentials("static/taskcluster/root", "parity-root-token-not-a-secret")


@pytest.fixture(scope="module")
def session():
    clients = {ROOT.clientId: ClientRecord(ROOT.accessToken, ("*",))}
    with LocalDeployment(clients=clients, check_scopes=True, imitate=True) as dep:
        InMemoryQueue().install(dep)
        s = scenarios.Session(dep.root_url, ROOT)
        yield s
        s.close()


@pytest.mark.parametrize("name", list(scenarios.SCENARIOS))
def test_local_parity(session, name):
    scenarios.run(name, session)
