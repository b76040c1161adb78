"""Issue 18, transfer items, through the sync and the async library alike: a compressed bomb
from a storage host (1), the mode of a downloaded file (6), and issue 21's note on the
in-memory size cap (``test_artifacts.py`` has item 7).

Storage hosts are real loopback HTTP servers; the queue and the object service are a
``LocalDeployment`` checking Hawk signatures, their handlers answering as the v106 services
do (``services/queue/src/artifacts.js``, ``services/object/src/api.js``).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

import tcdyn
from helpers import SECRET
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.objects import Storage
from tcdyn.testing.server import LocalDeployment
from test_artifacts import Api
from transfer_helpers import (
    Host,
    MiB,
    bomb,
    fresh,
    gzip,
    serve_artifact,
)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[LocalDeployment, Storage, Host]]:
    host = Host()
    try:
        with Storage() as storage, LocalDeployment(
                clients={"tester": ClientRecord(SECRET, ("*",))}) as dep:
            yield dep, storage, host
    finally:
        host.close()


@pytest.fixture
def env(world):
    dep, storage, host = world
    return dep, storage, host, fresh(dep, storage, host)


@pytest.fixture
def api(flavour, env):
    return Api(flavour, env[0])


# -- 1: a compressed bomb from a storage host ------------------------------------------------

_CHILD = textwrap.dedent("""
    import asyncio, json, resource, sys
    limit = 1024 ** 3  # the address space: a body inflated whole cannot fit
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import tcdyn, tcdyn.aio, tcdyn.download
    root_url, secret, flavour, max_size = sys.argv[1:5]
    max_size = None if max_size == "none" else int(max_size)
    creds = {"clientId": "tester", "accessToken": secret}
    written = [0]

    class Null:
        def write(self, chunk):
            written[0] += len(chunk)

    def rss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB

    async def in_async():
        async with tcdyn.aio.Queue(rootUrl=root_url, credentials=creds) as queue:
            await tcdyn.aio.download.downloadArtifact(
                taskId="T", name="public/bomb", queueService=queue, writerFactory=Null,
                maxSize=max_size)

    def in_sync():
        with tcdyn.Queue(rootUrl=root_url, credentials=creds) as queue:
            tcdyn.download.downloadArtifact(
                taskId="T", name="public/bomb", queueService=queue, writerFactory=Null,
                maxSize=max_size)

    before = rss()
    try:
        asyncio.run(in_async()) if flavour == "async" else in_sync()
        outcome = "returned"
    except BaseException as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    print(json.dumps({"outcome": outcome, "growth": (rss() - before) * 1024,
                      "written": written[0]}))
""")


def in_child(dep: LocalDeployment, flavour: str, max_size: int | None) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _CHILD, dep.root_url, SECRET, flavour,
                           str(max_size) if max_size is not None else "none"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("encoding", ["gzip", "gzip, gzip"])
def test_a_gzip_bomb_stops_at_max_size_in_bounded_memory(env, flavour, encoding):
    """A storage host may label a body gzip although tcdyn asked for identity: it is
    inflated in bounded steps and refused past ``maxSize``, in a few MiB of memory."""
    dep, _, host, _ = env
    host.routes["/bomb"] = (200, {"Content-Encoding": encoding,
                                  "Content-Type": "application/octet-stream"},
                            bomb(encoding))
    serve_artifact(dep, f"{host.url}/bomb")
    got = in_child(dep, flavour, MiB)
    assert got["growth"] < 64 * MiB, got
    assert got["outcome"].startswith("ResponseTooLarge"), got
    assert "HTTP None" not in got["outcome"]
    assert got["written"] <= MiB
    assert host.seen[0]["accept-encoding"] == "identity"


def test_a_gzip_bomb_without_max_size_is_inflated_in_bounded_memory(env, flavour):
    """No ``maxSize`` (a download to a file): every byte reaches the writer, and memory
    stays bounded however far the body inflates."""
    dep, _, host, _ = env
    host.routes["/bomb"] = (200, {"Content-Encoding": "gzip, gzip"}, bomb("gzip, gzip"))
    serve_artifact(dep, f"{host.url}/bomb")
    got = in_child(dep, flavour, None)
    assert got["outcome"] == "returned", got
    assert got["written"] == 1024 * MiB
    assert got["growth"] < 64 * MiB, got


@pytest.mark.parametrize("encoding", ["gzip", "gzip, gzip", "x-gzip", "deflate",
                                      "gzip, identity", "GZIP"])
def test_sync_and_async_decode_the_same_encodings(api, env, encoding):
    dep, _, host, _ = env
    data = b"some text " * 5000
    body = data
    for coding in reversed([c.strip().lower() for c in encoding.split(",")]):
        if coding in ("gzip", "x-gzip"):
            body = gzip(body)
        elif coding == "deflate":
            body = zlib.compress(body)
    host.routes["/obj"] = (200, {"Content-Encoding": encoding, "Content-Type": "text/plain"},
                           body)
    serve_artifact(dep, f"{host.url}/obj")
    got, ctype = api.call(api.download.downloadArtifactToBuf, taskId="T", name="public/x",
                          queueService=api.client("Queue"))
    assert (bytes(got), ctype) == (data, "text/plain")


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, br", "compress"])
def test_sync_and_async_refuse_the_same_encodings(api, env, encoding):
    """An encoding tcdyn cannot decode is refused (not retried), never passed through as
    if it were the artifact."""
    dep, _, host, _ = env
    host.routes["/obj"] = (200, {"Content-Encoding": encoding}, b"\x0b\x02\x80hello\x03")
    serve_artifact(dep, f"{host.url}/obj")
    with pytest.raises(tcdyn.InvalidResponse, match=f"unsupported content encoding "
                                                    f"'{encoding.split(', ')[-1]}'") as info:
        api.call(api.download.downloadArtifactToBuf, taskId="T", name="public/x",
                 queueService=api.client("Queue"))
    assert len(host.seen) == 1  # not retried
    assert "X-Signature" not in str(info.value)


def test_a_corrupt_gzip_body_is_refused_not_retried(api, env):
    dep, _, host, _ = env
    host.routes["/obj"] = (200, {"Content-Encoding": "gzip"},
                           b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff")  # block type 3
    serve_artifact(dep, f"{host.url}/obj")
    with pytest.raises(tcdyn.InvalidResponse, match="corrupt compressed body"):
        api.call(api.download.downloadArtifactToBuf, taskId="T", name="public/x",
                 queueService=api.client("Queue"))
    assert len(host.seen) == 1


# -- 6: the mode of a downloaded file ------------------------------------------------------

@pytest.fixture
def umask():
    """Set the process umask for one test (restored afterwards)."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_umask_mode(api, env, tmp_path, umask, mask):
    dep, storage, _, _ = env
    storage.objects["k"] = (b"data", "text/plain")
    serve_artifact(dep, storage.url("k"), "s3")
    umask(mask)
    target = tmp_path / "new.txt"
    api.call(api.download.downloadArtifactToFile, target, taskId="T", name="public/x",
             queueService=api.client("Queue"))
    assert target.read_bytes() == b"data"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


