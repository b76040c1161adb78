"""Benchmark: a 200 MB object upload and download through tcdyn against plain httpx streaming
PUT/GET of the same bytes, on loopback.

Contenders, per direction: tcdyn; plain httpx unhashed (the issue's baseline); plain httpx
that hashes as it streams (sha256 and sha512 on the PUT, both verified after the GET): the
least any correct uploader or downloader does, since ``finishUpload`` records both hashes and
a download checks them; and tcdyn's async forms (``tcdyn.aio.upload``/``download``). Each
round runs every contender of a direction once, in an order rotated from round to round;
the figures are medians over the rounds.

The deployment (``LocalDeployment`` with ``tcdyn.testing.objects``) and its storage host run
in a child process, so this process's peak RSS is the client's alone. The peak RSS growth
(``ru_maxrss``) is measured over a first tcdyn upload + download, before any other contender
has run; it is reported again over the whole run.

    .venv/bin/python bench/bench_artifacts.py [--mb 200] [--rounds 5]

(tcdyn uploads with one fixed ``uploadId``: the object service lets the same upload be
repeated, so the storage keeps one copy.)
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing as mp
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SECRET = "bench-secret"
CREDS = {"clientId": "bench", "accessToken": SECRET}
CHUNK = 1024 * 1024


def serve(conn) -> None:
    from tcdyn.testing.auth import ClientRecord
    from tcdyn.testing.objects import InMemoryObjects, Storage
    from tcdyn.testing.server import LocalDeployment

    with Storage() as storage, LocalDeployment(
            clients={"bench": ClientRecord(SECRET, ("*",))}) as dep:
        InMemoryObjects(storage).install(dep)
        # presigned for the plain contenders as the object service would (an hour: the run)
        conn.send((dep.root_url, storage.url("baseline", "PUT", expires_in=3600),
                   storage.url("baseline", expires_in=3600)))
        conn.recv()  # until the parent is done


async def _async_object(root_url: str) -> Any:
    import tcdyn.aio

    obj = tcdyn.aio.Object(rootUrl=root_url, credentials=CREDS, timeout=120)
    await obj.ping()  # warm: imports, the class, the connection
    return obj


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], None]) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds (all its threads) of ``fn()``."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    size = args.mb * 1024 * 1024

    import httpx
    import slugid

    import tcdyn
    from tcdyn import download, upload

    parent, child = mp.Pipe()
    proc = mp.Process(target=serve, args=(child,), daemon=True)
    proc.start()
    root_url, baseline_put_url, baseline_url = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.bin"
        block = os.urandom(CHUNK)
        with open(source, "wb") as f:
            for _ in range(size // len(block)):
                f.write(block)
        expected = {"sha256": hashlib.sha256(), "sha512": hashlib.sha512()}
        with open(source, "rb") as f:
            while chunk := f.read(CHUNK):
                for h in expected.values():
                    h.update(chunk)
        want = {k: h.hexdigest() for k, h in expected.items()}
        obj = tcdyn.Object(rootUrl=root_url, credentials=CREDS, timeout=120)
        upload_id = slugid.nice()
        obj.ping()  # warm: imports, the class, the connection

        def tc_put() -> None:
            with open(source, "rb") as f:
                upload.uploadFromFile(projectId="p", name="bench", contentType="a/b",
                                      contentLength=size, expires=tcdyn.fromNow("1 day"),
                                      uploadId=upload_id,
                                      objectService=obj, file=f)

        def tc_get() -> None:
            download.downloadToFile(Path(tmp) / "tc.bin", name="bench", objectService=obj)

        # the async forms, on a loop of their own, with an async Object client made once
        loop = asyncio.new_event_loop()
        aobj = loop.run_until_complete(_async_object(root_url))

        def tc_aput() -> None:
            async def put() -> None:
                with open(source, "rb") as f:
                    await tcdyn.aio.upload.uploadFromFile(
                        projectId="p", name="bench", contentType="a/b", contentLength=size,
                        expires=tcdyn.fromNow("1 day"), uploadId=upload_id,
                        objectService=aobj, file=f)
            loop.run_until_complete(put())

        def tc_aget() -> None:
            loop.run_until_complete(tcdyn.aio.download.downloadToFile(
                Path(tmp) / "tca.bin", name="bench", objectService=aobj))

        def plain_put(hashed: bool) -> None:
            hashes = [hashlib.sha256(), hashlib.sha512()]

            def chunks():
                with open(source, "rb") as f:
                    while chunk := f.read(CHUNK):
                        if hashed:
                            for h in hashes:
                                h.update(chunk)
                        yield chunk
            with httpx.Client(timeout=120) as client:
                client.put(baseline_put_url, content=chunks(),
                           headers={"Content-Length": str(size)}).raise_for_status()
            assert not hashed or hashes[1].hexdigest() == want["sha512"]

        def plain_get(hashed: bool) -> None:
            hashes = [hashlib.sha256(), hashlib.sha512()]
            with httpx.Client(timeout=120) as client, client.stream(
                    "GET", baseline_url) as response, open(Path(tmp) / "plain.bin", "wb") as f:
                response.raise_for_status()
                for chunk in response.iter_bytes():
                    f.write(chunk)
                    if hashed:
                        for h in hashes:
                            h.update(chunk)
            assert not hashed or [h.hexdigest() for h in hashes] == list(want.values())

        before = peak_mb()
        tc_put()
        tc_get()
        growth = peak_mb() - before
        assert (Path(tmp) / "tc.bin").stat().st_size == size

        contenders: dict[str, dict[str, Callable[[], None]]] = {
            "upload": {"tcdyn": tc_put, "plain": lambda: plain_put(False),
                       "plain+hashes": lambda: plain_put(True), "tcdyn.aio": tc_aput},
            "download": {"tcdyn": tc_get, "plain": lambda: plain_get(False),
                         "plain+hashes": lambda: plain_get(True), "tcdyn.aio": tc_aget},
        }
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for r in range(args.rounds):
            for direction, fns in contenders.items():
                names = list(fns)
                names = names[r % len(names):] + names[:r % len(names)]
                for name in names:
                    times.setdefault((direction, name), []).append(timed(fns[name]))
        total_growth = peak_mb() - before
        loop.run_until_complete(aobj.aclose())
        loop.close()
    parent.send("done")
    proc.join(10)
    mb = size / 1024 / 1024
    print(f"{mb:.0f} MB, medians of {args.rounds} rounds (contenders alternating): MB/s "
          "(client CPU seconds)")
    for direction in contenders:
        rate, cpu = {}, {}
        for name in contenders[direction]:
            runs = times[(direction, name)]
            rate[name] = mb / statistics.median(wall for wall, _ in runs)
            cpu[name] = statistics.median(used for _, used in runs)
        print(f"{direction:8} tcdyn {rate['tcdyn']:6.1f} ({cpu['tcdyn']:.2f})  plain httpx "
              f"{rate['plain']:6.1f} ({cpu['plain']:.2f})  plain httpx + sha256/sha512 "
              f"{rate['plain+hashes']:6.1f} ({cpu['plain+hashes']:.2f})")
        print(f"{'':8} tcdyn / plain {rate['tcdyn'] / rate['plain']:.2f}, "
              f"tcdyn / plain + hashes {rate['tcdyn'] / rate['plain+hashes']:.2f}")
        print(f"{'':8} tcdyn.aio {rate['tcdyn.aio']:6.1f} ({cpu['tcdyn.aio']:.2f}): "
              f"/ plain {rate['tcdyn.aio'] / rate['plain']:.2f}, "
              f"/ plain + hashes {rate['tcdyn.aio'] / rate['plain+hashes']:.2f}")
    print(f"peak RSS growth: tcdyn's first upload + download {growth:.1f} MB, "
          f"whole run {total_growth:.1f} MB")


if __name__ == "__main__":
    main()
