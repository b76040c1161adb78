"""What tracing costs a sync call: client CPU time per ``queue.task()`` and per validated
``createTask`` against ``bench/fastserver.py``, with OpenTelemetry absent (unimportable),
imported without a tracer provider, and recording every span with the SDK (no exporter);
``--before DIR`` adds the same calls made by the tcdyn of another checkout's ``src`` (main's,
say: ``git archive main src | tar -x -C DIR``, with ``references`` linked beside it).

    python bench/bench_tracing.py [--rounds 10] [--before DIR]

CPU time (``time.process_time``) rather than wall time: on a shared machine the wall time of
a loopback call swings with the other processes far more than the client's own work does.
Each contender runs in its own process; rounds alternate between them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--before", type=Path, help="another checkout's src directory")
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, str(HERE / "fastserver.py")],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    port = server.stdout.readline().strip()
    contenders: dict[str, tuple[str, str | None]] = {
        "OpenTelemetry absent": ("absent", None),
        "imported, no tracer provider": ("imported", None),
        "the SDK recording every span": ("sdk", None)}
    if args.before:
        contenders = {"before (--before)": ("absent", str(args.before.resolve())),
                      **contenders}
    got: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    try:
        for _ in range(args.rounds):
            for name, (mode, src) in contenders.items():
                env = dict(os.environ)
                if src:
                    env["PYTHONPATH"] = src
                out = subprocess.run([sys.executable, "-c", CHILD, mode, port], env=env,
                                     capture_output=True, text=True, check=True).stdout
                get, put = map(float, out.split())
                got[name].append((get, put))
    finally:
        server.terminate()
        server.wait()
    print(f"{'client CPU per call (medians)':<34} {'queue.task()':>13} {'createTask':>13}")
    for name, values in got.items():
        get = statistics.median(g for g, _ in values)
        put = statistics.median(p for _, p in values)
        print(f"{name:<34} {get:>10.0f} us {put:>10.0f} us")


if __name__ == "__main__":
    main()
