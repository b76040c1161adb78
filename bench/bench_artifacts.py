"""Benchmark: a 200 MB object upload and download through tcdyn against a plain httpx
streaming PUT/GET of the same bytes, on loopback.

The deployment (``LocalDeployment`` with ``tcdyn.testing.objects``) and its storage host run
in a child process, so this process's peak RSS is the client's alone. Prints throughput of
each and the peak RSS growth of tcdyn's transfers (``ru_maxrss``).

    .venv/bin/python bench/bench_artifacts.py [--mb 200]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import tempfile
import time
from pathlib import Path

SECRET = "bench-secret"
CREDS = {"clientId": "bench", "accessToken": SECRET}


def serve(conn) -> None:
    from tcdyn.testing.auth import ClientRecord
    from tcdyn.testing.objects import InMemoryObjects, Storage
    from tcdyn.testing.server import LocalDeployment

    with Storage() as storage, LocalDeployment(
            clients={"bench": ClientRecord(SECRET, ("*",))}) as dep:
        InMemoryObjects(storage).install(dep)
        conn.send((dep.root_url, storage.url("baseline")))
        conn.recv()  # until the parent is done


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    size = parser.parse_args().mb * 1024 * 1024

    import httpx

    import tcdyn
    from tcdyn import download, upload

    parent, child = mp.Pipe()
    proc = mp.Process(target=serve, args=(child,), daemon=True)
    proc.start()
    root_url, baseline_url = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.bin"
        block = os.urandom(1024 * 1024)
        with open(source, "wb") as f:
            for _ in range(size // len(block)):
                f.write(block)
        obj = tcdyn.Object(rootUrl=root_url, credentials=CREDS, timeout=120)
        obj.ping()  # warm: imports, the class, the connection
        before = peak_mb()

        def tc_put() -> None:
            with open(source, "rb") as f:
                upload.uploadFromFile(projectId="p", name="bench", contentType="a/b",
                                      contentLength=size, expires=tcdyn.fromNow("1 day"),
                                      objectService=obj, file=f)

        def tc_get() -> None:
            download.downloadToFile(Path(tmp) / "tc.bin", name="bench", objectService=obj)

        tc = (timed(tc_put), timed(tc_get))
        growth = peak_mb() - before

        def plain_put() -> None:
            def chunks():
                with open(source, "rb") as f:
                    while chunk := f.read(1024 * 1024):
                        yield chunk
            with httpx.Client(timeout=120) as client:
                client.put(baseline_url, content=chunks(),
                           headers={"Content-Length": str(size)}).raise_for_status()

        def plain_get() -> None:
            with httpx.Client(timeout=120) as client, client.stream(
                    "GET", baseline_url) as response, open(Path(tmp) / "plain.bin", "wb") as f:
                response.raise_for_status()
                for chunk in response.iter_bytes(1024 * 1024):
                    f.write(chunk)

        plain = (timed(plain_put), timed(plain_get))
        assert (Path(tmp) / "tc.bin").stat().st_size == size
    parent.send("done")
    proc.join(10)
    mb = size / 1024 / 1024
    for what, t, p in (("upload", tc[0], plain[0]), ("download", tc[1], plain[1])):
        print(f"{what:8} {mb:.0f} MB: tcdyn {mb / t:7.1f} MB/s  plain httpx {mb / p:7.1f} MB/s"
              f"  ratio {p / t:.2f}")
    print(f"peak RSS growth during tcdyn's upload + download: {growth:.1f} MB")


if __name__ == "__main__":
    main()
