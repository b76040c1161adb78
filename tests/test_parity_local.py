"""The parity scenarios (tests/parity/scenarios.py) against the local deployment and its
imitation services: the list tests/real/test_real_parity.py runs against real Taskcluster."""

from __future__ import annotations

import pytest

import tcdyn
from parity import scenarios
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.objects import Storage
from tcdyn.testing.queue import InMemoryQueue
from tcdyn.testing.server import LocalDeployment

ROOT = tcdyn.Credentials("static/taskcluster/root", "parity-root-token-not-a-secret")


@pytest.fixture(scope="module")
def session():
    clients = {ROOT.clientId: ClientRecord(ROOT.accessToken, ("*",))}
    with Storage() as storage, LocalDeployment(clients=clients, check_scopes=True,
                                               imitate=True) as dep:
        InMemoryQueue(storage).install(dep)
        s = scenarios.Session(dep.root_url, ROOT)
        yield s
        s.close()


@pytest.mark.parametrize("name", list(scenarios.SCENARIOS))
def test_local_parity(session, name):
    scenarios.run(name, session)


def test_an_answer_failing_the_output_schema_is_a_500_as_from_the_services():
    clients = {ROOT.clientId: ClientRecord(ROOT.accessToken, ("*",))}
    with LocalDeployment(clients=clients, check_scopes=True, imitate=True) as dep:
        dep.handle("queue", "status", lambda request: {"status": {"state": "pending"}})
        s = scenarios.Session(dep.root_url, ROOT)
        try:
            out = s.call("status", s.client("Queue").status, "EE6M1-guScCNqcr_qzpmCw")
        finally:
            s.close()
    assert (out.status, out.code) == (500, "InternalServerError")
    assert "Output schema validation error" in out.body["message"]
    scenarios.check_error(out)


def test_the_demo_runs_on_the_imitation(capsys):
    from tcdyn.cli import demo

    assert demo.main() == 0
    assert "Done: every request above went over HTTP" in capsys.readouterr().out
