"""Uploads, downloads and artifacts against a LocalDeployment (Hawk checked) and a loopback
storage host that can fail, stall, truncate and corrupt on request."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import io
import os

import pytest

import tcdyn
from helpers import SECRET
from tcdyn import download, upload
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.objects import InMemoryObjects, Storage
from tcdyn.testing.server import LocalDeployment, Reply, error
from transfer_helpers import EXPIRES, UPLOAD_ID, V106Artifacts

CREDS = {"clientId": "tester", "accessToken": SECRET}


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
    objects = InMemoryObjects(storage).install(dep)
    return dep, storage, objects


class Api:
    """The sync or the async helpers and clients, called alike (``call`` runs either)."""

    def __init__(self, flavour, dep):
        self.flavour, self.dep = flavour, dep
        self.upload = tcdyn.aio.upload if flavour == "async" else upload
        self.download = tcdyn.aio.download if flavour == "async" else download
        self.artifacts = tcdyn.aio.artifacts if flavour == "async" else tcdyn.artifacts

    def client(self, name, **kwargs):
        cls = getattr(tcdyn.aio if self.flavour == "async" else tcdyn, name)
        kwargs.setdefault("credentials", CREDS)
        return cls(rootUrl=self.dep.root_url, **kwargs)

    def call(self, fn, *args, **kwargs):
        if self.flavour == "sync":
            return fn(*args, **kwargs)

        async def main():
            result = fn(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result
        return asyncio.run(main())


@pytest.fixture
def api(flavour, env):
    return Api(flavour, env[0])


def put(api, obj, data, name="my/object", **kwargs):
    kwargs.setdefault("contentType", "application/x-test")
    return api.call(api.upload.uploadFromBuf, projectId="proj", name=name,
                    contentLength=len(data), expires=EXPIRES, objectService=obj, data=data,
                    **kwargs)


def requests_of(dep, name):
    return [r for r in dep.requests if r.name == name]


# -- uploads and downloads ------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, 8191, 8192, 8193, 3 * 1024 * 1024 + 7])
def test_round_trip_sizes_inline_below_the_limit_put_above(api, env, size):
    dep, storage, _ = env
    data = os.urandom(size)
    obj = api.client("Object")
    seen = []
    put(api, obj, data, progress=lambda done, total: seen.append((done, total)))
    [create] = requests_of(dep, "createUpload")
    methods = create.payload["proposedUploadMethods"]
    assert ("dataInline" in methods) == (size < upload.DATA_INLINE_MAX_SIZE)
    assert methods["putUrl"] == {"contentType": "application/x-test", "contentLength": size}
    [finish] = requests_of(dep, "finishUpload")
    assert finish.payload["uploadId"] == create.payload["uploadId"]
    assert finish.payload["hashes"] == {"sha256": hashlib.sha256(data).hexdigest(),
                                        "sha512": hashlib.sha512(data).hexdigest()}
    puts = [s for s in storage.seen if s.method == "PUT"]
    assert len(puts) == (0 if size < 8192 else 1)
    assert seen[-1] == (size, size)

    got = []
    data_back, content_type = api.call(api.download.downloadToBuf, name="my/object",
                                       objectService=obj,
                                       progress=lambda done, total: got.append((done, total)))
    assert bytes(data_back) == data and content_type == "application/x-test"
    assert got[-1] == (size, size)


def test_put_carries_exactly_the_returned_headers_and_no_credentials(api, env):
    dep, storage, _ = env
    put(api, api.client("Object"), b"x" * 10000)
    [seen] = [s for s in storage.seen if s.method == "PUT"]
    assert {k.lower() for k in seen.headers} == {"host", "content-type", "content-length",
                                                 "content-encoding"}
    assert seen.headers["Content-Encoding"] == "identity"
    api.call(api.download.downloadToBuf, name="my/object", objectService=api.client("Object"))
    [get] = [s for s in storage.seen if s.method == "GET"]
    assert not any(k.lower() in ("authorization", "cookie") for k in get.headers)
    assert all(r.client_id == "tester" for r in dep.requests)  # the API calls were signed


def test_upload_from_file_streams_in_chunks(api, env, tmp_path):
    _, storage, _ = env
    data = os.urandom(2 * 1024 * 1024 + 3)
    path = tmp_path / "in.bin"
    path.write_bytes(data)
    reads = []

    class Spy(io.FileIO):
        def read(self, size=-1):
            reads.append(size)
            return super().read(size)

    with Spy(path, "rb") as f:
        api.call(api.upload.uploadFromFile, projectId="p", name="f", contentType="a/b",
                 contentLength=len(data), expires=EXPIRES, objectService=api.client("Object"),
                 file=f)
    assert storage.objects["f"][0] == data
    assert reads and all(0 < n <= 1024 * 1024 for n in reads)  # never read whole


def test_transient_put_failures_are_retried_with_the_same_upload_id(api, env):
    dep, storage, objects = env
    storage.fault("fail", "PUT", times=2, status=503)
    storage.fault("truncate", "PUT")
    objects.url_lifetime = -1  # every URL already expired: each retry renews it
    data = os.urandom(20000)
    put(api, api.client("Object"), data, maxRetries=5)
    assert storage.objects["my/object"][0] == data
    creates = requests_of(dep, "createUpload")
    assert len(creates) == 4 and len({c.payload["uploadId"] for c in creates}) == 1
    assert [s.method for s in storage.seen].count("PUT") == 4


def test_a_4xx_from_storage_is_not_retried_and_hides_the_signature(api, env):
    _, storage, _ = env
    storage.fault("fail", "PUT", status=403)
    with pytest.raises(tcdyn.TaskclusterRestFailure) as info:
        put(api, api.client("Object"), b"y" * 9000)
    assert info.value.status_code == 403 and "SlowDown" in str(info.value)
    signature = storage.seen[-1].path.rsplit("X-Amz-Signature=", 1)[1]  # the presigned URL's
    assert signature not in str(info.value) + repr(info.value.__dict__)
    assert [s.method for s in storage.seen].count("PUT") == 1


def test_retries_exhausted_raise_a_connection_error(api, env):
    _, storage, _ = env
    storage.fault("truncate", "PUT", times=3)
    with pytest.raises(tcdyn.TaskclusterConnectionError) as info:
        put(api, api.client("Object"), b"z" * 9000, maxRetries=2)
    assert info.value.attempts == 3
    signatures = {s.path.rsplit("X-Amz-Signature=", 1)[1] for s in storage.seen}
    assert signatures and not any(sig in str(info.value) for sig in signatures)


def test_a_reader_of_the_wrong_length_is_refused(api, env):
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="contentLength is 5"):
        api.call(api.upload.upload, projectId="p", name="n", contentType="a/b",
                 contentLength=5, expires=EXPIRES, objectService=api.client("Object"),
                 readerFactory=lambda: io.BytesIO(b"123456"))
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="gave 3 bytes"):
        api.call(api.upload.upload, projectId="p", name="n", contentType="a/b",
                 contentLength=9000, expires=EXPIRES, objectService=api.client("Object"),
                 readerFactory=lambda: io.BytesIO(b"123"))


@pytest.mark.parametrize("bad", [
    {"projectId": ""}, {"contentLength": -1}, {"contentLength": "3"}, {"maxRetries": None},
    {"objectService": object()}, {"progress": 3}, {"deadline": 0}, {"deadline": float("inf")},
    {"deadline": float("nan")}, {"expires": None}])
def test_bad_arguments_are_refused_before_anything_is_sent(api, env, bad):
    dep = env[0]
    kwargs = {"projectId": "p", "name": "n", "contentType": "a/b", "contentLength": 3,
              "expires": EXPIRES, "objectService": api.client("Object"), "data": b"abc",
              **bad}
    with pytest.raises(tcdyn.TaskclusterArgumentError):
        api.call(api.upload.uploadFromBuf, **kwargs)
    assert dep.requests == []


@pytest.mark.parametrize("fault", ["fail", "truncate", "stall"])
def test_transient_download_faults_are_retried(api, env, fault, tmp_path):
    _, storage, _ = env
    data = os.urandom(1024 * 1024)
    put(api, api.client("Object"), data)
    storage.fault(fault, seconds=3)
    target = tmp_path / "out.bin"
    obj = api.client("Object", timeout=1)  # a stall longer than the timeout is a failure
    content_type = api.call(api.download.downloadToFile, target, name="my/object",
                            objectService=obj)
    assert target.read_bytes() == data and content_type == "application/x-test"
    assert [s.method for s in storage.seen].count("GET") == 2
    assert os.listdir(tmp_path) == ["out.bin"]


def test_an_expired_get_url_is_renewed(api, env):
    dep, storage, objects = env
    put(api, api.client("Object"), b"q" * 9000)
    objects.url_lifetime = -1
    storage.fault("fail", status=500)
    data, _ = api.call(api.download.downloadToBuf, name="my/object",
                       objectService=api.client("Object"))
    assert data == b"q" * 9000 and len(requests_of(dep, "startDownload")) == 2


def test_corrupt_bytes_raise_and_leave_nothing_at_the_target(api, env, tmp_path):
    _, storage, _ = env
    put(api, api.client("Object"), os.urandom(50000))
    target = tmp_path / "out.bin"
    target.write_bytes(b"previous content")
    storage.fault("corrupt")
    with pytest.raises(tcdyn.ObjectHashVerificationError, match="sha256"):
        api.call(api.download.downloadToFile, str(target), name="my/object",
                 objectService=api.client("Object"))
    assert target.read_bytes() == b"previous content"  # untouched: not replaced
    assert os.listdir(tmp_path) == ["out.bin"]  # no temporary file left
    storage.fault("corrupt")
    with open(tmp_path / "f.bin", "wb+") as f, pytest.raises(
            tcdyn.ObjectHashVerificationError):
        api.call(api.download.downloadToFile, f, name="my/object",
                 objectService=api.client("Object"))
    assert (tmp_path / "f.bin").read_bytes() == b""


def test_failed_download_to_a_new_path_leaves_no_file(api, env, tmp_path):
    _, storage, _ = env
    put(api, api.client("Object"), b"w" * 9000)
    storage.fault("fail", times=3, status=502)
    with pytest.raises(tcdyn.TaskclusterRestFailure) as info:
        api.call(api.download.downloadToFile, tmp_path / "new.bin", name="my/object",
                 objectService=api.client("Object"), maxRetries=2)
    assert info.value.status_code == 502 and info.value.attempts == 3
    assert os.listdir(tmp_path) == []


def test_hashes_missing_from_the_service_are_refused(api, env):
    _, _, objects = env
    put(api, api.client("Object"), b"h" * 9000)
    objects.records["my/object"]["hashes"] = {"md5": "x"}
    with pytest.raises(tcdyn.ObjectHashVerificationError, match="No acceptable hashes"):
        api.call(api.download.downloadToBuf, name="my/object",
                 objectService=api.client("Object"))


def test_download_size_is_bounded(api, env):
    put(api, api.client("Object"), b"b" * 10000)
    with pytest.raises(tcdyn.ResponseTooLarge):
        api.call(api.download.downloadToBuf, name="my/object",
                 objectService=api.client("Object"), maxSize=9999)
    obj = api.client("Object", max_response_size=5000)  # the client's limit by default
    with pytest.raises(tcdyn.ResponseTooLarge):
        api.call(api.download.downloadToBuf, name="my/object", objectService=obj)


def test_a_whole_transfer_deadline(api, env):
    _, storage, _ = env
    put(api, api.client("Object"), os.urandom(100000))
    storage.fault("stall", times=2, seconds=2)
    with pytest.raises(tcdyn.TaskclusterConnectionError, match=r"Expired|Timeout"):
        api.call(api.download.downloadToBuf, name="my/object",
                 objectService=api.client("Object"), deadline=0.5, maxRetries=1)


# -- artifacts ------------------------------------------------------------------------------

def install_artifacts(dep, storage, answers):
    def content(req):
        return answers[req.params["name"]]
    dep.handle("queue", "artifact", content)
    dep.handle("queue", "latestArtifact", content)


def test_artifacts_of_every_storage_type(api, env):
    dep, storage, _ = env
    put(api, api.client("Object"), b"object bytes" * 1000, name="t/0/public/o.bin")
    storage.objects["s3key"] = (b"s3 bytes", "text/plain")
    answers = {
        "public/o.bin": {"storageType": "object", "name": "t/0/public/o.bin",
                         "credentials": CREDS},
        "public/s3.txt": {"storageType": "s3", "url": storage.url("s3key")},
        "public/ref.txt": {"storageType": "reference", "url": storage.url("s3key")},
        "public/err": {"storageType": "error", "reason": "file-missing-on-worker",
                       "message": "no such file"},
    }
    install_artifacts(dep, storage, answers)
    queue = api.client("Queue")
    data, ctype = api.call(api.download.downloadArtifactToBuf, taskId="T", name="public/o.bin",
                           queueService=queue)
    assert data == b"object bytes" * 1000 and ctype == "application/x-test"
    for name in ("public/s3.txt", "public/ref.txt"):
        data, ctype = api.call(api.download.downloadArtifactToBuf, taskId="T", runId=0,
                               name=name, queueService=queue)
        assert data == b"s3 bytes" and ctype == "text/plain"
    with pytest.raises(tcdyn.TaskclusterArtifactError, match="no such file") as info:
        api.call(api.download.downloadArtifactToBuf, taskId="T", name="public/err",
                 queueService=queue)
    assert info.value.reason == "file-missing-on-worker"
    names = [(r.name, r.params.get("runId")) for r in dep.requests if r.service == "queue"]
    assert ("artifact", "0") in names and ("latestArtifact", None) in names


def test_publish_creates_uploads_and_finishes(api, env, tmp_path):
    dep, storage, objects = env
    created = {}

    @dep.handle("queue", "task")
    def task(req):
        return {"expires": EXPIRES}

    @dep.handle("queue", "createArtifact")
    def create(req):
        created.update(req.payload)
        return {"storageType": "object", "name": "T/0/public/report.json",
                "projectId": "proj", "uploadId": UPLOAD_ID, "expires": req.payload["expires"],
                "credentials": CREDS}

    @dep.handle("queue", "artifactInfo")
    def info(req):  # not finished (the v106 queue: 404 until finishArtifact)
        return error(404, "ResourceNotFound", "Artifact not found")

    @dep.handle("queue", "finishArtifact")
    def finish(req):  # the publish's check first: no such artifact yet
        if not created:
            return error(404, "ResourceNotFound", "Artifact not found")
        return Reply(None, 204)

    path = tmp_path / "report.json"
    path.write_bytes(b'{"ok": true}' * 1000)
    seen = []
    result = api.call(api.artifacts.publish, api.client("Queue"), "T", 0, "public/report.json",
                      path, progress=lambda d, t: seen.append(d))
    assert created == {"storageType": "object", "expires": EXPIRES,
                       "contentType": "application/json"}
    assert storage.objects["T/0/public/report.json"][0] == path.read_bytes()
    assert objects.records["T/0/public/report.json"]["uploadId"] == UPLOAD_ID
    probe, fin = requests_of(dep, "finishArtifact")
    assert probe.payload["uploadId"] != UPLOAD_ID
    assert fin.payload == {"uploadId": UPLOAD_ID} and fin.params["name"] == "public/report.json"
    assert [r.name for r in dep.requests if r.service == "queue"] == [
        "task", "artifactInfo", "finishArtifact", "createArtifact", "finishArtifact"]
    assert result["contentLength"] == 12000 and seen[-1] == 12000


def test_publish_refuses_a_missing_file(api, env, tmp_path):
    with pytest.raises(tcdyn.TaskclusterArgumentError, match="must name a file"):
        api.call(api.artifacts.publish, api.client("Queue"), "T", 0, "x", tmp_path / "nope")
    assert env[0].requests == []


# -- issue 18 item 7: a publish interrupted or failed after createArtifact is said, and a
# second publish of a name the run already has (finished or not) is refused before anything
# is created, with any credentials that may publish (a run's own cannot read artifacts).
# The queue's handlers answer as the v106 queue does (transfer_helpers.V106Artifacts).

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


class Interrupted:
    """The queue, interrupted (KeyboardInterrupt) once it has answered call ``nth`` of
    ``method``, as by Ctrl-C while its answer is being read."""

    def __init__(self, queue, method, nth):
        self._queue, self._method, self._calls = queue, method, nth

    def __getattr__(self, name):
        call = getattr(self._queue, name)
        if name != self._method:
            return call

        def interrupted(*args):
            self._calls -= 1
            if self._calls:
                return call(*args)
            with contextlib.suppress(tcdyn.TaskclusterFailure):  # answered all the same
                answer = call(*args)
                if inspect.isawaitable(answer):
                    async def awaited():
                        with contextlib.suppress(tcdyn.TaskclusterFailure):
                            await answer
                        raise KeyboardInterrupt
                    return awaited()
            raise KeyboardInterrupt
        return interrupted


@pytest.mark.parametrize(("phase", "said", "record"), [
    ("artifactInfo", None, None),
    ("finishArtifact#1", None, None),  # the probe: is the name free?
    ("createArtifact", "may have been created but not finished (interrupted while the "
                       "queue answered createArtifact): if it was, the queue lists it", False),
    ("upload", "was created but not finished: the queue lists it", False),
    ("finishArtifact#2", "was created and may not be finished (interrupted while the queue "
                       "answered finishArtifact): if it is not, the queue lists it", True),
])
def test_an_interrupted_publish_says_what_it_left(api, env, queue_v106, tmp_path, phase,
                                                  said, record):
    """Ctrl-C in each step of publish, once the queue has done it: the note says what the
    queue may hold, and a publish that may have made the name says the name is used."""
    queue = api.client("Queue")
    kwargs = {}
    if phase == "upload":
        def progress(done, total):
            if done:
                raise KeyboardInterrupt
        kwargs["progress"] = progress
    else:
        method, _, nth = phase.partition("#")
        queue = Interrupted(queue, method, int(nth or 1))
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello\n" * 5000)
    with pytest.raises(KeyboardInterrupt) as info:
        api.call(api.artifacts.publish, queue, "T", 0, "public/a.txt", path,
                 expires=EXPIRES, **kwargs)
    notes = getattr(info.value, "__notes__", [])
    if said is None:
        assert notes == [] and "public/a.txt" not in queue_v106.records
        return
    [note] = notes
    assert note.startswith("artifact 'public/a.txt' of run 0 of task T " + said), note
    assert "cannot be published again under this name in this run" in note
    assert queue_v106.records["public/a.txt"]["present"] is record


def test_publish_checks_with_a_probe_the_real_queue_answers(api, env, queue_v106, tmp_path):
    """A fresh name: the probe's 404 lets the publish go on; the artifact is readable."""
    dep, _, _ = env
    queue_v106.grant = "run"
    result = publish(api, tmp_path)
    assert result["name"] == "public/a.txt"
    finishes = [r.payload["uploadId"] for r in dep.requests if r.name == "finishArtifact"]
    assert len(finishes) == 2 and finishes[-1] == UPLOAD_ID and finishes[0] != UPLOAD_ID


