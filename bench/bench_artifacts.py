"""Benchmark: object uploads and downloads through tcdyn against the official client
(``taskcluster`` 113.2.0, the ``bench`` extra), on loopback, in the same run.

Contenders, per direction and flavour: ``tcdyn.upload.uploadFromBuf`` /
``tcdyn.download.downloadToBuf`` against ``taskcluster.upload.uploadFromBuf`` /
``taskcluster.download.downloadToBuf``, and the async forms (``tcdyn.aio.*`` against
``taskcluster.aio.*``). Both clients hash what they move with sha256 and sha512 (the object
service records both; a download verifies them). Rounds alternate the contenders (tcdyn,
official, official, tcdyn, ...) so that other work on the machine hits both alike; the
figures are medians over the rounds with their spread (lowest-highest), the ratio is the
median of each round's tcdyn rate over the official client's, and beside it the client
process's CPU time per transfer (all threads: the figure a busy machine changes least).
``--load`` runs a CPU burner pinned to one core (``taskset -c 0``) for the whole run: the
figure of a machine busy with something else.

The deployment (``LocalDeployment`` with ``tcdyn.testing.objects``) and its storage host run
in a child process, so this process's peak RSS is the clients' alone. The peak RSS growth
(``ru_maxrss``) is measured over a first tcdyn upload and download of ``--rss-mb`` (200 MB)
through files (``uploadFromFile``, ``downloadToFile``), before any other contender ran.

    .venv/bin/python bench/bench_artifacts.py [--mb 100] [--rounds 7] [--load]
        [--only upload|download] [--flavour sync|async]

(tcdyn uploads with one fixed ``uploadId``: the object service lets the same upload be
repeated, so the storage keeps one copy per client.)
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing as mp
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchkit import Row, ratio_row

SECRET = "bench-secret"
CREDS = {"clientId": "bench", "accessToken": SECRET}
EXPIRES = "2100-01-01T00:00:00.000Z"
MiB = 1024 * 1024


def serve(conn: Any) -> None:
    from tcdyn.testing.auth import ClientRecord
    from tcdyn.testing.objects import InMemoryObjects, Storage
    from tcdyn.testing.server import LocalDeployment

    with Storage() as storage, LocalDeployment(
            clients={"bench": ClientRecord(SECRET, ("*",))}) as dep:
        InMemoryObjects(storage).install(dep)
        conn.send(dep.root_url)
        conn.recv()  # until the parent is done


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def burner() -> subprocess.Popen[bytes] | None:
    """A CPU-bound process pinned to core 0 (None without ``taskset``)."""
    if shutil.which("taskset") is None:
        print("--load: no taskset on this machine", file=sys.stderr)
        return None
    return subprocess.Popen(["taskset", "-c", "0", sys.executable, "-c",
                             "while True: pass"])


class Contenders:
    """The four clients' uploads and downloads of ``data`` as ``name``."""

    def __init__(self, root_url: str, data: bytes) -> None:
        import taskcluster
        import taskcluster.aio

        import tcdyn
        import tcdyn.aio

        self.data, self.size = data, len(data)
        self.want = (hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest())
        self.loop = asyncio.new_event_loop()
        options = {"rootUrl": root_url, "credentials": CREDS}
        self.tc = tcdyn.Object(**options, timeout=120)
        self.official = taskcluster.Object(options)
        self.tc.ping()
        self.official.ping()

        async def make() -> tuple[Any, Any]:
            tc = tcdyn.aio.Object(**options, timeout=120)
            await tc.ping()
            official = taskcluster.aio.Object(options)
            await official.ping()
            return tc, official

        self.atc, self.aofficial = self.loop.run_until_complete(make())
        self.ids = {name: __import__("slugid").nice() for name in
                    ("tcdyn", "official", "tcdyn.aio", "official.aio")}

    def kwargs(self, who: str, obj: Any) -> dict[str, Any]:
        return {"projectId": "p", "name": who, "contentType": "a/b",
                "contentLength": self.size, "expires": EXPIRES, "uploadId": self.ids[who],
                "objectService": obj}

    def check(self, got: Any) -> None:
        assert len(got) == self.size, len(got)

    # -- sync
    def tcdyn_up(self) -> None:
        import tcdyn.upload

        tcdyn.upload.uploadFromBuf(data=self.data, **self.kwargs("tcdyn", self.tc))

    def official_up(self) -> None:
        import taskcluster.upload

        taskcluster.upload.uploadFromBuf(data=self.data,
                                         **self.kwargs("official", self.official))

    def tcdyn_down(self) -> None:
        import tcdyn.download

        got, _ = tcdyn.download.downloadToBuf(name="tcdyn", objectService=self.tc,
                                              maxSize=self.size)
        self.check(got)

    def official_down(self) -> None:
        import taskcluster.download

        got, _ = taskcluster.download.downloadToBuf(name="official",
                                                    objectService=self.official)
        self.check(got)

    # -- async
    def tcdyn_aup(self) -> None:
        import tcdyn.aio.upload

        self.loop.run_until_complete(tcdyn.aio.upload.uploadFromBuf(
            data=self.data, **self.kwargs("tcdyn.aio", self.atc)))

    def official_aup(self) -> None:
        import taskcluster.aio.upload

        self.loop.run_until_complete(taskcluster.aio.upload.uploadFromBuf(
            data=self.data, **self.kwargs("official.aio", self.aofficial)))

    def tcdyn_adown(self) -> None:
        import tcdyn.aio.download

        got, _ = self.loop.run_until_complete(tcdyn.aio.download.downloadToBuf(
            name="tcdyn.aio", objectService=self.atc, maxSize=self.size))
        self.check(got)

    def official_adown(self) -> None:
        import taskcluster.aio.download

        got, _ = self.loop.run_until_complete(taskcluster.aio.download.downloadToBuf(
            name="official.aio", objectService=self.aofficial))
        self.check(got)

    def close(self) -> None:
        self.tc.close()

        async def close() -> None:
            await self.atc.aclose()
            await self.aofficial.session.close() if getattr(
                self.aofficial, "session", None) else None

        self.loop.run_until_complete(close())
        self.loop.close()


