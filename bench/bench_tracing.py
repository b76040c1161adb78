"""What tracing costs a sync call: client CPU time per ``queue.task()`` and per validated
``createTask`` against ``bench/fastserver.py``, with OpenTelemetry absent (unimportable),
imported without a tracer provider, and recording every span with the SDK (no exporter);
``--before DIR`` adds the same calls made by the tcdyn of another checkout's ``src`` (main's,
say: ``git archive main src | tar -x -C DIR``, with ``references`` linked beside it).

    python bench/bench_tracing.py [--rounds 10] [--before DIR]

CPU time (``time.process_time``) rather than wall time: on a shared machine the wall time of
a loopback call swings with the other processes far more than the client's own work does.
Each contender runs in its own process; rounds alternate between them (one in order, the
next reversed). ``measure(quick)`` gives the same as rows of ``bench/run.py``'s interface
(the ratios to the absent case); it is not among ``run.MODULES``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchkit import Row, ratio_row  # noqa: E402

CHILD = r"""
import statistics, sys, time
mode, port = sys.argv[1], sys.argv[2]
if mode == "absent":
    class Absent:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] == "opentelemetry":
                raise ModuleNotFoundError(name)
    sys.meta_path.insert(0, Absent())
elif mode == "imported":
    import opentelemetry.trace
elif mode == "sdk":
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    trace.set_tracer_provider(TracerProvider())
import tcdyn
from tcdyn.references import bundled_dir
from tcdyn.testing.payloads import create_task
root = f"http://127.0.0.1:{port}"
creds = {"clientId": "bench", "accessToken": "bench-access-token"}
q = tcdyn.Queue(rootUrl=root, credentials=creds)
v = tcdyn.load(bundled_dir()).Queue(rootUrl=root, credentials=creds, validate=True)
payload = create_task()
def cpu(fn, n=1000):
    t = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t) / n * 1e6
for _ in range(200):
    q.task("abc"), v.createTask("abc", payload)
get = statistics.median(cpu(lambda: q.task("abc")) for _ in range(5))
put = statistics.median(cpu(lambda: v.createTask("abc", payload)) for _ in range(5))
print(get, put)
"""


CONTENDERS = {"OpenTelemetry absent": "absent", "imported, no tracer provider": "imported",
              "the SDK recording every span": "sdk"}


def samples(rounds: int, before: Path | None = None) -> dict[str, list[tuple[float, float]]]:
    """Per contender, per round: (CPU us per ``queue.task()``, per validated ``createTask``)."""
    server = subprocess.Popen([sys.executable, str(HERE / "fastserver.py")],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    port = server.stdout.readline().strip()
    contenders: dict[str, tuple[str, str | None]] = {
        name: (mode, None) for name, mode in CONTENDERS.items()}
    if before is not None:
        contenders = {"before (--before)": ("absent", str(before.resolve())), **contenders}

    def one(mode: str, src: str | None) -> tuple[float, float]:
        env = dict(os.environ)
        if src:
            env["PYTHONPATH"] = src
        out = subprocess.run([sys.executable, "-c", CHILD, mode, port], env=env,
                             capture_output=True, text=True, check=True).stdout
        get, put = map(float, out.split())
        return get, put

    got: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    try:
        for r in range(rounds):
            names = list(contenders) if r % 2 == 0 else list(contenders)[::-1]
            for name in names:
                got[name].append(one(*contenders[name]))
    finally:
        server.terminate()
        server.wait()
    return got


def measure(quick: bool) -> list[Row]:
    """The cost of OpenTelemetry imported and recording over its absence, per call (not in
    ``run.MODULES``: issue 21 has no target for it; the observability guide quotes it)."""
    got = samples(2 if quick else 10)
    absent = got["OpenTelemetry absent"]
    rows = []
    for i, (call, what) in enumerate((("task", "queue.task()"),
                                      ("createTask", "validated createTask"))):
        base = [s[i] for s in absent]
        for name, mode in CONTENDERS.items():
            if mode != "absent":
                rows.append(ratio_row(f"tracing.{call}.{mode}",
                                      f"sync {what} CPU, {name} / absent",
                                      [s[i] for s in got[name]], base, "us",
                                      (name, "absent")))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--before", type=Path, help="another checkout's src directory")
    args = parser.parse_args()
    got = samples(args.rounds, args.before)
    print(f"{'client CPU per call (medians)':<34} {'queue.task()':>13} {'createTask':>13}")
    for name, values in got.items():
        get = statistics.median(g for g, _ in values)
        put = statistics.median(p for _, p in values)
        print(f"{name:<34} {get:>10.0f} us {put:>10.0f} us")


if __name__ == "__main__":
    main()
