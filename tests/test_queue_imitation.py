"""What the queue imitation adds beyond the real queue (each run's live log) and its set-up
errors; its behaviour as a queue is held to the real service by tests/parity. The
deployments are the pytest plugin's (imitating the services, scopes checked)."""

from __future__ import annotations

import httpx
import pytest
import slugid

import tcdyn
from parity.scenarios import task_def
from tcdyn.testing.queue import InMemoryQueue

WORKER = {"workerGroup": "g", "workerId": "w"}


def test_a_live_log_needs_a_storage_host():
    with pytest.raises(ValueError, match="needs a storage host"):
        InMemoryQueue(live_log=True)


def test_every_run_has_its_live_log_with_its_changes(tcdyn_client):
    queue = tcdyn_client("Queue")  # the plugin's queue has live logs
    task_id = slugid.nice()
    queue.createTask(task_id, task_def())
    queue.claimTask(task_id, "0", WORKER)
    queue.reportException(task_id, "0", {"reason": "worker-shutdown"})
    queue.claimTask(task_id, "1", WORKER)
    queue.reportCompleted(task_id, "1")
    queue.rerunTask(task_id)

    def log(run_id: int) -> list[str]:
        url = queue.artifact(task_id, str(run_id), "public/logs/live.log")["url"]
        return [line.split("] ", 1)[1] for line in httpx.get(url).text.splitlines()]

    assert log(0) == ["run 0 scheduled", "run 0 claimed by g/w",
                      "run 0 exception (worker-shutdown)"]
    assert log(1) == ["run 1 retry", "run 1 claimed by g/w", "run 1 completed"]
    assert log(2) == ["run 2 rerun"]
    listed = queue.listLatestArtifacts(task_id)["artifacts"]
    assert [(a["name"], a["storageType"]) for a in listed] == [
        ("public/logs/live.log", "s3")]


class TestWithoutLiveLogs:
    @pytest.fixture
    def tcdyn_queue_options(self):
        return {"live_log": False}

    def test_a_run_has_no_artifacts_as_on_the_real_queue(self, tcdyn_client, tcdyn_queue):
        assert tcdyn_queue.live_log is False
        queue = tcdyn_client("Queue")
        task_id = slugid.nice()
        queue.createTask(task_id, task_def())
        assert queue.listLatestArtifacts(task_id) == {"artifacts": []}
        with pytest.raises(tcdyn.TaskclusterRestFailure, match="Artifact not found"):
            queue.getLatestArtifact(task_id, "public/logs/live.log")