def rss_growth(root_url: str, mb: int) -> float:
    """Peak RSS growth (MB) of a first tcdyn upload + download of ``mb`` through files."""
    import tcdyn
    from tcdyn import download, upload

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.bin"
        block = os.urandom(MiB)
        with open(source, "wb") as f:
            for _ in range(mb):
                f.write(block)
        with tcdyn.Object(rootUrl=root_url, credentials=CREDS, timeout=120) as obj:
            obj.ping()
            before = peak_mb()
            with open(source, "rb") as f:
                upload.uploadFromFile(projectId="p", name="rss", contentType="a/b",
                                      contentLength=mb * MiB, expires=EXPIRES,
                                      objectService=obj, file=f)
            download.downloadToFile(Path(tmp) / "out.bin", name="rss", objectService=obj)
            growth = peak_mb() - before
        assert (Path(tmp) / "out.bin").stat().st_size == mb * MiB
    return growth


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.0f} ({min(values):.0f}-{max(values):.0f})"


Key = tuple[str, str, str]  # direction, flavour, who
ORDER = (("upload", "sync"), ("download", "sync"), ("upload", "async"), ("download", "async"))


def transfers(mb: int, rounds: int, rss_mb: int, load: bool, only: str | None = None,
              flavour: str | None = None,
              ) -> tuple[dict[Key, list[float]], dict[Key, list[float]], float | None]:
    """(seconds, client CPU seconds) per transfer of each contender over ``rounds``
    alternating rounds, and the peak RSS growth of ``rss_mb`` (None when 0)."""
    parent, child = mp.Pipe()
    proc = mp.Process(target=serve, args=(child,), daemon=True)
    proc.start()
    root_url = parent.recv()
    try:
        growth = rss_growth(root_url, rss_mb) if rss_mb else None
        bench = Contenders(root_url, os.urandom(mb * MiB))
        pairs = {("upload", "sync"): (bench.tcdyn_up, bench.official_up),
                 ("download", "sync"): (bench.tcdyn_down, bench.official_down),
                 ("upload", "async"): (bench.tcdyn_aup, bench.official_aup),
                 ("download", "async"): (bench.tcdyn_adown, bench.official_adown)}
        pairs = {k: v for k, v in pairs.items()
                 if only in (None, k[0]) and flavour in (None, k[1])}
        for ours, theirs in pairs.values():  # warm: first PUT of each name, imports, pools
            if ours in (bench.tcdyn_up, bench.tcdyn_aup):
                ours(), theirs()
        burning = burner() if load else None
        times: dict[Key, list[float]] = {}
        cpus: dict[Key, list[float]] = {}
        try:
            for r in range(rounds):
                for key, (ours, theirs) in pairs.items():
                    order = [("tcdyn", ours), ("official", theirs)]
                    for who, fn in order if r % 2 == 0 else order[::-1]:
                        start, cpu = time.perf_counter(), time.process_time()
                        fn()
                        times.setdefault((*key, who), []).append(time.perf_counter() - start)
                        cpus.setdefault((*key, who), []).append(time.process_time() - cpu)
        finally:
            if burning is not None:
                burning.kill()
                burning.wait()
            bench.close()
    finally:
        parent.send("done")
        proc.join(10)
    return times, cpus, growth


