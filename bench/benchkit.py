"""What every benchmark module shares with ``bench/run.py``: the interface, the issue's targets
and the one rule that judges them.

A module ``bench/bench_NAME.py`` plugs into ``bench/run.py`` by exposing::

    def measure(quick: bool) -> list[Row]: ...

- It starts and stops what it needs (servers, child processes, queues) and raises on a wrong
  answer or on anything lost: a failure is reported as the module's, never as a figure.
- ``quick=True`` is the smoke test's size (CI runs it, every contender once or twice, a few
  seconds): the figures mean nothing, the code paths are the full run's.
- Contenders alternate within each round (``alternate``: one round in order, the next
  reversed) so that other work on the machine hits them alike; a ``Row`` gives the median
  and the spread (lowest-highest) over the rounds.
- A row whose ``key`` is in ``TARGETS`` is judged there, here, once (``judge``): modules give
  figures, never a verdict. Other keys are context rows (a peer's own figure, a slower
  official client) and are printed without a verdict.
- Ratios are oriented as the target reads: "tcdyn per-call time / peer's" for ``<=`` targets
  on times, "tcdyn rate / peer's" for ``>=`` targets on rates.

``run.py`` runs each module in a child process of its own (``run.py --child NAME``), so one
module's imports, event loops and peak RSS do not leak into the next; a module is also still
a script (its ``main()``), printing its own table with ``table(rows)``.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Figure:
    """One contender's figure over the rounds: median and spread, in ``unit``."""

    name: str
    unit: str  # "ms", "us", "MB/s", "calls/s", "msg/s"
    median: float
    low: float
    high: float
    rounds: int

    @classmethod
    def of(cls, name: str, samples: Iterable[float], unit: str) -> Figure:
        values = list(samples)
        if not values:
            raise ValueError(f"{name}: no samples")
        return cls(name, unit, statistics.median(values), min(values), max(values),
                   len(values))


@dataclass(frozen=True)
class Row:
    """One line of the table: ``value`` (median) and its spread over the rounds.

    ``unit`` is ``"x"`` for a ratio (``low``/``high``: the lowest and highest per-round ratio,
    or those of the ratio of the contenders' figures when the rounds do not pair) or the unit
    of an absolute figure (e.g. ``"ms"`` for the command's start-up). ``figures`` are the
    contenders behind it, tcdyn first.
    """

    key: str  # stable, dotted: "startup.version"; a key of TARGETS for a judged row
    label: str  # what was measured, as the table shows it
    value: float
    unit: str
    low: float
    high: float
    figures: tuple[Figure, ...] = ()
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        figures = tuple(Figure(**f) for f in data.get("figures", ()))
        return cls(**{**data, "figures": figures})


def ratio_row(key: str, label: str, ours: list[float], peer: list[float], unit: str,
              names: tuple[str, str], detail: str = "") -> Row:
    """A ratio row from paired per-round samples (``ours[i]`` and ``peer[i]`` measured in the
    same round): the median of the per-round ratios and their spread, both figures beside."""
    ratios = [a / b for a, b in zip(ours, peer, strict=True)]
    return Row(key, label, statistics.median(ratios), "x", min(ratios), max(ratios),
               (Figure.of(names[0], ours, unit), Figure.of(names[1], peer, unit)), detail)


