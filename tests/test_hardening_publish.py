"""Issue 18 item 7, through the sync and the async library alike: a publish that fails or is
interrupted after ``createArtifact`` says that the name is used up, and a second publish of
a name the run already has (finished or not) is refused before anything is created, with
any credentials that may publish (a run's own cannot read artifacts).

The queue is a ``LocalDeployment`` checking Hawk signatures whose handlers answer as the
v106 queue does (``transfer_helpers.V106Artifacts``); the object service and the storage
host are ``tcdyn.testing.objects``'.
"""

from __future__ import annotations

import pytest

import tcdyn
from helpers import SECRET
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.objects import InMemoryObjects, Storage
from tcdyn.testing.server import LocalDeployment
from test_artifacts import Api
from transfer_helpers import EXPIRES, UPLOAD_ID, V106Artifacts


@pytest.fixture(scope="module")
def world():
    with Storage() as storage, LocalDeployment(
            clients={"tester": ClientRecord(SECRET, ("*",))}) as dep:
        yield dep, storage


@pytest.fixture
def env(world):
    dep, storage = world
    dep.reset()
    storage.objects.clear()
    storage.seen.clear()
    storage.faults.clear()
    return dep, storage, InMemoryObjects(storage).install(dep)


@pytest.fixture
def api(flavour, env):
    return Api(flavour, env[0])


@pytest.fixture
def queue_v106(env):
    dep, _, objects = env
    return V106Artifacts(dep, objects)


def publish(api, tmp_path, name="public/a.txt", data=b"hello\n" * 5000, **kwargs):
    path = tmp_path / "a.txt"
    path.write_bytes(data)
    kwargs.setdefault("expires", EXPIRES)
    return api.call(api.artifacts.publish, api.client("Queue"), "T", 0, name, path,
                    **kwargs)


def test_a_failed_publish_says_the_name_is_used_up(api, env, queue_v106, tmp_path):
    _, storage, _ = env
    storage.fault("fail", "PUT", status=403)  # not retried
    with pytest.raises(tcdyn.TaskclusterRestFailure) as info:
        publish(api, tmp_path)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "artifact 'public/a.txt' of run 0 of task T was created but not finished" in notes
    assert "cannot be published again" in notes


@pytest.mark.parametrize("grant", ["all", "run"])
def test_a_second_publish_of_an_unfinished_artifact_is_refused_before_creating(
        api, env, queue_v106, tmp_path, grant):
    dep, storage, _ = env
    storage.fault("fail", "PUT", status=403)
    with pytest.raises(tcdyn.TaskclusterRestFailure):
        publish(api, tmp_path)
    queue_v106.grant = grant
    dep.requests.clear()
    with pytest.raises(tcdyn.RequestConflict) as info:
        publish(api, tmp_path)
    text = str(info.value)
    assert "run 0 of task T already has an unfinished artifact 'public/a.txt'" in text
    assert "interrupted" in text and "another name" in text
    assert info.value.status_code == 409 and "HTTP None" not in text
    assert "createArtifact" not in [r.name for r in dep.requests]


@pytest.mark.parametrize("grant", ["all", "run"])
def test_a_second_publish_of_a_finished_artifact_is_refused_before_creating(
        api, env, queue_v106, tmp_path, grant):
    dep, _, _ = env
    publish(api, tmp_path)
    queue_v106.grant = grant
    dep.requests.clear()
    with pytest.raises(tcdyn.RequestConflict,
                       match=r"run 0 of task T already has an artifact .public/a\.txt.; a "
                             "published artifact cannot be replaced"):
        publish(api, tmp_path)
    assert "createArtifact" not in [r.name for r in dep.requests]


def test_publish_checks_with_a_probe_the_real_queue_answers(api, env, queue_v106, tmp_path):
    """A fresh name: the probe's 404 lets the publish go on; the artifact is readable."""
    dep, _, _ = env
    queue_v106.grant = "run"
    result = publish(api, tmp_path)
    assert result["name"] == "public/a.txt"
    finishes = [r.payload["uploadId"] for r in dep.requests if r.name == "finishArtifact"]
    assert len(finishes) == 2 and finishes[-1] == UPLOAD_ID and finishes[0] != UPLOAD_ID
