"""tcdyn's client benchmarks, measured side by side in one run; prints medians and ratios.

    python bench/bench_client.py [--quick]

1. import: ``python -c "import tcdyn; tcdyn.Queue"`` vs ``python -c "import httpx"``
   (target <= 1.15x).
2. sync call: ``queue.task()`` (Hawk-signed) vs a raw ``httpx.Client.get`` with a fixed
   header (target <= 1.2x per call), and vs the official ``taskcluster`` client on the same
   server (target: tcdyn >= 2.5x faster).
3. async: 2,000 calls at concurrency 50, ``tcdyn.aio.Queue`` vs raw ``httpx.AsyncClient``
   (target >= 0.85x throughput).

The server is ``bench/fastserver.py`` in its own process, so the client's cost dominates.
Rounds alternate between the contenders so that drift in the machine hits them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

import tcdyn

HERE = Path(__file__).resolve().parent
CREDS = {"clientId": "bench", "accessToken": "bench-access-token"}


def start_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, str(HERE / "fastserver.py")],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}"


def timed(fn, n: int) -> float:
    """Seconds per call of ``fn`` over ``n`` calls."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def bench_import(rounds: int) -> dict[str, float]:
    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(run("import tcdyn; tcdyn.Queue"))
        theirs.append(run("import httpx"))
    return {"tcdyn": statistics.median(ours), "httpx": statistics.median(theirs)}


def bench_sync(root_url: str, rounds: int, n: int) -> dict[str, float]:
    import taskcluster

    queue = tcdyn.Queue(rootUrl=root_url, credentials=CREDS)
    raw = httpx.Client()
    url = f"{root_url}/api/queue/v1/task/abc"
    header = {"Authorization": 'Hawk mac="x", id="bench", ts="1", nonce="abc"'}
    official = taskcluster.Queue({"rootUrl": root_url, "credentials": CREDS})
    contenders = {
        "raw httpx": lambda: raw.get(url, headers=header).json(),
        "tcdyn": lambda: queue.task("abc"),
        "official": lambda: official.task("abc"),
    }
    for fn in contenders.values():  # warm up connections and caches
        timed(fn, 50)
    results: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            results[name].append(timed(fn, n if name != "official" else max(n // 4, 50)))
    queue.close()
    raw.close()
    return {k: statistics.median(v) for k, v in results.items()}


async def _async_round(fn, calls: int, concurrency: int) -> float:
    sem = asyncio.Semaphore(concurrency)

    async def one():
        async with sem:
            await fn()

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(calls)))
    return calls / (time.perf_counter() - start)


def bench_async(root_url: str, rounds: int, calls: int) -> dict[str, float]:
    async def main() -> dict[str, float]:
        limits = httpx.Limits(max_connections=50)
        raw = httpx.AsyncClient(limits=limits)
        url = f"{root_url}/api/queue/v1/task/abc"
        header = {"Authorization": 'Hawk mac="x", id="bench", ts="1", nonce="abc"'}

        async def raw_call():
            (await raw.get(url, headers=header)).json()

        queue = tcdyn.aio.Queue(rootUrl=root_url, credentials=CREDS,
                                client=httpx.AsyncClient(limits=limits))
        contenders = {"raw httpx": raw_call, "tcdyn": lambda: queue.task("abc")}
        for fn in contenders.values():
            await _async_round(fn, 200, 50)
        results: dict[str, list[float]] = {k: [] for k in contenders}
        for _ in range(rounds):
            for name, fn in contenders.items():
                results[name].append(await _async_round(fn, calls, 50))
        await raw.aclose()
        await queue._transport.client.aclose()
        return {k: statistics.median(v) for k, v in results.items()}

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    rounds = 5 if args.quick else 15
    proc, root_url = start_server()
    try:
        imp = bench_import(rounds)
        sync = bench_sync(root_url, rounds, 400 if args.quick else 1000)
        aio = bench_async(root_url, max(3, rounds // 3), 2000)
    finally:
        proc.terminate()
        proc.wait()
    rows = [
        ("import tcdyn; tcdyn.Queue vs import httpx", imp["tcdyn"] / imp["httpx"], "<= 1.15x",
         f"{imp['tcdyn'] * 1e3:.1f} ms vs {imp['httpx'] * 1e3:.1f} ms"),
        ("sync queue.task() vs raw httpx get", sync["tcdyn"] / sync["raw httpx"], "<= 1.2x",
         f"{sync['tcdyn'] * 1e6:.0f} us vs {sync['raw httpx'] * 1e6:.0f} us per call"),
        ("official taskcluster vs tcdyn (speed-up)", sync["official"] / sync["tcdyn"],
         ">= 2.5x", f"{sync['official'] * 1e6:.0f} us vs {sync['tcdyn'] * 1e6:.0f} us"),
        ("async throughput tcdyn / raw httpx", aio["tcdyn"] / aio["raw httpx"], ">= 0.85x",
         f"{aio['tcdyn']:.0f} vs {aio['raw httpx']:.0f} calls/s (2,000 calls, 50 at once)"),
    ]
    print(f"{'benchmark (medians)':<44} {'ratio':>7}  {'target':<9} detail")
    for name, ratio, target, detail in rows:
        print(f"{name:<44} {ratio:>6.2f}x  {target:<9} {detail}")


if __name__ == "__main__":
    main()