def alternate(contenders: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Each contender's sample per round, the order reversed every other round."""
    names = list(contenders)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            samples[name].append(contenders[name]())
    return samples


@dataclass(frozen=True)
class Target:
    """A target of the issue: ``value op bound`` (a ratio when ``unit`` is ``"x"``)."""

    op: Literal["<=", ">="]
    bound: float
    unit: str
    measure: str  # the words
    peer: str
    module: str  # the bench module whose measure() gives the row

    def __str__(self) -> str:
        if self.unit == "x":
            return f"{self.op} {self.bound:.1f}x"
        return f"{self.op} {self.bound:g} {self.unit}"


#: the module whose measure() gives the rows of each key's first part
MODULE_OF = {"transfer": "bench_artifacts", "startup": "bench_startup", "call": "bench_client",
             "pulse": "bench_pulse"}


def _targets(*rows: tuple[str, Literal["<=", ">="], float, str, str, str]) -> dict[str, Target]:
    return {key: Target(op, bound, unit, measure, peer, MODULE_OF[key.split(".")[0]])
            for key, op, bound, unit, measure, peer in rows}


#: issue 21's targets, by row key (the one copy; the README's table is judged here too)
TARGETS: dict[str, Target] = _targets(
    ("transfer.upload.sync", ">=", 1.8, "x", "object upload, 100 MB, sync",
     "official uploadFromBuf"),
    ("transfer.download.sync", ">=", 1.8, "x", "object download, 100 MB, sync",
     "official downloadToBuf"),
    ("transfer.upload.async", ">=", 1.8, "x", "object upload, 100 MB, async",
     "official aio uploadFromBuf"),
    ("transfer.download.async", ">=", 1.8, "x", "object download, 100 MB, async",
     "official aio downloadToBuf"),
    ("transfer.upload.loaded", ">=", 1.2, "x", "object upload, a CPU burner on one core",
     "official uploadFromBuf"),
    ("transfer.download.loaded", ">=", 1.2, "x", "object download, a CPU burner on one core",
     "official downloadToBuf"),
    ("transfer.rss", "<=", 64, "MB", "peak RSS growth, 200 MB up and down through files", ""),
    ("startup.version", "<=", 25, "ms", "`tcdyn --version`, whole process", "python -c pass"),
    ("startup.slugid", "<=", 25, "ms", "`tcdyn slugid`, whole process", "python -c pass"),
    ("startup.ping", "<=", 40, "ms", "`tcdyn api queue ping`, loopback deployment",
     "official one-liner"),
    ("startup.complete", "<=", 50, "ms", "completion of `tcdyn api queue cre<TAB>`", ""),
    ("call.sync.httpcore", "<=", 1.0, "x", "sync `queue.task()` per call", "raw httpcore"),
    ("call.sync.urllib3", "<=", 1.0, "x", "sync `queue.task()` per call", "raw urllib3"),
    ("call.async.c50", ">=", 0.9, "x", "async `task()` at concurrency 50, calls/s",
     "raw aiohttp"),
    ("pulse.consume.validated", ">=", 1.0, "x", "Pulse consume, validated, async handler",
     "raw aio-pika, batched acks"),
    ("pulse.scale.4", ">=", 3.0, "x", "Pulse: 4 processes on one queue, msg/s",
     "1 process, same queue"),
)

#: a judged figure this close to its bound (relative) is to be measured again
CLOSE = 0.10


def judge(row: Row) -> tuple[bool | None, bool]:
    """(met, close) of ``row`` against its target; (None, False) for a context row."""
    target = TARGETS.get(row.key)
    if target is None:
        return None, False
    if target.unit != row.unit:
        raise ValueError(f"{row.key}: measured in {row.unit!r}, its target in {target.unit!r}")
    met = row.value <= target.bound if target.op == "<=" else row.value >= target.bound
    return met, abs(row.value - target.bound) <= CLOSE * target.bound


def fmt(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f}x"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:.{digits}f} {unit}"


def table(rows: list[Row]) -> str:
    """The rows as the command prints them: value, spread, target, verdict, contenders."""
    lines = [f"{'measure (median of rounds)':<62} {'value':>10} {'spread':>19}  "
             f"{'target':<10} {'met':<9} contenders"]
    for row in rows:
        met, close = judge(row)
        target = TARGETS.get(row.key)
        verdict = "" if met is None else ("met" if met else "NOT met") + (" ~" if close else "")
        spread = f"{fmt(row.low, row.unit)}-{fmt(row.high, row.unit)}"
        who = "; ".join(f"{f.name} {fmt(f.median, f.unit)}" for f in row.figures)
        lines.append(f"{row.label[:62]:<62} {fmt(row.value, row.unit):>10} {spread:>19}  "
                     f"{target or ''!s:<10} {verdict:<9} {who}"
                     + (f" ({row.detail})" if row.detail else ""))
    return "\n".join(lines)


__all__ = ["CLOSE", "MODULE_OF", "TARGETS", "Figure", "Row", "Target", "alternate", "fmt", "judge",
           "ratio_row", "table"]