def test_progress_bar_draws_with_tqdm(api, env, capsys):
    put(api, api.client("Object"), os.urandom(30000))
    with tcdyn.artifacts.progress_bar("obj", file=None, disable=False) as bar:
        api.call(api.download.downloadToBuf, name="my/object",
                 objectService=api.client("Object"), progress=bar)
        assert bar._bar.n == 30000 and bar._bar.total == 30000


def test_guess_content_type():
    assert tcdyn.artifacts.guess_content_type("public/build/x.tar.gz") == "application/x-tar"
    assert tcdyn.artifacts.guess_content_type("log.txt") == "text/plain"
    assert tcdyn.artifacts.guess_content_type("noext") == "application/octet-stream"
    # a task's log opens as text, whatever the system's mime.types says
    assert tcdyn.artifacts.guess_content_type("public/logs/live.log") == "text/plain"
    assert tcdyn.artifacts.guess_content_type("public/logs/LIVE.LOG") == "text/plain"
    assert tcdyn.artifacts.guess_content_type("public/x.log/noext") == "application/octet-stream"


def test_official_names_are_there():
    import taskcluster.aio.download as official_aio
    import taskcluster.download as official

    for name in ("downloadToBuf", "downloadToFile", "download", "downloadArtifactToBuf",
                 "downloadArtifactToFile", "downloadArtifact"):
        assert callable(getattr(download, name)) and callable(getattr(official, name))
        assert inspect.iscoroutinefunction(getattr(tcdyn.aio.download, name))
    off = inspect.signature(official_aio.downloadArtifact).parameters
    ours = inspect.signature(download.downloadArtifact).parameters
    assert set(off) <= set(ours)
    assert upload.DATA_INLINE_MAX_SIZE == 8192
    assert tcdyn.aio.upload.uploadFromBuf and tcdyn.upload.uploadFromFile
