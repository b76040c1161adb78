"""Start-up time of the tcdyn command, whole process, against ``python -c pass``.

Each contender is run as a user runs it: the installed ``tcdyn`` console script next to this
interpreter, bytecode written (compiled first, ``PYTHONDONTWRITEBYTECODE`` unset), a config
file that does not exist and a private cache folder. Rounds alternate the contenders (one
round in order, the next reversed) so that a machine busy with other work slows them alike;
each contender's wall time (median, quartiles, lowest-highest) and CPU time (user + system
of the child, median) are reported, with the ratio of medians to ``python -c pass``.

- ``--version``, ``slugid``, ``from-now 2 hours``: commands that need none of the API
  (target <= 25 ms);
- ``api queue ping`` against a loopback deployment (``tcdyn serve`` in a child process;
  target <= 40 ms), beside the official client's one-liner
  (``taskcluster.Queue({...}).ping()``, when ``taskcluster`` is installed);
- completion of ``tcdyn api queue cre<TAB>`` (argcomplete's protocol: ``_ARGCOMPLETE``,
  ``COMP_LINE``, the answer on fd 8; target <= 50 ms), answered from the cached index
  (made by the warm-up run); each answer is checked to hold ``createTask``.

    python bench/bench_startup.py [--rounds 30] [--only NAME ...] [--src DIR] [--json FILE|-]

``--src DIR`` measures the tcdyn package under ``DIR`` (put first on ``PYTHONPATH``) with
this interpreter and its ``tcdyn`` script: the figures of an earlier commit
(``git archive COMMIT src references | tar -x -C DIR``) beside today's.

``--json FILE`` writes the figures as JSON (``-``: to stdout, the table then goes to stderr)
for the benchmark command that runs every benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit import Figure, Row

PYTHON = sys.executable
TCDYN = str(Path(sys.executable).parent / "tcdyn")
#: milliseconds, per contender (issue 21)
TARGETS = {"tcdyn --version": 25.0, "tcdyn slugid": 25.0, "tcdyn from-now 2 hours": 25.0,
           "tcdyn api queue ping": 40.0, "complete: tcdyn api queue cre<TAB>": 50.0}


@dataclass
class Contender:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    #: check the output (stdout, fd 8): raise on a wrong answer
    check: Callable[[bytes, bytes], None] | None = None
    completion: bool = False
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def run_once(c: Contender, env: dict[str, str]) -> tuple[float, float]:
    """One run: (wall ms, child CPU ms); the output checked."""
    read_fd = write_fd = -1
    pass_fds: tuple[int, ...] = ()
    if c.completion:  # argcomplete answers on fd 8
        read_fd, write_fd = os.pipe()
        if write_fd != 8:
            os.dup2(write_fd, 8)
            os.close(write_fd)
            write_fd = 8
        pass_fds = (8,)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(c.argv, env={**env, **c.env}, capture_output=True,
                          stdin=subprocess.DEVNULL, pass_fds=pass_fds, check=False)
    wall = (time.perf_counter() - start) * 1e3
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    answer = b""
    if c.completion:
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as f:
            answer = f.read()
    cpu = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1e3
    if proc.returncode != 0:
        raise SystemExit(f"{c.name}: exit {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    if c.check is not None:
        c.check(proc.stdout, answer)
    return wall, cpu


def expect(text: bytes) -> Callable[[bytes, bytes], None]:
    def check(stdout: bytes, fd8: bytes) -> None:
        if text not in stdout + fd8:
            raise SystemExit(f"expected {text!r} in the answer, got {(stdout + fd8)[:300]!r}")
    return check


def serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """``tcdyn serve`` in a child process; its TASKCLUSTER_* variables."""
    proc = subprocess.Popen([TCDYN, "serve"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    found: dict[str, str] = {}
    while len(found) < 3:
        line = proc.stdout.readline().decode()
        if not line:
            raise SystemExit("tcdyn serve did not start")
        key, _, value = line.removeprefix("export ").strip().partition("=")
        found[key] = value
    return proc, found


def contenders(served: dict[str, str]) -> list[Contender]:
    root = served["TASKCLUSTER_ROOT_URL"]
    out = [
        Contender("python -c pass", [PYTHON, "-c", "pass"]),
        Contender("tcdyn --version", [TCDYN, "--version"], check=expect(b"tcdyn ")),
        Contender("tcdyn slugid", [TCDYN, "slugid"]),
        Contender("tcdyn from-now 2 hours", [TCDYN, "from-now", "2", "hours"],
                  check=expect(b"Z")),
        Contender("tcdyn api queue ping", [TCDYN, "api", "queue", "ping"], env=served,
                  check=expect(b'"alive"')),
    ]
    try:
        import taskcluster  # noqa: F401
    except ImportError:
        print("(the official client is not installed: pip install -e '.[bench]')",
              file=sys.stderr)
    else:
        out.append(Contender(
            "official client: Queue().ping()",
            [PYTHON, "-c", "import taskcluster; print(taskcluster.Queue("
             f"{{'rootUrl': {root!r}}}).ping())"], check=expect(b"alive")))
    line = "tcdyn api queue cre"
    out.append(Contender(
        "complete: tcdyn api queue cre<TAB>", [TCDYN], completion=True,
        env={"_ARGCOMPLETE": "1", "_ARGCOMPLETE_SHELL": "bash", "COMP_LINE": line,
             "COMP_POINT": str(len(line)), "COMP_TYPE": "9", "_ARGCOMPLETE_IFS": "\n"},
        check=expect(b"createTask")))
    return out


def summary(c: Contender, base: float) -> dict[str, Any]:
    wall = sorted(c.wall)
    q = statistics.quantiles(wall, n=4) if len(wall) > 1 else [wall[0]] * 3
    median = statistics.median(wall)
    target = TARGETS.get(c.name)
    return {"name": c.name, "runs": len(wall), "wall_ms_median": round(median, 2),
            "wall_ms_q1": round(q[0], 2), "wall_ms_q3": round(q[2], 2),
            "wall_ms_min": round(wall[0], 2), "wall_ms_max": round(wall[-1], 2),
            "cpu_ms_median": round(statistics.median(c.cpu), 2),
            "ratio_to_python": round(median / base, 2), "target_ms": target,
            "met": None if target is None else median <= target}


def package_of(src: str | None) -> Path:
    if src:
        return Path(src).resolve() / "tcdyn"
    import tcdyn

    return Path(tcdyn.__file__).parent


def time_contenders(rounds: int, only: list[str] | None = None,
                    src: str | None = None) -> list[Contender]:
    """The contenders chosen (python -c pass first), each timed over ``rounds`` alternating
    rounds after two warm-up runs (bytecode, the completion index, the page cache)."""
    if not os.path.exists(TCDYN):
        raise SystemExit(f"no tcdyn script at {TCDYN}: pip install -e . into this Python")
    package = package_of(src)
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(package)], check=True,
                   stdout=subprocess.DEVNULL)
    scratch = Path(tempfile.mkdtemp(prefix="tcdyn-startup-"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TASKCLUSTER_", "TCDYN_", "PYTHON", "_ARGCOMPLETE", "COMP_"))}
    env.update({"TCDYN_CONFIG": str(scratch / "none.toml"),
                "TCDYN_CACHE_DIR": str(scratch / "cache")})
    if src:
        env["PYTHONPATH"] = str(package.parent)
    server, served = serve(env)
    try:
        chosen = [c for c in contenders(served)
                  if c.name == "python -c pass" or not only
                  or any(word in c.name for word in only)]
        for c in chosen:
            for _ in range(2):
                run_once(c, env)
        for r in range(rounds):
            for c in (chosen if r % 2 == 0 else chosen[::-1]):
                wall, cpu = run_once(c, env)
                c.wall.append(wall)
                c.cpu.append(cpu)
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(scratch, ignore_errors=True)
    return chosen


#: bench/run.py's row keys, by contender
KEYS = {"python -c pass": "startup.python", "tcdyn --version": "startup.version",
        "tcdyn slugid": "startup.slugid", "tcdyn from-now 2 hours": "startup.from_now",
        "tcdyn api queue ping": "startup.ping",
        "official client: Queue().ping()": "startup.official_ping",
        "complete: tcdyn api queue cre<TAB>": "startup.complete"}


def measure(quick: bool) -> list[Row]:
    """bench/run.py's interface: each contender's wall time (ms), python -c pass beside it."""
    chosen = time_contenders(3 if quick else 30)
    base = Figure.of("python -c pass", chosen[0].wall, "ms")
    rows = []
    for c in chosen:
        wall = Figure.of("tcdyn" if c.name.startswith(("tcdyn", "complete")) else c.name,
                         c.wall, "ms")
        rows.append(Row(KEYS[c.name], f"{c.name} (whole process)", wall.median, "ms",
                        wall.low, wall.high, (wall,) if c is chosen[0] else (wall, base),
                        f"CPU {statistics.median(c.cpu):.1f} ms, "
                        f"{wall.median / base.median:.2f}x python -c pass"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="contenders whose name contains one of these words "
                             "(python -c pass is always run)")
    parser.add_argument("--json", metavar="FILE|-", help="write the figures as JSON")
    parser.add_argument("--src", metavar="DIR", help="measure the tcdyn package in DIR")
    args = parser.parse_args()
    out = sys.stderr if args.json == "-" else sys.stdout
    chosen = time_contenders(args.rounds, args.only, args.src)
    package = package_of(args.src)
    base = statistics.median(chosen[0].wall)
    rows = [summary(c, base) for c in chosen]
    load = os.getloadavg()
    print(f"{args.rounds} alternating rounds, {os.cpu_count()} CPUs, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (python {sys.version.split()[0]}; "
          f"{package})", file=out)
    print(f"{'':36} {'median':>7} {'q1-q3':>13} {'min-max':>13} {'cpu':>6} {'x py':>5}"
          "  target", file=out)
    for row in rows:
        target = ("" if row["target_ms"] is None else
                  f"<= {row['target_ms']:g} ms: {'met' if row['met'] else 'NOT met'}")
        print(f"{row['name']:36} {row['wall_ms_median']:7.1f} "
              f"{row['wall_ms_q1']:6.1f}-{row['wall_ms_q3']:<6.1f} "
              f"{row['wall_ms_min']:6.1f}-{row['wall_ms_max']:<6.1f} "
              f"{row['cpu_ms_median']:6.1f} {row['ratio_to_python']:5.2f}  {target}", file=out)
    result = {"benchmark": "startup", "source": str(package), "rounds": args.rounds,
              "cpus": os.cpu_count(), "load_average": load,
              "python": sys.version.split()[0], "unit": "ms", "rows": rows}
    if args.json == "-":
        print(json.dumps(result, indent=2))
    elif args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