@pytest.mark.parametrize("mode", [0o755, 0o600, 0o640])
def test_an_existing_file_keeps_its_mode(api, env, tmp_path, umask, mode):
    dep, storage, _, _ = env
    storage.objects["k"] = (b"new data", "text/plain")
    serve_artifact(dep, storage.url("k"), "s3")
    umask(0o022)
    target = tmp_path / "tool"
    target.write_bytes(b"old")
    target.chmod(mode)
    api.call(api.download.downloadArtifactToFile, str(target), taskId="T", name="public/x",
             queueService=api.client("Queue"))
    assert target.read_bytes() == b"new data"
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tool"]


def test_a_private_file_is_never_readable_by_others_while_written(api, env, tmp_path, umask):
    """The temporary file has the target's final mode from its creation: an existing 0600
    file's new content is never in a file others may read."""
    dep, storage, _, _ = env
    storage.objects["k"] = (b"secret" * 100000, "text/plain")
    serve_artifact(dep, storage.url("k"), "s3")
    umask(0o022)
    target = tmp_path / "private"
    target.write_bytes(b"")
    target.chmod(0o600)
    modes = []

    def progress(done, total):
        modes.extend(stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()
                     if p.name != "private")

    api.call(api.download.downloadArtifactToFile, target, taskId="T", name="public/x",
             queueService=api.client("Queue"), progress=progress)
    assert modes and set(modes) == {0o600}


# -- issue 21: the in-memory cap says what it is and how to raise it ------------------------

def test_the_in_memory_cap_names_the_size_the_cap_and_the_keyword(api, env):
    dep, storage, _, _ = env
    storage.objects["k"] = (b"x" * 5000, "application/octet-stream")
    serve_artifact(dep, storage.url("k"), "s3")
    queue = api.client("Queue", max_response_size=1000)
    with pytest.raises(tcdyn.ResponseTooLarge) as info:
        api.call(api.download.downloadArtifactToBuf, taskId="T", name="public/x",
                 queueService=queue)
    text = str(info.value)
    assert "HTTP None" not in text and "None" not in text
    assert "5000 bytes" in text and "1000 bytes" in text and "maxSize=" in text
    assert "X-Signature" not in text


def test_the_default_in_memory_cap_is_64_mib(api, env):
    dep, storage, _, _ = env
    storage.objects["k"] = (bytes(64 * MiB + 1), "application/octet-stream")
    serve_artifact(dep, storage.url("k"), "s3")
    with pytest.raises(tcdyn.ResponseTooLarge) as info:
        api.call(api.download.downloadArtifactToBuf, taskId="T", name="public/x",
                 queueService=api.client("Queue"))
    assert "67108865 bytes" in str(info.value) and "64 MiB" in str(info.value)
    assert "HTTP None" not in str(info.value)


def test_a_refusal_without_a_status_does_not_say_http_none():
    err = tcdyn.TaskclusterRestFailure("no URL", service="storage", http_method="GET",
                                       url="https://s3.example/x")
    assert err.describe() == "storage (GET https://s3.example/x): no URL"
