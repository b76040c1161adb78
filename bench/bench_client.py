"""tcdyn's client benchmarks against their peers, side by side in one run; prints medians and
the ratios to issue 11's targets.

    python bench/bench_client.py [--quick]

1. import (bytecode allowed, warmed first): ``import tcdyn; tcdyn.Queue`` vs ``import httpx``
   (target <= 0.75x), and the official ``import taskcluster``.
2. first call on a new client: ``with Queue(...) as q: q.task()`` (target <= 1.5 ms), beside
   the official client's and a new ``httpx.Client``'s.
3. sync ``queue.task()`` (Hawk-signed) vs raw ``httpx.Client.get`` with a fixed header
   (target <= 0.9x), and the official client.
4. sync validated ``createTask`` vs a raw ``httpx.Client.put`` of the same JSON without
   validation (target <= 1.0x), and the official client.
5. async: 2,000 ``task()`` calls at concurrency 1, 10 and 50: ``tcdyn.aio`` (its own aiohttp
   transport), ``tcdyn.aio`` given an ``httpx.AsyncClient``, the official ``taskcluster.aio``
   (a shared ``aiohttp.ClientSession``), raw aiohttp and raw httpx (target: tcdyn >= 1.5x the
   official client at each level).
6. cold ``tcdyn.load(rootUrl, refresh=True)`` of the full bundled deployment served by
   ``tcdyn.testing.LocalDeployment`` in a child process (target <= 40 ms), beside a load into
   an empty cache and a raw GET of ``references.json`` (the server's share).

The API server is ``bench/fastserver.py`` in its own process, so the client's cost dominates.
Rounds alternate between the contenders so that drift in the machine hits them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import benchkit
from benchkit import alternate, ratio_row

HERE = Path(__file__).resolve().parent
CREDS = {"clientId": "bench", "accessToken": "bench-access-token"}
HEADER = {"Authorization": 'Hawk mac="x", id="bench", ts="1", nonce="abc"'}
Line = tuple[str, float, str, bool, str]  # this script's own table (main)


def start(args: list[str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def timed(fn: Callable[[], Any], n: int) -> float:
    """Seconds per call of ``fn`` over ``n`` calls."""
    begin = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - begin) / n


def alternate_medians(contenders: dict[str, Callable[[], float]],
                      rounds: int) -> dict[str, float]:
    """Median of each contender's measurements, rounds alternating between them."""
    results: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            results[name].append(fn())
    return {k: statistics.median(v) for k, v in results.items()}


def row(name: str, ratio: float, target: str, detail: str) -> Line:
    op, bound = target.split()
    met = ratio <= float(bound.rstrip("x")) if op == "<=" else ratio >= float(bound.rstrip("x"))
    return name, ratio, target, met, detail


# -- 1. import ----------------------------------------------------------------------------

def bench_import(rounds: int) -> list[Line]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with bytecode, as users run

    def run(code: str) -> float:
        begin = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        return time.perf_counter() - begin

    codes = {"tcdyn": "import tcdyn; tcdyn.Queue", "httpx": "import httpx",
             "official": "import taskcluster"}
    for code in codes.values():  # write the bytecode first
        run(code)
    t = alternate_medians({k: (lambda c=c: run(c)) for k, c in codes.items()}, rounds)
    return [
        row("import tcdyn; tcdyn.Queue / import httpx", t["tcdyn"] / t["httpx"], "<= 0.75x",
            f"{t['tcdyn'] * 1e3:.1f} ms vs {t['httpx'] * 1e3:.1f} ms"),
        ("import taskcluster (official) / import httpx", t["official"] / t["httpx"], "", True,
         f"{t['official'] * 1e3:.1f} ms"),
    ]


# -- 2-4. sync ----------------------------------------------------------------------------

def bench_first_call(root_url: str, rounds: int) -> list[Line]:
    import httpx
    import taskcluster

    import tcdyn

    url = f"{root_url}/api/queue/v1/task/abc"

    def ours() -> None:
        with tcdyn.Queue(rootUrl=root_url, credentials=CREDS) as q:
            q.task("abc")

    def official() -> None:
        taskcluster.Queue({"rootUrl": root_url, "credentials": CREDS}).task("abc")

    def raw() -> None:
        with httpx.Client() as c:
            c.get(url, headers=HEADER).json()

    contenders = {"tcdyn": ours, "official": official, "raw httpx": raw}
    for fn in contenders.values():
        timed(fn, 3)
    t = alternate_medians({k: (lambda f=f: timed(f, 10)) for k, f in contenders.items()},
                          rounds)
    return [("first call, with Queue(...) as q: q.task() (ms)", t["tcdyn"] * 1e3, "<= 1.5",
             t["tcdyn"] * 1e3 <= 1.5,
             f"{t['tcdyn'] * 1e3:.2f} ms; official {t['official'] * 1e3:.2f} ms; new "
             f"httpx.Client + get {t['raw httpx'] * 1e3:.2f} ms")]


