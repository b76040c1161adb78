"""Drift against the real v106 services: classes built from a newer (v107-like) reference
set call ``queue.taskQueueCountsBatch``, which v106 has no route for: the real 404
(lib-app's ``{"error": "Not found"}``) is a ``DeploymentApiMismatch`` naming the fix; and
``tcdyn.references.diff`` of the deployment's own references against that set."""

from __future__ import annotations

import pytest

import drifted
import tcdyn
from tcdyn.errors import DeploymentApiMismatch
from tcdyn.references import ReferenceSet, diff


@pytest.fixture(scope="module")
def newer(tmp_path_factory):
    return tcdyn.load(drifted.make(tmp_path_factory.mktemp("newer") / "v107"))


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_a_method_the_real_deployment_lacks(root_url, root, newer, flavour):
    payload = {"taskQueueIds": ["tcdyn-real/none"]}
    if flavour == "sync":
        with newer.Queue(rootUrl=root_url, credentials=root) as queue, \
                pytest.raises(DeploymentApiMismatch) as caught:
            queue.taskQueueCountsBatch(payload)
    else:
        async with newer.aio.Queue(rootUrl=root_url, credentials=root) as queue:
            with pytest.raises(DeploymentApiMismatch) as caught:
                await queue.taskQueueCountsBatch(payload)
    error = caught.value
    assert (error.status_code, error.code, error.body) == (404, None, {"error": "Not found"})
    assert "the deployment has no route for queue.taskQueueCountsBatch (it answered: Not " \
        "found)" in str(error) and f"tcdyn.load('{root_url}')" in str(error)
    assert error.attempts == 1  # a 404 is not retried


def test_diff_of_the_real_deployment_against_a_newer_set(tc, newer):
    result = diff(tc.references, newer.references)
    assert [c.name for c in result.of("method", "added")] == ["queue.taskQueueCountsBatch"]
    assert sorted(c.name for c in result.of("method", "removed")) == sorted(
        f"auth.{n}" for n in drifted.AZURE)
    assert [c.name for c in result.of("schema", "changed")] == ["queue/v1/task.json"]
    same = diff(ReferenceSet.bundled(), tc.references)
    assert not same, same.changes  # the stack serves what tcdyn bundles
