"""Hashing on worker threads while transfers stream, bounded, and progress in steps: the
speed work of the upload/download helpers must not change what they compute or leave
threads behind."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

import tcdyn
from tcdyn.transfer import hashing as tr
from test_artifacts import CREDS, EXPIRES, api, env, put, world  # noqa: F401  (fixtures)

MiB = 1024 * 1024


def hashing_threads():
    return [t for t in threading.enumerate() if t.name.startswith("tcdyn-sha")]


def no_hashing_threads_soon():
    end = time.monotonic() + 5
    while hashing_threads() and time.monotonic() < end:
        time.sleep(0.01)
    return hashing_threads() == []


def test_threaded_hashes_agree_with_hashlib_for_any_chunking():
    data = os.urandom(5 * MiB + 12345)
    for size in (1, 4096, 65536, 300_000, MiB, 3 * MiB):
        hashes = tr.Hashes()
        for start in range(0, len(data), size):
            hashes.update(data[start:start + size])
        assert hashes.count == len(data)
        assert hashes.hexdigests() == {"sha256": hashlib.sha256(data).hexdigest(),
                                       "sha512": hashlib.sha512(data).hexdigest()}
    assert no_hashing_threads_soon()


def test_batches_in_flight_are_bounded_and_small_inputs_start_no_thread():
    hashes = tr.Hashes()
    for _ in range(4 * tr.HASH_DEPTH):
        hashes.update(os.urandom(tr.HASH_BATCH))
        assert len(hashes._inflight) <= tr.HASH_DEPTH
    assert hashes._workers is not None and hashing_threads()
    hashes.hexdigests()
    assert hashes._workers is None and no_hashing_threads_soon()

    small = tr.Hashes()
    small.update(b"x" * (tr.HASH_BATCH - 1))
    assert small._workers is None
    assert small.hexdigests()["sha256"] == hashlib.sha256(b"x" * (tr.HASH_BATCH - 1)
                                                          ).hexdigest()


def test_counting_only_hashes_nothing():
    hashes = tr.Hashes(active=False)
    hashes.update(os.urandom(3 * tr.HASH_BATCH))
    assert hashes.count == 3 * tr.HASH_BATCH and hashes._workers is None


def test_failed_attempts_leave_no_hashing_thread(api, env, tmp_path):  # noqa: F811
    _, storage, _ = env
    data = os.urandom(3 * MiB + 7)
    storage.fault("truncate", method="PUT")  # the first PUT dies mid-body: retried
    put(api, api.client("Object"), data)
    assert [s.method for s in storage.seen].count("PUT") == 2
    storage.fault("corrupt")
    with pytest.raises(tcdyn.ObjectHashVerificationError):
        api.call(api.download.downloadToFile, tmp_path / "out.bin", name="my/object",
                 objectService=api.client("Object"))
    storage.fault("truncate")
    got, _ = api.call(api.download.downloadToBuf, name="my/object",
                      objectService=api.client("Object"))
    assert got == data
    assert no_hashing_threads_soon()


def test_progress_comes_in_steps_and_ends_at_the_total(api, env):  # noqa: F811
    data = os.urandom(3 * MiB + 7)
    ups, downs = [], []
    put(api, api.client("Object"), data, progress=lambda d, t: ups.append((d, t)))
    api.call(api.download.downloadToBuf, name="my/object", objectService=api.client("Object"),
             progress=lambda d, t: downs.append((d, t)))
    for seen in (ups, downs):
        assert seen[0] == (0, len(data)) and seen[-1] == (len(data), len(data))
        done = [d for d, _ in seen]
        assert done == sorted(done)
        assert len(seen) <= len(data) // tr.PROGRESS_STEP + 2


def test_a_body_of_unknown_length_reports_its_end():
    seen = []
    reporter = tr.Reporter(lambda d, t: seen.append((d, t)))
    reporter.restart(None)
    for _ in range(3):
        reporter.add(1000)
    reporter.finish()
    reporter.finish()
    assert seen == [(0, None), (3000, None)]


def test_sync_storage_reads_are_larger_than_httpcores_64_kib(env):  # noqa: F811
    dep, _, _ = env
    obj = tcdyn.Object(rootUrl=dep.root_url, credentials=CREDS)
    data = os.urandom(8 * MiB)
    tcdyn.upload.uploadFromBuf(projectId="proj", name="big", contentType="a/b",
                               contentLength=len(data), expires=EXPIRES, objectService=obj,
                               data=data)
    sizes = []

    class Writer:
        def write(self, chunk):
            sizes.append(len(chunk))

    tcdyn.download.download(name="big", objectService=obj, writerFactory=Writer)
    assert sum(sizes) == len(data) and max(sizes) > 64 * 1024


async def test_async_storage_reads_are_larger_than_httpcores_64_kib(env):  # noqa: F811
    dep, _, _ = env
    data = os.urandom(8 * MiB)
    async with tcdyn.aio.Object(rootUrl=dep.root_url, credentials=CREDS) as obj:
        await tcdyn.aio.upload.uploadFromBuf(projectId="proj", name="big-async",
                                             contentType="a/b", contentLength=len(data),
                                             expires=EXPIRES, objectService=obj, data=data)
        sizes = []

        class Writer:
            def write(self, chunk):
                sizes.append(len(chunk))

        await tcdyn.aio.download.download(name="big-async", objectService=obj,
                                          writerFactory=Writer)
        got, _ = await tcdyn.aio.download.downloadToBuf(name="big-async", objectService=obj)
    assert sum(sizes) == len(data) and max(sizes) > 64 * 1024
    assert bytes(got) == data