def bench_sync(root_url: str, rounds: int, n: int) -> list[Line]:
    import httpx
    import taskcluster

    import tcdyn
    from tcdyn.references import bundled_dir
    from tcdyn.testing.payloads import create_task

    queue = tcdyn.Queue(rootUrl=root_url, credentials=CREDS)
    validating = tcdyn.load(bundled_dir()).Queue(rootUrl=root_url, credentials=CREDS,
                                                  validate=True)
    raw = httpx.Client()
    url = f"{root_url}/api/queue/v1/task/abc"
    official = taskcluster.Queue({"rootUrl": root_url, "credentials": CREDS})
    payload = create_task()
    contenders = {
        "get raw": lambda: raw.get(url, headers=HEADER).json(),
        "get tcdyn": lambda: queue.task("abc"),
        "get official": lambda: official.task("abc"),
        "put raw": lambda: raw.put(url, json=payload, headers=HEADER).json(),
        "put tcdyn": lambda: validating.createTask("abc", payload),
        "put official": lambda: official.createTask("abc", payload),
    }
    for fn in contenders.values():  # warm up connections and caches
        timed(fn, 50)
    t = alternate_medians(
        {k: (lambda f=f, k=k: timed(f, n if "official" not in k else n // 4))
         for k, f in contenders.items()}, rounds)
    queue.close()
    validating.close()
    raw.close()
    us = {k: v * 1e6 for k, v in t.items()}
    return [
        row("sync queue.task() / raw httpx get", t["get tcdyn"] / t["get raw"], "<= 0.9x",
            f"{us['get tcdyn']:.0f} us vs {us['get raw']:.0f} us per call"),
        ("  official client / tcdyn (slower by)", t["get official"] / t["get tcdyn"], "", True,
         f"{us['get official']:.0f} us per call"),
        row("sync validated createTask / raw httpx put", t["put tcdyn"] / t["put raw"],
            "<= 1.0x", f"{us['put tcdyn']:.0f} us vs {us['put raw']:.0f} us per call"),
        ("  official client / tcdyn (slower by)", t["put official"] / t["put tcdyn"], "", True,
         f"{us['put official']:.0f} us per call (no validation)"),
    ]


# -- 5. async -----------------------------------------------------------------------------

async def _throughput(fn: Callable[[], Any], calls: int, concurrency: int) -> float:
    sem = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with sem:
            await fn()

    begin = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(calls)))
    return calls / (time.perf_counter() - begin)


def bench_async(root_url: str, rounds: int, calls: int) -> list[Line]:
    async def main() -> list[Line]:
        import aiohttp
        import httpx
        import taskcluster.aio

        import tcdyn.aio

        url = f"{root_url}/api/queue/v1/task/abc"
        raw_httpx = httpx.AsyncClient()
        session = aiohttp.ClientSession()

        async def httpx_call() -> None:
            (await raw_httpx.get(url, headers=HEADER)).json()

        async def aiohttp_call() -> None:
            async with session.get(url, headers=HEADER) as response:
                await response.json()

        ours = tcdyn.aio.Queue(rootUrl=root_url, credentials=CREDS)
        given = tcdyn.aio.Queue(rootUrl=root_url, credentials=CREDS,
                                client=httpx.AsyncClient())
        official = taskcluster.aio.Queue({"rootUrl": root_url, "credentials": CREDS},
                                         session=session)
        contenders = {"tcdyn": lambda: ours.task("abc"),
                      "tcdyn client=httpx": lambda: given.task("abc"),
                      "official": lambda: official.task("abc"),
                      "raw aiohttp": aiohttp_call, "raw httpx": httpx_call}
        rows: list[Line] = []
        for concurrency in (1, 10, 50):
            for fn in contenders.values():
                await _throughput(fn, 200, concurrency)
            results: dict[str, list[float]] = {k: [] for k in contenders}
            for _ in range(rounds):
                for name, fn in contenders.items():
                    results[name].append(await _throughput(fn, calls, concurrency))
            r = {k: statistics.median(v) for k, v in results.items()}
            rows.append(row(f"async c={concurrency}: tcdyn.aio / official taskcluster.aio",
                            r["tcdyn"] / r["official"], ">= 1.5x",
                            ", ".join(f"{k} {v:.0f}" for k, v in r.items()) + " calls/s"))
            rows.append((f"  tcdyn.aio / raw aiohttp, c={concurrency}",
                         r["tcdyn"] / r["raw aiohttp"], "", True, ""))
        await ours.aclose()
        await given.aclose()
        await raw_httpx.aclose()
        await session.close()
        return rows

    return asyncio.run(main())


