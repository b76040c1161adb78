"""Uploads, downloads and artifacts against the real object service and queue (moto as S3)."""

from __future__ import annotations

import hashlib
import os

import httpx
import pytest
from real_helpers import PROJECT, aw, claim, slug, task_def, task_queue

import tcdyn
from tcdyn import utils

INLINE = 8192


def helpers(flavour):
    if flavour == "async":
        return tcdyn.aio.upload, tcdyn.aio.download, tcdyn.aio.artifacts
    return tcdyn.upload, tcdyn.download, tcdyn.artifacts


@pytest.mark.parametrize("size", [0, 1, INLINE - 1, INLINE, INLINE + 1])
async def test_object_round_trip_bytes(make, root, flavour, size):
    upload, download, _ = helpers(flavour)
    obj = make("Object", credentials=root)
    name, data = f"tcdyn-real/{slug()}", os.urandom(size)
    seen = []
    await aw(upload.uploadFromBuf(projectId=PROJECT, name=name, contentType="application/x-t",
                                  contentLength=size, expires=utils.fromNowJSON("1 day"),
                                  objectService=obj, data=data,
                                  progress=lambda d, t: seen.append((d, t))))
    assert seen[-1] == (size, size)
    got, content_type = await aw(download.downloadToBuf(name=name, objectService=obj))
    assert bytes(got) == data and content_type == "application/x-t"


async def test_object_round_trip_50_mb_file(make, root, flavour, tmp_path):
    upload, download, _ = helpers(flavour)
    obj = make("Object", credentials=root, timeout=120)
    name, size = f"tcdyn-real/{slug()}", 50 * 1024 * 1024
    source = tmp_path / "in.bin"
    with open(source, "wb") as f:
        for _ in range(50):
            f.write(os.urandom(1024 * 1024))
    with open(source, "rb") as f:
        await aw(upload.uploadFromFile(projectId=PROJECT, name=name, contentType="a/b",
                                       contentLength=size, expires=utils.fromNowJSON("1 day"),
                                       objectService=obj, file=f))
    target = tmp_path / "out.bin"
    await aw(download.downloadToFile(target, name=name, objectService=obj))
    assert target.stat().st_size == size
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (source, target)]
    assert digest[0] == digest[1]
    assert sorted(os.listdir(tmp_path)) == ["in.bin", "out.bin"]


async def test_every_artifact_storage_type(make, root, flavour, tmp_path, root_url):
    _, download, artifacts = helpers(flavour)
    queue = make("Queue", credentials=root)
    tq, task_id = task_queue(), slug()
    await aw(queue.createTask(task_id, task_def(tq)))
    [run] = await claim(queue, tq)
    run_id = run["runId"]
    worker = make("Queue", credentials=run["credentials"])
    expires = utils.fromNowJSON("1 hour")

    report = tmp_path / "report.json"
    report.write_bytes(b'{"answer": 42}\n' * 1000)
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="needs expires"):
        await aw(artifacts.publish(worker, task_id, run_id, "public/x", report))
    published = await aw(artifacts.publish(worker, task_id, run_id, "public/report.json",
                                           report, expires=run["task"]["expires"]))
    assert published["contentType"] == "application/json"

    # a private name: the queue signs its URL (moto's public bucket is not anonymous-readable)
    s3 = await aw(worker.createArtifact(task_id, run_id, "private/s3.txt", {
        "storageType": "s3", "expires": expires, "contentType": "text/plain"}))
    httpx.put(s3["putUrl"], content=b"s3 bytes", headers={"Content-Type": "text/plain"},
              timeout=30).raise_for_status()
    reference = f"{root_url}/api/queue/v1/ping"
    await aw(worker.createArtifact(task_id, run_id, "public/ref", {
        "storageType": "reference", "expires": expires, "url": reference,
        "contentType": "application/json"}))
    await aw(worker.createArtifact(task_id, run_id, "public/link", {
        "storageType": "link", "expires": expires, "artifact": "public/report.json"}))
    await aw(worker.createArtifact(task_id, run_id, "public/err", {
        "storageType": "error", "expires": expires, "reason": "file-missing-on-worker",
        "message": "no such file here"}))
    await aw(worker.reportCompleted(task_id, run_id))

    for run_arg in (None, run_id):
        data, ctype = await aw(download.downloadArtifactToBuf(
            taskId=task_id, runId=run_arg, name="public/report.json", queueService=queue))
        assert bytes(data) == report.read_bytes() and ctype == "application/json"
    data, ctype = await aw(download.downloadArtifactToBuf(
        taskId=task_id, name="public/link", queueService=queue))
    assert bytes(data) == report.read_bytes()
    data, ctype = await aw(download.downloadArtifactToBuf(
        taskId=task_id, runId=run_id, name="private/s3.txt", queueService=queue))
    assert bytes(data) == b"s3 bytes" and ctype == "text/plain"
    data, _ = await aw(download.downloadArtifactToBuf(
        taskId=task_id, name="public/ref", queueService=queue))
    assert b"alive" in bytes(data) or data  # the queue's ping answer
    with pytest.raises(tcdyn.TaskclusterArtifactError, match="no such file here") as info:
        await aw(download.downloadArtifactToBuf(taskId=task_id, name="public/err",
                                                queueService=queue))
    assert info.value.reason == "file-missing-on-worker"
    target = tmp_path / "got.json"
    await aw(download.downloadArtifactToFile(str(target), taskId=task_id,
                                             name="public/report.json", queueService=queue))
    assert target.read_bytes() == report.read_bytes()