def measure(quick: bool) -> list[Row]:
    """bench/run.py's interface: tcdyn's MB/s over the official client's, per direction and
    flavour, then sync again with a CPU burner on one core, and the peak RSS growth."""
    mb, rounds, loaded_rounds, rss_mb = (8, 2, 2, 16) if quick else (100, 9, 7, 200)
    rows: list[Row] = []
    for load in (False, True):
        times, cpus, growth = transfers(mb, loaded_rounds if load else rounds,
                                        0 if load else rss_mb, load,
                                        flavour="sync" if load else None)
        for direction, flavour in ORDER:
            if (direction, flavour, "tcdyn") not in times:
                continue
            ours = [mb / t for t in times[(direction, flavour, "tcdyn")]]
            theirs = [mb / t for t in times[(direction, flavour, "official")]]
            cpu = [1000 * statistics.median(cpus[(direction, flavour, who)])
                   for who in ("tcdyn", "official")]
            key = f"transfer.{direction}.{'loaded' if load else flavour}"
            label = (f"{direction} {mb} MB {flavour}" + (", CPU burner on a core" if load
                                                          else "") + ": tcdyn / official")
            rows.append(ratio_row(key, label, ours, theirs, "MB/s",
                                  ("tcdyn", "official 113.2.0"),
                                  f"client CPU {cpu[0]:.0f} / {cpu[1]:.0f} ms"))
        if growth is not None:
            rows.append(Row("transfer.rss", f"peak RSS growth, {rss_mb} MB through files",
                            growth, "MB", growth, growth,
                            detail="tcdyn's first uploadFromFile + downloadToFile"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--rss-mb", type=int, default=200)
    parser.add_argument("--load", action="store_true",
                        help="a CPU burner pinned to core 0 during the run")
    parser.add_argument("--only", choices=("upload", "download"))
    parser.add_argument("--flavour", choices=("sync", "async"))
    args = parser.parse_args()
    times, cpus, growth = transfers(args.mb, args.rounds, args.rss_mb, args.load, args.only,
                                    args.flavour)
    mb = args.mb
    machine = "with a CPU burner pinned to core 0" if args.load else "no extra load"
    print(f"{args.mb} MB objects, {args.rounds} alternating rounds, {machine}, "
          f"{os.cpu_count()} cores; MB/s median (lowest-highest)")
    print(f"{'':16} {'tcdyn':>18} {'official 113.2.0':>18} {'ratio':>17}   client CPU ms "
          "(all threads): tcdyn / official")
    for direction, flavour in ORDER:
        if (direction, flavour, "tcdyn") not in times:
            continue
        ours = [mb / t for t in times[(direction, flavour, "tcdyn")]]
        theirs = [mb / t for t in times[(direction, flavour, "official")]]
        ratios = [a / b for a, b in zip(ours, theirs, strict=True)]  # per round
        cpu = [1000 * statistics.median(cpus[(direction, flavour, who)])
               for who in ("tcdyn", "official")]
        print(f"{direction + ' ' + flavour:16} {spread(ours):>18} {spread(theirs):>18} "
              f"{statistics.median(ratios):5.2f}x ({min(ratios):.2f}-{max(ratios):.2f})   "
              f"{cpu[0]:4.0f} / {cpu[1]:4.0f}")
    if growth is not None:
        print(f"peak RSS growth, tcdyn's first uploadFromFile + downloadToFile of "
              f"{args.rss_mb} MB: {growth:.1f} MB")


if __name__ == "__main__":
    main()