# -- 6. cold load -------------------------------------------------------------------------

SERVE = """
from tcdyn.testing.server import LocalDeployment
import sys, time
d = LocalDeployment().start()
print(d.root_url, flush=True)
sys.stdin.read()
"""


def bench_cold_load(rounds: int) -> list[Line]:
    import httpx

    import tcdyn

    proc = subprocess.Popen([sys.executable, "-c", SERVE], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    root_url = proc.stdout.readline().strip()
    old = os.environ.get("TCDYN_CACHE_DIR")
    raw = httpx.Client()
    try:
        with tempfile.TemporaryDirectory() as cache:
            os.environ["TCDYN_CACHE_DIR"] = cache
            tcdyn.load(root_url, refresh=True)  # warm the server
            bundle = f"{root_url}/references/references.json"
            def empty() -> float:  # a first load: nothing cached, every file written
                with tempfile.TemporaryDirectory() as fresh:
                    os.environ["TCDYN_CACHE_DIR"] = fresh
                    try:
                        return timed(lambda: tcdyn.load(root_url), 1)
                    finally:
                        os.environ["TCDYN_CACHE_DIR"] = cache

            t = alternate_medians({
                "load": lambda: timed(lambda: tcdyn.load(root_url, refresh=True), 1),
                "empty": empty,
                # the server's share: building and sending references.json
                "raw": lambda: timed(lambda: raw.get(bundle).content, 1)}, rounds)
    finally:
        raw.close()
        if old is None:
            os.environ.pop("TCDYN_CACHE_DIR", None)
        else:
            os.environ["TCDYN_CACHE_DIR"] = old
        proc.communicate("")
    return [("cold tcdyn.load(rootUrl), full deployment (ms)", t["load"] * 1e3, "<= 40",
             t["load"] * 1e3 <= 40,
             f"{t['load'] * 1e3:.1f} ms (refresh=True); into an empty cache "
             f"{t['empty'] * 1e3:.1f} ms; a raw httpx GET of references.json from the same "
             f"server {t['raw'] * 1e3:.1f} ms")]


# -- bench/run.py's interface (issue 21's peers) ----------------------------------------

def sync_peers(root_url: str, rounds: int, n: int) -> list[benchkit.Row]:
    """Sync ``queue.task()`` (Hawk-signed) per call against raw pools sending the same GET
    with a fixed header (httpcore, urllib3, ``http.client`` keep-alive; the body parsed as
    tcdyn parses it) and the official client, rounds alternating."""
    import http.client
    import json
    from urllib.parse import urlsplit

    import httpcore
    import taskcluster
    import urllib3

    import tcdyn

    url = f"{root_url}/api/queue/v1/task/abc"
    parts = urlsplit(root_url)
    path = "/api/queue/v1/task/abc"
    queue = tcdyn.Queue(rootUrl=root_url, credentials=CREDS)
    official = taskcluster.Queue({"rootUrl": root_url, "credentials": CREDS})
    core = httpcore.ConnectionPool()
    pool = urllib3.HTTPConnectionPool(parts.hostname, parts.port, maxsize=1)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)

    def raw_httpcore() -> None:
        json.loads(core.request("GET", url, headers=HEADER).content)

    def raw_urllib3() -> None:
        json.loads(pool.request("GET", path, headers=HEADER).data)

    def raw_http_client() -> None:
        conn.request("GET", path, headers=HEADER)
        json.loads(conn.getresponse().read())

    contenders = {"tcdyn": lambda: queue.task("abc"), "raw httpcore": raw_httpcore,
                  "raw urllib3": raw_urllib3, "raw http.client": raw_http_client,
                  "official 113.2.0": lambda: official.task("abc")}
    for fn in contenders.values():  # warm up connections and caches
        timed(fn, 20)
    us = {k: [t * 1e6 for t in v] for k, v in alternate(
        {k: (lambda f=f, k=k: timed(f, n if "official" not in k else max(n // 4, 1)))
         for k, f in contenders.items()}, rounds).items()}
    queue.close()
    core.close()
    pool.close()
    conn.close()
    names = {"call.sync.httpcore": "raw httpcore", "call.sync.urllib3": "raw urllib3",
             "call.sync.http_client": "raw http.client", "call.sync.official": "official 113.2.0"}
    return [ratio_row(key, f"sync queue.task() per call: tcdyn / {peer}", us["tcdyn"],
                      us[peer], "us", ("tcdyn", peer),
                      "unsigned GET, same server" if peer.startswith("raw") else "")
            for key, peer in names.items()]


def async_peers(root_url: str, rounds: int, calls: int,
                concurrency: int = 50) -> list[benchkit.Row]:
    """``tcdyn.aio`` ``task()`` calls/s at ``concurrency`` against raw aiohttp (a shared
    session, the same GET with a fixed header) and the official ``taskcluster.aio``."""
    async def main() -> list[benchkit.Row]:
        import aiohttp
        import taskcluster.aio

        import tcdyn.aio

        url = f"{root_url}/api/queue/v1/task/abc"
        session = aiohttp.ClientSession()
        official_session = aiohttp.ClientSession()

        async def aiohttp_call() -> None:
            async with session.get(url, headers=HEADER) as response:
                await response.json()

        ours = tcdyn.aio.Queue(rootUrl=root_url, credentials=CREDS)
        official = taskcluster.aio.Queue({"rootUrl": root_url, "credentials": CREDS},
                                         session=official_session)
        contenders = {"tcdyn": lambda: ours.task("abc"), "raw aiohttp": aiohttp_call,
                      "official 113.2.0": lambda: official.task("abc")}
        for fn in contenders.values():
            await _throughput(fn, min(calls, 200), concurrency)
        rates: dict[str, list[float]] = {k: [] for k in contenders}
        for r in range(rounds):
            for name in list(contenders) if r % 2 == 0 else list(contenders)[::-1]:
                rates[name].append(await _throughput(contenders[name], calls, concurrency))
        await ours.aclose()
        await session.close()
        await official_session.close()
        return [ratio_row(f"call.async.c{concurrency}", f"async task() calls/s, "
                          f"concurrency {concurrency}: tcdyn.aio / raw aiohttp",
                          rates["tcdyn"], rates["raw aiohttp"], "calls/s",
                          ("tcdyn", "raw aiohttp")),
                ratio_row("call.async.official", "the same: tcdyn.aio / official aio",
                          rates["tcdyn"], rates["official 113.2.0"], "calls/s",
                          ("tcdyn", "official 113.2.0"))]

    return asyncio.run(main())


def measure(quick: bool) -> list[benchkit.Row]:
    """bench/run.py's interface: the sync and async call paths against their peers, on
    ``fastserver.py`` in its own process."""
    proc, port = start([str(HERE / "fastserver.py")])
    root_url = f"http://127.0.0.1:{port}"
    try:
        return (sync_peers(root_url, 2 if quick else 11, 30 if quick else 1000)
                + async_peers(root_url, 2 if quick else 7, 100 if quick else 2000))
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--only", choices=["import", "first", "sync", "async", "load"],
                        action="append", help="run only these parts (repeatable)")
    args = parser.parse_args()
    rounds = 5 if args.quick else 11
    parts = set(args.only or ["import", "first", "sync", "async", "load"])
    proc, port = start([str(HERE / "fastserver.py")])
    root_url = f"http://127.0.0.1:{port}"
    rows: list[Line] = []
    try:
        if "import" in parts:
            rows += bench_import(rounds)
        if "first" in parts:
            rows += bench_first_call(root_url, rounds)
        if "sync" in parts:
            rows += bench_sync(root_url, rounds, 200 if args.quick else 1000)
        if "async" in parts:
            rows += bench_async(root_url, 3 if args.quick else 5, 2000)
        if "load" in parts:
            rows += bench_cold_load(rounds)
    finally:
        proc.terminate()
        proc.wait()
    print(f"\n{'benchmark (medians)':<56} {'value':>7}  {'target':<9} {'met':<4} detail")
    for name, ratio, target, met, detail in rows:
        mark = ("yes" if met else "NO") if target else ""
        print(f"{name:<56} {ratio:>7.2f}  {target:<9} {mark:<4} {detail}")


if __name__ == "__main__":
    main()
